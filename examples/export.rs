//! Exports a finished run folder as a publishable model folder (weights with metadata,
//! config.json, model card, sample grid), and optionally publishes it on the Hugging Face
//! Hub in one commit (the token comes from `HF_TOKEN` or the standard token file).
//!
//! ```text
//! cargo xtask export runs/classifier --out exports/classifier
//! cargo xtask export runs/vae --out exports/vae --push user/gm-vae-mnist [--private] [--dry-run]
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use gm::core::classifier::MnistClassifier;
use gm::core::model::SavedModel;
use gm::hub::{export, ExportOptions, ModelCard};
use gm::vae::LoadedVae;

const USAGE: &str =
    "usage: export <run-dir> --out <dir> [--push user/name] [--private] [--dry-run]";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut run_dir, mut out, mut push) = (None, None, None);
    let (mut private, mut dry_run) = (false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(it.next().context("--out needs a folder")?)),
            "--push" => {
                push = Some(
                    it.next()
                        .context("--push needs a repository id user/name")?
                        .clone(),
                )
            }
            "--private" => private = true,
            "--dry-run" => dry_run = true,
            s if s.starts_with("--") => {
                bail!("unknown option `{s}`; {USAGE}")
            }
            s => run_dir = Some(PathBuf::from(s)),
        }
    }
    let run_dir = run_dir.context(USAGE)?;
    if (private || dry_run) && push.is_none() {
        bail!("--private and --dry-run go with --push user/name; {USAGE}");
    }
    let out = out.context("--out <dir> is required")?;
    let dev = Device::Cpu;
    let gm::cli::RunModel {
        model,
        config,
        tensors,
        ..
    } = gm::cli::read_run_model(&run_dir, &dev)?;
    let exported = match model.as_str() {
        MnistClassifier::MODEL => {
            let m = MnistClassifier::from_parts(&config, tensors, &dev)?;
            let test = gm::core::data::mnist_embedded()?.test;
            let (acc, _) = m.evaluate(&test, &dev)?;
            let card = ModelCard {
                description: "A LeNet-style MNIST classifier trained by gm on 8,000 digits; its \
                              penultimate layer is gm's evaluation feature space."
                    .into(),
                pipeline_tag: "image-classification".into(),
                tags: vec!["mnist".into(), "classifier".into()],
                metrics: vec![("accuracy".into(), acc)],
                ..Default::default()
            };
            let samples = test.head(64, &dev)?.x;
            export(
                &m,
                &out,
                &ExportOptions {
                    card,
                    samples: Some((samples, false)),
                    ..Default::default()
                },
            )?
        }
        LoadedVae::MODEL => {
            let m = LoadedVae::from_parts(&config, tensors, &dev)?;
            let metrics = eval_metrics(&run_dir);
            let card = ModelCard {
                description: "A variational autoencoder trained by gm on the embedded MNIST \
                              digits; its decoder is a generator of 28x28 digits."
                    .into(),
                pipeline_tag: "unconditional-image-generation".into(),
                tags: vec!["mnist".into(), "vae".into()],
                metrics,
                ..Default::default()
            };
            let samples = m.vae.sample(64, &mut gm::core::GmRng::new(0), &dev)?;
            export(
                &m,
                &out,
                &ExportOptions {
                    card,
                    samples: Some((samples, false)),
                    ..Default::default()
                },
            )?
        }
        m if gm::gan::LoadedGenerator::is_gan_run(m) => {
            let g = gm::gan::LoadedGenerator::from_run(&config, &tensors, &dev)?;
            let metrics = eval_metrics(&run_dir);
            let card = ModelCard {
                description: format!(
                    "A generator trained by gm ({m}) on the embedded MNIST digits or a 2-D \
                     mixture; it maps N(0, I) latents to samples."
                ),
                pipeline_tag: "unconditional-image-generation".into(),
                tags: vec!["gan".into()],
                metrics,
                ..Default::default()
            };
            let x =
                gm::core::Generator::sample(&g.generator, 64, &mut gm::core::GmRng::new(0), &dev)?;
            // Image generators get a sample grid; 2-D generators have no image to show.
            let samples = (x.rank() == 4).then_some((x, false));
            export(
                &g,
                &out,
                &ExportOptions {
                    card,
                    samples,
                    ..Default::default()
                },
            )?
        }
        other => bail!(
            "model `{other}` cannot be exported yet (known: {}, {}, gan/*)",
            MnistClassifier::MODEL,
            LoadedVae::MODEL
        ),
    };
    for (f, size) in &exported.files {
        println!("{:>10} bytes  {}", size, exported.dir.join(f).display());
    }
    if let Some(repo) = push {
        publish(&exported.dir, &repo, private, dry_run)?;
    }
    Ok(())
}

/// The headline metrics of the run's `eval.json` (from `cargo xtask eval`), if any.
fn eval_metrics(run_dir: &std::path::Path) -> Vec<(String, f64)> {
    let mut metrics = Vec::new();
    if let Ok(r) = gm::eval::read_eval(run_dir) {
        if let Some(mm) = &r.mnist {
            metrics.push(("mnist_fd".to_string(), mm.frechet_distance));
            metrics.push(("classifier_score".to_string(), mm.classifier_score.mean));
        }
    }
    metrics
}

#[cfg(feature = "remote")]
fn publish(dir: &std::path::Path, repo: &str, private: bool, dry_run: bool) -> Result<()> {
    use gm::hub::remote;
    remote::parse_repo_id(repo)?;
    let plan = remote::plan_push(dir)?;
    if dry_run {
        println!(
            "dry run: would create {}{repo} if needed and commit:",
            if private { "private " } else { "" }
        );
        for f in &plan {
            println!("{:>10} bytes  {}", f.bytes, f.path_in_repo);
        }
        let token = if remote::token_from_env().is_some() {
            "found"
        } else {
            "NOT found (set HF_TOKEN)"
        };
        println!("token: {token}");
        return Ok(());
    }
    let pushed = remote::push(dir, repo, private, None, &Default::default())?;
    println!("pushed {} files to {}", pushed.files.len(), pushed.repo_url);
    if let Some(c) = pushed.commit_url {
        println!("commit: {c}");
    }
    Ok(())
}

#[cfg(not(feature = "remote"))]
fn publish(_dir: &std::path::Path, _repo: &str, _private: bool, _dry_run: bool) -> Result<()> {
    bail!("this build has no Hub client: run `cargo xtask export ... --push` (it builds with --features remote)")
}
