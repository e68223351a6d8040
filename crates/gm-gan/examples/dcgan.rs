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
//! cargo run --release -p gm-gan --example dcgan -- [--epochs 8] [--compare] [--samples 2000]
//!     [--out runs/gm-gan/dcgan] [--seed 0] [--quick]
//! ```

mod common;

use std::time::Instant;

use anyhow::Result;
use gm_core::data::mnist_embedded;
use gm_core::{fit, select_device, FitConfig};
use gm_eval::{evaluate_generator, write_eval, EvalConfig};
use gm_gan::latent::{save_arithmetic_grid, save_interpolation_grid};
use gm_gan::{GanConfig, GanTrainConfig, GanTrainer, Objective, GMMN_MNIST_BANDWIDTHS};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let args = common::Args::parse("dcgan", &["samples", "mlp-epochs"], &["compare"])?;
    let compare = args.switch("compare");
    let device = select_device(args.cpu)?;
    let mnist = mnist_embedded()?;
    let epochs = args.epochs.unwrap_or(if args.quick { 1 } else { 8 });
    let batch_size = args.batch_size.unwrap_or(64);
    let seed = args.seed.unwrap_or(0);
    // The MLP models cost a small fraction of DCGAN's step: by default they get 5 times the
    // epochs, so that the comparison is closer to equal wall time.
    let mlp_epochs: usize = args.get("mlp-epochs", 5 * epochs)?;
    let samples: usize = args.get("samples", if args.quick { 1_000 } else { 2_000 })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| "runs/gm-gan/dcgan".into());

    let mut runs: Vec<(&str, GanTrainConfig)> = vec![("DCGAN", GanTrainConfig::dcgan_mnist())];
    if compare {
        runs.push((
            "MLP GAN",
            GanTrainConfig {
                model: GanConfig::mlp_mnist(),
                ..GanTrainConfig::default()
            },
        ));
        runs.push((
            "MMD (GMMN)",
            GanTrainConfig {
                model: GanConfig::mlp_mnist(),
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
                model: GanConfig::mlp_mnist(),
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
        let slug: String = name
            .to_lowercase()
            .chars()
            .filter(|c| !"()".contains(*c))
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        let dir = out.join(slug);
        if dir.exists() && !args.resume {
            std::fs::remove_dir_all(&dir)?;
        }
        let is_dcgan = matches!(cfg.model.generator, gm_gan::Architecture::Dcgan { .. });
        let mut trainer = GanTrainer::new(cfg, seed, &device)?;
        let epochs = if is_dcgan { epochs } else { mlp_epochs };
        let fc = FitConfig {
            epochs,
            batch_size,
            seed,
            resume: args.resume,
            progress: !args.quiet,
            ..Default::default()
        };
        println!(
            "{name}: {} generator + {} critic parameters, {epochs} epochs of {} digits, device {}",
            trainer.generator_store().num_params(),
            trainer.discriminator_store().map_or(0, |s| s.num_params()),
            mnist.train.len(),
            gm_core::device::device_name(&device)
        );
        let t = Instant::now();
        let summary = fit(&mut trainer, &mnist.train, &fc, &dir, &device)?;
        let wall = t.elapsed().as_secs_f64();
        let eval_cfg = EvalConfig {
            n_samples: samples,
            seed,
            kid_subset_size: 1_000.min(samples),
            ..EvalConfig::default()
        };
        let t = Instant::now();
        let report = evaluate_generator(trainer.generator(), &eval_cfg, &device)?;
        let eval_s = t.elapsed().as_secs_f64();
        write_eval(&dir, &report)?;
        // Latent-space pictures: 8 spherical walks of 10 steps, and mean(A) - mean(B) +
        // mean(C) over three random groups of 6 latents.
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
        let groups: Vec<_> = (0..3)
            .map(|_| gm_core::Generator::sample_latent(g, 6, &mut rng, &device))
            .collect::<gm_core::Result<_>>()?;
        save_arithmetic_grid(
            g,
            &groups[0],
            &groups[1],
            &groups[2],
            0.25,
            &mut rng,
            dir.join("arithmetic.png"),
        )?;
        let m = report
            .mnist
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no MNIST metrics"))?;
        println!(
            "{name}: {} steps in {wall:.1} s ({:.3} s/step), evaluated {samples} samples in {eval_s:.1} s; run folder {}",
            summary.steps,
            wall / summary.steps.max(1) as f64,
            dir.display()
        );
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
