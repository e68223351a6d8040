//! Amortized inference (a VAE encoder) against per-datapoint stochastic variational
//! inference (free mu_i, logvar_i per digit; inner steps on them, then a decoder step), on
//! the same 500 binarized digits, the same decoder (20-400-784, ReLU) and the same epochs.
//! Reports the final ELBO on the subset, the amortization gap (ELBO gained by refining the
//! encoder's outputs per digit) and the cost. Prints a table; writes no files.
//!
//! ```text
//! cargo xtask run svi [--epochs 30] [--points 500] [--seed 0] [--cpu] [--help]
//! ```

use std::time::Instant;

use anyhow::Result;
use candle_core::Tensor;
use clap::Parser;
use gm_core::cli::DeviceArgs;
use gm_core::data::mnist_embedded;
use gm_core::{Adam, AdamConfig, GmRng, ParamStore};
use gm_vae::bound::{elbo_terms, KlEstimator};
use gm_vae::model::binarize;
use gm_vae::svi::{fit_svi, mean_local_elbo, refine_local, SviConfig};
use gm_vae::{Vae, VaeConfig};

/// Amortized inference (a VAE encoder) against per-datapoint SVI on the same digits and
/// decoder: final ELBO, amortization gap and cost.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    /// Training epochs of both methods
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = gm_core::cli::positive_u64)]
    epochs: u64,
    /// Binarized training digits both methods fit
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = gm_core::cli::positive_u64)]
    points: u64,
    /// Random seed, added to every seed of the run (0 gives the published table)
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
}

const NAME: &str = "svi";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    // --epochs is this command's own flag; the shared parser must not refuse it.
    let cli: Cli = gm_core::cli::parse(NAME, &[("epochs", None)]);
    let (epochs, points) = (cli.epochs as usize, cli.points as usize);
    let seed = |s: u64| cli.seed.wrapping_add(s);
    let dev = cli.device.device()?;
    let data = mnist_embedded()?;
    let x =
        binarize(&data.train.head(points, &dev)?.x, &mut GmRng::new(seed(1)))?.flatten_from(1)?;
    let model = VaeConfig::pytorch_example();
    let batch = 100;
    let refine = AdamConfig {
        lr: 0.05,
        ..Default::default()
    };

    // Amortized: encoder + decoder, one Adam step per minibatch.
    let t0 = Instant::now();
    let store = ParamStore::new(seed(1));
    let vae = Vae::init(model.clone(), &store, &dev)?;
    let mut opt = Adam::new(&store, AdamConfig::default())?;
    let mut rng = GmRng::new(seed(2));
    let mut steps = 0;
    for _ in 0..epochs {
        let order = rng.permutation(points);
        for chunk in order.chunks(batch) {
            let idx =
                Tensor::from_vec(chunk.iter().map(|&i| i as u32).collect(), chunk.len(), &dev)?;
            let xb = x.index_select(&idx, 0)?;
            let t = elbo_terms(&vae, &xb, KlEstimator::Analytic, &mut rng)?;
            opt.backward_step(&t.elbo.mean_all()?.neg()?)?;
            steps += 1;
        }
    }
    let amortized_s = t0.elapsed().as_secs_f64();
    let (mu, lv) = vae.encoder().encode(&x)?;
    let amortized = mean_local_elbo(vae.decoder(), &x, &mu, &lv, 20, &mut GmRng::new(seed(9)))?;
    let t1 = Instant::now();
    let (rm, rl) = refine_local(
        vae.decoder(),
        &x,
        &mu,
        &lv,
        200,
        refine,
        &mut GmRng::new(seed(3)),
    )?;
    let refine_s = t1.elapsed().as_secs_f64();
    let refined = mean_local_elbo(vae.decoder(), &x, &rm, &rl, 20, &mut GmRng::new(seed(9)))?;

    // Per-datapoint SVI.
    let cfg = SviConfig {
        epochs,
        batch_size: batch,
        inner_steps: 5,
        local_adam: AdamConfig {
            lr: 0.1,
            ..Default::default()
        },
        ..Default::default()
    };
    let run = fit_svi(&model, &cfg, &x, seed(1), &dev)?;
    let svi = mean_local_elbo(
        &run.decoder,
        &x,
        &run.mu,
        &run.logvar,
        20,
        &mut GmRng::new(seed(9)),
    )?;
    let (sm, sl) = refine_local(
        &run.decoder,
        &x,
        &run.mu,
        &run.logvar,
        200,
        refine,
        &mut GmRng::new(seed(3)),
    )?;
    let svi_refined = mean_local_elbo(&run.decoder, &x, &sm, &sl, 20, &mut GmRng::new(seed(9)))?;

    println!(
        "{points} binarized training digits, decoder 20-400-784 (ReLU), {epochs} epochs, batch {batch}, device {}\n",
        gm_core::device::device_name(&dev)
    );
    println!("| inference | train ELBO (nats) | after 200 per-digit refinement steps | train time (s) | backward passes |");
    println!("|---|---|---|---|---|");
    println!("| amortized (encoder 784-400-20) | {amortized:.2} | {refined:.2} | {amortized_s:.1} | {steps} |");
    println!(
        "| per-datapoint SVI (5 inner steps) | {svi:.2} | {svi_refined:.2} | {:.1} | {} |",
        run.wall_seconds, run.backward_passes
    );
    println!(
        "\namortization gap of the encoder: {:.2} nats per digit (refinement took {refine_s:.1} s)",
        refined - amortized
    );
    println!(
        "SVI ELBO per epoch: first {:.2}, last {:.2}",
        run.epoch_elbo.first().copied().unwrap_or(f64::NAN),
        run.epoch_elbo.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "A new digit costs the encoder one forward pass; SVI must optimise its phi_i from scratch."
    );
    Ok(())
}
