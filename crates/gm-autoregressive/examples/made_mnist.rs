//! Trains MADE (Germain et al., 2015) on the embedded digits, dynamically binarized (each
//! pixel 1 with probability its grey value, as gm-vae), with gm-core's `fit` loop; then
//! prints the exact test NLL of the whole test split (2,000 digits, binarized once with
//! the trainer's test stream) in nats, of the ensemble and of the first mask alone, and
//! writes a grid of sequential samples.
//!
//! `--masks K` trains connectivity-agnostic (one of K connectivities per mini-batch),
//! `--order-agnostic` gives each connectivity a random ordering, `--ensemble E` averages
//! the probabilities of the first E masks at test time (default: all K).
//!
//! ```text
//! cargo run --release -p gm-autoregressive --example made_mnist -- [--hidden 500]
//!     [--masks 1] [--ensemble K] [--order-agnostic] [--epochs N] [--seed 0] [--out DIR]
//!     [--resume | --overwrite] [--cpu] [--help]
//! ```

mod common;

use anyhow::Result;
use clap::Parser;
use gm_autoregressive::{bits_per_dim, mean_nll, MadeConfig, MadeTrainConfig, MadeTrainer};
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::{fit, AdamConfig};

/// MADE on the embedded MNIST digits (binarized): exact test NLL and samples.
#[derive(Parser)]
struct Cli {
    /// Hidden layer sizes, comma separated
    #[arg(long, value_delimiter = ',', default_value = "500")]
    hidden: Vec<usize>,
    /// Connectivities in the pool (connectivity-agnostic training when > 1)
    #[arg(long, value_name = "K", default_value_t = 1)]
    masks: usize,
    /// Masks whose probabilities are averaged at test time (default: all of the pool)
    #[arg(long, value_name = "E")]
    ensemble: Option<usize>,
    /// A random ordering of the pixels per connectivity (order-agnostic training)
    #[arg(long)]
    order_agnostic: bool,
    /// Samples in the final grid
    #[arg(long, value_name = "N", default_value_t = 64)]
    samples: usize,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "made";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &gm_core::cli::epochs_budget("40", "100", "3e-3"));
    let args = &cli.run;
    let (device, epochs, batch_size) = args.epoch_budget()?;
    let data = mnist_embedded()?;
    let cfg = MadeTrainConfig {
        model: MadeConfig {
            hidden: cli.hidden.clone(),
            num_masks: cli.masks,
            order_agnostic: cli.order_agnostic,
            ensemble: cli.ensemble.unwrap_or(cli.masks),
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
    let mut trainer = MadeTrainer::new(cfg.clone(), args.seed, Some(&data.test), &device)?;
    let fc = args.fit_config(epochs, batch_size);
    println!(
        "training MADE 784-{}-784 ({} masks{}, ensemble {}) on {} binarized digits, {epochs} epochs of batch {batch_size}, device {}",
        cli.hidden
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        cfg.model.num_masks,
        if cfg.model.order_agnostic {
            ", random orderings"
        } else {
            ", natural order"
        },
        cfg.model.ensemble,
        data.train.len(),
        gm_core::device::device_name(&device)
    );
    let Some(s) = gm_core::cli::finished(fit(&mut trainer, &data.train, &fc, &out, &device)?)
    else {
        return Ok(());
    };
    println!("trained {} steps in {:.1} s", s.steps, s.wall_seconds);

    let started = std::time::Instant::now();
    let test = common::binarized_test(&data.test, args.seed, &device)?;
    let made = trainer.model();
    let d = cfg.model.data_dim();
    let nll = mean_nll(made, &test, 500)?;
    let one = -made
        .log_prob_mask(&test, 0)?
        .to_dtype(candle_core::DType::F64)?
        .mean_all()?
        .to_scalar::<f64>()?;
    println!(
        "test NLL (exact, {} digits): ensemble of {} masks {nll:.2} nats ({:.4} bits/dim); mask 0 alone {one:.2} nats  [{:.1} s]",
        test.dim(0)?,
        cfg.model.ensemble,
        bits_per_dim(nll, d),
        started.elapsed().as_secs_f64()
    );

    let started = std::time::Instant::now();
    let samples = made.sample(cli.samples, &mut common::sample_rng(args.seed))?;
    common::finish(
        &samples,
        started,
        &out,
        NAME,
        &[
            ("test NLL, exact (nats)".into(), format!("{nll:.3}")),
            ("test NLL, mask 0 alone (nats)".into(), format!("{one:.3}")),
            (
                "test bits/dim".into(),
                format!("{:.4}", bits_per_dim(nll, d)),
            ),
        ],
    )
}
