//! Inpainting and super-resolution on test digits with the Bora et al. VAE prior, beside the
//! Lasso: random-pixel inpainting (150 of 784 pixels), a hidden centred 12 x 12 block, and 4x
//! super-resolution (7 x 7 block means). Each grid has four rows: truth, observation (unseen
//! pixels grey; the low-resolution image upsampled), Lasso, generative prior. Prints the
//! per-pixel MSE of each method; the grids go into the run folder.
//!
//! The prior is the csgm reproduction's: one trained earlier with the same settings (by csgm
//! or inpainting, or in `--prior-dir`) is reused, else it is trained into the run's `prior/`
//! folder (or into `--prior-dir`). `--data PATH` works on your own one-channel images instead
//! (load colour ones with `--channels 1`): the prior is trained on them, the masks keep the
//! digits' proportions (19 % of the pixels seen, a hidden block of 3/7 of the side) and 4x
//! super-resolution needs a side divisible by 4.
//!
//! ```text
//! cargo xtask run inpainting [--quick] [--epochs N] [--prior-dir DIR] [--data PATH]
//!                            [--seed 0] [--out DIR] [--resume | --overwrite] [--help]
//! ```

#[path = "common/mod.rs"]
mod common;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::GmRng;
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::{
    mean_with_ci, measure, per_image_mse, recover, CentreBlockMask, CsgmConfig,
    MeasurementOperator, RandomPixelMask, SuperResolution,
};

/// Inpainting and 4x super-resolution of test digits with the Bora et al. VAE prior and the
/// Lasso.
#[derive(Parser)]
#[command(
    mut_arg("epochs", |a: clap::Arg| {
        a.help("Training epochs of the prior VAE [default: 40, 6 with --quick]")
    })
)]
struct Cli {
    /// Smoke run: a 6-epoch prior and 3 restarts x 300 steps (without it: 40 epochs and
    /// csgm's default 10 x 1000)
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    prior: common::PriorArgs,
    /// The images (default: the embedded digits)
    #[command(flatten)]
    data: gm_data::DataArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "inpainting";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[("epochs", None)]);
    let quick = cli.quick;
    let seed = cli.run.seed;
    let epochs = cli.run.epochs.unwrap_or(if quick { 6 } else { 40 });
    let dev = cli.run.device()?;
    let data = cli.data.load_or_digits(seed, cli.run.progress())?;
    let (h, w) = match data.train.item_shape[..] {
        [1, h, w] => (h, w),
        ref other => bail!(
            "inpainting works on one-channel images; {} holds items of shape {other:?} (load \
             colour images with --channels 1)",
            data.train.name
        ),
    };
    let d = h * w;
    // The same split as the csgm reproduction, so that the prior is shared.
    let (train, _val) = data.train.split_off(500.min(data.train.len() / 10))?;
    let out = cli.run.run_dir(NAME)?;
    let prior = cli.prior.for_run(&cli.run, &out, &train, epochs, &dev)?;
    let Some(prior) = prior else {
        return Ok(());
    };
    let n = 8.min(data.test.len());
    let x = data.test.head(n, &dev)?.x.reshape((n, d))?;
    // lr and lambda as chosen on the validation digits by the csgm reproduction.
    let cfg = CsgmConfig::vae().with_lr(0.03).with_lambda(0.03);
    let cfg = if quick {
        cfg.with_steps(300).with_restarts(3)
    } else {
        cfg
    };
    let mut rng = GmRng::new(seed + 1);
    // The digits' settings: 150 of 784 pixels seen, a 12 x 12 block of 28 x 28 hidden.
    let seen = (150 * d).div_ceil(784);
    let block = (12 * h.min(w) + 14) / 28;
    let mut demos: Vec<(&str, Box<dyn MeasurementOperator>, Basis)> = vec![
        (
            "random_pixels",
            Box::new(RandomPixelMask::new(h, w, seen, &mut rng, &dev)?),
            Basis::Pixel,
        ),
        (
            "centre_block",
            Box::new(CentreBlockMask::new(h, w, block, &dev)?),
            Basis::Pixel,
        ),
    ];
    if h % 4 == 0 && w % 4 == 0 {
        demos.push((
            "super_resolution",
            Box::new(SuperResolution::new(h, w, 4, &dev)?),
            Basis::Dct {
                height: h,
                width: w,
            },
        ));
    } else {
        println!("(no 4x super-resolution: the side {h} x {w} is not divisible by 4)");
    }
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
        let grid = Tensor::cat(&[&x, &obs, &las.x, &gen.x], 0)?.reshape((4 * n, 1, h, w))?;
        gm_core::viz::save_grid(&grid, n, false, out.join(format!("{name}.png")))?;
    }
    println!(
        "\ngrids (rows: truth, observation, Lasso, prior) in {}",
        out.display()
    );
    Ok(())
}
