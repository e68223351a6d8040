//! The omega/rho discriminator costs A (mean square), B (exponential) and C (cross entropy,
//! the GAN cost) of gm-divergence as GAN objectives, on the ring of 8 (mode coverage, VEEGAN
//! definitions, 2,500 samples) and on the embedded MNIST digits (MNIST FD, classifier score,
//! Parzen log-likelihood). One markdown table.
//!
//! ```text
//! cargo run --release -p gm-gan --example omega_costs -- [--quick] [--epochs 3] [--steps 2000]
//! ```

mod common;

use anyhow::Result;
use candle_core::Device;
use gm_core::data::Mixture2d;
use gm_core::{fit, AdamConfig, FitConfig};
use gm_eval::{mode_coverage, sample_generator, MODE_SAMPLES};
use gm_gan::{GanConfig, GanTrainConfig, GanTrainer, Objective, OmegaCost};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let args = common::Args::parse("omega_costs", &["samples", "steps"], &[])?;
    let epochs = args.epochs.unwrap_or(if args.quick { 1 } else { 3 });
    let steps: usize = args.get("steps", if args.quick { 150 } else { 2_000 })?;
    let samples: usize = args.get("samples", if args.quick { 500 } else { 2_000 })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| "runs/gm-gan/omega-costs".into());
    let seed = args.seed.unwrap_or(0);
    let device = Device::Cpu;
    let ring = Mixture2d::ring8();
    let mut rows = Vec::new();
    for cost in [OmegaCost::A, OmegaCost::B, OmegaCost::C] {
        let objective = Objective::OmegaRho { cost };
        // Ring of 8.
        let adam = AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        };
        let cfg = GanTrainConfig {
            model: GanConfig {
                latent_dim: 64,
                ..GanConfig::mlp_2d()
            },
            objective: objective.clone(),
            adam_g: adam,
            adam_d: adam,
            ..GanTrainConfig::default()
        };
        let dir = out.join(format!("ring8-{cost:?}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let mut trainer = GanTrainer::new(cfg, seed, &device)?;
        let fc = FitConfig {
            epochs: 1,
            batch_size: 128,
            seed,
            progress: !args.quiet,
            ..FitConfig::default()
        };
        fit(
            &mut trainer,
            &ring.dataset(steps * 128, 1_000 + seed)?,
            &fc,
            &dir,
            &device,
        )?;
        let s = sample_generator(trainer.generator(), MODE_SAMPLES, 500, seed, &device)?;
        let c = mode_coverage(&s, &ring)?;
        // MNIST.
        let cfg = GanTrainConfig {
            model: GanConfig::mlp_mnist(),
            objective,
            ..GanTrainConfig::default()
        };
        let (_, wall, m) = common::train_and_evaluate_mnist(
            cfg,
            &args,
            epochs,
            samples,
            &out.join(format!("mnist-{cost:?}")),
        )?;
        rows.push(vec![
            format!("{cost:?} ({})", cost.cost_name()),
            format!("{} / 8", c.modes_captured),
            format!("{:.1} %", 100.0 * c.high_quality),
            format!("{:.2}", m.frechet_distance),
            format!("{:.2}", m.classifier_score.mean),
            m.parzen
                .as_ref()
                .map_or("n/a".into(), |p| format!("{:.1} ± {:.1}", p.mean, p.stderr)),
            format!("{wall:.0}"),
        ]);
    }
    let budget = if args.quick {
        format!("{} steps (--quick)", common::QUICK_MNIST_STEPS)
    } else {
        format!("{epochs} epoch(s)")
    };
    println!("\nring: {steps} steps of batch 128; MNIST: {budget}, {samples} samples\n");
    println!(
        "{}",
        common::markdown(
            &[
                "cost",
                "ring: modes",
                "ring: high quality",
                "MNIST FD",
                "classifier score",
                "Parzen LL (nats)",
                "MNIST wall s"
            ],
            &rows
        )
    );
    Ok(())
}
