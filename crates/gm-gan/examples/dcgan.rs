//! DCGAN (Radford, Metz and Chintala 2016) on the 8,000 embedded MNIST digits with gm-core's
//! `fit` loop (progress, metrics.jsonl, per-epoch sample grids, checkpoints, report.html),
//! then the gm-eval metrics of its samples. With `--compare`, it also trains the MLP GAN, the
//! GMMN (MMD) and the kernel generator (Cauchy-Schwarz ratio), both with the GMMN bandwidths,
//! for `--mlp-epochs` (5 times DCGAN's by default: their steps are far cheaper), and
//! one markdown table compares MNIST FD, classifier score, Parzen log-likelihood,
//! precision/recall and wall time. Each run folder also gets `interpolation.png` (spherical
//! latent walks) and `arithmetic.png` (latent vector arithmetic).
//!
//! ```text
//! cargo xtask run dcgan [--epochs 8] [--batch-size 16] [--compare] [--samples 2000] [--seed 0]
//!     [--quick] [--g-channels 32] [--d-channels 32] [--lr-g 2e-4] [--lr-d 2e-4]
//!     [--loss gan|hinge|lsgan|wgan-gp] [--ema 0.999] [--r1 GAMMA] [--r2 GAMMA]
//!     [--diff-augment color,translation,cutout] [--spectral-norm]
//!     [--out DIR] [--resume | --overwrite]        (--help lists every flag)
//! ```
//!
//! The default batch of 16 gives 4,000 steps in 8 epochs: on two cores, seed 0, MNIST FD
//! 57.8 and classifier score 5.70 after 113 s of training, against FD 75.2 and 5.18 after
//! 91 s for Radford et al.'s batch of 64 (1,000 steps, `--batch-size 64`). A discriminator
//! of 64 base channels (`--d-channels 64`) reaches FD 54.5 in about 1.65 times the time.
//!
//! `--data PATH` trains on your own images instead (a folder of PNG/JPEG files, class
//! sub-folders allowed, IDX, `.safetensors` or `.npy`; `--image-size N --channels 1|3`): the
//! networks follow the image size (Radford et al.'s layout up to 16, 32, 64 or 128 pixels) and
//! the samples are scored against the held-out images in a seeded random network's feature
//! space (gm-eval's any-data metrics), since the MNIST classifier does not apply.
//!
//! Without `--out` each run gets a new folder `runs/dcgan/<n>`. A single DCGAN run writes its
//! model straight into that folder (so `cargo xtask sample <folder>` finds it); with
//! `--compare`, each model gets a sub-folder of it.

mod common;

use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::fit;
use gm_eval::{
    evaluate_generator, evaluate_generator_with_reference, metrics_table, write_eval, EvalConfig,
};
use gm_gan::latent::{save_arithmetic_grid, save_interpolation_grid};
use gm_gan::{GanConfig, GanTrainConfig, Objective, GMMN_MNIST_BANDWIDTHS};

/// DCGAN on the embedded MNIST digits, scored with gm-eval's metrics.
///
/// --epochs defaults to 8 (1 with --quick), --batch-size to 16 (4,000 DCGAN steps). --lr sets
/// both Adam rates of the adversarial models and the generator's rate of the MMD and kernel
/// generators (default: each model's own; 1e-3 for the MMD and kernel generators).
#[derive(Parser)]
struct Cli {
    /// Also train the MLP GAN, the GMMN (MMD) and the kernel generator (Cauchy-Schwarz), one
    /// sub-folder each, and compare them in one table
    #[arg(long)]
    compare: bool,
    /// Epochs of the MLP models of --compare [default: 5 times --epochs]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    mlp_epochs: Option<usize>,
    /// Generated digits the metrics are computed on [default: 2000, 1000 with --quick]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    samples: Option<usize>,
    /// Smoke run: 1 epoch and 1000 samples unless given
    #[arg(long)]
    quick: bool,
    /// DCGAN generator's base channels (feature maps at the finest hidden layer) [default: 32]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    g_channels: Option<usize>,
    /// DCGAN discriminator's base channels [default: 32]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    d_channels: Option<usize>,
    /// DCGAN generator's Adam rate (two time-scale updates) [default: --lr, else 2e-4]
    #[arg(long, value_name = "LR")]
    lr_g: Option<f64>,
    /// DCGAN discriminator's Adam rate [default: --lr, else 2e-4]
    #[arg(long, value_name = "LR")]
    lr_d: Option<f64>,
    /// The GAN toolkit (DCGAN only): loss, generator average, R1/R2, DiffAugment
    #[command(flatten)]
    toolkit: common::ToolkitArgs,
    #[command(flatten)]
    data: gm_data::DataArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "dcgan";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(
        NAME,
        &[("epochs", None), ("batch-size", Some("16")), ("lr", None)],
    );
    let args = &cli.run;
    let compare = cli.compare;
    let device = args.device()?;
    let epochs = args.epochs.unwrap_or(if cli.quick { 1 } else { 8 });
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let seed = args.seed;
    // The MLP models cost a small fraction of DCGAN's step: by default they get 5 times the
    // epochs, so that the comparison is closer to equal wall time.
    let mlp_epochs = cli.mlp_epochs.unwrap_or(5 * epochs);
    let samples = cli.samples.unwrap_or(if cli.quick { 1_000 } else { 2_000 });
    let data = cli.data.load_or_digits(seed, args.progress())?;
    // The embedded digits (or any 1x28x28 set) keep the MNIST metrics; other data is scored
    // against its held-out images.
    let digits = data.train.item_shape == [1, 28, 28];
    let (c, (h, w)) = (data.info.channels, data.info.image_size);
    if h != w {
        anyhow::bail!(
            "{}: images are {h}x{w}; DCGAN needs square images: pass --image-size N",
            data.train.name
        );
    }
    let mut dcgan_model = GanConfig::dcgan(h, c)?;
    if let Some(channels) = cli.g_channels {
        dcgan_model.generator = gm_gan::Architecture::Dcgan { channels };
    }
    if let Some(channels) = cli.d_channels {
        dcgan_model.discriminator = gm_gan::Architecture::Dcgan { channels };
    }
    let mlp_model = GanConfig {
        data_shape: data.train.item_shape.clone(),
        ..GanConfig::mlp_mnist()
    };
    let out = args.run_dir(NAME)?;
    let reference = if digits {
        None
    } else {
        Some(data.test.head(samples, &device)?.x)
    };

    let mut dcgan = GanTrainConfig {
        model: dcgan_model,
        ..GanTrainConfig::dcgan_mnist()
    };
    cli.toolkit.apply(&mut dcgan)?;
    let mut runs: Vec<(&str, GanTrainConfig)> = vec![("DCGAN", dcgan)];
    if compare {
        runs.push((
            "MLP GAN",
            GanTrainConfig {
                model: mlp_model.clone(),
                ..GanTrainConfig::default()
            },
        ));
        runs.push((
            "MMD (GMMN)",
            GanTrainConfig {
                model: mlp_model.clone(),
                objective: Objective::Mmd {
                    bandwidths: GMMN_MNIST_BANDWIDTHS.to_vec(),
                },
                adam_g: gm_core::AdamConfig {
                    lr: args.lr.unwrap_or(1e-3),
                    ..Default::default()
                },
                ..GanTrainConfig::default()
            },
        ));
        runs.push((
            "kernel generator",
            GanTrainConfig {
                model: mlp_model,
                objective: Objective::CauchySchwarz {
                    bandwidths: GMMN_MNIST_BANDWIDTHS.to_vec(),
                },
                adam_g: gm_core::AdamConfig {
                    lr: args.lr.unwrap_or(1e-3),
                    ..Default::default()
                },
                ..GanTrainConfig::default()
            },
        ));
    }
    let mut rows = Vec::new();
    for (name, mut cfg) in runs {
        if let (Some(lr), true) = (args.lr, cfg.objective.is_adversarial()) {
            cfg.adam_g.lr = lr;
            cfg.adam_d.lr = lr;
        }
        if matches!(cfg.model.generator, gm_gan::Architecture::Dcgan { .. }) {
            cfg.adam_g.lr = cli.lr_g.unwrap_or(cfg.adam_g.lr);
            cfg.adam_d.lr = cli.lr_d.unwrap_or(cfg.adam_d.lr);
            cfg.validate()?;
        }
        let slug: String = name
            .to_lowercase()
            .chars()
            .filter(|c| !"()".contains(*c))
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        // A single run is the run folder itself; a comparison gives each model a sub-folder.
        let dir = if compare { out.join(slug) } else { out.clone() };
        let is_dcgan = matches!(cfg.model.generator, gm_gan::Architecture::Dcgan { .. });
        let mut trainer = cli.toolkit.trainer(cfg, seed, &device)?;
        let epochs = if is_dcgan { epochs } else { mlp_epochs };
        let fc = args.fit_config(epochs, batch_size);
        println!(
            "{name}: {} generator + {} critic parameters, {epochs} epochs of {} images, device {}",
            trainer.generator_store().num_params(),
            trainer.discriminator_store().map_or(0, |s| s.num_params()),
            data.train.len(),
            gm_core::device::device_name(&device)
        );
        let t = Instant::now();
        let summary = fit(&mut trainer, &data.train, &fc, &dir, &device)?;
        let wall = t.elapsed().as_secs_f64();
        if let Some(hint) = summary.resume_hint() {
            println!("{name}: {hint}");
            continue;
        }
        let eval_cfg = EvalConfig {
            n_samples: samples,
            seed,
            kid_subset_size: 1_000.min(samples),
            ..EvalConfig::default()
        };
        let t = Instant::now();
        let report = match &reference {
            None => evaluate_generator(trainer.generator(), &eval_cfg, &device)?,
            Some(r) => {
                evaluate_generator_with_reference(trainer.generator(), r, &eval_cfg, &device)?
            }
        };
        let eval_s = t.elapsed().as_secs_f64();
        write_eval(&dir, &report)?;
        // Latent-space pictures: 8 spherical walks of 10 steps, and mean(A) - mean(B) +
        // mean(C): on digits over groups with a meaning (thick and thin digits of one class,
        // thin digits of another), else over three random groups of 6 latents. Then 8
        // samples beside their 5 nearest training images.
        let g = trainer.generator();
        let mut rng = gm_core::GmRng::new(seed + 100);
        save_interpolation_grid(
            g,
            8,
            10,
            true,
            &mut rng,
            &device,
            dir.join("interpolation.png"),
        )?;
        let groups: Vec<_> = if digits {
            let (groups, line) = ink_groups(g, 6, &mut rng, &device)?;
            println!("{name}: {line}");
            groups
        } else {
            (0..3)
                .map(|_| gm_core::Generator::sample_latent(g, 6, &mut rng, &device))
                .collect::<gm_core::Result<_>>()?
        };
        save_arithmetic_grid(
            g,
            &groups[0],
            &groups[1],
            &groups[2],
            0.25,
            &mut rng,
            dir.join("arithmetic.png"),
        )?;
        let shown = gm_core::Generator::sample(g, 8, &mut rng, &device)?;
        let train = data.train.head(data.train.len(), &device)?.x;
        let nn = gm_eval::save_nearest_neighbours(&shown, &train, 5, dir.join("nearest.png"))?;
        let closest = nn.iter().map(|r| r[0].1).fold(f64::INFINITY, f64::min);
        println!(
            "{name}: nearest.png: 8 samples beside their 5 nearest training images (closest \
             squared pixel distance {closest:.1})"
        );
        println!(
            "{name}: {} steps in {wall:.1} s ({:.3} s/step), evaluated {samples} samples in {eval_s:.1} s; run folder {}",
            summary.steps,
            wall / summary.steps.max(1) as f64,
            dir.display()
        );
        let Some(m) = report.mnist.as_ref() else {
            for (k, v) in metrics_table(&report) {
                println!("| {k} | {v} |");
            }
            continue;
        };
        rows.push(vec![
            name.to_string(),
            summary.steps.to_string(),
            format!("{wall:.0}"),
            format!("{:.2}", m.frechet_distance),
            format!("{:.2}", m.classifier_score.mean),
            m.parzen
                .as_ref()
                .map_or("n/a".into(), |p| format!("{:.1} ± {:.1}", p.mean, p.stderr)),
            format!("{:.3}", m.precision_recall.precision),
            format!("{:.3}", m.precision_recall.recall),
            format!("{} / 10", m.labels.covered),
        ]);
    }
    if rows.is_empty() {
        return Ok(());
    }
    println!();
    println!(
        "{}",
        common::markdown(
            &[
                "model",
                "steps",
                "wall s",
                "MNIST FD",
                "classifier score",
                "Parzen LL (nats)",
                "precision",
                "recall",
                "classes"
            ],
            &rows
        )
    );
    println!("real test digits score FD 0 and classifier score ~9.5 (gm-eval eval_baselines)");
    Ok(())
}

/// Latent groups with a meaning, for `mean(A) - mean(B) + mean(C)` (Radford et al. section
/// 6.3, with the MNIST classifier and the ink of a digit as the properties): from 2,000
/// latents, A holds the `n` thickest digits (most mean ink) of the most frequent class, B the
/// `n` thinnest of that class, C the `n` thinnest of the second most frequent class. The
/// arithmetic should draw thick digits of C's class; the line reports how its `n` variants
/// (the same `N(0, 0.25^2)` perturbations as the picture's) read and how much ink they carry.
fn ink_groups(
    g: &gm_gan::GanGenerator,
    n: usize,
    rng: &mut gm_core::GmRng,
    device: &candle_core::Device,
) -> Result<(Vec<candle_core::Tensor>, String)> {
    use gm_core::Generator;
    let z = g.sample_latent(2_000, rng, device)?;
    let x = g.generate(&z)?;
    let classifier = gm_core::classifier::MnistClassifier::pretrained(device)?;
    let labels = classifier.predict(&x)?;
    let ink = |x: &candle_core::Tensor| -> Result<Vec<f64>> {
        Ok(x.flatten_from(1)?
            .mean(1)?
            .to_vec1::<f32>()?
            .into_iter()
            .map(f64::from)
            .collect())
    };
    let inks = ink(&x)?;
    let mut order: Vec<u32> = (0..10).collect();
    let count = |c: u32| labels.iter().filter(|&&l| l == c).count();
    order.sort_by_key(|&c| std::cmp::Reverse(count(c)));
    let (a, c) = (order[0], order[1]);
    let of = |k: u32| labels.iter().map(|&l| l == k).collect::<Vec<bool>>();
    let (thick_a, thin_a) = gm_gan::latent::split_by_property(&z, &of(a), &inks, n)?;
    let (_, thin_c) = gm_gan::latent::split_by_property(&z, &of(c), &inks, n)?;
    // The picture's variants: the same draws as save_arithmetic_grid's, from a copy of `rng`.
    let r = gm_gan::latent::latent_arithmetic(&thick_a, &thin_a, &thin_c)?;
    let noise = rng.clone().normal((n, r.dim(1)?), 0.0, 0.25, device)?;
    let out = g.generate(&noise.broadcast_add(&r)?)?;
    let read = classifier.predict(&out)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let class_ink = |k: u32| {
        let v: Vec<f64> = (0..inks.len())
            .filter(|&i| labels[i] == k)
            .map(|i| inks[i])
            .collect();
        mean(&v)
    };
    let line = format!(
        "arithmetic.png: thick {a} - thin {a} + thin {c}: {}/{n} variants read as {c}, mean ink \
         {:.3} (thin {c}s {:.3}, all {c}s {:.3})",
        read.iter().filter(|&&l| l == c).count(),
        mean(&ink(&out)?),
        mean(&ink(&g.generate(&thin_c)?)?),
        class_ink(c),
    );
    Ok((vec![thick_a, thin_a, thin_c], line))
}
