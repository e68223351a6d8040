//! Reparameterization against score-function (REINFORCE) gradients of
//! sum_i E_q log p(x_i|z) with respect to the encoder outputs (mu, logvar), on a fixed batch
//! of 16 test digits and a briefly trained 784-400-20 VAE. Prints the empirical variance of
//! each estimator over R repetitions and their ratio. The VAE's training run (checkpoint,
//! model, report) is written to the run folder.
//!
//! ```text
//! cargo xtask run gradient-variance [--reps 2000] [--epochs 2] [--seed 0] [--out DIR]
//!                                   [--resume | --overwrite] [--cpu] [--help]
//! ```

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::{fit, FitConfig, GmRng};
use gm_vae::gradient::{estimator_variance, GradientEstimator};
use gm_vae::model::binarize;
use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

/// Variance of reparameterization and score-function gradients of E_q log p(x|z) with
/// respect to (mu, logvar), on a briefly trained 784-400-20 VAE.
#[derive(Parser)]
struct Cli {
    /// Repetitions R of each estimator
    #[arg(
        long,
        value_name = "R",
        default_value_t = 2000,
        value_parser = clap::value_parser!(u64).range(2..)
    )]
    reps: u64,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "gradient-variance";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[("epochs", Some("2")), ("batch-size", Some("128"))]);
    let args = &cli.run;
    let reps = cli.reps as usize;
    let seed = args.seed;
    let dev = args.device()?;
    let data = mnist_embedded()?;
    let cfg = VaeTrainConfig {
        model: VaeConfig::pytorch_example(),
        eval_images: 0,
        ..Default::default()
    };
    let epochs = RunArgs::need(args.epochs, "epochs")?;
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let out = args.run_dir(NAME)?;
    // Seed 0 gives the model seed 1 of the published table.
    let mut trainer = VaeTrainer::new(cfg, seed.wrapping_add(1), None, &dev)?;
    let fc = FitConfig {
        grid_every: 0,
        ..args.fit_config(epochs, batch_size)
    };
    let Some(_) = gm_core::cli::finished(fit(&mut trainer, &data.train, &fc, &out, &dev)?) else {
        return Ok(());
    };
    let vae = trainer.vae();
    let x = binarize(
        &data.test.head(16, &dev)?.x,
        &mut GmRng::new(seed.wrapping_add(3)),
    )?
    .flatten_from(1)?;
    let (mu, lv) = vae.encoder().encode(&x)?;
    println!(
        "VAE 784-400-20 after {epochs} epochs; 16 test digits; {reps} repetitions per estimator; device {}",
        gm_core::device::device_name(&dev)
    );
    println!("coordinates: d/dmu and d/dlogvar, 2 x 16 x 20 = 640\n");
    println!("| samples S | reparameterization | score function + baseline | score function | ratio (baseline) | ratio (plain) |");
    println!("|---|---|---|---|---|---|");
    for s in [2, 8, 32] {
        let mut rng = GmRng::new(seed.wrapping_add(10 + s as u64));
        let mut run = |est| estimator_variance(vae.decoder(), &x, &mu, &lv, est, s, reps, &mut rng);
        let rep = run(GradientEstimator::Reparameterization)?;
        let sfb = run(GradientEstimator::ScoreFunction { baseline: true })?;
        let sf = run(GradientEstimator::ScoreFunction { baseline: false })?;
        println!(
            "| {s} | {:.4e} | {:.4e} | {:.4e} | {:.1} | {:.1} |",
            rep.mean_variance(),
            sfb.mean_variance(),
            sf.mean_variance(),
            sfb.mean_variance() / rep.mean_variance(),
            sf.mean_variance() / rep.mean_variance()
        );
    }
    println!("\n(mean over coordinates of the per-coordinate variance of one estimate)");
    println!("run folder: {}", out.display());
    Ok(())
}
