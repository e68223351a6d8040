//! [`sample`]: drawing `x = G(z)` from a model folder to an image grid, one image per sample
//! and the tensors, with latents seeded or read from a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use gm_core::run::{self, RunMode};
use gm_core::{Generator, GmRng};

use super::{load_generator, LoadedModel};

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
