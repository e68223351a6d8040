//! Checkpoints: one safetensors file with the trainer's tensors and, in its metadata, the
//! model name, the step counter, the RNG position and the trainer's scalars. Written
//! atomically, so an interrupted write leaves the previous checkpoint intact.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Device;

use super::TrainState;
use crate::rng::RngState;
use crate::{Error, Result};

/// File name of the checkpoint inside a run folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// A decoded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The name of the model that wrote it ([`super::Trainer::model_name`]).
    pub model: String,
    /// Training steps completed when it was written.
    pub step: u64,
    /// The position of the training random stream.
    pub rng: RngState,
    /// The trainer's tensors and scalars.
    pub state: TrainState,
}

/// Writes a checkpoint atomically.
pub fn write_checkpoint(
    path: &Path,
    model: &str,
    step: u64,
    rng: RngState,
    state: &TrainState,
) -> Result<()> {
    let mut meta = BTreeMap::new();
    meta.insert("gm.model".to_string(), model.to_string());
    meta.insert("gm.step".to_string(), step.to_string());
    meta.insert(
        "gm.rng".to_string(),
        serde_json::to_string(&rng).map_err(|e| Error::Msg(e.to_string()))?,
    );
    meta.insert(
        "gm.scalars".to_string(),
        serde_json::to_string(&state.scalars).map_err(|e| Error::Msg(e.to_string()))?,
    );
    crate::io::save_safetensors(path, &state.tensors, &meta)
}

/// Reads a checkpoint; every missing or malformed field is an error naming the file.
pub fn read_checkpoint(path: &Path, device: &Device) -> Result<Checkpoint> {
    let (tensors, meta) = crate::io::load_safetensors(path, device)?;
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let field = |k: &str| -> Result<&String> {
        meta.get(k)
            .ok_or_else(|| bad(format!("metadata `{k}` is missing (not a gm checkpoint?)")))
    };
    let model = field("gm.model")?.clone();
    let step = field("gm.step")?
        .parse::<u64>()
        .map_err(|e| bad(format!("metadata `gm.step`: {e}")))?;
    let rng: RngState = serde_json::from_str(field("gm.rng")?)
        .map_err(|e| bad(format!("metadata `gm.rng`: {e}")))?;
    let scalars: BTreeMap<String, String> = serde_json::from_str(field("gm.scalars")?)
        .map_err(|e| bad(format!("metadata `gm.scalars`: {e}")))?;
    Ok(Checkpoint {
        model,
        step,
        rng,
        state: TrainState { tensors, scalars },
    })
}
