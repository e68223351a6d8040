//! Reference rows of every metric computed on real digits, printed as a markdown table:
//! what a perfect generator would score, to read generated-sample numbers against.
//!
//! ```text
//! cargo xtask reproduce eval-baselines [--cpu | --device DEVICE] [--help]
//! ```
//!
//! The Parzen row is the "KDE of the training set" row of the GAN / f-GAN tables: the
//! protocol fits the KDE to 10,000 samples, but the embedded subset has 8,000 training
//! digits, of which the last 1,000 are the validation split; so the KDE here is fitted to the
//! other 7,000.

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Parser;
use gm_core::cli::DeviceArgs;
use gm_core::GmRng;
use gm_eval::{frechet_distance_features, EvalConfig, MnistEvaluator};

/// Every evaluation metric on real digits: what a perfect generator scores. Writes no files.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
}

fn shift_right(x: &Tensor, px: usize) -> Result<Tensor> {
    // Drop the last `px` columns and pad `px` zero columns on the left.
    let (n, c, h, w) = x.dims4()?;
    let pad = Tensor::zeros((n, c, h, px), x.dtype(), x.device())?;
    Ok(Tensor::cat(&[&pad, &x.narrow(3, 0, w - px)?], 3)?)
}

const NAME: &str = "eval-baselines";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[]);
    let dev = cli.device.device()?;
    let t = Instant::now();
    let ev = MnistEvaluator::new(&dev)?;
    println!(
        "loaded the classifier and the test features in {:.2} s (device {})",
        t.elapsed().as_secs_f64(),
        gm_core::device::device_name(&dev)
    );
    let cfg = EvalConfig::default();
    let train = ev.train_digits();
    let n_train = train.dim(0)?;
    let kde_train = train.narrow(0, 0, n_train - cfg.parzen_validation)?;

    // Training digits (the 7,000 outside the validation split) as the "generated" set.
    let (tr, t_tr) = ev.evaluate(&kde_train, &cfg)?;
    // Test digits against themselves, for the classifier score of real test digits.
    let (te, t_te) = ev.evaluate(
        ev.test_digits(),
        &EvalConfig {
            parzen: false,
            ..cfg.clone()
        },
    )?;

    // Sanity rows: FD between two halves of the training digits, and between one half and
    // the other half shifted by 2 pixels or with Gaussian pixel noise (std 0.1, clamped).
    let half = n_train / 2;
    let (a, b) = (train.narrow(0, 0, half)?, train.narrow(0, half, half)?);
    let fa = ev.net().features_and_logits(&a, 500)?.0;
    let mut sanity = Vec::new();
    let noise = GmRng::new(7).normal(b.dims(), 0.0, 0.1, &dev)?;
    for (name, bb) in [
        ("train half A vs train half B", b.clone()),
        ("train half A vs half B shifted 2 px", shift_right(&b, 2)?),
        (
            "train half A vs half B + N(0, 0.1^2) noise",
            (b.clone() + noise)?.clamp(0f32, 1f32)?,
        ),
    ] {
        let t = Instant::now();
        let fb = ev.net().features_and_logits(&bb, 500)?.0;
        let fd = frechet_distance_features(&fa, &fb)?;
        sanity.push((name, fd, t.elapsed().as_secs_f64()));
    }

    let p = tr
        .parzen
        .as_ref()
        .context("the default EvalConfig computes the Parzen estimate")?;
    println!();
    println!("| metric | samples | reference | value | wall time (s) |");
    println!("|---|---|---|---|---|");
    let row = |m: &str, s: &str, r: &str, v: String, secs: f64| {
        println!("| {m} | {s} | {r} | {v} | {secs:.2} |");
    };
    let ft = t_tr["features"];
    row(
        "classifier features (forward pass)",
        "7,000 train",
        "-",
        "128-d".into(),
        ft,
    );
    row(
        "MNIST FD",
        "7,000 train",
        "2,000 test",
        format!("{:.4}", tr.frechet_distance),
        t_tr["frechet_distance"],
    );
    for (name, fd, secs) in &sanity {
        row("MNIST FD (sanity)", name, "", format!("{fd:.4}"), *secs);
    }
    row(
        "MNIST FD",
        "2,000 test",
        "2,000 test (itself)",
        format!("{:.2e}", te.frechet_distance),
        t_te["frechet_distance"],
    );
    row(
        "classifier score (10 splits)",
        "2,000 test",
        "-",
        format!(
            "{:.4} ± {:.4}",
            te.classifier_score.mean, te.classifier_score.std
        ),
        t_te["classifier_score"],
    );
    row(
        "classifier score (10 splits)",
        "7,000 train",
        "-",
        format!(
            "{:.4} ± {:.4}",
            tr.classifier_score.mean, tr.classifier_score.std
        ),
        t_tr["classifier_score"],
    );
    row(
        "digit classes covered",
        "7,000 train",
        "-",
        format!("{} / 10", tr.labels.covered),
        0.0,
    );
    let k = &tr.kernel_distance;
    row(
        &format!("KID ({} subsets of {})", k.subsets, k.subset_size),
        "7,000 train",
        "2,000 test",
        format!("{:.4} ± {:.4} (std over subsets)", k.mean, k.std),
        t_tr["kernel_distance"],
    );
    let pr = &tr.precision_recall;
    row(
        &format!("precision / recall (k = {})", pr.k),
        &format!("{} train", pr.n_fake),
        &format!("{} test", pr.n_real),
        format!("{:.4} / {:.4}", pr.precision, pr.recall),
        t_tr["precision_recall"],
    );
    row(
        "1-NN two-sample accuracy",
        &format!("{} train", tr.one_nn.n_per_set),
        &format!("{} test", tr.one_nn.n_per_set),
        format!("{:.4}", tr.one_nn.accuracy),
        t_tr["one_nn"],
    );
    row(
        "Parzen log-likelihood (nats)",
        &format!("KDE of {} train", p.n_kernel),
        &format!("{} test (sigma from {} val)", p.n_test, p.n_validation),
        format!("{:.2} ± {:.2} (sigma = {:.4})", p.mean, p.stderr, p.sigma),
        t_tr["parzen"],
    );
    println!();
    println!("Parzen validation mean log-likelihood per sigma:");
    for (s, v) in p.sigmas.iter().zip(&p.validation) {
        println!("  sigma {s:.4}: {v:.2}");
    }
    Ok(())
}
