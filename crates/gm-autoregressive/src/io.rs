//! Saved models: `model.safetensors` (weights, with gm's metadata `gm.model`, `gm.version`,
//! `gm.config`) and `config.json` (the model config) in one folder, the layout `fit` writes
//! at the end of a run, so a run folder loads the same way as a saved one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::trainer::ArModel;
use candle_core::Device;

use crate::{Error, Result};

/// The weights file of a model folder.
pub const MODEL_FILE: &str = "model.safetensors";

/// Writes `model` to `dir` (created if needed): `model.safetensors` and `config.json`.
/// Refuses a model that would not load back the same ([`ArModel::check_saveable`]).
pub fn save_model<M: ArModel>(model: &M, dir: impl AsRef<Path>) -> Result<()> {
    model.check_saveable()?;
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| gm_core::Error::io(dir, e))?;
    let config = model.config_json();
    let mut meta = BTreeMap::new();
    meta.insert("gm.model".to_string(), M::MODEL.to_string());
    meta.insert(
        "gm.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    meta.insert("gm.config".to_string(), config.to_string());
    gm_core::io::save_safetensors(dir.join(MODEL_FILE), &model.weights(), &meta)?;
    let pretty = serde_json::to_string_pretty(&config).map_err(|e| Error::Saved {
        path: dir.join("config.json"),
        message: e.to_string(),
    })?;
    gm_core::io::write_atomic(dir.join("config.json"), pretty.as_bytes())?;
    Ok(())
}

/// Reads a model of type `M` from `dir/model.safetensors` (a saved folder or a finished
/// run): the metadata must name `M::MODEL` and hold its config.
pub fn load_model<M: ArModel>(dir: impl AsRef<Path>, device: &Device) -> Result<M> {
    let path = dir.as_ref().join(MODEL_FILE);
    let (tensors, meta) = gm_core::io::load_safetensors(&path, device)?;
    let saved = |message: String| Error::Saved {
        path: path.clone(),
        message,
    };
    match meta.get("gm.model") {
        Some(m) if m == M::MODEL => {}
        Some(m) => return Err(saved(format!("holds model `{m}`, expected `{}`", M::MODEL))),
        None => return Err(saved("no `gm.model` metadata".into())),
    }
    let config: serde_json::Value = meta
        .get("gm.config")
        .ok_or_else(|| saved("no `gm.config` metadata".into()))
        .and_then(|c| {
            serde_json::from_str(c).map_err(|e| saved(format!("`gm.config` is not JSON: {e}")))
        })?;
    M::from_parts(&config, tensors, device).map_err(|e| saved(e.to_string()))
}
