//! `cargo xtask reproduce csgm`: compressed sensing with a generative prior against the Lasso
//! on real digits (Bora, Jalal, Price and Dimakis, "Compressed Sensing using Generative
//! Models", ICML 2017, Figure 1a).
//!
//! The prior is the paper's VAE (decoder 20-500-500-784) trained with gm-vae on the embedded
//! training digits except the last 500, which form the validation split on which the
//! estimator's lr and lambda and the Lasso's alpha (per m) are chosen. The reported digits
//! are the first N embedded test digits, used for nothing else. For each m, A has N(0, 1)
//! entries and the noise std is 0.1 per measurement; the table gives the per-pixel MSE with
//! 1.96 standard errors for VAE (lambda = 0), VAE+Reg (lambda > 0), the pixel Lasso and the
//! DCT Lasso, the factor by which the prior saves measurements at equal error, and writes
//! `error_vs_m.svg`, `grids/m{m}.png` (rows: truth, Lasso, VAE, VAE+Reg), `table.md` and
//! `results.json` into the run folder. A prior trained by an earlier csgm or inpainting run
//! with the same settings is reused; otherwise it is trained into the run's `prior/` folder.
//!
//! ```text
//! cargo xtask reproduce csgm [--quick] [--images N] [--steps N] [--restarts N] [--epochs N]
//!                            [--timing | --no-timing] [--prior-dir DIR] [--seed 0]
//!                            [--out DIR] [--resume | --overwrite] [--cpu] [--help]
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::viz::{plot_error_bars, ErrorCurve};
use gm_core::GmRng;
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::metrics::saving_factors;
use gm_inverse::{
    mean_with_ci, measure, per_image_mse, recover, recover_each, CsgmConfig, GaussianMeasurement,
    MeanCi,
};
use gm_vae::Decoder;

const NOISE_STD: f64 = 0.1;
const VALIDATION: usize = 500;
const NAME: &str = "csgm";

/// Compressed sensing with a VAE prior against the Lasso on MNIST (Bora et al. 2017, fig. 1a).
#[derive(Parser)]
#[command(
    mut_arg("epochs", |a: clap::Arg| {
        a.help("Training epochs of the prior VAE [default: 40, 6 with --quick]")
    }),
    mut_arg("steps", |a: clap::Arg| {
        a.help("Adam steps of each restart of the recovery [default: 1000, 200 with --quick]")
    })
)]
struct Cli {
    /// Smoke run: 16 test and 8 validation digits, 3 restarts x 200 steps, a 6-epoch prior,
    /// fewer values of m, smaller tuning grids, no timing (without it: 100 and 40 digits,
    /// 10 x 1000, 40 epochs, timing)
    #[arg(long)]
    quick: bool,
    /// Test digits reported, at least 2 [default: 100, 16 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    images: Option<u64>,
    /// Random restarts of the recovery [default: 10, 3 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    restarts: Option<u64>,
    /// Time batched against per-image recovery (the default without --quick)
    #[arg(long, overrides_with = "no_timing")]
    timing: bool,
    /// Skip the timing (the default with --quick)
    #[arg(long, overrides_with = "timing")]
    no_timing: bool,
    #[command(flatten)]
    prior: common::PriorArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

struct Settings {
    quick: bool,
    seed: u64,
    epochs: usize,
    images: usize,
    val_images: usize,
    steps: usize,
    restarts: usize,
    ms: Vec<usize>,
    timing: bool,
}

impl Settings {
    fn new(cli: &Cli) -> Self {
        let quick = cli.quick;
        let mut s = if quick {
            Settings {
                quick,
                seed: 0,
                epochs: 6,
                images: 16,
                val_images: 8,
                steps: 200,
                restarts: 3,
                ms: vec![10, 25, 50, 100, 200, 400, 750],
                timing: false,
            }
        } else {
            Settings {
                quick,
                seed: 0,
                epochs: 40,
                images: 100,
                val_images: 40,
                steps: 1000,
                restarts: 10,
                ms: vec![10, 25, 50, 100, 200, 300, 400, 500, 750],
                timing: true,
            }
        };
        s.seed = cli.run.seed;
        s.epochs = cli.run.epochs.unwrap_or(s.epochs);
        s.steps = cli.run.steps.unwrap_or(s.steps);
        s.images = cli.images.map_or(s.images, |n| n as usize);
        s.restarts = cli.restarts.map_or(s.restarts, |n| n as usize);
        if cli.timing {
            s.timing = true;
        } else if cli.no_timing {
            s.timing = false;
        }
        s
    }
}

/// One (x, A, b) problem: measurements of `x` with a fresh Gaussian A.
fn problem(x: &Tensor, m: usize, seed: u64, dev: &Device) -> Result<(GaussianMeasurement, Tensor)> {
    let mut rng = GmRng::derive(seed, m as u64);
    let op = GaussianMeasurement::new(m, 784, &mut rng, dev)?;
    let b = measure(&op, x, NOISE_STD, &mut rng)?;
    Ok((op, b))
}

fn mse_of_gen(
    prior: &Decoder,
    x: &Tensor,
    m: usize,
    cfg: &CsgmConfig,
    seed: u64,
    dev: &Device,
) -> Result<(Vec<f64>, Tensor, f64)> {
    let (op, b) = problem(x, m, seed, dev)?;
    let t = Instant::now();
    let r = recover(prior, &op, &b, cfg, seed ^ 0x5eed)?;
    let secs = t.elapsed().as_secs_f64();
    Ok((per_image_mse(&r.x, x)?, r.x, secs))
}

fn mse_of_lasso(
    x: &Tensor,
    m: usize,
    basis: Basis,
    alpha: f64,
    seed: u64,
    dev: &Device,
) -> Result<(Vec<f64>, Tensor, f64, usize)> {
    let (op, b) = problem(x, m, seed, dev)?;
    let t = Instant::now();
    let l = lasso_batch(&op, &b, basis, &LassoConfig::default().with_alpha(alpha))?;
    let secs = t.elapsed().as_secs_f64();
    let nc = l.not_converged();
    Ok((per_image_mse(&l.x, x)?, l.x, secs, nc))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[derive(serde::Serialize)]
struct Row {
    m: usize,
    vae: MeanCi,
    vae_reg: MeanCi,
    lasso: MeanCi,
    lasso_dct: MeanCi,
    lasso_alpha: f64,
    lasso_dct_alpha: f64,
    vae_seconds: f64,
    vae_reg_seconds: f64,
    lasso_seconds: f64,
    lasso_not_converged: usize,
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[("epochs", None), ("steps", None)]);
    let s = Settings::new(&cli);
    let started = Instant::now();
    let dev = cli.run.device()?;
    let data = mnist_embedded()?;
    let (train, val) = data.train.split_off(VALIDATION)?;
    let out = cli.run.run_dir(NAME)?;
    std::fs::create_dir_all(out.join("grids"))?;
    let prior = cli.prior.for_run(&cli.run, &out, &train, s.epochs, &dev)?;
    let Some(prior) = prior else {
        return Ok(());
    };
    let x_val = val
        .head(s.val_images, &dev)?
        .x
        .reshape((s.val_images, 784))?;
    let x_test = data.test.head(s.images, &dev)?.x.reshape((s.images, 784))?;
    let base = CsgmConfig::vae()
        .with_steps(s.steps)
        .with_restarts(s.restarts);

    // Tuning on the validation split (never on the reported test digits).
    let m_tune = 100;
    let tune_seed = s.seed + 1000;
    let mut best_lr = (f64::INFINITY, 0.01);
    // Quick mode searches smaller grids.
    let (lrs, lambdas, alphas): (&[f64], &[f64], &[f64]) = if s.quick {
        (&[0.01, 0.03], &[0.03, 0.1], &[0.01, 0.1])
    } else {
        (
            &[0.01, 0.03, 0.1],
            &[0.01, 0.03, 0.1, 0.3],
            &[0.01, 0.03, 0.1, 0.3],
        )
    };
    for &lr in lrs {
        let (e, _, _) = mse_of_gen(&prior, &x_val, m_tune, &base.with_lr(lr), tune_seed, &dev)?;
        eprintln!("tune: lr {lr}: validation MSE {:.5}", mean(&e));
        if mean(&e) < best_lr.0 {
            best_lr = (mean(&e), lr);
        }
    }
    let lr = best_lr.1;
    let mut best_lambda = (f64::INFINITY, 0.1);
    for &lambda in lambdas {
        let cfg = base.with_lr(lr).with_lambda(lambda);
        let (e, _, _) = mse_of_gen(&prior, &x_val, m_tune, &cfg, tune_seed, &dev)?;
        eprintln!("tune: lambda {lambda}: validation MSE {:.5}", mean(&e));
        if mean(&e) < best_lambda.0 {
            best_lambda = (mean(&e), lambda);
        }
    }
    let lambda = best_lambda.1;
    let dct = Basis::Dct {
        height: 28,
        width: 28,
    };
    let mut tuned_alpha = Vec::new();
    for &m in &s.ms {
        let pick = |basis: Basis| -> Result<f64> {
            let mut best = (f64::INFINITY, 0.1);
            for &a in alphas {
                let (e, _, _, _) = mse_of_lasso(&x_val, m, basis, a, tune_seed, &dev)?;
                if mean(&e) < best.0 {
                    best = (mean(&e), a);
                }
            }
            Ok(best.1)
        };
        let (ap, ad) = (pick(Basis::Pixel)?, pick(dct)?);
        eprintln!("tune: m {m}: Lasso alpha {ap}, DCT Lasso alpha {ad}");
        tuned_alpha.push((ap, ad));
    }
    eprintln!(
        "tuned on {} validation digits at m = {m_tune}: lr {lr}, lambda {lambda} ({:.0} s so far)",
        s.val_images,
        started.elapsed().as_secs_f64()
    );

    // The reported runs.
    let vae_cfg = base.with_lr(lr);
    let reg_cfg = base.with_lr(lr).with_lambda(lambda);
    let mut rows = Vec::new();
    let show = 8.min(s.images);
    for (&m, &(ap, ad)) in s.ms.iter().zip(&tuned_alpha) {
        let (e_vae, x_vae, t_vae) = mse_of_gen(&prior, &x_test, m, &vae_cfg, s.seed, &dev)?;
        let (e_reg, x_reg, t_reg) = mse_of_gen(&prior, &x_test, m, &reg_cfg, s.seed, &dev)?;
        let (e_las, x_las, t_las, nc) = mse_of_lasso(&x_test, m, Basis::Pixel, ap, s.seed, &dev)?;
        let (e_dct, _, _, _) = mse_of_lasso(&x_test, m, dct, ad, s.seed, &dev)?;
        let grid = Tensor::cat(
            &[
                x_test.narrow(0, 0, show)?,
                x_las.narrow(0, 0, show)?,
                x_vae.narrow(0, 0, show)?,
                x_reg.narrow(0, 0, show)?,
            ],
            0,
        )?
        .reshape((4 * show, 1, 28, 28))?;
        gm_core::viz::save_grid(&grid, show, false, out.join(format!("grids/m{m}.png")))?;
        let row = Row {
            m,
            vae: mean_with_ci(&e_vae),
            vae_reg: mean_with_ci(&e_reg),
            lasso: mean_with_ci(&e_las),
            lasso_dct: mean_with_ci(&e_dct),
            lasso_alpha: ap,
            lasso_dct_alpha: ad,
            vae_seconds: t_vae,
            vae_reg_seconds: t_reg,
            lasso_seconds: t_las,
            lasso_not_converged: nc,
        };
        eprintln!(
            "m {m}: VAE {:.4}, VAE+Reg {:.4}, Lasso {:.4}, DCT Lasso {:.4} ({:.0} s so far)",
            row.vae.mean,
            row.vae_reg.mean,
            row.lasso.mean,
            row.lasso_dct.mean,
            started.elapsed().as_secs_f64()
        );
        rows.push(row);
    }

    // Table, savings, plot.
    let mut md = format!(
        "Per-pixel MSE on {} embedded MNIST test digits, +- 1.96 s.e.; A with N(0,1) entries, noise std {NOISE_STD}; \
         {} restarts x {} Adam steps, lr {lr}; VAE+Reg lambda {lambda}; Lasso alpha chosen per m on {} validation digits.\n\n\
         | m | VAE | VAE+Reg | Lasso (pixel) | Lasso (DCT) | alpha (pixel, DCT) | VAE s | Lasso s |\n|---|---|---|---|---|---|---|---|\n",
        s.images, s.restarts, s.steps, s.val_images
    );
    for r in &rows {
        let f = |c: &MeanCi| format!("{:.4} +- {:.4}", c.mean, c.ci95);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {}, {} | {:.1} | {:.2} |\n",
            r.m,
            f(&r.vae),
            f(&r.vae_reg),
            f(&r.lasso),
            f(&r.lasso_dct),
            r.lasso_alpha,
            r.lasso_dct_alpha,
            r.vae_seconds,
            r.lasso_seconds
        ));
    }
    let ms: Vec<f64> = rows.iter().map(|r| r.m as f64).collect();
    let best_gen: Vec<f64> = rows
        .iter()
        .map(|r| r.vae.mean.min(r.vae_reg.mean))
        .collect();
    let lasso: Vec<f64> = rows.iter().map(|r| r.lasso.mean).collect();
    let savings = saving_factors(&ms, &best_gen, &lasso)?;
    let m_max = *ms.last().unwrap_or(&1.0);
    md.push_str("\nMeasurements the pixel Lasso needs to match the generative prior (better of VAE, VAE+Reg):\n\n| m (prior) | prior MSE | m (Lasso) | factor |\n|---|---|---|---|\n");
    let mut factors = Vec::new();
    for sv in &savings {
        let (ml, fac) = match sv.m_baseline {
            Some(b) => {
                factors.push(b / sv.m_method);
                (format!("{b:.0}"), format!("{:.1}", b / sv.m_method))
            }
            None => (
                format!("> {m_max:.0}"),
                format!("> {:.1}", sv.factor_lower_bound(m_max)),
            ),
        };
        md.push_str(&format!(
            "| {:.0} | {:.4} | {ml} | {fac} |\n",
            sv.m_method, sv.error
        ));
    }
    let crossover = rows
        .iter()
        .find(|r| r.lasso.mean < r.vae.mean.min(r.vae_reg.mean))
        .map(|r| r.m);
    md.push_str(&format!(
        "\nMeasured saving factors where the Lasso reaches the prior's error: {:?}; Lasso first beats the prior at m = {}.\n",
        factors.iter().map(|f| (f * 10.0).round() / 10.0).collect::<Vec<_>>(),
        crossover.map_or("never (in range)".to_string(), |m| m.to_string())
    ));

    let curve = |name: &str, f: &dyn Fn(&Row) -> MeanCi| ErrorCurve {
        name: name.into(),
        points: rows
            .iter()
            .map(|r| (r.m as f64, f(r).mean, f(r).ci95))
            .collect(),
    };
    plot_error_bars(
        "MNIST: reconstruction error vs measurements",
        "number of measurements m",
        "per-pixel MSE",
        &[
            curve("VAE", &|r| r.vae),
            curve("VAE+Reg", &|r| r.vae_reg),
            curve("Lasso", &|r| r.lasso),
            curve("Lasso DCT", &|r| r.lasso_dct),
        ],
        out.join("error_vs_m.svg"),
    )?;

    // Batched vs per-image wall time (the paper's setting at m = 100, fewer steps here;
    // both scale linearly in the step count).
    if s.timing {
        let n = 300;
        let steps = if s.quick { 10 } else { 50 };
        let x = data.test.head(n, &dev)?.x.reshape((n, 784))?;
        let (op, b) = problem(&x, 100, s.seed + 7, &dev)?;
        let cfg = CsgmConfig::vae().with_steps(steps);
        let t = Instant::now();
        let _ = recover(&prior, &op, &b, &cfg, 1)?;
        let t_batch = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = recover_each(&prior, &op, &b, &cfg, 1)?;
        let t_each = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let l = lasso_batch(&op, &b, Basis::Pixel, &LassoConfig::default())?;
        let t_lasso = t.elapsed().as_secs_f64();
        md.push_str(&format!(
            "\nTiming at m = 100, {n} images x 10 restarts x {steps} steps (x{} for the paper's 1000 steps):\n\
             batched {t_batch:.1} s (-> {:.0} s), per-image loop {t_each:.1} s (-> {:.0} s), speed-up {:.1}x; \
             pixel Lasso (alpha 0.1, tol 1e-4) for the {n} images: {t_lasso:.2} s ({} not converged).\n",
            1000 / steps,
            t_batch * 1000.0 / steps as f64,
            t_each * 1000.0 / steps as f64,
            t_each / t_batch,
            l.not_converged()
        ));
    }
    md.push_str(&format!(
        "\nTotal wall time {:.0} s on {}.\n",
        started.elapsed().as_secs_f64(),
        gm_core::device::device_name(&dev)
    ));
    println!("{md}");
    gm_core::io::write_atomic(out.join("table.md"), md.as_bytes())?;
    let json = serde_json::json!({
        "quick": s.quick, "images": s.images, "validation_images": s.val_images,
        "steps": s.steps, "restarts": s.restarts, "lr": lr, "lambda": lambda,
        "noise_std": NOISE_STD, "vae_epochs": s.epochs, "rows": rows, "savings": savings,
    });
    gm_core::io::write_atomic(
        out.join("results.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    eprintln!("run folder: {}", out.display());
    Ok(())
}
