//! A tour of gm-sampling: one PNG per method, a histogram of samples with the exact density
//! drawn over it, written into the run folder.
//!
//! ```text
//! cargo xtask run sampling-tour [--samples 200000] [--seed 0] [--out DIR] [--overwrite]
//!                               [--cpu] [--help]
//! ```

use std::path::Path;

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::GmRng;
use gm_sampling::conditional::bivariate_normal;
use gm_sampling::transform::{chi_square1_pdf, cubic_of_uniform};
use gm_sampling::*;
use image::{Rgb, RgbImage};

/// Inversion, rejection, conditional inversion, transforms and sphere maps: histograms of
/// samples against the exact density.
#[derive(Parser)]
struct Cli {
    /// Samples drawn per method
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = gm_core::cli::positive_u64)]
    samples: u64,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "sampling-tour";

const W: u32 = 640;
const H: u32 = 400;

/// Histogram of `xs` on [lo, hi] (density-normalized) in grey, `pdf` in red.
fn plot(path: &Path, xs: &[f64], lo: f64, hi: f64, pdf: impl Fn(f64) -> f64) -> Result<()> {
    let bins = 80;
    let mut counts = vec![0usize; bins];
    for &x in xs {
        if x >= lo && x < hi {
            counts[((x - lo) / (hi - lo) * bins as f64) as usize % bins] += 1;
        }
    }
    let width = (hi - lo) / bins as f64;
    let dens: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / (xs.len() as f64 * width))
        .collect();
    let curve: Vec<f64> = (0..W)
        .map(|i| pdf(lo + (i as f64 + 0.5) / W as f64 * (hi - lo)))
        .collect();
    let ymax = dens
        .iter()
        .chain(curve.iter())
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, &b| a.max(b))
        * 1.1;
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let to_row = |y: f64| {
        (H as f64 - 1.0 - (y / ymax * (H as f64 - 20.0))).clamp(0.0, H as f64 - 1.0) as u32
    };
    for i in 0..W {
        let b = (i as usize * bins) / W as usize;
        for r in to_row(dens[b])..H {
            img.put_pixel(i, r, Rgb([170, 170, 190]));
        }
    }
    let mut prev: Option<u32> = None;
    for (i, &y) in curve.iter().enumerate() {
        if !y.is_finite() {
            continue;
        }
        let r = to_row(y);
        let (a, b) = match prev {
            Some(p) => (p.min(r), p.max(r)),
            None => (r, r),
        };
        for rr in a..=b {
            for d in 0..2 {
                img.put_pixel(i as u32, (rr + d).min(H - 1), Rgb([200, 30, 30]));
            }
        }
        prev = Some(r);
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    // Through write_atomic, so that the run folder records the file.
    gm_core::io::write_atomic(path, &png)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[]);
    let device = cli.run.device()?;
    let n = cli.samples as usize;
    let out = cli.run.run_dir(NAME)?;
    let out = out.as_path();
    let mut rng = GmRng::new(cli.run.seed);

    // Inversion, closed form.
    let normal = Normal::standard();
    plot(
        &out.join("inverse_cdf_normal.png"),
        &normal.sample_n(n, &mut rng),
        -4.0,
        4.0,
        |x| normal.pdf(x),
    )?;
    let weib = Weibull::new(1.5, 1.0)?;
    plot(
        &out.join("inverse_cdf_weibull.png"),
        &weib.sample_n(n, &mut rng),
        0.0,
        3.5,
        |x| weib.pdf(x),
    )?;
    let cauchy = Cauchy::new(0.0, 1.0)?;
    plot(
        &out.join("inverse_cdf_cauchy.png"),
        &cauchy.sample_n(n, &mut rng),
        -10.0,
        10.0,
        |x| cauchy.pdf(x),
    )?;

    // Numerical inversion of a bimodal mixture known only through its pdf.
    let mix = |x: f64| {
        0.3 * (-0.5 * (x + 3.0f64).powi(2)).exp() + 0.7 * 2.0 * (-2.0 * (x - 2.0f64).powi(2)).exp()
    };
    let ni = NumericalInversion::builder(mix).build()?;
    let u = ni.u_error(10_000)?;
    println!(
        "numerical inversion: {} intervals, {} pdf evaluations, max u-error {:.2e}",
        ni.intervals(),
        ni.setup_pdf_evaluations(),
        u.max
    );
    plot(
        &out.join("numerical_inversion_mixture.png"),
        &ni.sample_n(n, &mut rng),
        -7.0,
        5.0,
        |x| ni.pdf(x),
    )?;

    // Rejection: N(0, 1) from a Cauchy proposal.
    let bound = 2.0 * std::f64::consts::PI * (-0.5f64).exp();
    let rej = Rejection::new(|x: &f64| (-0.5 * x * x).exp(), cauchy, bound)?;
    let run = rej.sample_n(n, &mut rng)?;
    println!(
        "rejection: acceptance {:.4} (expected {:.4})",
        run.acceptance_rate(),
        rej.expected_acceptance((2.0 * std::f64::consts::PI).sqrt())
    );
    plot(
        &out.join("rejection_normal.png"),
        &run.samples,
        -4.0,
        4.0,
        |x| normal.pdf(x),
    )?;

    // Sequential conditional inversion: x1 + x2 of a bivariate normal, rho = 0.8.
    let bvn = bivariate_normal(0.8)?;
    let sums: Vec<f64> = bvn
        .sample_n(n, &mut rng)?
        .iter()
        .map(|x| x[0] + x[1])
        .collect();
    let s = (2.0f64 + 1.6).sqrt();
    plot(
        &out.join("conditional_bivariate_sum.png"),
        &sums,
        -6.0,
        6.0,
        |x| Normal::standard().pdf(x / s) / s,
    )?;

    // Transformed densities.
    let zs = normal.sample_n(n, &mut rng);
    let sq: Vec<f64> = zs.iter().map(|z| z * z).collect();
    plot(
        &out.join("transform_chi_square1.png"),
        &sq,
        0.0,
        5.0,
        chi_square1_pdf,
    )?;
    let cubic = cubic_of_uniform()?;
    let xs: Vec<f64> = (0..n)
        .map(|_| cubic.apply(-2.5 + 5.0 * open_unit(&mut rng)))
        .collect();
    plot(
        &out.join("transform_three_roots.png"),
        &xs,
        -8.2,
        8.2,
        |x| cubic.density(x),
    )?;

    // Sphere maps: histogram of the height z (uniform on [-1, 1] only for the uniform map).
    let naive: Vec<f64> = (0..n)
        .map(|_| {
            gm_sampling::manifold::sphere_naive(open_unit(&mut rng), open_unit(&mut rng), 1.0)[2]
        })
        .collect();
    plot(
        &out.join("sphere_naive_height.png"),
        &naive,
        -1.0,
        1.0,
        |_| 0.5,
    )?;
    let unif: Vec<f64> = (0..n)
        .map(|_| {
            gm_sampling::manifold::sphere_uniform(open_unit(&mut rng), open_unit(&mut rng), 1.0)[2]
        })
        .collect();
    plot(
        &out.join("sphere_uniform_height.png"),
        &unif,
        -1.0,
        1.0,
        |_| 0.5,
    )?;

    // Batched tensor sampling.
    let t = Exponential::new(1.0)?.sample_tensor(n, &mut rng, &device)?;
    let ex: Vec<f64> = t.to_vec1::<f32>()?.into_iter().map(f64::from).collect();
    plot(&out.join("batched_exponential.png"), &ex, 0.0, 6.0, |x| {
        (-x).exp()
    })?;
    println!("run folder: {}", out.display());
    Ok(())
}
