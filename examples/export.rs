//! Exports a finished run folder as a publishable model folder (weights with metadata,
//! config.json, model card, sample grid), and optionally publishes it on the Hugging Face
//! Hub in one commit (the token comes from `HF_TOKEN` or the standard token file).
//!
//! ```text
//! cargo xtask export runs/classifier --out exports/classifier
//! cargo xtask export runs/vae --out exports/vae --push user/gm-vae-mnist [--private] [--dry-run]
//! ```

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;
use gm::core::classifier::MnistClassifier;
use gm::core::model::SavedModel;
use gm::core::GmRng;
use gm::gan::LoadedGenerator;
use gm::hub::{export, ExportOptions, Exported, ModelCard};
use gm::models::SavedGenerator;
use gm::vae::LoadedVae;

/// Writes a finished run's model as a publishable Hub folder; --push publishes it.
#[derive(Parser)]
struct Cli {
    /// The finished run folder (its model.safetensors)
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// The export folder; one holding anything but a previous export is refused
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Publish the export on the Hugging Face Hub as this repository (token from HF_TOKEN)
    #[arg(long, value_name = "USER/NAME")]
    push: Option<String>,
    /// Create the repository as private
    #[arg(long, requires = "push")]
    private: bool,
    /// List what --push would send, and whether a token was found, without sending
    #[arg(long, requires = "push")]
    dry_run: bool,
    #[command(flatten)]
    device: gm::cli::DeviceArgs,
}

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse("export", &[]);
    let (run_dir, out) = (&cli.run_dir, &cli.out);
    let dev = cli.device.device()?;
    let gm::cli::RunModel {
        model,
        config,
        tensors,
    } = gm::cli::read_run_model(run_dir, &dev)?;
    let exported = if model == MnistClassifier::MODEL {
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
            out,
            &ExportOptions {
                card,
                samples: Some((samples, false)),
                ..Default::default()
            },
        )?
    } else {
        let exportable = model == LoadedVae::MODEL
            || model == LoadedGenerator::MODEL
            || LoadedGenerator::is_gan_run(&model);
        if !exportable {
            bail!(
                "model `{model}` cannot be exported yet (known: {}, {}, gan/*)",
                MnistClassifier::MODEL,
                LoadedVae::MODEL
            );
        }
        let file = run_dir.join(gm::models::MODEL_FILE);
        let saved = SavedGenerator::from_parts(&model, &config, tensors, &file, &dev)?;
        export_generator(&model, saved, run_dir, out, &dev)?
    };
    for (f, size) in &exported.files {
        println!("{:>10} bytes  {}", size, exported.dir.join(f).display());
    }
    if let Some(repo) = &cli.push {
        publish(&exported.dir, repo, cli.private, cli.dry_run)?;
    }
    Ok(())
}

/// Exports a VAE or a GAN generator with a model card and a grid of 64 samples (seed 0).
fn export_generator(
    model: &str,
    saved: SavedGenerator,
    run_dir: &std::path::Path,
    out: &std::path::Path,
    dev: &candle_core::Device,
) -> Result<Exported> {
    let x = saved.generator().sample(64, &mut GmRng::new(0), dev)?;
    // Image generators get a sample grid; 2-D generators have no image to show. Generators
    // return data space ([0, 1] pixels), so the grid is unsigned.
    let shape = saved.generator().output_shape();
    let samples = (x.rank() == 4).then_some((x, false));
    let metrics = eval_metrics(run_dir);
    let data = trained_on(run_dir);
    // The card names MNIST as the data set only for runs on (a subset of) MNIST.
    let datasets = if data.contains("mnist") {
        ModelCard::default().datasets
    } else {
        Vec::new()
    };
    Ok(match saved {
        SavedGenerator::Vae(m) => {
            let card = ModelCard {
                description: format!(
                    "A variational autoencoder trained by gm on {data}; its decoder generates \
                     items of shape {shape:?}."
                ),
                pipeline_tag: "unconditional-image-generation".into(),
                tags: vec!["vae".into()],
                datasets,
                metrics,
                ..Default::default()
            };
            let opts = ExportOptions {
                card,
                samples,
                ..Default::default()
            };
            export(m.as_ref(), out, &opts)?
        }
        SavedGenerator::Gan(g) => {
            let card = ModelCard {
                description: format!(
                    "A generator trained by gm ({model}) on {data}; it maps N(0, I) latents to \
                     samples of shape {shape:?}."
                ),
                pipeline_tag: "unconditional-image-generation".into(),
                tags: vec!["gan".into()],
                datasets,
                metrics,
                ..Default::default()
            };
            let opts = ExportOptions {
                card,
                samples,
                ..Default::default()
            };
            export(g.as_ref(), out, &opts)?
        }
        _ => bail!("model `{model}` cannot be exported yet"),
    })
}

/// The headline metrics of the run's `eval.json` (from `cargo xtask eval`), if any.
fn eval_metrics(run_dir: &std::path::Path) -> Vec<(String, f64)> {
    let mut metrics = Vec::new();
    if let Ok(r) = gm::eval::read_eval(run_dir) {
        if let Some(mm) = &r.mnist {
            metrics.push(("mnist_fd".to_string(), mm.frechet_distance));
            metrics.push(("classifier_score".to_string(), mm.classifier_score.mean));
        }
        if let Some(a) = &r.any_data {
            metrics.push(("fd_vs_reference".to_string(), a.frechet_distance));
        }
    }
    metrics
}

/// The data set a run trained on, from the `dataset` of its `config.json` (written by `fit`).
fn trained_on(run_dir: &std::path::Path) -> String {
    std::fs::read_to_string(run_dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["dataset"].as_str().map(|s| format!("the data set `{s}`")))
        .unwrap_or_else(|| "its training data".into())
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
