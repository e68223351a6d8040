//! A saved progressive GAN's generator at the resolution its run trained last.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::{Generator, ParamStore};

use super::{ProgressiveConfig, ProgressiveGenerator};
use crate::registry::saved_config;
use crate::{Error, Result};

/// A progressive GAN's generator at the resolution its run trained last, with the new block
/// at full strength: a stage's run ends after its fade-in (the first half of the stage), so
/// its fade-in weight is 1. Outputs are mapped to data space, `(y + 1) / 2`.
#[derive(Debug, Clone)]
pub struct ProgressiveStage {
    generator: ProgressiveGenerator,
    stage: usize,
    latent_dim: usize,
    side: usize,
}

impl ProgressiveStage {
    /// Rebuilds the generator of a `progressive/<r>x<r>` run from its config and the
    /// `generator.*` weights.
    pub fn from_run(
        model: &str,
        config: &serde_json::Value,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let cfg: ProgressiveConfig = saved_config(config, "not a progressive GAN config")?;
        let side = model
            .strip_prefix("progressive/")
            .and_then(|r| r.split_once('x'))
            .filter(|(a, b)| a == b)
            .and_then(|(a, _)| a.parse::<usize>().ok())
            .ok_or_else(|| Error::Config {
                field: "gm.model",
                value: model.to_string(),
                reason: "does not name a resolution progressive/<r>x<r>",
            })?;
        let stage = (0..cfg.stages())
            .find(|&s| cfg.resolution(s) == side)
            .ok_or_else(|| Error::Config {
                field: "gm.model",
                value: format!(
                    "{model} (the config's stages: {:?})",
                    (0..cfg.stages())
                        .map(|s| cfg.resolution(s))
                        .collect::<Vec<_>>()
                ),
                reason: "its resolution is no stage of the config",
            })?;
        let store = ParamStore::new(0);
        let generator = ProgressiveGenerator::new(&cfg, store.var_builder(device))?;
        let own = crate::trainer::strip_prefix(tensors, "generator.");
        store.load(&own, "progressive generator weights")?;
        Ok(Self {
            generator,
            stage,
            latent_dim: cfg.latent_dim,
            side,
        })
    }
}

/// [`ProgressiveStage::from_run`] as the registry's constructor.
pub(super) fn saved_generator(
    model: &str,
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<Box<dyn Generator>> {
    Ok(Box::new(ProgressiveStage::from_run(
        model, config, tensors, device,
    )?))
}

impl Generator for ProgressiveStage {
    fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![1, self.side, self.side]
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let y = self
            .generator
            .forward(z, self.stage, 1.0)
            .map_err(gm_core::Error::from)?;
        Ok(y.affine(0.5, 0.5)?)
    }
}
