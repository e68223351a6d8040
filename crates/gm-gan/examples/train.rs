//! The reference run of each adversarial and kernel model of gm-gan, with its paper's settings
//! (sized for a two-core CPU), written to a run folder: progress bar, `metrics.jsonl`, sample
//! grids, loss curves, `model.safetensors`, `eval.json` and `report.html`.
//!
//! ```text
//! cargo xtask run <model> [flags]        # cargo xtask run <model> --help lists them
//! models: gan wgan wgan-gp fgan unrolled mixgan mmd kernel lapgan progressive bigan cyclegan
//!         cgan
//! ```
//!
//! The image models train on the embedded digits and are scored with gm-eval's MNIST metrics
//! (or on `--data PATH`, your own images, scored against their held-out part);
//! `unrolled` and `mixgan` train on a 2-D mixture (`--mixture ring8|grid25`) and are scored by mode
//! coverage. `lapgan`, `progressive`, `bigan` and `cyclegan` run their measurement of
//! `cargo xtask reproduce zoo` alone, in a sub-folder of the run folder. `cgan` trains a
//! class-conditional GAN on the labelled digits (`--conditioning projection|acgan`) and
//! reports, beside the MNIST metrics of uniform classes, the class accuracy: for each class
//! `k`, the share of its samples the MNIST classifier labels `k`.

mod common;
mod experiments;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::Device;
use clap::Parser;
use experiments::{markdown_table, ZooData, ZooOptions};
use gm_core::cli::RunArgs;
use gm_core::data::{Dataset, Mixture2d};
use gm_core::{fit, AdamConfig, Generator, GmRng};
use gm_eval::{
    evaluate_generator, evaluate_generator_with_reference, metrics_table, write_eval, EvalConfig,
    MixtureTarget,
};
use gm_gan::registry::{self, BuildFn, ImageSpec, ModelEntry, Run, MODELS};
use gm_gan::{
    Activation, Architecture, GanConfig, GanGeneratorLoss, GanTrainConfig, GanTrainer,
    MixGanConfig, MixGanTrainer, MlpInit, Objective, Unrolled,
};

/// Trains one model of gm-gan with its paper's settings; the first word names the model.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// 2-D data of unrolled and mixgan: ring8 or grid25
    #[arg(long, default_value = "ring8")]
    mixture: String,
    /// f-divergence of fgan (option `divergence`): a slug of gm-divergence's catalogue (gan,
    /// kullback-leibler, reverse-kullback-leibler, jensen-shannon, pearson-chi-2,
    /// squared-hellinger, ...) [default: gan]
    #[arg(long, value_name = "SLUG")]
    divergence: Option<String>,
    /// Look-ahead steps k of unrolled
    #[arg(long, default_value_t = 5)]
    unroll: usize,
    /// Generator (and critic) components of mixgan
    #[arg(long, default_value_t = 3)]
    components: usize,
    /// Samples drawn for the evaluation of image models
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Discriminator conditioning of cgan (option `conditioning`): projection (Miyato and
    /// Koyama 2018), acgan (Odena et al. 2017) or infogan (Chen et al. 2016: unsupervised
    /// codes, no labels) [default: projection]
    #[arg(long, value_name = "C")]
    conditioning: Option<String>,
    /// Label embedding of cgan's generator (option `embedding`): learned (10-d) or one-hot
    /// [default: learned]
    #[arg(long, value_name = "E")]
    embedding: Option<String>,
    /// Networks of cgan (option `arch`): dcgan or mlp [default: dcgan]
    #[arg(long, value_name = "A")]
    arch: Option<String>,
    /// ACGAN of cgan: the critic's class loss on real digits only (the paper's critic also
    /// classifies generated ones; option `acgan-real-classes`)
    #[arg(long)]
    acgan_real_classes: bool,
    /// An option of the model, KEY=VALUE (repeatable); the named flags above set theirs
    #[arg(long = "opt", value_name = "KEY=VALUE", value_parser = key_value)]
    opts: Vec<(String, String)>,
    /// Samples per class for the class accuracy of a class-conditional model
    #[arg(long, default_value_t = 200, value_parser = gm_core::cli::positive_usize)]
    per_class: usize,
    /// The GAN toolkit of the image models: loss, generator average, R1/R2, DiffAugment
    #[command(flatten)]
    toolkit: common::ToolkitArgs,
    /// The image models' data (default: the embedded digits)
    #[command(flatten)]
    data: gm_data::DataArgs,
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

/// `KEY=VALUE` as a pair.
fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn usage() -> String {
    let mut s = String::from("usage: train <model> [flags]; models:\n");
    for m in MODELS {
        s.push_str(&format!("  {:<12} {}\n", m.name, m.about));
    }
    s
}

fn run() -> Result<()> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = argv.first().cloned() else {
        bail!("{}", usage());
    };
    if first == "--help" || first == "-h" || first == "--list" {
        print!("{}", usage());
        return Ok(());
    }
    let Some(model) = registry::find(&first) else {
        bail!("unknown model `{first}`\n{}", usage());
    };
    argv.remove(0);
    let cli: Cli = gm_core::cli::parse_from(model.name, model.budget, argv);
    let device = cli.run.device()?;
    match model.run {
        Run::Images(build) => image_model(model, build, &cli, &device),
        Run::Mixture => mixture_model(model.name, &cli, &device),
        Run::Zoo => zoo_model(model.name, &cli, &device),
    }
}

fn adam(lr: f64, beta1: f64, beta2: f64) -> AdamConfig {
    AdamConfig {
        lr,
        beta1,
        beta2,
        ..AdamConfig::default()
    }
}

/// The model options given: `--opt KEY=VALUE` and the named flags that set theirs.
fn options(cli: &Cli) -> BTreeMap<String, String> {
    let named = [
        ("divergence", cli.divergence.clone()),
        ("conditioning", cli.conditioning.clone()),
        ("embedding", cli.embedding.clone()),
        ("arch", cli.arch.clone()),
        (
            "acgan-real-classes",
            cli.acgan_real_classes.then(|| "true".to_string()),
        ),
    ];
    let mut map: BTreeMap<String, String> = named
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
    map.extend(cli.opts.iter().cloned());
    map
}

/// An image model of the registry: built from the run's data, toolkit and options, trained
/// by `fit`, scored on its samples (the MNIST metrics on the embedded digits, the held-out
/// images otherwise) and, when it is class-conditional on the digits, by class accuracy.
fn image_model(model: &ModelEntry, build: BuildFn, cli: &Cli, device: &Device) -> Result<()> {
    let name = model.name;
    let args = &cli.run;
    let lr = RunArgs::need(args.lr, "lr")?;
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let data = cli.data.load_or_digits(args.seed, args.progress())?;
    let toolkit = cli.toolkit.toolkit()?;
    let options = options(cli);
    let spec = ImageSpec {
        model: name,
        data_shape: &data.train.item_shape,
        lr,
        seed: args.seed,
        device,
        toolkit: &toolkit,
        options: &options,
    };
    let mut trainer = build(&spec)?;
    let classes = trainer
        .labelled_classes()
        .then(|| trainer.sampler().num_classes());
    if classes.is_some() && data.train.labels.is_none() {
        bail!(
            "{name} is class-conditional and trains on labelled images; {} has no labels",
            data.train.name
        );
    }
    let per_epoch = data.train.len() / batch_size;
    // `--steps` is rounded up to whole epochs: a run ends at an epoch's end.
    let epochs = match args.steps {
        Some(s) => s.div_ceil(per_epoch.max(1)),
        None => RunArgs::need(args.epochs, "epochs")?,
    };
    let fc = args.fit_config(epochs, batch_size);
    let out = args.run_dir(name)?;
    println!(
        "{name}: {}, {epochs} epochs of {} images, device {}, run folder {}",
        trainer.describe(),
        data.train.len(),
        gm_core::device::device_name(device),
        out.display()
    );
    let Some(wall) = fit_to_end(&mut *trainer, &data.train, &fc, &out, device)? else {
        return Ok(());
    };
    let eval_cfg = eval_config(cli.samples, args.seed);
    // The embedded digits keep the MNIST metrics; other data is scored against its
    // held-out images.
    let digits = cli.data.data.is_none() && data.train.item_shape == [1, 28, 28];
    let reference = if data.train.item_shape == [1, 28, 28] {
        None
    } else {
        Some(data.test.head(cli.samples, device)?.x)
    };
    let g = trainer.sampler();
    report(g, &eval_cfg, reference.as_ref(), &out, device, wall)?;
    match classes {
        Some(Some(10)) if digits => class_accuracy(name, g, cli.per_class, args.seed, &out, device),
        _ => Ok(()),
    }
}

/// The class accuracy of a class-conditional generator of digits: for each class `k`, the
/// share of its samples that the shipped MNIST classifier labels `k`. The samples of class
/// `k` are those of `cargo xtask sample RUN --class k --n <per-class> --seed <seed>`.
fn class_accuracy(
    name: &str,
    g: &dyn Generator,
    per_class: usize,
    seed: u64,
    out: &std::path::Path,
    device: &Device,
) -> Result<()> {
    let t = Instant::now();
    let classifier = gm_core::classifier::MnistClassifier::pretrained(device)?;
    let mut accuracy = Vec::with_capacity(10);
    for k in 0..10 {
        let z = g.sample_latent_of_class(per_class, k, &mut GmRng::new(seed), device)?;
        let predicted = classifier.predict(&g.generate(&z)?)?;
        let hits = predicted.iter().filter(|&&p| p as usize == k).count();
        accuracy.push(hits as f64 / per_class as f64);
    }
    let mean = accuracy.iter().sum::<f64>() / accuracy.len() as f64;
    let json = serde_json::json!({
        "classifier": "gm-core MnistClassifier (shipped weights, 98.1 % test accuracy)",
        "samples_per_class": per_class,
        "seed": seed,
        "accuracy": accuracy,
        "mean": mean,
    });
    gm_core::io::write_atomic(
        out.join("class_accuracy.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    let mut rows: Vec<(String, String)> = accuracy
        .iter()
        .enumerate()
        .map(|(k, a)| (format!("class accuracy: {k}"), format!("{a:.3}")))
        .collect();
    rows.push(("class accuracy: mean".into(), format!("{mean:.3}")));
    gm_core::viz::update_report(out, name, &rows)?;
    println!(
        "\nclass accuracy ({per_class} samples per class, scored in {:.1} s): the share of class \
         k's samples the MNIST classifier labels k\n\n| class | accuracy |\n|---|---|",
        t.elapsed().as_secs_f64()
    );
    for (k, a) in accuracy.iter().enumerate() {
        println!("| {k} | {a:.3} |");
    }
    println!(
        "| mean | {mean:.3} |\n\ngrids/ hold one row per class; draw class 3 with `cargo xtask \
         sample {} --class 3`",
        out.display()
    );
    Ok(())
}

/// Evaluates `g`, writes `eval.json` (and its rows into `report.html`) and prints the table.
fn report<G: Generator + ?Sized>(
    g: &G,
    cfg: &EvalConfig,
    reference: Option<&candle_core::Tensor>,
    out: &std::path::Path,
    device: &Device,
    train_s: f64,
) -> Result<()> {
    let t = Instant::now();
    let r = match reference {
        None => evaluate_generator(g, cfg, device)?,
        Some(x) => evaluate_generator_with_reference(g, x, cfg, device)?,
    };
    write_eval(out, &r)?;
    println!(
        "trained in {train_s:.1} s, evaluated in {:.1} s\n\n| metric | value |\n|---|---|",
        t.elapsed().as_secs_f64()
    );
    for (k, v) in metrics_table(&r) {
        println!("| {k} | {v} |");
    }
    println!(
        "\nrun folder {} (report.html); draw from it with `cargo xtask sample {}`",
        out.display(),
        out.display()
    );
    Ok(())
}

/// The 2-D models, with the settings of the mode-collapse table's rows.
fn mixture_model(name: &str, cli: &Cli, device: &Device) -> Result<()> {
    let args = &cli.run;
    let (mixture, target) = match cli.mixture.as_str() {
        "ring8" => (Mixture2d::ring8(), MixtureTarget::Ring8),
        "grid25" => (Mixture2d::grid25(), MixtureTarget::Grid25),
        other => bail!("--mixture {other}: unrolled and mixgan train on ring8 or grid25"),
    };
    let lr = RunArgs::need(args.lr, "lr")?;
    let steps = RunArgs::need(args.steps, "steps")?;
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let gan = GanTrainConfig {
        model: GanConfig {
            latent_dim: 64,
            ..GanConfig::mlp_2d()
        },
        adam_g: adam(lr, 0.5, 0.999),
        adam_d: adam(lr, 0.5, 0.999),
        ..GanTrainConfig::default()
    };
    // Fresh points for every batch, drawn once from the run's seed.
    let data: Dataset = mixture.dataset(steps * batch_size, 1_000 + args.seed)?;
    let mut fc = args.fit_config(1, batch_size);
    fc.grid_every = 1;
    let out = args.run_dir(name)?;
    let eval_cfg = EvalConfig {
        seed: args.seed,
        mixture: target,
        ..EvalConfig::default()
    };
    println!(
        "{name} on {}: {steps} steps of batch {batch_size}, device {}, run folder {}",
        cli.mixture,
        gm_core::device::device_name(device),
        out.display()
    );
    if name == "unrolled" {
        // Metz et al.'s reference networks: tanh units, orthogonal weights (gain 1.4), 256-d
        // latent, minimax loss, look-ahead through the critic's own Adam.
        let tanh = Architecture::Mlp {
            hidden: vec![128, 128],
            activation: Activation::Tanh,
        };
        let cfg = GanTrainConfig {
            model: GanConfig {
                generator: tanh.clone(),
                discriminator: tanh,
                mlp_init: MlpInit::Orthogonal { gain: 1.4 },
                latent_dim: 256,
                ..gan.model.clone()
            },
            objective: Objective::Gan {
                generator_loss: GanGeneratorLoss::Minimax,
            },
            unrolled: (cli.unroll > 0).then(|| Unrolled::adam(cli.unroll)),
            ..gan
        };
        let mut trainer = GanTrainer::new(cfg, args.seed, device)?;
        let Some(wall) = fit_to_end(&mut trainer, &data, &fc, &out, device)? else {
            return Ok(());
        };
        report(trainer.generator(), &eval_cfg, None, &out, device, wall)
    } else {
        let cfg = MixGanConfig {
            base: gan,
            components: cli.components,
            entropy_weight: 0.1,
        };
        let mut trainer = MixGanTrainer::new(cfg, args.seed, device)?;
        let Some(wall) = fit_to_end(&mut trainer, &data, &fc, &out, device)? else {
            return Ok(());
        };
        report(trainer.generator(), &eval_cfg, None, &out, device, wall)
    }
}

/// A model of the zoo, measured as in `cargo xtask reproduce zoo`, alone (on `--data` where
/// the model's design allows).
fn zoo_model(name: &str, cli: &Cli, device: &Device) -> Result<()> {
    let args = &cli.run;
    let data = ZooData::load(&cli.data, args.seed, args.progress())?;
    let out = args.run_dir(name)?;
    let mut opts = ZooOptions::new(false, args.seed, &out);
    opts.resume = args.resume;
    opts.steps = RunArgs::need(args.steps, "steps")?;
    opts.batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    opts.fd_samples = cli.samples;
    let mut objective = gm_gan::Objective::default();
    cli.toolkit.apply_game(&mut objective, &mut opts.tricks)?;
    opts.objective = cli.toolkit.loss.is_some().then_some(objective);
    let rows = match name {
        "lapgan" => experiments::lapgan::rows(&opts, &data, device)?,
        "progressive" => experiments::progressive::rows(&opts, &data, device)?,
        "bigan" => experiments::bigan::rows(&opts, &data, device)?,
        "cyclegan" => experiments::cyclegan::rows(&opts, &data, device)?,
        other => bail!("`{other}` is not a zoo model"),
    };
    println!("{}", markdown_table(&rows));
    println!("run folder {}", out.join(name).display());
    Ok(())
}

/// `fit` to the end of its budget; `None` (after saying how to resume) when the run stopped
/// early, else the wall seconds of training.
fn fit_to_end<T: gm_core::Trainer + ?Sized>(
    trainer: &mut T,
    data: &Dataset,
    fc: &gm_core::FitConfig,
    out: &std::path::Path,
    device: &Device,
) -> Result<Option<f64>> {
    Ok(gm_core::cli::finished(fit(trainer, data, fc, out, device)?).map(|s| s.wall_seconds))
}

/// The evaluation of `samples` generated items with the run's seed.
fn eval_config(samples: usize, seed: u64) -> EvalConfig {
    EvalConfig {
        n_samples: samples,
        seed,
        kid_subset_size: 1_000.min(samples),
        ..EvalConfig::default()
    }
}
