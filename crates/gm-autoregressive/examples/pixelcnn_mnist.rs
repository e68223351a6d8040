//! Trains a small PixelCNN (van den Oord et al., 2016) on the embedded digits, dynamically
//! binarized (each pixel 1 with probability its grey value, as gm-vae), with gm-core's `fit`
//! loop; then prints the exact test NLL of the whole test split (2,000 digits, binarized
//! once with the trainer's test stream) in nats and writes a grid of sequential samples
//! (784 forward passes, each on the band of rows the next pixel can see).
//!
//! The default network is small enough for a two-core CPU: a 7x7 type-A convolution to
//! `--channels` maps, `--blocks` residual blocks (1x1, 3x3 type B, 1x1) and a 1x1 head.
//!
//! ```text
//! cargo run --release -p gm-autoregressive --example pixelcnn_mnist -- [--channels 32]
//!     [--blocks 2] [--epochs N] [--seed 0] [--out DIR] [--resume | --overwrite] [--cpu]
//! ```

mod common;

use anyhow::Result;
use clap::Parser;
use gm_autoregressive::{
    bits_per_dim, mean_nll, PixelCnnConfig, PixelCnnTrainConfig, PixelCnnTrainer,
};
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::{fit, AdamConfig};

/// A small PixelCNN on the embedded MNIST digits (binarized): exact test NLL and samples.
#[derive(Parser)]
struct Cli {
    /// Feature maps between residual blocks (even)
    #[arg(long, value_name = "C", default_value_t = 32)]
    channels: usize,
    /// Residual blocks
    #[arg(long, value_name = "N", default_value_t = 2)]
    blocks: usize,
    /// Samples in the final grid
    #[arg(long, value_name = "N", default_value_t = 64)]
    samples: usize,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "pixelcnn";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &gm_core::cli::epochs_budget("6", "64", "1e-3"));
    let args = &cli.run;
    let (device, epochs, batch_size) = args.epoch_budget()?;
    let data = mnist_embedded()?;
    let cfg = PixelCnnTrainConfig {
        model: PixelCnnConfig {
            channels: cli.channels,
            residual_blocks: cli.blocks,
            ..Default::default()
        },
        adam: AdamConfig {
            lr: RunArgs::need(args.lr, "lr")?,
            ..Default::default()
        },
        eval_images: 500,
        grid_samples: 0,
        ..Default::default()
    };
    let out = args.run_dir(NAME)?;
    let mut trainer = PixelCnnTrainer::new(cfg.clone(), args.seed, Some(&data.test), &device)?;
    let m = &cfg.model;
    println!(
        "training PixelCNN ({}x{} type A to {} maps, {} residual blocks, {} parameters) on {} binarized digits, {epochs} epochs of batch {batch_size}, device {}",
        m.first_kernel,
        m.first_kernel,
        m.channels,
        m.residual_blocks,
        trainer.store().num_params(),
        data.train.len(),
        gm_core::device::device_name(&device)
    );
    let fc = args.fit_config(epochs, batch_size);
    let Some(s) = gm_core::cli::finished(fit(&mut trainer, &data.train, &fc, &out, &device)?)
    else {
        return Ok(());
    };
    println!("trained {} steps in {:.1} s", s.steps, s.wall_seconds);

    let started = std::time::Instant::now();
    let test = common::binarized_test(&data.test, args.seed, &device)?;
    let model = trainer.model();
    let nll = mean_nll(model, &test, 100)?;
    println!(
        "test NLL (exact, {} digits): {nll:.2} nats ({:.4} bits/dim)  [{:.1} s]",
        test.dim(0)?,
        bits_per_dim(nll, m.data_dim()),
        started.elapsed().as_secs_f64()
    );

    let started = std::time::Instant::now();
    let samples = model.sample(cli.samples, &mut common::sample_rng(args.seed))?;
    common::finish(
        &samples,
        started,
        &out,
        NAME,
        &[
            ("test NLL, exact (nats)".into(), format!("{nll:.3}")),
            (
                "test bits/dim".into(),
                format!("{:.4}", bits_per_dim(nll, m.data_dim())),
            ),
        ],
    )
}
