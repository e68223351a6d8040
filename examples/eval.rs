//! Evaluates a finished run offline and adds the numbers to its `report.html`: the run's
//! generator (from `model.safetensors`) is sampled, or a file or folder of samples is read,
//! and gm-eval's metrics are computed (MNIST FD, classifier score, KID, label coverage,
//! precision/recall, 1-NN, Parzen log-likelihood; mode coverage for 2-D samples).
//!
//! ```text
//! cargo xtask eval <run-dir> [--samples <file.safetensors | png-folder>] [--quick]
//!                  [--n N] [--seed S] [--signed]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;
use gm::core::model::SavedModel;
use gm::eval::{
    evaluate_generator, evaluate_samples, load_samples, metrics_table, write_eval, EvalConfig,
    EvalReport, PixelRange,
};
use gm::vae::LoadedVae;

const USAGE: &str =
    "usage: eval <run-dir> [--samples PATH] [--quick] [--n N] [--seed S] [--signed]";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String> {
    it.next()
        .with_context(|| format!("{flag} needs a value; {USAGE}"))
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut run_dir, mut samples) = (None, None);
    let mut cfg = EvalConfig::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--samples" => samples = Some(PathBuf::from(value(&mut it, a)?)),
            "--quick" => {
                cfg = EvalConfig {
                    seed: cfg.seed,
                    ..EvalConfig::quick()
                }
            }
            "--signed" => cfg.pixel_range = PixelRange::Signed,
            "--n" => {
                let v = value(&mut it, a)?;
                cfg.n_samples = v
                    .parse()
                    .with_context(|| format!("--n {v}: not a sample count"))?;
            }
            "--seed" => {
                let v = value(&mut it, a)?;
                cfg.seed = v
                    .parse()
                    .with_context(|| format!("--seed {v}: not a seed"))?;
            }
            s if s.starts_with("--") => bail!("unknown option `{s}`; {USAGE}"),
            s => run_dir = Some(PathBuf::from(s)),
        }
    }
    let run_dir = run_dir.context(USAGE)?;
    if !run_dir.is_dir() {
        bail!("{}: not a run folder", run_dir.display());
    }
    let dev = Device::Cpu;
    let report = match samples {
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
    let file = run_dir.join("model.safetensors");
    if !file.exists() {
        bail!(
            "{}: no model.safetensors or samples.safetensors; pass --samples PATH",
            run_dir.display()
        );
    }
    let gm::cli::RunModel {
        model,
        config,
        tensors,
        ..
    } = gm::cli::read_run_model(run_dir, dev)?;
    eprintln!("sampling {} from {}", cfg.n_samples, file.display());
    let mut r = match model.as_str() {
        LoadedVae::MODEL => {
            let m = LoadedVae::from_parts(&config, tensors, dev)?;
            evaluate_generator(m.vae.decoder(), cfg, dev)?
        }
        m if gm::gan::LoadedGenerator::is_gan_run(m) => {
            let g = gm::gan::LoadedGenerator::from_run(&config, &tensors, dev)?;
            evaluate_generator(&g.generator, cfg, dev)?
        }
        other => bail!(
            "{}: model `{other}` is not a generator gm can sample (known: {}, gan/*); pass --samples PATH",
            file.display(),
            LoadedVae::MODEL
        ),
    };
    r.source = format!("{} ({model})", file.display());
    Ok(r)
}
