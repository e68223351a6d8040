//! `cargo xtask reproduce srec`: Bora et al.'s guarantee checked on a trained VAE decoder.
//!
//! For the Bora et al. prior (the VAE decoder 20-500-500-784 that `reproduce csgm` trains, reused
//! when one exists) and A with N(0, 1/m) entries, for each m:
//!
//! - the S-REC ratios `||A (G(z1) - G(z2))|| / ||G(z1) - G(z2)||` over random latent pairs in
//!   the ball of radius 8 (min, mean, max), and the smallest ratio a search for the worst
//!   pair finds (chords shorter than 1 not counted);
//! - on N test digits x* with noise eta (std 0.1 per measurement before the 1/sqrt(m) scaling,
//!   so ||eta|| ~ 0.1), the recovery error ||G(z_hat) - x*|| against the bound's form
//!   `6 min_z ||G(z) - x*|| + 3 ||eta|| + 2 eps`, where `min_z ||G(z) - x*||` is the best fit
//!   of the prior to x* (the estimator with A = I and no noise) and `eps` the optimisation
//!   slack `max(0, ||A G(z_hat) - b|| - ||A G(z_fit) - b||)`.
//!
//! The table is printed and written to `srec.md` and `results.json` in the run folder.
//!
//! ```text
//! cargo xtask reproduce srec [--quick] [--images N] [--epochs N] [--prior-dir DIR] [--seed 0]
//!                            [--out DIR] [--overwrite] [--cpu] [--help]
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::{GmRng, ToHostF64};
use gm_inverse::{recover, srec_of_generator, CsgmConfig, Denoising, SrecConfig, SrecStats};
use gm_vae::Decoder;

const NAME: &str = "srec";
const VALIDATION: usize = 500;
const NOISE_STD: f64 = 0.1;

/// Bora et al.'s S-REC condition and error bound measured on a trained VAE decoder.
#[derive(Parser)]
#[command(mut_arg("epochs", |a: clap::Arg| {
    a.help("Training epochs of the prior VAE [default: 40, 6 with --quick]")
}))]
struct Cli {
    /// Smoke run: 8 test digits, 3 values of m, 200 random pairs, a 6-epoch prior
    #[arg(long)]
    quick: bool,
    /// Test digits for the error bound, at least 1 [default: 50, 8 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    images: Option<u64>,
    #[command(flatten)]
    prior: common::PriorArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

/// Row norms of `(n, d)`.
fn norms(x: &Tensor) -> Result<Vec<f64>> {
    Ok(x.sqr()?.sum(1)?.sqrt()?.to_host_f64()?.to_vec1::<f64>()?)
}

#[derive(serde::Serialize)]
struct Row {
    m: usize,
    srec_min: f64,
    srec_mean: f64,
    srec_max: f64,
    srec_worst_found: f64,
    error_mean: f64,
    bound_mean: f64,
    ratio_max: f64,
    violations: usize,
}

/// Recovery errors and the bound's form for `x` (`(n, 784)`) at `m` measurements.
fn bound_check(
    prior: &Decoder,
    x: &Tensor,
    fit: &Tensor,
    m: usize,
    cfg: &CsgmConfig,
    seed: u64,
    dev: &Device,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut rng = GmRng::derive(seed, m as u64);
    let scale = 1.0 / (m as f64).sqrt();
    let a = rng.normal((m, 784), 0.0, scale, dev)?;
    let op = gm_inverse::DenseOperator::new(format!("gaussian m={m} /sqrt(m)"), a.clone())?;
    let eta = rng.normal((x.dim(0)?, m), 0.0, NOISE_STD * scale, dev)?;
    let b = (x.matmul(&a.t()?)? + &eta)?;
    let r = recover(prior, &op, &b, cfg, seed ^ 0x5eed)?;
    let err = norms(&(&r.x - x)?)?;
    let res_hat = norms(&(r.x.matmul(&a.t()?)? - &b)?)?;
    let res_fit = norms(&(fit.matmul(&a.t()?)? - &b)?)?;
    let rep = norms(&(fit - x)?)?;
    let eta_norm = norms(&eta)?;
    let bound = (0..err.len())
        .map(|i| 6.0 * rep[i] + 3.0 * eta_norm[i] + 2.0 * (res_hat[i] - res_fit[i]).max(0.0))
        .collect();
    Ok((err, bound))
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[("epochs", None)]);
    let quick = cli.quick;
    let seed = cli.run.seed;
    let epochs = cli.run.epochs.unwrap_or(if quick { 6 } else { 40 });
    let images = cli
        .images
        .map_or(if quick { 8 } else { 50 }, |n| n as usize);
    let ms: &[usize] = if quick {
        &[10, 50, 200]
    } else {
        &[5, 10, 20, 50, 100, 200, 500]
    };
    let started = Instant::now();
    let dev = cli.run.device()?;
    let data = mnist_embedded()?;
    let (train, _) = data.train.split_off(VALIDATION)?;
    let out = cli.run.run_dir(NAME)?;
    let prior = cli.prior.for_run(&cli.run, &out, &train, epochs, &dev)?;
    let Some(prior) = prior else {
        return Ok(());
    };
    let srec_cfg = SrecConfig {
        pairs: if quick { 200 } else { 2000 },
        ..Default::default()
    };
    let x = data.test.head(images, &dev)?.x.reshape((images, 784))?;
    let cfg = CsgmConfig::vae()
        .with_steps(if quick { 200 } else { 1000 })
        .with_restarts(if quick { 3 } else { 10 });
    // The prior's best fit to each digit: the estimator with A = I and no noise.
    let fit = recover(&prior, &Denoising::new(784, &dev)?, &x, &cfg, seed ^ 0xf17)?.x;
    let rep = norms(&(&fit - &x)?)?;
    let rep_mean = rep.iter().sum::<f64>() / rep.len() as f64;
    eprintln!("prior fit: mean ||G(z_fit) - x*|| = {rep_mean:.3} over {images} digits");
    let mut rows = Vec::new();
    for &m in ms {
        let s: SrecStats = srec_of_generator(&prior, m, &srec_cfg, seed + m as u64, &dev)?;
        let (err, bound) = bound_check(&prior, &x, &fit, m, &cfg, seed, &dev)?;
        let ratios: Vec<f64> = err.iter().zip(&bound).map(|(e, b)| e / b).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let row = Row {
            m,
            srec_min: s.min,
            srec_mean: s.mean,
            srec_max: s.max,
            srec_worst_found: s.worst_found,
            error_mean: mean(&err),
            bound_mean: mean(&bound),
            ratio_max: ratios.iter().copied().fold(0.0, f64::max),
            violations: ratios.iter().filter(|r| **r > 1.0).count(),
        };
        eprintln!(
            "m {m}: S-REC random [{:.3}, {:.3}], worst found {:.3}; error {:.3} vs bound {:.3} \
             ({:.0} s so far)",
            row.srec_min,
            row.srec_max,
            row.srec_worst_found,
            row.error_mean,
            row.bound_mean,
            started.elapsed().as_secs_f64()
        );
        rows.push(row);
    }
    let mut md = format!(
        "S-REC of A (N(0, 1/m) entries) on the range of the Bora et al. VAE decoder ({epochs} \
         epochs), latents in the ball of radius {}; {} random pairs, the worst {} searched for {} \
         Adam steps; chords shorter than {} not counted. Error bound on {images} test digits, \
         ||eta|| ~ {NOISE_STD}, {} restarts x {} steps; mean ||G(z_fit) - x*|| = {rep_mean:.3}.\n\n\
         | m | S-REC min (random) | mean | max | worst found | mean error | mean bound | max error/bound | digits over the bound |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        srec_cfg.radius,
        srec_cfg.pairs,
        srec_cfg.search_pairs,
        srec_cfg.search_steps,
        srec_cfg.delta,
        cfg.restarts,
        cfg.steps
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} / {images} |\n",
            r.m,
            r.srec_min,
            r.srec_mean,
            r.srec_max,
            r.srec_worst_found,
            r.error_mean,
            r.bound_mean,
            r.ratio_max,
            r.violations
        ));
    }
    md.push_str(&format!(
        "\nTotal wall time {:.0} s on {}.\n",
        started.elapsed().as_secs_f64(),
        gm_core::device::device_name(&dev)
    ));
    println!("{md}");
    gm_core::io::write_atomic(out.join("srec.md"), md.as_bytes())?;
    let json = serde_json::json!({
        "quick": quick, "images": images, "vae_epochs": epochs, "noise_std": NOISE_STD,
        "prior_fit_mean": rep_mean, "rows": rows,
    });
    gm_core::io::write_atomic(
        out.join("results.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    eprintln!("run folder: {}", out.display());
    Ok(())
}
