//! VAE (k = 1) against IWAE (k = 5) on the embedded MNIST digits, in the one-stochastic-layer
//! architecture of Burda, Grosse and Salakhutdinov (2016): latent 50, two tanh layers of
//! 200 units, Bernoulli decoder, dynamic binarization, the same number of epochs for both.
//! Both are scored by the test ELBO and the importance-sampled log p(x) with k = 5000.
//!
//! cargo run -p gm-vae --release --example iwae -- [--quick] [--epochs N] [--out runs/gm-vae-iwae]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use gm_core::data::mnist_embedded;
use gm_core::{fit, AdamConfig, FitConfig, GmRng};
use gm_vae::bound::{elbo_terms, log_likelihood, KlEstimator};
use gm_vae::model::binarize;
use gm_vae::outputs::{save_interpolations, save_reconstructions, save_samples};
use gm_vae::{Objective, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

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

fn main() -> Result<()> {
    gm_core::runtime::init();
    let mut quick = false;
    let mut epochs = None;
    let mut out = PathBuf::from("runs/gm-vae-iwae");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--epochs" => epochs = Some(args.next().context("--epochs N")?.parse::<usize>()?),
            "--out" => out = PathBuf::from(args.next().context("--out DIR")?),
            s => bail!("unknown argument {s}; usage: iwae [--quick] [--epochs N] [--out DIR]"),
        }
    }
    let dev = Device::Cpu;
    let data = mnist_embedded()?;
    let (n_test, default_epochs) = if quick { (200, 2) } else { (2000, 50) };
    let epochs = epochs.unwrap_or(default_epochs);
    let k_eval = 5000;
    let (_, test) = data.test.split_off(n_test)?;
    let x_test = binarize(&test.head(test.len(), &dev)?.x, &mut GmRng::new(12345))?;
    println!(
        "train {} digits, test {} digits (binarized once), {epochs} epochs, batch 100, Adam lr 1e-3",
        data.train.len(),
        x_test.dim(0)?
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
            adam: AdamConfig::default(),
            objective,
            binarize: true,
            eval_images: 0,
        };
        let mut trainer = VaeTrainer::new(cfg, 1, None, &dev)?;
        let fc = FitConfig {
            epochs,
            batch_size: 100,
            seed: 7,
            grid_every: epochs.max(1),
            progress: true,
            ..Default::default()
        };
        let run = out.join(dir);
        if run.exists() {
            std::fs::remove_dir_all(&run)?;
        }
        let t0 = Instant::now();
        fit(&mut trainer, &data.train, &fc, &run, &dev)?;
        let train_s = t0.elapsed().as_secs_f64();
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
    println!("pictures: {}", out.display());
    Ok(())
}
