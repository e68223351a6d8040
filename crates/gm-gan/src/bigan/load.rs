//! The generator of a saved BiGAN run.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::{Generator, Trainer};

use super::{BiganConfig, BiganTrainer};
use crate::registry::{saved_config, with_saved_weights};
use crate::Result;

/// The generator of a BiGAN run: the trainer's constructor builds it (its network config is
/// derived inside gm-gan) and `load_state` puts the saved `generator.*` and `encoder.*` in.
pub(super) fn saved_generator(
    _model: &str,
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<Box<dyn Generator>> {
    let cfg: BiganConfig = saved_config(config, "not a BiGAN config")?;
    let mut trainer = BiganTrainer::new(cfg, 0, device)?;
    let state = with_saved_weights(trainer.state()?, "ge", tensors, "")?;
    trainer.load_state(&state)?;
    Ok(Box::new(trainer.generator().clone()))
}
