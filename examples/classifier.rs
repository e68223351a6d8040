//! Trains the small convolutional MNIST classifier on the 8,000 embedded training digits and
//! reports its accuracy on the 2,000 embedded test digits. Its weights become the feature
//! network of gm's evaluation metrics.
//!
//! ```text
//! cargo xtask run classifier [--epochs 12] [--seed 0] [--out runs/classifier] [--resume]
//! ```

use anyhow::Result;
use gm::cli::RunArgs;
use gm::core::classifier::{ClassifierTrainConfig, ClassifierTrainer};
use gm::core::{data::mnist_embedded, fit, select_device, AdamConfig, FitConfig};

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let args = RunArgs::parse("classifier", std::env::args().skip(1), &[])?;
    let device = select_device(args.cpu)?;
    let mnist = mnist_embedded()?;
    let (epochs, batch_size) = (args.epochs.unwrap_or(12), args.batch_size.unwrap_or(64));
    let cfg = ClassifierTrainConfig {
        adam: AdamConfig {
            lr: args.lr.unwrap_or(2e-3),
            ..Default::default()
        },
        cosine_steps: (epochs * (mnist.train.len() / batch_size)) as u64,
        ..Default::default()
    };
    let mut trainer = ClassifierTrainer::new(cfg, args.seed, mnist.test.clone(), &device)?;
    let fit_cfg = FitConfig {
        epochs,
        batch_size,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every.unwrap_or(0),
        stop_after: args.stop_after,
        resume: args.resume,
        progress: !args.quiet,
        ..Default::default()
    };
    println!(
        "training the MNIST classifier ({} parameters) on {} digits, {} epochs, device {}",
        trainer.store().num_params(),
        mnist.train.len(),
        fit_cfg.epochs,
        gm::core::device::device_name(&device)
    );
    let summary = fit(&mut trainer, &mnist.train, &fit_cfg, &args.out, &device)?;
    if summary.stopped_early {
        println!(
            "stopped after step {}/{}; resume with --resume --out {}",
            summary.steps,
            summary.total_steps,
            args.out.display()
        );
    } else {
        let (acc, loss) = trainer.model.evaluate(&mnist.test, &device)?;
        println!(
            "test accuracy {:.2} % (loss {loss:.4}) on {} test digits",
            100.0 * acc,
            mnist.test.len()
        );
    }
    println!("training time {:.1} s", summary.wall_seconds);
    println!("run folder: {}", args.out.display());
    Ok(())
}
