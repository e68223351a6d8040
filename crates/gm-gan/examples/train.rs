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

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use candle_core::Device;
use clap::Parser;
use experiments::{markdown_table, ZooData, ZooOptions};
use gm_core::cli::RunArgs;
use gm_core::data::{mnist_embedded, Dataset, Mixture2d};
use gm_core::{fit, AdamConfig, Generator, GmRng};
use gm_divergence::Divergence;
use gm_eval::{
    evaluate_generator, evaluate_generator_with_reference, metrics_table, write_eval, EvalConfig,
    MixtureTarget,
};
use gm_gan::{
    Activation, Architecture, CganConfig, CganTrainer, Conditioning, GanConfig, GanGeneratorLoss,
    GanTrainConfig, GanTrainer, LabelEmbedding, MixGanConfig, MixGanTrainer, MlpInit, Objective,
    Tricks, Unrolled, GMMN_MNIST_BANDWIDTHS,
};

/// One model of the command, with the defaults of its reference run.
struct Model {
    name: &'static str,
    about: &'static str,
    budget: &'static [(&'static str, Option<&'static str>)],
}

const MODELS: &[Model] = &[
    Model {
        name: "gan",
        about: "GAN (Goodfellow et al. 2014), non-saturating loss, MLP networks on the digits",
        budget: &[
            ("epochs", Some("20")),
            ("batch-size", Some("64")),
            ("lr", Some("2e-4")),
            ("steps", None),
        ],
    },
    Model {
        name: "wgan",
        about: "WGAN (Arjovsky et al. 2017): weight clipping 0.01, 5 critic steps, lr 5e-5",
        budget: &[
            ("epochs", Some("20")),
            ("batch-size", Some("64")),
            ("lr", Some("5e-5")),
            ("steps", None),
        ],
    },
    Model {
        name: "wgan-gp",
        about: "WGAN-GP (Gulrajani et al. 2017): penalty 10, 5 critic steps, Adam 1e-4 (0, 0.9)",
        budget: &[
            ("epochs", Some("10")),
            ("batch-size", Some("64")),
            ("lr", Some("1e-4")),
            ("steps", None),
        ],
    },
    Model {
        name: "fgan",
        about: "f-GAN (Nowozin et al. 2016) with the divergence of --divergence",
        budget: &[
            ("epochs", Some("20")),
            ("batch-size", Some("64")),
            ("lr", Some("2e-4")),
            ("steps", None),
        ],
    },
    Model {
        name: "unrolled",
        about: "unrolled GAN (Metz et al. 2017), k = 5, on a 2-D mixture",
        budget: &[
            ("steps", Some("3000")),
            ("batch-size", Some("512")),
            ("lr", Some("1e-3")),
        ],
    },
    Model {
        name: "mixgan",
        about: "MIX+GAN (Arora et al. 2017), 3 + 3 components, on a 2-D mixture",
        budget: &[
            ("steps", Some("3000")),
            ("batch-size", Some("128")),
            ("lr", Some("1e-3")),
        ],
    },
    Model {
        name: "mmd",
        about: "GMMN (Li et al. 2015): minimise MMD^2 of a sum of Gaussian kernels",
        budget: &[
            ("epochs", Some("20")),
            ("batch-size", Some("256")),
            ("lr", Some("1e-3")),
            ("steps", None),
        ],
    },
    Model {
        name: "kernel",
        about: "kernel generator: maximise the Cauchy-Schwarz ratio of Gaussian kernels",
        budget: &[
            ("epochs", Some("20")),
            ("batch-size", Some("256")),
            ("lr", Some("1e-3")),
            ("steps", None),
        ],
    },
    Model {
        name: "lapgan",
        about: "LAPGAN (Denton et al. 2015): a Laplacian pyramid of GANs, 8/16/32 pixels",
        budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    },
    Model {
        name: "progressive",
        about: "progressive growing (Karras et al. 2018), 4 to 32 pixels",
        budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    },
    Model {
        name: "bigan",
        about: "BiGAN (Donahue et al. 2017): generator, encoder, joint critic",
        budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    },
    Model {
        name: "cyclegan",
        about: "CycleGAN (Zhu et al. 2017) between digits and a known transform of them",
        budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    },
    Model {
        name: "cgan",
        about: "class-conditional GAN on the labelled digits: projection discriminator \
                (Miyato and Koyama 2018) or ACGAN (Odena et al. 2017); class accuracy",
        budget: &[
            ("steps", Some("3000")),
            ("batch-size", Some("64")),
            ("lr", Some("2e-4")),
        ],
    },
];

/// Trains one model of gm-gan with its paper's settings; the first word names the model.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// 2-D data of unrolled and mixgan: ring8 or grid25
    #[arg(long, default_value = "ring8")]
    mixture: String,
    /// f-divergence of fgan: a slug of gm-divergence's catalogue (gan, kullback-leibler,
    /// reverse-kullback-leibler, jensen-shannon, pearson-chi-2, squared-hellinger, ...)
    #[arg(long, default_value = "gan")]
    divergence: String,
    /// Look-ahead steps k of unrolled
    #[arg(long, default_value_t = 5)]
    unroll: usize,
    /// Generator (and critic) components of mixgan
    #[arg(long, default_value_t = 3)]
    components: usize,
    /// Samples drawn for the evaluation of image models
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Discriminator conditioning of cgan: projection (Miyato and Koyama 2018) or acgan
    /// (Odena et al. 2017)
    #[arg(long, default_value = "projection")]
    conditioning: String,
    /// Label embedding of cgan's generator: learned (10-d) or one-hot
    #[arg(long, default_value = "learned")]
    embedding: String,
    /// Networks of cgan: dcgan or mlp
    #[arg(long, default_value = "dcgan")]
    arch: String,
    /// ACGAN of cgan: the critic's class loss on real digits only (the paper's critic also
    /// classifies generated ones)
    #[arg(long)]
    acgan_real_classes: bool,
    /// Samples per class for cgan's class accuracy
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
    if first == "--help" || first == "-h" {
        print!("{}", usage());
        return Ok(());
    }
    let Some(model) = MODELS.iter().find(|m| m.name == first) else {
        bail!("unknown model `{first}`\n{}", usage());
    };
    argv.remove(0);
    let cli: Cli = gm_core::cli::parse_from(model.name, model.budget, argv);
    let device = cli.run.device()?;
    match model.name {
        "lapgan" | "progressive" | "bigan" | "cyclegan" => zoo_model(model.name, &cli, &device),
        "unrolled" | "mixgan" => mixture_model(model.name, &cli, &device),
        "cgan" => cgan_model(&cli, &device),
        _ => mnist_model(model.name, &cli, &device),
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

fn divergence(slug: &str) -> Result<Divergence> {
    let slugs: Vec<(String, Divergence)> = Divergence::catalogue()
        .into_iter()
        .map(|d| {
            let s: String = d
                .name()
                .to_lowercase()
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect();
            let s = s
                .split('-')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            (s, d)
        })
        .collect();
    if let Some((_, d)) = slugs.iter().find(|(s, _)| s == slug) {
        return Ok(*d);
    }
    let names: Vec<&str> = slugs.iter().map(|(s, _)| s.as_str()).collect();
    bail!(
        "--divergence {slug}: not a divergence of the catalogue; one of {}",
        names.join(", ")
    )
}

/// The image models trained by [`GanTrainer`] on the embedded digits.
fn mnist_model(name: &str, cli: &Cli, device: &Device) -> Result<()> {
    let args = &cli.run;
    let lr = RunArgs::need(args.lr, "lr")?;
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let data = cli.data.load_or(args.seed, args.progress(), || {
        let m = mnist_embedded()?;
        Ok((m.train, m.test))
    })?;
    if cli.data.data.is_some() {
        println!("{}", data.summary());
    }
    let base = GanTrainConfig {
        model: GanConfig {
            data_shape: data.train.item_shape.clone(),
            ..GanConfig::mlp_mnist()
        },
        adam_g: adam(lr, 0.5, 0.999),
        adam_d: adam(lr, 0.5, 0.999),
        ..GanTrainConfig::default()
    };
    let mut cfg = match name {
        "gan" => base,
        // The paper trains with RMSProp; gm's optimizer is Adam, here without momentum.
        "wgan" => GanTrainConfig {
            objective: Objective::Wgan { clip: 0.01 },
            adam_g: adam(lr, 0.0, 0.999),
            adam_d: adam(lr, 0.0, 0.999),
            tricks: Tricks {
                n_critic: 5,
                ..Tricks::default()
            },
            ..base
        },
        "wgan-gp" => GanTrainConfig {
            objective: Objective::WganGp { penalty: 10.0 },
            adam_g: adam(lr, 0.0, 0.9),
            adam_d: adam(lr, 0.0, 0.9),
            tricks: Tricks {
                n_critic: 5,
                ..Tricks::default()
            },
            ..base
        },
        "fgan" => GanTrainConfig {
            objective: Objective::FGan {
                divergence: divergence(&cli.divergence)?,
                non_saturating: true,
            },
            ..base
        },
        "mmd" => GanTrainConfig {
            objective: Objective::Mmd {
                bandwidths: GMMN_MNIST_BANDWIDTHS.to_vec(),
            },
            ..base
        },
        "kernel" => GanTrainConfig {
            objective: Objective::CauchySchwarz {
                bandwidths: GMMN_MNIST_BANDWIDTHS.to_vec(),
            },
            ..base
        },
        other => bail!("`{other}` is not an image model of this command"),
    };
    cli.toolkit.apply(&mut cfg)?;
    let per_epoch = data.train.len() / batch_size;
    // `--steps` is rounded up to whole epochs: a run ends at an epoch's end.
    let epochs = match args.steps {
        Some(s) => s.div_ceil(per_epoch.max(1)),
        None => RunArgs::need(args.epochs, "epochs")?,
    };
    let fc = args.fit_config(epochs, batch_size);
    let out = args.run_dir(name)?;
    let mut trainer = cli.toolkit.trainer(cfg, args.seed, device)?;
    println!(
        "{name}: {} generator + {} critic parameters, {epochs} epochs of {} images, device {}, run folder {}",
        trainer.generator_store().num_params(),
        trainer.discriminator_store().map_or(0, |s| s.num_params()),
        data.train.len(),
        gm_core::device::device_name(device),
        out.display()
    );
    let Some(wall) = fit_to_end(&mut trainer, &data.train, &fc, &out, device)? else {
        return Ok(());
    };
    let eval_cfg = eval_config(cli.samples, args.seed);
    // The embedded digits keep the MNIST metrics; other data is scored against its
    // held-out images.
    let reference = if data.train.item_shape == [1, 28, 28] {
        None
    } else {
        Some(data.test.head(cli.samples, device)?.x)
    };
    report(
        trainer.generator(),
        &eval_cfg,
        reference.as_ref(),
        &out,
        device,
        wall,
    )
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

/// The class-conditional GAN on the labelled embedded digits: trained with gm-core's `fit`
/// (grids with one row per class), scored with the MNIST metrics on uniform classes, and by
/// class accuracy: the share of the samples of each class `k` that the shipped MNIST
/// classifier labels `k`. The samples of class `k` are those of `cargo xtask sample RUN
/// --class k --n <per-class> --seed <seed>`.
fn cgan_model(cli: &Cli, device: &Device) -> Result<()> {
    let args = &cli.run;
    let lr = RunArgs::need(args.lr, "lr")?;
    let steps = RunArgs::need(args.steps, "steps")?;
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    if cli.data.data.is_some() {
        bail!("--data: cgan trains on the labelled embedded digits only");
    }
    let mut objective = Objective::default();
    let mut tricks = gm_gan::Tricks::default();
    cli.toolkit.apply_game(&mut objective, &mut tricks)?;
    // The conditional discriminator normalizes its own layers (not the class embedding).
    let spectral_norm = std::mem::take(&mut tricks.spectral_norm);
    let conditioning = Conditioning::parse(&cli.conditioning).ok_or_else(|| {
        anyhow!(
            "--conditioning {}: use projection or acgan",
            cli.conditioning
        )
    })?;
    let label_embedding = match cli.embedding.as_str() {
        "learned" => LabelEmbedding::Learned { dim: 10 },
        "one-hot" => LabelEmbedding::OneHot,
        other => bail!("--embedding {other}: use learned or one-hot"),
    };
    let model = match cli.arch.as_str() {
        "dcgan" => GanConfig::dcgan_mnist(),
        "mlp" => GanConfig::mlp_mnist(),
        other => bail!("--arch {other}: use dcgan or mlp"),
    };
    let mnist = mnist_embedded()?;
    let cfg = CganConfig {
        model,
        n_classes: 10,
        label_embedding,
        conditioning,
        objective,
        tricks,
        critic_classifies_generated: !cli.acgan_real_classes,
        spectral_norm,
        adam_g: adam(lr, 0.5, 0.999),
        adam_d: adam(lr, 0.5, 0.999),
        ..CganConfig::default()
    };
    let per_epoch = mnist.train.len() / batch_size;
    // `--steps` is rounded up to whole epochs: a run ends at an epoch's end.
    let epochs = steps.div_ceil(per_epoch.max(1));
    let fc = args.fit_config(epochs, batch_size);
    let out = args.run_dir("cgan")?;
    let mut trainer = CganTrainer::new(cfg, args.seed, device)?;
    if cli.acgan_real_classes && conditioning != Conditioning::Acgan {
        bail!("--acgan-real-classes: only with --conditioning acgan");
    }
    println!(
        "cgan ({}, {} loss): {} generator + {} discriminator parameters, {epochs} epochs of {} \
         labelled digits, device {}, run folder {}",
        conditioning.name(),
        trainer.config().objective.name(),
        trainer.generator_store().num_params(),
        trainer.discriminator_store().num_params(),
        mnist.train.len(),
        gm_core::device::device_name(device),
        out.display()
    );
    let Some(wall) = fit_to_end(&mut trainer, &mnist.train, &fc, &out, device)? else {
        return Ok(());
    };
    let eval_cfg = eval_config(cli.samples, args.seed);
    report(trainer.generator(), &eval_cfg, None, &out, device, wall)?;

    let t = Instant::now();
    let classifier = gm_core::classifier::MnistClassifier::pretrained(device)?;
    let g = trainer.generator();
    let mut accuracy = Vec::with_capacity(10);
    for k in 0..10 {
        let z = g.sample_latent_of_class(cli.per_class, k, &mut GmRng::new(args.seed), device)?;
        let predicted = classifier.predict(&g.generate(&z)?)?;
        let hits = predicted.iter().filter(|&&p| p as usize == k).count();
        accuracy.push(hits as f64 / cli.per_class as f64);
    }
    let mean = accuracy.iter().sum::<f64>() / accuracy.len() as f64;
    let json = serde_json::json!({
        "classifier": "gm-core MnistClassifier (shipped weights, 98.1 % test accuracy)",
        "samples_per_class": cli.per_class,
        "seed": args.seed,
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
    gm_core::viz::update_report(&out, "cgan", &rows)?;
    println!(
        "\nclass accuracy ({} samples per class, scored in {:.1} s): the share of class k's \
         samples the MNIST classifier labels k\n\n| class | accuracy |\n|---|---|",
        cli.per_class,
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
fn fit_to_end<T: gm_core::Trainer>(
    trainer: &mut T,
    data: &Dataset,
    fc: &gm_core::FitConfig,
    out: &std::path::Path,
    device: &Device,
) -> Result<Option<f64>> {
    let summary = fit(trainer, data, fc, out, device)?;
    if let Some(hint) = summary.resume_hint() {
        println!("{hint}");
        return Ok(None);
    }
    Ok(Some(summary.wall_seconds))
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
