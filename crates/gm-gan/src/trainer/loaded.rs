//! A trained GAN generator read back from a run folder or an export.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::ParamStore;

use crate::error::to_core;
use crate::nets::{GanConfig, GanGenerator};
use crate::Result;

/// A trained generator with its config and weights, as saved by a GAN run (the
/// `generator.*` tensors of `model.safetensors`) or by an export: a
/// [`gm_core::model::SavedModel`] under the name `gan-generator`, so that GAN runs export to
/// Hub folders and load back with `gm_hub::load`.
#[derive(Debug, Clone)]
pub struct LoadedGenerator {
    /// The rebuilt generator.
    pub generator: GanGenerator,
    /// The network configuration it was built from.
    pub config: GanConfig,
    tensors: BTreeMap<String, Tensor>,
}

impl LoadedGenerator {
    /// The name a GAN run gives its model in `model.safetensors` (`gan/<objective>`).
    pub fn is_gan_run(model: &str) -> bool {
        model.starts_with("gan/")
    }

    /// Rebuilds the generator from a GAN run's `model.safetensors` parts.
    pub fn from_run(
        config: &serde_json::Value,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let cfg: GanConfig = crate::registry::saved_config(config, "not a GAN network config")?;
        let own = strip_prefix(tensors, "generator.");
        let generator = generator_from_own_weights(&cfg, &own, device)?;
        Ok(Self {
            generator,
            config: cfg,
            tensors: own,
        })
    }
}

impl gm_core::model::SavedModel for LoadedGenerator {
    const MODEL: &'static str = "gan-generator";

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    fn weights(&self) -> BTreeMap<String, Tensor> {
        self.tensors.clone()
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> gm_core::Result<Self> {
        let prefixed = tensors
            .iter()
            .map(|(k, v)| (format!("generator.{k}"), v.clone()))
            .collect();
        Self::from_run(config, &prefixed, device).map_err(to_core)
    }
}

/// Rebuilds a trained generator from `model.safetensors` tensors (`generator.*`) and its
/// config.
pub fn generator_from_weights(
    cfg: &GanConfig,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<GanGenerator> {
    generator_from_own_weights(cfg, &strip_prefix(tensors, "generator."), device)
}

/// Builds the generator of `cfg` from its own tensors (names without the `generator.` prefix).
fn generator_from_own_weights(
    cfg: &GanConfig,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<GanGenerator> {
    let store = ParamStore::new(0);
    let gen = GanGenerator::new(cfg, store.var_builder(device))?;
    store.load(tensors, "generator weights")?;
    Ok(gen)
}

/// The weights a GAN run saves: the generator's as `generator.*` and, when there is one, the
/// critic's as `discriminator.*`.
pub(crate) fn run_weights(
    generator: &ParamStore,
    critic: Option<&ParamStore>,
) -> BTreeMap<String, Tensor> {
    let prefixed = |store: &ParamStore, prefix: &str| -> Vec<(String, Tensor)> {
        store
            .tensors()
            .into_iter()
            .map(|(k, v)| (format!("{prefix}.{k}"), v))
            .collect()
    };
    let mut w: BTreeMap<String, Tensor> = prefixed(generator, "generator").into_iter().collect();
    if let Some(c) = critic {
        w.extend(prefixed(c, "discriminator"));
    }
    w
}

/// The tensors whose names start with `prefix`, renamed without it.
pub(crate) fn strip_prefix(
    tensors: &BTreeMap<String, Tensor>,
    prefix: &str,
) -> BTreeMap<String, Tensor> {
    tensors
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}
