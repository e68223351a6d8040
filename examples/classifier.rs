//! Trains the small convolutional MNIST classifier on the 8,000 embedded training digits and
//! reports its accuracy on the 2,000 embedded test digits. Its weights become the feature
//! network of gm's evaluation metrics.
//!
//! ```text
//! cargo xtask run classifier [--epochs 12] [--seed 0] [--out DIR] [--resume] [--help]
//! ```

use anyhow::Result;
use clap::Parser;
use gm::cli::RunArgs;
use gm::core::classifier::{ClassifierTrainConfig, ClassifierTrainer};
use gm::core::{data::mnist_embedded, fit, AdamConfig};

/// The MNIST feature classifier of gm's metrics (LeNet-style, Adam with cosine decay).
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "classifier";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse(NAME, &gm::cli::epochs_budget("12", "64", "2e-3"));
    let args = &cli.run;
    let (device, epochs, batch_size) = args.epoch_budget()?;
    let mnist = mnist_embedded()?;
    let cfg = ClassifierTrainConfig {
        adam: AdamConfig {
            lr: RunArgs::need(args.lr, "lr")?,
            ..Default::default()
        },
        cosine_steps: (epochs * (mnist.train.len() / batch_size)) as u64,
        ..Default::default()
    };
    let out = args.run_dir(NAME)?;
    let mut trainer = ClassifierTrainer::new(cfg, args.seed, mnist.test.clone(), &device)?;
    let fit_cfg = args.fit_config(epochs, batch_size);
    println!(
        "training the MNIST classifier ({} parameters) on {} digits, {} epochs, device {}",
        trainer.store().num_params(),
        mnist.train.len(),
        fit_cfg.epochs,
        gm::core::device::device_name(&device)
    );
    let summary = fit(&mut trainer, &mnist.train, &fit_cfg, &out, &device)?;
    if let Some(hint) = summary.resume_hint() {
        println!("{hint}");
    } else {
        let (acc, loss) = trainer.model.evaluate(&mnist.test, &device)?;
        println!(
            "test accuracy {:.2} % (loss {loss:.4}) on {} test digits",
            100.0 * acc,
            mnist.test.len()
        );
    }
    println!("training time {:.1} s", summary.wall_seconds);
    println!("run folder: {}", out.display());
    Ok(())
}
