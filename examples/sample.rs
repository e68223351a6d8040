//! Draws samples from a trained generator: a run folder, an exported model folder, or a
//! Hugging Face Hub repository `user/name` (downloaded through hf-hub's cache; this needs
//! the `remote` feature, which `cargo xtask sample` turns on). The same `--seed` gives the
//! same latents and the same images; `--latent FILE` gives the latents instead. A
//! class-conditional run (`cargo xtask run cgan`) draws uniform classes, or class `k` alone
//! with `--class k` (the same seed keeps the same `z` across classes).
//!
//! ```text
//! cargo xtask sample runs/gan/1 [--n 64] [--seed 0] [--out grid.png | --out DIR]
//!                    [--latent z.safetensors] [--class K] [--device auto|cpu|cuda[:N]|metal[:N]]
//! ```
//!
//! Without `--out`, or with `--out DIR`, a new run folder (`runs/sample/<n>` by default)
//! gets `grid.png`, `sample_000.png`, ... and `samples.safetensors` (tensors `samples` and
//! `latents`); 2-D generators get `scatter.png` instead of images. `--out FILE.png` writes
//! the grid alone and refuses a file that exists.

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use gm::models::{SampleOptions, SampleOutput};

/// Draws samples from a trained generator (run folder, exported folder or Hub repository).
#[derive(Parser)]
struct Cli {
    /// A run folder or an exported model folder (holding model.safetensors), or a Hub
    /// repository user/name
    #[arg(value_name = "SOURCE")]
    source: String,
    /// Samples to draw [default: 64, or the rows of --latent]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    n: Option<u64>,
    /// Seed of the latents: the same seed gives the same samples
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// FILE.png: the image grid alone (an existing file is refused). DIR: a new run folder
    /// with the grid, one PNG per sample and samples.safetensors [default: runs/sample/<n>]
    #[arg(long, value_name = "FILE.png|DIR")]
    out: Option<PathBuf>,
    /// Latents to decode instead of drawing them: a safetensors file with a tensor `latents`
    /// (or only one tensor) of shape (n, latent_dim)
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    latent: Option<PathBuf>,
    /// Draw every sample of class K (class-conditional models, e.g. a cgan run) [default:
    /// uniform classes]
    #[arg(long, value_name = "K", conflicts_with = "latent")]
    class: Option<usize>,
    #[command(flatten)]
    device: gm::cli::DeviceArgs,
}

const NAME: &str = "sample";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse("sample", &[]);
    let out = match &cli.out {
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) => {
            SampleOutput::Png(p.clone())
        }
        Some(p) => SampleOutput::Folder(p.clone()),
        None => SampleOutput::NextIn(gm::cli::default_base(NAME)),
    };
    let dev = cli.device.device()?;
    let dir = gm::models::resolve_source(&cli.source)?;
    let opts = SampleOptions {
        n: cli.n.map(|n| n as usize),
        seed: cli.seed,
        latent_file: cli.latent.clone(),
        class: cli.class,
        args: recorded_args(),
    };
    let s = gm::models::sample(&dir, &opts, &out, &dev)?;
    let from = match (&cli.latent, cli.class) {
        (Some(f), _) => format!("latents of {}", f.display()),
        (None, Some(k)) => format!("class {k}, seed {}", cli.seed),
        (None, None) => format!("seed {}", cli.seed),
    };
    println!(
        "{} samples of shape {:?} from {} ({}, {from}, device {})",
        s.samples.dim(0)?,
        &s.samples.dims()[1..],
        dir.display(),
        s.model,
        gm::core::device::device_name(&dev)
    );
    let shown = s.files.len().min(3);
    for f in &s.files[..shown] {
        println!("  {}", f.display());
    }
    if s.files.len() > shown {
        println!("  ... {} files in {}", s.files.len(), s.out.display());
    }
    Ok(())
}

/// The command line for the output folder's run.json, without where it went.
fn recorded_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--out" {
            it.next();
        } else if !a.starts_with("--out=") {
            out.push(a);
        }
    }
    out
}
