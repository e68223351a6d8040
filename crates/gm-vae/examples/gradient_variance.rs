//! Reparameterization against score-function (REINFORCE) gradients of
//! sum_i E_q log p(x_i|z) with respect to the encoder outputs (mu, logvar), on a fixed batch
//! of 16 test digits and a briefly trained 784-400-20 VAE. Prints the empirical variance of
//! each estimator over R repetitions and their ratio.
//!
//! cargo run -p gm-vae --release --example gradient_variance -- [--reps R]

use anyhow::{bail, Context, Result};
use candle_core::Device;
use gm_core::data::mnist_embedded;
use gm_core::{fit, FitConfig, GmRng};
use gm_vae::gradient::{estimator_variance, GradientEstimator};
use gm_vae::model::binarize;
use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let mut reps = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().context("--reps R")?.parse()?,
            s => bail!("unknown argument {s}; usage: gradient_variance [--reps R]"),
        }
    }
    let dev = Device::Cpu;
    let data = mnist_embedded()?;
    let cfg = VaeTrainConfig {
        model: VaeConfig::pytorch_example(),
        eval_images: 0,
        ..Default::default()
    };
    let mut trainer = VaeTrainer::new(cfg, 1, None, &dev)?;
    let fc = FitConfig {
        epochs: 2,
        batch_size: 128,
        progress: false,
        grid_every: 0,
        ..Default::default()
    };
    let dir = std::env::temp_dir().join("gm-vae-gradient-variance");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    fit(&mut trainer, &data.train, &fc, &dir, &dev)?;
    let vae = trainer.vae();
    let x = binarize(&data.test.head(16, &dev)?.x, &mut GmRng::new(3))?.flatten_from(1)?;
    let (mu, lv) = vae.encoder().encode(&x)?;
    println!("VAE 784-400-20 after 2 epochs; 16 test digits; {reps} repetitions per estimator");
    println!("coordinates: d/dmu and d/dlogvar, 2 x 16 x 20 = 640\n");
    println!("| samples S | reparameterization | score function + baseline | score function | ratio (baseline) | ratio (plain) |");
    println!("|---|---|---|---|---|---|");
    for s in [2, 8, 32] {
        let mut rng = GmRng::new(10 + s as u64);
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
    Ok(())
}
