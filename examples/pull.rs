//! Downloads a gm model folder from the Hugging Face Hub (through hf-hub's cache; `HF_HOME`,
//! `HF_HUB_CACHE` and `HF_ENDPOINT` are honoured), rebuilds the model from it and uses it:
//! a generator writes a sample grid, the classifier reports its test accuracy. With
//! `--offline` (or `HF_HUB_OFFLINE=1`) only the cache is read.
//!
//! ```text
//! cargo xtask pull user/gm-vae-mnist [--offline] [--revision main] [--out runs/pulled] [--seed 0]
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use gm::core::classifier::MnistClassifier;
use gm::core::model::SavedModel;
use gm::core::GmRng;
use gm::hub::remote::{pull, PullOptions};
use gm::vae::LoadedVae;

const USAGE: &str = "usage: pull <user/name> [--offline] [--revision R] [--out DIR] [--seed S]";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut repo = None;
    let mut opts = PullOptions::default();
    let mut out = PathBuf::from("runs/pulled");
    let mut seed = 0u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--offline" => opts.offline = true,
            "--revision" => opts.revision = Some(it.next().context(USAGE)?.clone()),
            "--out" => out = PathBuf::from(it.next().context(USAGE)?),
            "--seed" => {
                let v = it.next().context(USAGE)?;
                seed = v
                    .parse()
                    .with_context(|| format!("--seed {v}: not a seed"))?;
            }
            s if s.starts_with("--") => bail!("unknown option `{s}`; {USAGE}"),
            s => repo = Some(s.to_string()),
        }
    }
    let repo = repo.context(USAGE)?;
    let dir = pull(&repo, &opts)?;
    println!("{repo}: {}", dir.display());
    let dev = Device::Cpu;
    let parts = gm::hub::load_parts(&dir, &dev)?;
    match parts.model.as_str() {
        LoadedVae::MODEL => {
            let m: LoadedVae = gm::hub::load(&dir, &dev)?;
            let x = m.vae.sample(64, &mut GmRng::new(seed), &dev)?;
            std::fs::create_dir_all(&out)?;
            let grid = out.join("samples.png");
            gm::core::viz::save_grid(&x, 8, false, &grid)?;
            println!("64 samples (seed {seed}) in {}", grid.display());
        }
        gm::gan::LoadedGenerator::MODEL => {
            let g: gm::gan::LoadedGenerator = gm::hub::load(&dir, &dev)?;
            let x = gm::core::Generator::sample(&g.generator, 64, &mut GmRng::new(seed), &dev)?;
            std::fs::create_dir_all(&out)?;
            if x.rank() == 4 {
                let grid = out.join("samples.png");
                gm::core::viz::save_grid(&x, 8, false, &grid)?;
                println!("64 samples (seed {seed}) in {}", grid.display());
            } else {
                println!("64 samples (seed {seed}), shape {:?}", x.dims());
            }
        }
        MnistClassifier::MODEL => {
            let m: MnistClassifier = gm::hub::load(&dir, &dev)?;
            let test = gm::core::data::mnist_embedded()?.test;
            let (acc, _) = m.evaluate(&test, &dev)?;
            println!("test accuracy on the embedded digits: {:.2} %", 100.0 * acc);
        }
        other => bail!(
            "{}: model `{other}` is not one gm can rebuild",
            dir.display()
        ),
    }
    Ok(())
}
