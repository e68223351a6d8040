//! VAE (k = 1) against IWAE (k = 5) on the embedded MNIST digits, in the one-stochastic-layer
//! architecture of Burda, Grosse and Salakhutdinov (2016): latent 50, two tanh layers of
//! 200 units, Bernoulli decoder, dynamic binarization, the same number of epochs for both.
//! Both are scored by the test ELBO and the importance-sampled log p(x) with k = 5000.
//! Each model is trained in its own sub-folder of the run (`vae/`, `iwae/`), which ends with
//! its `model.safetensors`, `report.html` and pictures.
//!
//! ```text
//! cargo xtask reproduce iwae [--quick] [--epochs 50] [--seed 0] [--out DIR]
//!                            [--resume | --overwrite] [--cpu] [--help]
//! ```

use std::time::Instant;

use anyhow::Result;
use candle_core::Tensor;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::{fit, AdamConfig, FitConfig, GmRng};
use gm_vae::bound::{elbo_terms, log_likelihood, KlEstimator};
use gm_vae::model::binarize;
use gm_vae::outputs::{save_interpolations, save_reconstructions, save_samples};
use gm_vae::{Objective, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

/// VAE against IWAE (k = 5) on MNIST (Burda et al. 2016): test ELBO and log p(x), k = 5000.
#[derive(Parser)]
#[command(
    mut_arg("epochs", |a: clap::Arg| {
        a.help("Training epochs of each model [default: 50, 2 with --quick]")
    })
)]
struct Cli {
    /// Smoke run: 200 test digits and 2 epochs (without it: 2,000 test digits and 50 epochs)
    #[arg(long)]
    quick: bool,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "iwae";

fn test_elbo(vae: &Vae, x: &Tensor, reps: usize) -> Result<f64> {
    let mut rng = GmRng::new(100);
    let mut acc = 0.0;
    for lo in (0..x.dim(0)?).step_by(500) {
        let xb = x.narrow(0, lo, 500.min(x.dim(0)? - lo))?;
        for _ in 0..reps {
            let t = elbo_terms(vae, &xb, KlEstimator::Analytic, &mut rng)?;
            acc += t.elbo.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    Ok(acc / (reps * x.dim(0)?) as f64)
}

fn test_log_likelihood(vae: &Vae, x: &Tensor, k: usize) -> Result<f64> {
    let mut rng = GmRng::new(200);
    let mut acc = 0.0;
    for lo in (0..x.dim(0)?).step_by(100) {
        let xb = x.narrow(0, lo, 100.min(x.dim(0)? - lo))?;
        acc += log_likelihood(vae, &xb, k, 10_000, &mut rng)?
            .iter()
            .sum::<f64>();
    }
    Ok(acc / x.dim(0)? as f64)
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(
        NAME,
        &[
            ("epochs", None),
            ("batch-size", Some("100")),
            ("lr", Some("1e-3")),
        ],
    );
    let args = &cli.run;
    let dev = args.device()?;
    let data = mnist_embedded()?;
    let (n_test, default_epochs) = if cli.quick { (200, 2) } else { (2000, 50) };
    let epochs = args.epochs.unwrap_or(default_epochs);
    let batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    let lr = RunArgs::need(args.lr, "lr")?;
    let k_eval = 5000;
    let (_, test) = data.test.split_off(n_test)?;
    let x_test = binarize(&test.head(test.len(), &dev)?.x, &mut GmRng::new(12345))?;
    let out = args.run_dir(NAME)?;
    println!(
        "train {} digits, test {} digits (binarized once), {epochs} epochs, batch {batch_size}, Adam lr {lr:e}, device {}",
        data.train.len(),
        x_test.dim(0)?,
        gm_core::device::device_name(&dev)
    );
    let mut rows = Vec::new();
    for (name, dir, objective) in [
        (
            "VAE (k=1)",
            "vae",
            Objective::Elbo {
                kl: KlEstimator::Analytic,
            },
        ),
        ("IWAE (k=5)", "iwae", Objective::Iwae { k: 5 }),
    ] {
        let cfg = VaeTrainConfig {
            model: VaeConfig::iwae_1layer(),
            adam: AdamConfig {
                lr,
                ..Default::default()
            },
            objective,
            binarize: true,
            eval_images: 0,
        };
        // Seed 0 gives the model seed 1 and the batch order seed 7 of the published table.
        let mut trainer = VaeTrainer::new(cfg, args.seed.wrapping_add(1), None, &dev)?;
        let fc = FitConfig {
            seed: args.seed.wrapping_add(7),
            grid_every: epochs,
            ..args.fit_config(epochs, batch_size)
        };
        // Each model is a sub-run in its own folder of the run.
        let run = out.join(dir);
        let s = fit(&mut trainer, &data.train, &fc, &run, &dev)?;
        if let Some(hint) = s.resume_hint() {
            println!("{name}: {hint}");
            return Ok(());
        }
        let train_s = s.wall_seconds;
        let vae = trainer.vae();
        let elbo = test_elbo(vae, &x_test, 10)?;
        let t1 = Instant::now();
        let ll = test_log_likelihood(vae, &x_test, k_eval)?;
        let eval_s = t1.elapsed().as_secs_f64();
        println!("{name}: train {train_s:.1} s, test ELBO {elbo:.2}, log p(x) {ll:.2} (eval {eval_s:.1} s)");
        let x8 = x_test.narrow(0, 0, 16)?;
        save_samples(
            vae,
            64,
            8,
            &mut GmRng::new(1),
            &dev,
            run.join("samples.png"),
        )?;
        save_reconstructions(vae, &x8, run.join("reconstructions.png"))?;
        save_interpolations(
            vae,
            &x8.narrow(0, 0, 8)?,
            &x8.narrow(0, 8, 8)?,
            10,
            run.join("interpolations.png"),
        )?;
        rows.push((name, epochs, train_s, elbo, ll));
    }
    println!("\n| model | train epochs | train time (s) | test ELBO | test log p(x), k={k_eval} |");
    println!("|---|---|---|---|---|");
    for (name, e, t, elbo, ll) in &rows {
        println!("| {name} | {e} | {t:.1} | {elbo:.2} | {ll:.2} |");
    }
    println!(
        "\nIWAE gain in log p(x): {:.2} nats (paper, full MNIST: VAE -86.76, IWAE k=5 -85.54, gain 1.22)",
        rows[1].4 - rows[0].4
    );
    println!("run folder: {}", out.display());
    Ok(())
}
