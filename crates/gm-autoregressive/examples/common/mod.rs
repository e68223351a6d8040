//! What gm-autoregressive's two MNIST examples share: the test digits binarized with the
//! trainer's test stream, and the sample grid and report rows a run ends with.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use gm_autoregressive::binarize;
use gm_core::data::Dataset;
use gm_core::GmRng;

/// Every test digit, binarized once with the trainer's test stream (its evaluation digits
/// are the first of these).
pub fn binarized_test(test: &Dataset, seed: u64, device: &Device) -> Result<Tensor> {
    let x = test.head(test.len(), device)?.x;
    Ok(binarize(&x, &mut GmRng::derive(seed, 1))?)
}

/// The seeded stream samples are drawn from.
pub fn sample_rng(seed: u64) -> GmRng {
    GmRng::derive(seed, 2)
}

/// Writes `samples` (drawn since `started`) as the grid `out/samples.png`, says where, and
/// adds `rows` to the run's `report.html` under `name`.
pub fn finish(
    samples: &Tensor,
    started: Instant,
    out: &Path,
    name: &str,
    rows: &[(String, String)],
) -> Result<()> {
    let n = samples.dim(0)?;
    let ncol = (n as f64).sqrt().ceil() as usize;
    let file = out.join("samples.png");
    gm_core::viz::save_grid(samples, ncol, false, &file)?;
    println!(
        "{n} samples in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        file.display()
    );
    gm_core::viz::update_report(out, name, rows)?;
    println!("run folder: {}", out.display());
    Ok(())
}
