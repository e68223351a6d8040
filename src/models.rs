//! Generators rebuilt from a model folder, and sampling them to files.
//!
//! A folder holding `model.safetensors` with gm's metadata (`gm.model`, `gm.config`), a
//! finished run's or a gm-hub export's, rebuilds its generator with [`load_generator`]; the
//! model name decides how, through the library constructors of gm-vae and gm-gan (see
//! [`SavedGenerator`]). [`sample`] draws `x = G(z)` from such a folder, with
//! `z ~ Generator::sample_latent` seeded by [`GmRng::new`] or read from a file, and writes
//! an image grid, one image per sample and the tensors (`cargo xtask sample`). A
//! class-conditional generator (`cgan/*`) draws uniform classes, or one class with
//! [`SampleOptions::class`] (`cargo xtask sample RUN --class k`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{Device, Tensor};
use gm_core::run::{self, RunMode};
use gm_core::{Generator, GmRng, TrainState, Trainer};
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

/// What [`sample`] draws.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    /// Samples to draw; `None`: the rows of `latent_file`, else 64.
    pub n: Option<usize>,
    /// Seeds the latents ([`GmRng::new`]) when `latent_file` is `None`.
    pub seed: u64,
    /// A safetensors file with a tensor `latents` (or only one tensor) `(n, latent_dim)`.
    pub latent_file: Option<PathBuf>,
    /// Every sample of this class (class-conditional generators only; not with
    /// `latent_file`, whose latents carry their classes). `None`: the generator's prior
    /// (uniform classes for a conditional one).
    pub class: Option<usize>,
    /// The command line recorded in the output folder's `run.json`.
    pub args: Vec<String>,
}

/// Samples drawn when [`SampleOptions::n`] is not given and no latents are.
pub const DEFAULT_SAMPLES: usize = 64;

/// Where [`sample`] writes.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleOutput {
    /// One PNG: the image grid (a scatter plot for 2-D samples). An existing file is refused.
    Png(PathBuf),
    /// A run folder by the rules of [`gm_core::run`] (new or empty): `grid.png` and
    /// `sample_000.png`, ... for images (`scatter.png` for 2-D samples) and
    /// `samples.safetensors` (tensors `samples` and `latents`).
    Folder(PathBuf),
    /// A new numbered folder `<base>/<n>`, created once the samples are drawn, then as
    /// [`SampleOutput::Folder`].
    NextIn(PathBuf),
}

/// What [`sample`] drew and wrote.
#[derive(Debug, Clone)]
pub struct Sampled {
    /// The `gm.model` sampled.
    pub model: String,
    /// `(n, latent_dim)`.
    pub latents: Tensor,
    /// `(n, output_shape...)`, in data space (digits in `[0, 1]`).
    pub samples: Tensor,
    /// The PNG or the folder written.
    pub out: PathBuf,
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
}

/// Reads latents `(n, latent_dim)` from `file` (its tensor `latents`, or its only tensor);
/// with `n` given, the rows must be `n`. A wrong shape is an error naming the file and the
/// shape expected.
pub fn read_latents(
    file: &Path,
    n: Option<usize>,
    latent_dim: usize,
    device: &Device,
) -> Result<Tensor> {
    let (tensors, _) = gm_core::io::load_safetensors(file, device)?;
    let z = match tensors.get("latents") {
        Some(z) => z.clone(),
        None if tensors.len() == 1 => tensors.into_values().next().context("one tensor")?,
        None => bail!(
            "{}: holds {} tensors and none named `latents`",
            file.display(),
            tensors.len()
        ),
    };
    let rows = n.map_or("n".to_string(), |n| n.to_string());
    let ok = match z.dims() {
        &[r, d] => r > 0 && d == latent_dim && n.is_none_or(|n| n == r),
        _ => false,
    };
    if !ok {
        bail!(
            "{}: latents of shape {:?}; this generator expects ({rows}, {latent_dim})",
            file.display(),
            z.dims()
        );
    }
    Ok(z.to_dtype(candle_core::DType::F32)?)
}

/// How a generator's items are drawn to files.
enum Picture {
    /// `(c, h, w)`, c = 1 or 3: an image grid and one PNG per sample.
    Images,
    /// `(2,)`: a scatter plot.
    Points,
    /// Anything else: only the tensor.
    None,
}

fn picture_of(shape: &[usize]) -> Picture {
    match shape {
        [1 | 3, _, _] => Picture::Images,
        [2] => Picture::Points,
        _ => Picture::None,
    }
}

/// `G(z)` in chunks, so that a large `n` fits in memory.
fn generate_all(g: &dyn Generator, z: &Tensor) -> Result<Tensor> {
    const CHUNK: usize = 1024;
    let n = z.dim(0)?;
    if n <= CHUNK {
        return Ok(g.generate(z)?.detach());
    }
    let parts = (0..n)
        .step_by(CHUNK)
        .map(|lo| Ok(g.generate(&z.narrow(0, lo, CHUNK.min(n - lo))?)?.detach()))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// Draws samples from the model folder `dir` and writes them to `out`. The latents come
/// from `opts.latent_file`, else from `Generator::sample_latent` with `GmRng::new(seed)`, so
/// the same seed gives the same samples and the same files. Image generators return data
/// space (gm's GANs map their tanh output `[-1, 1]` to `[0, 1]`, VAE decoders give Bernoulli
/// means), so images are drawn unsigned. Nothing is written when the model, the latents or
/// the output are refused.
pub fn sample(
    dir: &Path,
    opts: &SampleOptions,
    out: &SampleOutput,
    device: &Device,
) -> Result<Sampled> {
    let LoadedModel { model, generator } = load_generator(dir, device)?;
    let g = generator.as_ref();
    if let Some(k) = opts.class {
        match g.num_classes() {
            None => bail!(
                "--class {k}: model `{model}` in {} is not class-conditional (a cgan run is)",
                dir.display()
            ),
            Some(classes) if k >= classes => bail!(
                "--class {k}: model `{model}` has classes 0..{}",
                classes - 1
            ),
            Some(_) if opts.latent_file.is_some() => {
                bail!("--class {k}: the latents of --latent carry their own classes")
            }
            Some(_) => {}
        }
    }
    let latents = match &opts.latent_file {
        Some(file) => read_latents(file, opts.n, g.latent_dim(), device)?,
        None => {
            let n = opts.n.unwrap_or(DEFAULT_SAMPLES);
            if n == 0 {
                bail!("--n 0: draw at least one sample");
            }
            let mut rng = GmRng::new(opts.seed);
            match opts.class {
                Some(k) => g.sample_latent_of_class(n, k, &mut rng, device)?,
                None => g.sample_latent(n, &mut rng, device)?,
            }
        }
    };
    let picture = picture_of(&g.output_shape());
    if let SampleOutput::Png(file) = out {
        refuse_existing(file)?;
        if matches!(picture, Picture::None) {
            bail!(
                "{}: model `{model}` makes items of shape {:?}, which have no picture; pass \
                 --out DIR for the tensors",
                file.display(),
                g.output_shape()
            );
        }
    }
    let samples = generate_all(g, &latents)?;
    let (out_path, files) = match out {
        SampleOutput::Png(file) => {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("{}: cannot create it", parent.display()))?;
            }
            // Checked again: drawing takes a while.
            refuse_existing(file)?;
            draw(&samples, &picture, file)?;
            (file.clone(), vec![file.clone()])
        }
        SampleOutput::Folder(dir) | SampleOutput::NextIn(dir) => {
            let dir = match out {
                SampleOutput::NextIn(base) => run::next_numbered_dir(base)?,
                _ => dir.clone(),
            };
            run::prepare(&dir, RunMode::New, "sample", &opts.args)?;
            let files = write_folder(&dir, &model, &samples, &latents, &picture, opts)?;
            (dir, files)
        }
    };
    Ok(Sampled {
        model,
        latents,
        samples,
        out: out_path,
        files,
    })
}

fn refuse_existing(file: &Path) -> Result<()> {
    if file.exists() {
        bail!(
            "{}: already exists; sample never replaces a file: choose another --out",
            file.display()
        );
    }
    Ok(())
}

/// The grid of `samples` (ceil(sqrt n) columns) or their scatter plot, into `file`.
fn draw(samples: &Tensor, picture: &Picture, file: &Path) -> Result<()> {
    match picture {
        Picture::Images => {
            let n = samples.dim(0)?;
            let ncol = (n as f64).sqrt().ceil() as usize;
            gm_core::viz::save_grid(samples, ncol, false, file)?;
        }
        Picture::Points => {
            let points = samples.flatten_all()?.to_vec1::<f32>()?;
            let reach = points
                .iter()
                .filter(|v| v.is_finite())
                .fold(0f32, |m, v| m.max(v.abs()));
            // A margin of a tenth around the farthest point, in whole units.
            let extent = (1.1 * reach as f64).ceil().max(1.0);
            gm_core::viz::save_scatter(&points, &[], extent, 512, file)?;
        }
        Picture::None => {}
    }
    Ok(())
}

fn write_folder(
    dir: &Path,
    model: &str,
    samples: &Tensor,
    latents: &Tensor,
    picture: &Picture,
    opts: &SampleOptions,
) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    match picture {
        Picture::Images => {
            let grid = dir.join("grid.png");
            draw(samples, picture, &grid)?;
            files.push(grid);
            for i in 0..samples.dim(0)? {
                let f = dir.join(format!("sample_{i:03}.png"));
                gm_core::viz::save_grid(&samples.narrow(0, i, 1)?, 1, false, &f)?;
                files.push(f);
            }
        }
        Picture::Points => {
            let f = dir.join("scatter.png");
            draw(samples, picture, &f)?;
            files.push(f);
        }
        Picture::None => {}
    }
    let tensors = BTreeMap::from([
        ("samples".to_string(), samples.clone()),
        ("latents".to_string(), latents.clone()),
    ]);
    let mut meta = BTreeMap::from([("gm.sampled_from".to_string(), model.to_string())]);
    match &opts.latent_file {
        Some(f) => meta.insert("gm.latents".into(), f.display().to_string()),
        None => meta.insert("gm.seed".into(), opts.seed.to_string()),
    };
    if let Some(k) = opts.class {
        meta.insert("gm.class".into(), k.to_string());
    }
    let f = dir.join("samples.safetensors");
    gm_core::io::save_safetensors(&f, &tensors, &meta)?;
    files.push(f);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::data::Dataset;
    use gm_core::{fit, FitConfig};
    use gm_gan::{
        Activation, Architecture, CganConfig, CganTrainer, Conditioning, GanConfig, LabelEmbedding,
    };

    /// A finished conditional GAN run (tiny MLP networks, 4x4 items of 3 classes) in `dir`.
    fn train_cgan(dir: &Path) -> CganTrainer {
        let dev = Device::Cpu;
        let mlp = Architecture::Mlp {
            hidden: vec![8],
            activation: Activation::LeakyRelu,
        };
        let cfg = CganConfig {
            model: GanConfig {
                latent_dim: 2,
                data_shape: vec![1, 4, 4],
                generator: mlp.clone(),
                discriminator: mlp,
                ..GanConfig::mlp_mnist()
            },
            n_classes: 3,
            label_embedding: LabelEmbedding::Learned { dim: 2 },
            conditioning: Conditioning::Acgan,
            ..CganConfig::default()
        };
        let x = GmRng::new(0).uniform_vec(12 * 16, 0.0, 1.0);
        let y = (0..12).map(|i| i % 3).collect();
        let data = Dataset::new("tiny", vec![1, 4, 4], x, Some(y)).unwrap();
        let fc = FitConfig {
            epochs: 1,
            batch_size: 4,
            progress: false,
            ..FitConfig::default()
        };
        let mut t = CganTrainer::new(cfg, 0, &dev).unwrap();
        fit(&mut t, &data, &fc, dir, &dev).unwrap();
        t
    }

    #[test]
    fn a_conditional_run_samples_one_class_or_uniform_classes() {
        let dev = Device::Cpu;
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        let t = train_cgan(&run);
        let loaded = load_generator(&run, &dev).unwrap();
        assert_eq!(loaded.model, "cgan/acgan");
        assert_eq!(loaded.generator.num_classes(), Some(3));

        let opts = SampleOptions {
            n: Some(5),
            seed: 7,
            class: Some(2),
            ..Default::default()
        };
        let s = sample(
            &run,
            &opts,
            &SampleOutput::Folder(tmp.path().join("c2")),
            &dev,
        )
        .unwrap();
        // Latents [z, one-hot(2)]: the trained generator's items of class 2 for that z.
        let z = s.latents.narrow(1, 0, 2).unwrap();
        let code = s.latents.narrow(1, 2, 3).unwrap().to_vec2::<f32>().unwrap();
        assert!(code.iter().all(|row| row == &[0.0, 0.0, 1.0]));
        let want = t
            .generator()
            .generate_class(&z, &Tensor::new(&[2u32; 5], &dev).unwrap())
            .unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&s.samples), flat(&want));
        let (_, meta) =
            gm_core::io::load_safetensors(tmp.path().join("c2/samples.safetensors"), &dev).unwrap();
        assert_eq!(meta["gm.class"], "2");

        // Without a class: the same z, classes drawn uniformly.
        let uniform = SampleOptions {
            class: None,
            ..opts.clone()
        };
        let u = sample(
            &run,
            &uniform,
            &SampleOutput::Png(tmp.path().join("u.png")),
            &dev,
        )
        .unwrap();
        assert_eq!(flat(&u.latents.narrow(1, 0, 2).unwrap()), flat(&z));

        // A class the model lacks is refused, and nothing is written.
        let bad = SampleOptions {
            class: Some(3),
            ..opts
        };
        let e = sample(
            &run,
            &bad,
            &SampleOutput::Png(tmp.path().join("b.png")),
            &dev,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--class 3") && e.contains("0..2"), "{e}");
        assert!(!tmp.path().join("b.png").exists());
    }

    #[test]
    fn an_unconditional_run_refuses_a_class() {
        let dev = Device::Cpu;
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("gan");
        let cfg = GanTrainConfig {
            model: GanConfig {
                latent_dim: 2,
                data_shape: vec![1, 4, 4],
                generator: Architecture::Mlp {
                    hidden: vec![8],
                    activation: Activation::Relu,
                },
                ..GanConfig::mlp_mnist()
            },
            ..GanTrainConfig::default()
        };
        let x = GmRng::new(0).uniform_vec(8 * 16, 0.0, 1.0);
        let data = Dataset::new("tiny", vec![1, 4, 4], x, None).unwrap();
        let fc = FitConfig {
            batch_size: 4,
            progress: false,
            ..FitConfig::default()
        };
        let mut t = gm_gan::GanTrainer::new(cfg, 0, &dev).unwrap();
        fit(&mut t, &data, &fc, &run, &dev).unwrap();
        let opts = SampleOptions {
            class: Some(0),
            ..Default::default()
        };
        let out = tmp.path().join("c.png");
        let e = sample(&run, &opts, &SampleOutput::Png(out.clone()), &dev)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not class-conditional"), "{e}");
        assert!(!out.exists());
    }
}
