//! Generators rebuilt from a model folder, and sampling them to files.
//!
//! A folder holding `model.safetensors` with gm's metadata (`gm.model`, `gm.config`), a
//! finished run's or a gm-hub export's, rebuilds its generator with [`load_generator`]; the
//! model name decides how, through the library constructors of gm-vae and gm-gan (see
//! [`SavedGenerator`]). [`sample`] draws `x = G(z)` from such a folder, with
//! `z ~ Generator::sample_latent` seeded by [`gm_core::GmRng::new`] or read from a file, and writes
//! an image grid, one image per sample and the tensors (`cargo xtask sample`). A
//! class-conditional generator (`cgan/*`) draws uniform classes, or one class with
//! [`SampleOptions::class`] (`cargo xtask sample RUN --class k`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{Device, Tensor};
use gm_core::{Generator, TrainState, Trainer};
use gm_gan::bigan::{BiganConfig, BiganTrainer};
use gm_gan::conditional::{ConditionalGenerator, MODEL_PREFIX as CGAN_PREFIX};
use gm_gan::progressive::{ProgressiveConfig, ProgressiveGenerator};
use gm_gan::{GanGenerator, GanTrainConfig, LoadedGenerator, MixGanConfig, MixGanTrainer};
use gm_vae::LoadedVae;

/// The weights file of a model folder.
pub const MODEL_FILE: &str = "model.safetensors";

/// Saved models that are not generators gm can sample, and why.
pub const UNSUPPORTED: [(&str, &str); 3] = [
    (
        "lapgan",
        "each pyramid level draws its own noise inside gm-gan, so there is no single latent z",
    ),
    (
        "cyclegan",
        "an image-to-image translator, not a map from latents",
    ),
    ("mnist-classifier", "a classifier, not a generator"),
];

/// The generators [`SavedGenerator::from_parts`] rebuilds, by `gm.model`.
pub const SUPPORTED: &str =
    "vae, gan/*, gan-generator, mix-gan/*, bigan, cgan/*, progressive/<r>x<r>, flow, made, \
     pixelcnn";

/// A generator rebuilt from a model folder.
pub struct LoadedModel {
    /// The folder's `gm.model`, e.g. `vae`, `gan/gan-ns` or `gan-generator`.
    pub model: String,
    /// The rebuilt generator.
    pub generator: Box<dyn Generator>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("model", &self.model)
            .field("latent_dim", &self.generator.latent_dim())
            .field("output_shape", &self.generator.output_shape())
            .finish()
    }
}

/// A saved generator as its concrete type, for callers that need more than
/// [`Generator`] (the export of a VAE or a GAN generator to a Hub folder).
pub enum SavedGenerator {
    /// `vae`: the decoder of a VAE run or export.
    Vae(Box<LoadedVae>),
    /// `gan/<objective>` (a GAN run) or `gan-generator` (its export).
    Gan(LoadedGenerator),
    /// `mix-gan/<objective>`: the mixture of generators of a MIX+GAN run.
    MixGan(gm_gan::MixGenerator),
    /// `bigan`: the generator of a BiGAN run (its encoder is not used).
    Bigan(GanGenerator),
    /// `cgan/<conditioning>`: the class-conditional generator of a conditional GAN run.
    Conditional(ConditionalGenerator),
    /// `progressive/<r>x<r>`: a progressive GAN after its stage at side `r`.
    Progressive(ProgressiveStage),
    /// `flow`: a multi-scale normalizing flow (its inverse maps latents to images).
    Flow(Box<gm_flow::LoadedFlow>),
    /// `made`: MADE (sequential sampling; not differentiable in its uniform latents).
    Made(Box<gm_autoregressive::Made>),
    /// `pixelcnn`: a PixelCNN (sequential sampling; not differentiable in its latents).
    PixelCnn(Box<gm_autoregressive::PixelCnn>),
}

impl SavedGenerator {
    /// Rebuilds the generator of `model` from its config and weights (as read from `file`,
    /// which errors name). A model that is not a generator gm can sample is an error listing
    /// the supported and the unsupported ones.
    pub fn from_parts(
        model: &str,
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        file: &Path,
        device: &Device,
    ) -> Result<Self> {
        use gm_core::model::SavedModel;
        let at = || format!("{}: model `{model}`", file.display());
        Ok(match model {
            LoadedVae::MODEL => Self::Vae(Box::new(
                LoadedVae::from_parts(config, tensors, device).with_context(at)?,
            )),
            LoadedGenerator::MODEL => {
                Self::Gan(LoadedGenerator::from_parts(config, tensors, device).with_context(at)?)
            }
            m if LoadedGenerator::is_gan_run(m) => {
                Self::Gan(LoadedGenerator::from_run(config, &tensors, device).with_context(at)?)
            }
            m if m.starts_with("mix-gan/") => {
                Self::MixGan(mix_generator(config, &tensors, file, device).with_context(at)?)
            }
            "bigan" => {
                Self::Bigan(bigan_generator(config, &tensors, file, device).with_context(at)?)
            }
            m if m.starts_with(CGAN_PREFIX) => Self::Conditional(
                ConditionalGenerator::from_run(config, &tensors, device).with_context(at)?,
            ),
            m if m.starts_with("progressive/") => Self::Progressive(
                ProgressiveStage::from_run(m, config, &tensors, file, device).with_context(at)?,
            ),
            gm_flow::LoadedFlow::MODEL => Self::Flow(Box::new(
                gm_flow::LoadedFlow::from_parts(config, tensors, device).with_context(at)?,
            )),
            gm_autoregressive::Made::MODEL => Self::Made(Box::new(
                gm_autoregressive::Made::from_parts(config, tensors, device).with_context(at)?,
            )),
            gm_autoregressive::PixelCnn::MODEL => Self::PixelCnn(Box::new(
                gm_autoregressive::PixelCnn::from_parts(config, tensors, device)
                    .with_context(at)?,
            )),
            other => {
                let why = UNSUPPORTED
                    .iter()
                    .find(|(name, _)| *name == other)
                    .map_or("unknown model".to_string(), |(_, why)| why.to_string());
                let unsupported: Vec<String> = UNSUPPORTED
                    .iter()
                    .map(|(name, why)| format!("{name} ({why})"))
                    .collect();
                bail!(
                    "{}: model `{other}` is not a generator gm can sample: {why} (supported: \
                     {SUPPORTED}; not supported: {})",
                    file.display(),
                    unsupported.join("; ")
                )
            }
        })
    }

    /// The generator, borrowed.
    pub fn generator(&self) -> &dyn Generator {
        match self {
            Self::Vae(m) => m.vae.decoder(),
            Self::Gan(g) => &g.generator,
            Self::MixGan(g) => g,
            Self::Bigan(g) => g,
            Self::Conditional(g) => g,
            Self::Progressive(g) => g,
            Self::Flow(m) => &m.flow,
            Self::Made(m) => m.as_ref(),
            Self::PixelCnn(m) => m.as_ref(),
        }
    }

    /// The generator, owned.
    pub fn into_generator(self) -> Box<dyn Generator> {
        match self {
            Self::Vae(m) => Box::new(m.vae.decoder().clone()),
            Self::Gan(g) => Box::new(g.generator),
            Self::MixGan(g) => Box::new(g),
            Self::Bigan(g) => Box::new(g),
            Self::Conditional(g) => Box::new(g),
            Self::Progressive(g) => Box::new(g),
            Self::Flow(m) => Box::new(m.flow),
            Self::Made(m) => m,
            Self::PixelCnn(m) => m,
        }
    }
}

/// Rebuilds the generator saved in `dir/model.safetensors` (a run folder or an exported
/// folder: both store `gm.model` and `gm.config` in the weights' metadata).
pub fn load_generator(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let file = dir.join(MODEL_FILE);
    if !file.is_file() {
        bail!(
            "{}: no {MODEL_FILE} in this folder (a finished gm run or an exported model folder \
             holds one)",
            dir.display()
        );
    }
    let crate::cli::RunModel {
        model,
        config,
        tensors,
    } = crate::cli::read_run_model(dir, device)?;
    let generator = SavedGenerator::from_parts(&model, &config, tensors, &file, device)?;
    Ok(LoadedModel {
        model,
        generator: generator.into_generator(),
    })
}

/// A fresh trainer's state with the weights of network `key` replaced by the saved tensors
/// `prefix + name`, so that `load_state` loads them. Every weight of the network must be in
/// the file: a fresh weight left in place would sample from an untrained network. The other
/// entries are copied, since a variable cannot be set to its own tensor.
fn with_saved_weights(
    state: TrainState,
    key: &str,
    saved: &BTreeMap<String, Tensor>,
    prefix: &str,
    file: &Path,
) -> Result<TrainState> {
    let own = format!("{key}.");
    let mut tensors = BTreeMap::new();
    for (name, t) in state.tensors {
        let t = match name.strip_prefix(&own) {
            Some(rest) => {
                let want = format!("{prefix}{rest}");
                saved
                    .get(&want)
                    .cloned()
                    .ok_or_else(|| anyhow!("{}: tensor `{want}` is missing", file.display()))?
            }
            None => t.copy()?,
        };
        tensors.insert(name, t);
    }
    Ok(TrainState {
        tensors,
        scalars: state.scalars,
    })
}

/// The generator mixture of a MIX+GAN run. Its `gm.config` is `{"model", "components"}`;
/// the trainer's constructor builds the mixture and `load_state` puts the weights in, since
/// the mixture has no constructor of its own.
fn mix_generator(
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    file: &Path,
    device: &Device,
) -> Result<gm_gan::MixGenerator> {
    let model = serde_json::from_value(config["model"].clone())
        .with_context(|| format!("gm.config `model` is not a GAN network config: {config}"))?;
    let components = config["components"]
        .as_u64()
        .with_context(|| format!("gm.config `components` is not a count: {config}"))?;
    let cfg = MixGanConfig {
        base: GanTrainConfig {
            model,
            ..Default::default()
        },
        components: components as usize,
        ..Default::default()
    };
    let mut trainer = MixGanTrainer::new(cfg, 0, device)?;
    let state = with_saved_weights(trainer.state()?, "g", tensors, "generator.", file)?;
    trainer.load_state(&state)?;
    Ok(trainer.generator().clone())
}

/// The generator of a BiGAN run: the trainer's constructor builds it (its network config is
/// derived inside gm-gan) and `load_state` puts the saved `generator.*` and `encoder.*` in.
fn bigan_generator(
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    file: &Path,
    device: &Device,
) -> Result<GanGenerator> {
    let cfg: BiganConfig = serde_json::from_value(config.clone())
        .with_context(|| format!("gm.config is not a BiGAN config: {config}"))?;
    let mut trainer = BiganTrainer::new(cfg, 0, device)?;
    let state = with_saved_weights(trainer.state()?, "ge", tensors, "", file)?;
    trainer.load_state(&state)?;
    Ok(trainer.generator().clone())
}

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
        file: &Path,
        device: &Device,
    ) -> Result<Self> {
        let cfg: ProgressiveConfig = serde_json::from_value(config.clone())
            .with_context(|| format!("gm.config is not a progressive GAN config: {config}"))?;
        let side = model
            .strip_prefix("progressive/")
            .and_then(|r| r.split_once('x'))
            .filter(|(a, b)| a == b)
            .and_then(|(a, _)| a.parse::<usize>().ok())
            .with_context(|| format!("`{model}` does not name a resolution <r>x<r>"))?;
        let stage = (0..cfg.stages())
            .find(|&s| cfg.resolution(s) == side)
            .with_context(|| {
                format!(
                    "resolution {side} is no stage of the config (stages {:?})",
                    (0..cfg.stages())
                        .map(|s| cfg.resolution(s))
                        .collect::<Vec<_>>()
                )
            })?;
        let store = gm_core::ParamStore::new(0);
        let generator = ProgressiveGenerator::new(&cfg, store.var_builder(device))?;
        let own = tensors
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("generator.")
                    .map(|s| (s.to_string(), v.clone()))
            })
            .collect();
        store.load(&own, &file.display().to_string())?;
        Ok(Self {
            generator,
            stage,
            latent_dim: cfg.latent_dim,
            side,
        })
    }
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
            .map_err(|e| gm_core::Error::Msg(format!("progressive generator: {e}")))?;
        Ok(y.affine(0.5, 0.5)?)
    }
}

/// Whether `s` has the form of a Hub repository id, `owner/name` (letters, digits, `-_.`).
pub fn looks_like_repo_id(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(s.split_once('/'), Some((a, b)) if ok(a) && ok(b))
}

/// The model folder `source` names: an existing path as it is; otherwise, when it looks like
/// `owner/name`, that Hub repository downloaded through hf-hub's cache (feature `remote`).
pub fn resolve_source(source: &str) -> Result<PathBuf> {
    let path = Path::new(source);
    if path.exists() || !looks_like_repo_id(source) {
        return Ok(path.to_path_buf());
    }
    pull_repo(source)
}

#[cfg(feature = "remote")]
fn pull_repo(repo: &str) -> Result<PathBuf> {
    gm_hub::remote::pull(repo, &Default::default()).with_context(|| {
        format!("{repo}: no such folder here, and downloading it from the Hugging Face Hub failed")
    })
}

#[cfg(not(feature = "remote"))]
fn pull_repo(repo: &str) -> Result<PathBuf> {
    bail!(
        "{repo}: no such folder, and this build has no Hub client to download the repository \
         `{repo}`: `cargo xtask sample {repo}` builds it with --features remote"
    )
}

mod sample;
pub use sample::{read_latents, sample, SampleOptions, SampleOutput, Sampled, DEFAULT_SAMPLES};

#[cfg(test)]
mod tests;
