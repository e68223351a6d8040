//! Inpainting and super-resolution on test digits with the Bora et al. VAE prior, beside the
//! Lasso: random-pixel inpainting (150 of 784 pixels), a hidden centred 12 x 12 block, and 4x
//! super-resolution (7 x 7 block means). Each grid has four rows: truth, observation (unseen
//! pixels grey; the low-resolution image upsampled), Lasso, generative prior. Prints the
//! per-pixel MSE of each method.
//!
//! cargo run --release -p gm-inverse --example inpainting -- [--quick] [--out DIR]
//!     [--prior-dir DIR] [--epochs N] [--seed N] [--cpu]
//!
//! The prior is cached in `--prior-dir` (default `runs/csgm`, shared with the csgm
//! reproduction; `runs/csgm-quick` with `--quick`) and trained there if missing.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use gm_core::data::mnist_embedded;
use gm_core::{select_device, GmRng};
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::{
    mean_with_ci, measure, per_image_mse, recover, CentreBlockMask, CsgmConfig,
    MeasurementOperator, RandomPixelMask, SuperResolution,
};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let mut out = PathBuf::from("runs/inpainting");
    let mut prior_dir = PathBuf::from(if quick {
        "runs/csgm-quick"
    } else {
        "runs/csgm"
    });
    let (mut epochs, mut seed, mut cpu) = (if quick { 6 } else { 40 }, 0u64, false);
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut val = |n: &str| it.next().with_context(|| format!("{n} needs a value"));
        match a.as_str() {
            "--quick" => {}
            "--out" => out = PathBuf::from(val("--out")?),
            "--prior-dir" => prior_dir = PathBuf::from(val("--prior-dir")?),
            "--epochs" => epochs = val("--epochs")?.parse()?,
            "--seed" => seed = val("--seed")?.parse()?,
            "--cpu" => cpu = true,
            other => bail!(
                "unknown argument {other}; usage: inpainting [--quick] [--out DIR] \
                 [--prior-dir DIR] [--epochs N] [--seed N] [--cpu]"
            ),
        }
    }
    let dev = select_device(cpu)?;
    std::fs::create_dir_all(&out)?;
    let data = mnist_embedded()?;
    // The same split as the csgm reproduction, so that the cached prior is shared.
    let (train, _val) = data.train.split_off(500)?;
    let prior = common::bora_prior(&train, epochs, seed, &prior_dir, &dev)?;
    let n = 8;
    let x = data.test.head(n, &dev)?.x.reshape((n, 784))?;
    // lr and lambda as chosen on the validation digits by the csgm reproduction.
    let cfg = CsgmConfig::vae().with_lr(0.03).with_lambda(0.03);
    let cfg = if quick {
        cfg.with_steps(300).with_restarts(3)
    } else {
        cfg
    };
    let mut rng = GmRng::new(seed + 1);
    let demos: Vec<(&str, Box<dyn MeasurementOperator>, Basis)> = vec![
        (
            "random_pixels",
            Box::new(RandomPixelMask::new(28, 28, 150, &mut rng, &dev)?),
            Basis::Pixel,
        ),
        (
            "centre_block",
            Box::new(CentreBlockMask::new(28, 28, 12, &dev)?),
            Basis::Pixel,
        ),
        (
            "super_resolution",
            Box::new(SuperResolution::new(28, 28, 4, &dev)?),
            Basis::Dct {
                height: 28,
                width: 28,
            },
        ),
    ];
    println!("| task | m | Lasso MSE | prior MSE |\n|---|---|---|---|");
    for (name, op, basis) in demos {
        let b = measure(op.as_ref(), &x, 0.0, &mut rng)?;
        let obs = op
            .observation_image(&b)?
            .context("every demo operator draws its observation")?;
        // scikit-learn's objective weighs the data term by 1/m: with unit-norm columns
        // (masks) instead of the ~m of a Gaussian A, alpha must shrink by the same factor.
        let col_sq = op.dense().matrix().sqr()?.sum_all()?.to_scalar::<f32>()? as f64
            / op.input_dim() as f64;
        let alpha = 0.01 * col_sq / op.num_measurements() as f64;
        let las = lasso_batch(
            op.as_ref(),
            &b,
            basis,
            &LassoConfig::default().with_alpha(alpha),
        )?;
        // The same holds for lambda against ||b - A G(z)||^2 / m.
        let scaled = cfg.with_lambda(cfg.lambda * col_sq / op.num_measurements() as f64);
        let gen = recover(&prior, op.as_ref(), &b, &scaled, seed + 2)?;
        let (e_las, e_gen) = (
            mean_with_ci(&per_image_mse(&las.x, &x)?),
            mean_with_ci(&per_image_mse(&gen.x, &x)?),
        );
        println!(
            "| {name} | {} | {:.4} +- {:.4} | {:.4} +- {:.4} |",
            op.num_measurements(),
            e_las.mean,
            e_las.ci95,
            e_gen.mean,
            e_gen.ci95
        );
        let grid = Tensor::cat(&[&x, &obs, &las.x, &gen.x], 0)?.reshape((4 * n, 1, 28, 28))?;
        gm_core::viz::save_grid(&grid, n, false, out.join(format!("{name}.png")))?;
    }
    println!(
        "\ngrids (rows: truth, observation, Lasso, prior) in {}",
        out.display()
    );
    Ok(())
}
