//! Evaluates a finished run offline and adds the numbers to its `report.html`: the run's
//! generator (from `model.safetensors`) is sampled, or a file or folder of samples is read,
//! and gm-eval's metrics are computed (MNIST FD, classifier score, KID, label coverage,
//! precision/recall, 1-NN, Parzen log-likelihood; mode coverage for 2-D samples). The
//! generator is rebuilt by [`gm::models::load_generator`] and sampled on `--device`.
//!
//! With `--reference PATH` (held-out real images: a folder, IDX or tensor file, as `--data`
//! takes) the samples are compared with those images in the feature space of `--features`
//! (gm-eval's any-data metrics): the way to score a model of one's own data. With
//! `--features inception --feature-network pt_inception-2015-12-05.safetensors` (pytorch-fid's
//! Inception weights converted to safetensors; nothing is downloaded) the Frechet distance is
//! FID on Inception-v3 pool3 features (gm_eval::inception); a GPU is advised for it.
//!
//! ```text
//! cargo xtask eval <run-dir> [--samples <file.safetensors | png-folder>] [--quick]
//!                  [--n N] [--seed S] [--signed] [--device auto|cpu|cuda[:N]|metal[:N]]
//!                  [--reference PATH]
//!                  [--features auto|mnist-classifier|pixels|random-conv|network|inception]
//!                  [--feature-network FILE]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use candle_core::Device;
use clap::Parser;
use gm::eval::{
    evaluate_generator, evaluate_images, evaluate_samples, load_samples, metrics_table,
    sample_generator, write_eval, EvalConfig, EvalReport, FeatureSpace, PixelRange,
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
    /// Held-out real images to compare with (a folder of images, IDX, .safetensors or .npy;
    /// at most --n of them are used)
    #[arg(long, value_name = "PATH")]
    reference: Option<PathBuf>,
    /// Feature space of the comparison: auto (the MNIST classifier for 1x28x28, else the
    /// seeded random conv network), mnist-classifier, pixels, random-conv, network or
    /// inception (FID: Inception-v3 pool3 features, weights from --feature-network)
    #[arg(long, value_name = "SPACE", default_value = "auto", value_parser = feature_space)]
    features: FeatureSpace,
    /// The weights of --features network (a safetensors file in gm-eval's conv layout) or
    /// --features inception (Inception-v3 with torchvision's tensor names, e.g. pytorch-fid's
    /// pt_inception-2015-12-05 converted to safetensors)
    #[arg(long, value_name = "FILE")]
    feature_network: Option<PathBuf>,
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
    cfg.features = cli.features;
    cfg.feature_network = cli.feature_network.clone();
    let run_dir = cli.run_dir;
    if !run_dir.is_dir() {
        bail!("{}: not a run folder", run_dir.display());
    }
    let dev = cli.device.device()?;
    let reference = match &cli.reference {
        Some(path) => Some(reference_images(path, cfg.n_samples, &dev)?),
        None => None,
    };
    let report = match (cli.samples, reference) {
        (samples, Some(reference)) => {
            let x = match samples {
                Some(path) => load_samples(&path, &dev)?,
                None => {
                    let g = gm::models::load_generator(&run_dir, &dev)?;
                    sample_generator(
                        g.generator.as_ref(),
                        cfg.n_samples,
                        cfg.batch_size,
                        cfg.seed,
                        &dev,
                    )?
                }
            };
            let mut r = evaluate_images(&x, &reference, &cfg)?;
            r.source = run_dir.display().to_string();
            r
        }
        (samples, None) => match samples {
            Some(path) => evaluate_file(&path, &cfg, &dev)?,
            None => {
                let own = run_dir.join("samples.safetensors");
                if own.exists() {
                    evaluate_file(&own, &cfg, &dev)?
                } else {
                    evaluate_model(&run_dir, &cfg, &dev)?
                }
            }
        },
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

/// `--features`: the feature spaces of gm-eval by their names.
fn feature_space(s: &str) -> std::result::Result<FeatureSpace, String> {
    match s {
        "auto" => Ok(FeatureSpace::Auto),
        "mnist-classifier" => Ok(FeatureSpace::MnistClassifier),
        "pixels" => Ok(FeatureSpace::Pixels),
        "random-conv" => Ok(FeatureSpace::RandomConv),
        "network" => Ok(FeatureSpace::Network),
        "inception" => Ok(FeatureSpace::Inception),
        _ => Err("one of auto, mnist-classifier, pixels, random-conv, network, inception".into()),
    }
}

/// At most `n` real images of `path` (its training part first, then its held-out part),
/// pixels in [0, 1].
fn reference_images(path: &Path, n: usize, dev: &Device) -> Result<candle_core::Tensor> {
    let data = gm::data::load(path, &gm::data::LoadOptions::default())?;
    let mut parts = Vec::new();
    let mut left = n;
    for part in [&data.train, &data.test] {
        let take = left.min(part.len());
        if take > 0 {
            parts.push(part.head(take, dev)?.x);
            left -= take;
        }
    }
    eprintln!("reference: {} images of {}", n - left, path.display());
    Ok(candle_core::Tensor::cat(&parts, 0)?)
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
