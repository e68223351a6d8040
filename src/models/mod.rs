//! Generators rebuilt from a model folder, and sampling them to files.
//!
//! A folder holding `model.safetensors` with gm's metadata (`gm.model`, `gm.config`), a
//! finished run's or a gm-hub export's, rebuilds its generator with [`load_generator`]; the
//! model name decides how, through the library constructors of gm-vae, gm-flow,
//! gm-autoregressive and gm-gan (whose models say how in [`gm_gan::registry`]; see
//! [`SavedGenerator`]). [`sample`] draws `x = G(z)` from such a folder, with
//! `z ~ Generator::sample_latent` seeded by [`gm_core::GmRng::new`] or read from a file, and writes
//! an image grid, one image per sample and the tensors (`cargo xtask sample`). A
//! class-conditional generator (`cgan/*`) draws uniform classes, or one class with
//! [`SampleOptions::class`] (`cargo xtask sample RUN --class k`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use gm_core::Generator;
use gm_gan::registry;
use gm_gan::LoadedGenerator;
use gm_vae::LoadedVae;

/// The weights file of a model folder.
pub const MODEL_FILE: &str = "model.safetensors";

/// Saved models that are not generators gm can sample, and why: gm-gan's (from its registry)
/// and the MNIST classifier.
pub fn unsupported() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = registry::unsupported().collect();
    all.push(("mnist-classifier", "a classifier, not a generator"));
    all
}

/// The generators [`SavedGenerator::from_parts`] rebuilds, by `gm.model`.
pub fn supported() -> String {
    let mut names = vec!["vae".to_string(), "gan/*".into(), "gan-generator".into()];
    for m in registry::MODELS {
        if let registry::Saved::Generator { model, .. } = m.saved {
            names.push(format!("{model}, {model}/*"));
        }
    }
    names.extend(["flow".into(), "made".into(), "pixelcnn".into()]);
    names.join(", ")
}

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
    Gan(Box<LoadedGenerator>),
    /// A model of gm-gan's registry (MIX+GAN, BiGAN, the conditional GAN, progressive
    /// growing, and any model added to it), as its entry rebuilds it.
    Registered(Box<dyn Generator>),
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
            LoadedGenerator::MODEL => Self::Gan(Box::new(
                LoadedGenerator::from_parts(config, tensors, device).with_context(at)?,
            )),
            m if LoadedGenerator::is_gan_run(m) => Self::Gan(Box::new(
                LoadedGenerator::from_run(config, &tensors, device).with_context(at)?,
            )),
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
            other => match registry::saved(other).map(|m| &m.saved) {
                Some(registry::Saved::Generator { load, .. }) => {
                    Self::Registered(load(other, config, &tensors, device).with_context(at)?)
                }
                _ => {
                    let all = unsupported();
                    let why = all
                        .iter()
                        .find(|(name, _)| *name == other)
                        .map_or("unknown model", |(_, why)| why);
                    let listed: Vec<String> = all
                        .iter()
                        .map(|(name, why)| format!("{name} ({why})"))
                        .collect();
                    bail!(
                        "{}: model `{other}` is not a generator gm can sample: {why} (supported: \
                         {}; not supported: {})",
                        file.display(),
                        supported(),
                        listed.join("; ")
                    )
                }
            },
        })
    }

    /// The generator, borrowed.
    pub fn generator(&self) -> &dyn Generator {
        match self {
            Self::Vae(m) => m.vae.decoder(),
            Self::Gan(g) => &g.generator,
            Self::Registered(g) => g.as_ref(),
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
            Self::Registered(g) => g,
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
