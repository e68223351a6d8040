//! Downloads a gm model folder from the Hugging Face Hub (through hf-hub's cache; `HF_HOME`,
//! `HF_HUB_CACHE` and `HF_ENDPOINT` are honoured), rebuilds the model from it and uses it:
//! a generator writes a sample grid, the classifier reports its test accuracy. With
//! `--offline` (or `HF_HUB_OFFLINE=1`) only the cache is read.
//!
//! ```text
//! cargo xtask pull user/gm-vae-mnist [--offline] [--revision main] [--out runs/pulled] [--seed 0]
//! ```

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use gm::core::classifier::MnistClassifier;
use gm::core::model::SavedModel;
use gm::core::GmRng;
use gm::hub::remote::{pull, PullOptions};

/// Downloads a gm model from the Hugging Face Hub (through its cache) and uses it.
#[derive(Parser)]
struct Cli {
    /// The Hub repository, user/name
    #[arg(value_name = "USER/NAME")]
    repo: String,
    /// Read only the local cache, never the network (also HF_HUB_OFFLINE=1)
    #[arg(long)]
    offline: bool,
    /// Branch, tag or commit (default: main)
    #[arg(long, value_name = "R")]
    revision: Option<String>,
    /// Folder of the sample grid samples.png
    #[arg(long, value_name = "DIR", default_value = "runs/pulled")]
    out: PathBuf,
    /// Seed of the generator's latents
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    device: gm::cli::DeviceArgs,
}

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse("pull", &[]);
    let opts = PullOptions {
        offline: cli.offline,
        revision: cli.revision.clone(),
        ..Default::default()
    };
    let dir = pull(&cli.repo, &opts)?;
    println!("{}: {}", cli.repo, dir.display());
    let dev = cli.device.device()?;
    let parts = gm::hub::load_parts(&dir, &dev)?;
    if parts.model == MnistClassifier::MODEL {
        let m: MnistClassifier = gm::hub::load(&dir, &dev)?;
        let test = gm::core::data::mnist_embedded()?.test;
        let (acc, _) = m.evaluate(&test, &dev)?;
        println!("test accuracy on the embedded digits: {:.2} %", 100.0 * acc);
        return Ok(());
    }
    let g = gm::models::load_generator(&dir, &dev)?;
    let seed = cli.seed;
    let x = g.generator.sample(64, &mut GmRng::new(seed), &dev)?;
    std::fs::create_dir_all(&cli.out)?;
    if x.rank() == 4 {
        let grid = cli.out.join("samples.png");
        // Generators return data space ([0, 1] pixels): the grid is unsigned.
        gm::core::viz::save_grid(&x, 8, false, &grid)?;
        println!("64 samples (seed {seed}) in {}", grid.display());
    } else {
        println!("64 samples (seed {seed}), shape {:?}", x.dims());
    }
    Ok(())
}
