//! The command line the reference examples share: gm-core's [`gm_core::cli`] (clap, run
//! folders, `--device`, `--config`), plus the reader of a finished run's model file.

pub use gm_core::cli::*;

use anyhow::{bail, Context, Result};

/// What a finished run's `model.safetensors` holds: the model name (metadata `gm.model`), the
/// config that rebuilds it (metadata `gm.config`) and the weights.
pub struct RunModel {
    /// The model name, from the metadata `gm.model` (e.g. `vae` or `gan/gan-ns`).
    pub model: String,
    /// The model's configuration, from the metadata `gm.config` (`null` when absent).
    pub config: serde_json::Value,
    /// The weights, by name.
    pub tensors: std::collections::BTreeMap<String, candle_core::Tensor>,
}

/// Reads `run_dir/model.safetensors`; a missing `gm.model` or a `gm.config` that is not JSON is
/// an error naming the file.
pub fn read_run_model(run_dir: &std::path::Path, device: &candle_core::Device) -> Result<RunModel> {
    let file = run_dir.join("model.safetensors");
    let (tensors, meta) = gm_core::io::load_safetensors(&file, device)?;
    let Some(model) = meta.get("gm.model").cloned() else {
        bail!("{}: no `gm.model` metadata", file.display());
    };
    let config = serde_json::from_str(meta.get("gm.config").map(String::as_str).unwrap_or("null"))
        .with_context(|| format!("{}: metadata `gm.config` is not JSON", file.display()))?;
    Ok(RunModel {
        model,
        config,
        tensors,
    })
}
