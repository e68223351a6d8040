//! The omega/rho discriminator costs of the lecture notes, A (density ratio: omega(r) = r,
//! rho = 1, so D* = g / f), B (exponential) and C (cross entropy, the GAN cost), and the
//! mean-square pair (D* = g / (f + g)), of gm-divergence as GAN objectives, on the ring of 8 (mode coverage, VEEGAN
//! definitions, 2,500 samples) and on the embedded MNIST digits (MNIST FD, classifier score,
//! Parzen log-likelihood). One markdown table.
//!
//! ```text
//! cargo xtask reproduce omega-costs [--quick] [--epochs 3] [--steps 2000] [--samples 2000]
//!     [--seed 0] [--out DIR] [--resume | --overwrite]        (--help lists every flag)
//! ```
//!
//! Without `--out` each run gets a new folder `runs/omega-costs/<n>`, with one sub-folder per
//! cost and data set.

mod common;

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::Mixture2d;
use gm_core::{fit, AdamConfig};
use gm_eval::{mode_coverage, sample_generator, MODE_SAMPLES};
use gm_gan::{GanConfig, GanTrainConfig, GanTrainer, Objective, OmegaCost};

/// The omega/rho discriminator costs A, B, C and the mean square as GAN objectives, on the
/// ring of 8 and on MNIST.
///
/// --steps (generator steps on the ring, batch 128) defaults to 2000 (150 with --quick);
/// --epochs (MNIST) to 3 (1 with --quick, which also stops each MNIST run after 60 steps);
/// --batch-size is the MNIST runs'.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    table: common::TableArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "omega-costs";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(
        NAME,
        &[
            ("epochs", None),
            ("steps", None),
            ("batch-size", Some("64")),
        ],
    );
    let args = &cli.run;
    let device = args.device()?;
    let steps = args
        .steps
        .unwrap_or(if cli.table.quick { 150 } else { 2_000 });
    let plan = common::MnistBudget::new(args, &cli.table)?;
    let seed = args.seed;
    let out = args.run_dir(NAME)?;
    let ring = Mixture2d::ring8();
    let mut rows = Vec::new();
    for cost in [
        OmegaCost::A,
        OmegaCost::B,
        OmegaCost::C,
        OmegaCost::MeanSquare,
    ] {
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
        let mut trainer = GanTrainer::new(cfg, seed, &device)?;
        let fc = args.fit_config(1, 128);
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
            args,
            &plan,
            &out.join(format!("mnist-{cost:?}")),
            &device,
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
    let budget = if cli.table.quick {
        format!("{} steps (--quick)", common::QUICK_MNIST_STEPS)
    } else {
        format!("{} epoch(s)", plan.epochs)
    };
    println!(
        "\nring: {steps} steps of batch 128; MNIST: {budget}, {} samples\n",
        plan.samples
    );
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
