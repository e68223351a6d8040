//! Evaluates a finished run offline and adds the numbers to its `report.html`: the run's
//! generator (from `model.safetensors`) is sampled, or a file or folder of samples is read,
//! and gm-eval's metrics are computed (MNIST FD, classifier score, KID, label coverage,
//! precision/recall, 1-NN, Parzen log-likelihood; mode coverage for 2-D samples). The
//! generator is rebuilt by [`gm::models::load_generator`] and sampled on `--device`.
//!
//! ```text
//! cargo xtask eval <run-dir> [--samples <file.safetensors | png-folder>] [--quick]
//!                  [--n N] [--seed S] [--signed] [--device auto|cpu|cuda[:N]|metal[:N]]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use candle_core::Device;
use clap::Parser;
use gm::eval::{
    evaluate_generator, evaluate_samples, load_samples, metrics_table, write_eval, EvalConfig,
    EvalReport, PixelRange,
};

/// Evaluates a finished run (or a model folder) offline and adds the numbers to its
/// report.html.
#[derive(Parser)]
struct Cli {
    /// The run folder: its generator (model.safetensors) is sampled, unless it holds
    /// samples.safetensors or --samples is given
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// Evaluate these samples instead: a safetensors file (tensor `samples`) or a folder of
    /// PNGs
    #[arg(long, value_name = "PATH")]
    samples: Option<PathBuf>,
    /// Fewer samples and cheaper metrics (a smoke run)
    #[arg(long)]
    quick: bool,
    /// Samples drawn from the generator (default: 10,000; with --quick 2,000)
    #[arg(long, value_name = "N")]
    n: Option<usize>,
    /// Seed of the generator's latents and the KID subsets (default: the config's)
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// The samples' pixels lie in [-1, 1] (tanh outputs), not [0, 1]
    #[arg(long)]
    signed: bool,
    #[command(flatten)]
    device: gm::cli::DeviceArgs,
}

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse("eval", &[]);
    let mut cfg = if cli.quick {
        EvalConfig::quick()
    } else {
        EvalConfig::default()
    };
    if let Some(n) = cli.n {
        cfg.n_samples = n;
    }
    if let Some(seed) = cli.seed {
        cfg.seed = seed;
    }
    if cli.signed {
        cfg.pixel_range = PixelRange::Signed;
    }
    let run_dir = cli.run_dir;
    if !run_dir.is_dir() {
        bail!("{}: not a run folder", run_dir.display());
    }
    let dev = cli.device.device()?;
    let report = match cli.samples {
        Some(path) => evaluate_file(&path, &cfg, &dev)?,
        None => {
            let own = run_dir.join("samples.safetensors");
            if own.exists() {
                evaluate_file(&own, &cfg, &dev)?
            } else {
                evaluate_model(&run_dir, &cfg, &dev)?
            }
        }
    };
    write_eval(&run_dir, &report)?;
    println!("| metric | value |\n|---|---|");
    for (k, v) in metrics_table(&report) {
        println!("| {k} | {v} |");
    }
    for (k, t) in &report.timings_s {
        eprintln!("{k}: {t:.2} s");
    }
    eprintln!(
        "wrote {} and {}",
        run_dir.join("eval.json").display(),
        run_dir.join("report.html").display()
    );
    Ok(())
}

fn evaluate_file(path: &Path, cfg: &EvalConfig, dev: &Device) -> Result<EvalReport> {
    let x = load_samples(path, dev)?;
    eprintln!("evaluating {} samples from {}", x.dim(0)?, path.display());
    let mut r = evaluate_samples(&x, cfg)?;
    r.source = path.display().to_string();
    Ok(r)
}

fn evaluate_model(run_dir: &Path, cfg: &EvalConfig, dev: &Device) -> Result<EvalReport> {
    let file = run_dir.join(gm::models::MODEL_FILE);
    if !file.exists() {
        bail!(
            "{}: no model.safetensors or samples.safetensors; pass --samples PATH",
            run_dir.display()
        );
    }
    let loaded = gm::models::load_generator(run_dir, dev)?;
    eprintln!(
        "sampling {} from {} on {}",
        cfg.n_samples,
        file.display(),
        gm::core::device::device_name(dev)
    );
    let mut r = evaluate_generator(loaded.generator.as_ref(), cfg, dev)?;
    r.source = format!("{} ({})", file.display(), loaded.model);
    Ok(r)
}
