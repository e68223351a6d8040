//! The zoo's measurements (`cargo xtask reproduce zoo`, and `cargo xtask run lapgan`,
//! `progressive`, `bigan`, `cyclegan` one at a time): each model of gm-gan's part 2 trained on
//! a data set through gm-core's `fit`, then measured and reported as [`ZooRow`]s of one
//! markdown table beside the reference each paper (or part 1's DCGAN at the same budget)
//! gives. On the embedded digits the measurements are the MNIST ones (the shipped
//! classifier's Frechet distance, label agreement, 1-NN accuracy on labels); on other data
//! (`--data`) they are gm-eval's any-data metrics against the held-out part.
//!
//! These are experiments, not library code: they live with the examples, so gm-gan itself
//! does not depend on gm-eval.

#![allow(dead_code)]

pub mod bigan;
pub mod cyclegan;
pub mod lapgan;
pub mod progressive;

use std::path::PathBuf;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use gm_core::data::Dataset;
use gm_core::FitConfig;
use gm_eval::{EvalConfig, MnistEvaluator};

/// How large a zoo run is.
#[derive(Debug, Clone, PartialEq)]
pub struct ZooOptions {
    /// A smoke-test budget (seconds per model rather than minutes).
    pub quick: bool,
    pub seed: u64,
    /// Generator updates per model (per stage for progressive growing).
    pub steps: usize,
    pub batch_size: usize,
    /// Samples drawn for each Frechet distance.
    pub fd_samples: usize,
    /// Each model writes its run folder (grids, chains, reconstructions) under this one,
    /// which should be a run folder prepared by [`gm_core::run::prepare`] (the example's
    /// `--out`): nothing is ever deleted, so a model's folder that already holds a checkpoint
    /// is refused unless [`resume`](Self::resume).
    pub out_dir: PathBuf,
    /// Continue each model from the checkpoint in its folder (a stopped run), instead of
    /// requiring fresh folders.
    pub resume: bool,
    /// The objective of every zoo model (`None`: each model's own; CycleGAN's is its paper's
    /// least-squares loss).
    pub objective: Option<gm_gan::Objective>,
    /// Their critic tricks.
    pub tricks: gm_gan::Tricks,
}

impl ZooOptions {
    /// The default budgets: `quick` for smoke tests, otherwise a few minutes per model on two
    /// cores.
    pub fn new(quick: bool, seed: u64, out_dir: impl Into<PathBuf>) -> Self {
        Self {
            quick,
            seed,
            steps: if quick { 60 } else { 1_000 },
            batch_size: 64,
            fd_samples: if quick { 500 } else { 2_000 },
            out_dir: out_dir.into(),
            resume: false,
            objective: None,
            tricks: gm_gan::Tricks::default(),
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            bail!("steps = 0: must be at least 1");
        }
        if self.batch_size < 2 {
            bail!("batch_size = {}: must be at least 2", self.batch_size);
        }
        if self.fd_samples < 2 {
            bail!("fd_samples = {}: must be at least 2", self.fd_samples);
        }
        Ok(())
    }
}

/// The data a zoo model trains on: images `(c, h, w)` in `[0, 1]`, and a held-out part.
pub struct ZooData {
    pub train: Dataset,
    pub test: Dataset,
    /// The embedded 28x28 digits: the MNIST measurements apply.
    pub mnist: bool,
}

impl ZooData {
    /// The embedded digits.
    pub fn mnist() -> Result<Self> {
        let m = gm_core::data::mnist_embedded()?;
        Ok(Self {
            train: m.train,
            test: m.test,
            mnist: true,
        })
    }

    /// The data of `--data` (printing its summary), or the embedded digits without it.
    pub fn load(args: &gm_data::DataArgs, seed: u64, progress: bool) -> Result<Self> {
        let loaded = args.load_or_digits(seed, progress)?;
        let mnist = args.data.is_none();
        Ok(Self {
            train: loaded.train,
            test: loaded.test,
            mnist,
        })
    }

    /// Shape of one item.
    pub fn item_shape(&self) -> &[usize] {
        &self.train.item_shape
    }

    /// `(channels, side)` of square images, or an error naming `model` and what it needs.
    pub fn square(&self, model: &str) -> Result<(usize, usize)> {
        match self.item_shape() {
            [c, h, w] if h == w => Ok((*c, *h)),
            other => bail!(
                "{model} trains on square images (channels, side, side); {} holds items of shape \
                 {other:?} (load it with --image-size N)",
                self.train.name
            ),
        }
    }

    /// The FD of `samples` (data space, `[0, 1]`, `(n, c, h, w)` of the data's shape)
    /// against the held-out part: the MNIST classifier's on the digits, otherwise gm-eval's
    /// any-data features (named in the returned label).
    pub fn frechet_distance(&self, samples: &Tensor, device: &Device) -> Result<(f64, String)> {
        if self.mnist {
            let fd = MnistEvaluator::new(device)?.frechet_distance(samples)?;
            return Ok((fd, "MNIST FD".into()));
        }
        let reference = self.test.head(self.test.len(), device)?.x;
        let cfg = EvalConfig::default();
        let features = gm_eval::feature_extractor(&cfg, samples)?;
        let (m, _) =
            gm_eval::compare_images(samples, &reference, &*features, &cfg, &self.test.name)?;
        Ok((m.frechet_distance, format!("FD on {} features", m.features)))
    }
}

/// One measurement of one model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ZooRow {
    pub model: String,
    pub metric: String,
    pub value: String,
    /// What to compare with: the paper's figure, a baseline measured in the same run.
    pub reference: String,
    /// Wall time of the model's training and measurement, seconds.
    pub wall_s: f64,
}

/// The rows as one markdown table.
pub fn markdown_table(rows: &[ZooRow]) -> String {
    let mut s = String::from(
        "| model | metric | value | reference | wall time (s) |\n|---|---|---|---|---|\n",
    );
    // A `|` inside a cell (as in |G(x) - T(x)|) would end the cell.
    let cell = |t: &str| t.replace('|', "\\|");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} |\n",
            cell(&r.model),
            cell(&r.metric),
            cell(&r.value),
            cell(&r.reference),
            r.wall_s
        ));
    }
    s
}

/// The rows as the `(metric, value (ref. reference))` table of a run's report.
pub fn report_table(rows: &[ZooRow]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r.metric.clone(),
                format!("{} (ref. {})", r.value, r.reference),
            )
        })
        .collect()
}

/// The epochs and the number of leading items of an `n`-item data set that make `fit` run
/// `steps` steps of `batch` items in epochs of equal length: `steps` exactly when a divisor
/// fits (1,500 steps of 64 over 8,000 items: 12 epochs of all 8,000), else rounded up to
/// whole epochs.
pub fn epoch_plan(steps: usize, batch: usize, n: usize) -> Result<(usize, usize)> {
    let most = n / batch.max(1);
    if batch == 0 || most == 0 {
        bail!("batch_size = {batch}: must be at least 1 and at most the data set's size ({n})");
    }
    let epochs = steps.max(1).div_ceil(most);
    let per_epoch = steps.max(1).div_ceil(epochs);
    Ok((epochs, per_epoch * batch))
}

/// The first `items` items of `data`.
pub fn head_dataset(data: &Dataset, items: usize) -> Result<Dataset> {
    let rest = data.len().saturating_sub(items);
    Ok(data.split_off(rest)?.0)
}

/// The fit settings that run exactly `steps` updates of batches of `batch_size` over `n`
/// items: whole epochs, stopped at `steps` (with `resume` set, a rerun in the same folder
/// continues there).
pub fn steps_fit_config(steps: usize, batch_size: usize, n: usize, seed: u64) -> Result<FitConfig> {
    let per_epoch = n / batch_size.max(1);
    if per_epoch == 0 {
        bail!("batch_size = {batch_size}: larger than the training set ({n} items)");
    }
    Ok(FitConfig {
        epochs: steps.div_ceil(per_epoch),
        batch_size,
        seed,
        grid_every: 1,
        stop_after: Some(steps as u64),
        drop_last: true,
        progress: true,
        ..FitConfig::default()
    })
}

/// `k` rows of each of `rows` interleaved: rows of `ncol` images, the first tensor's row
/// followed by the same row of each other tensor.
pub fn interleave_rows(rows: &[&Tensor], ncol: usize) -> Result<Tensor> {
    let n = rows.first().map(|t| t.dim(0)).transpose()?.unwrap_or(0);
    let mut parts = Vec::new();
    for lo in (0..n).step_by(ncol) {
        let len = ncol.min(n - lo);
        for r in rows {
            parts.push(r.narrow(0, lo, len)?);
        }
    }
    Ok(Tensor::cat(&parts, 0)?)
}

/// `v` as a percentage with two decimals.
pub fn percent(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

/// `n` samples drawn `chunk` at a time by `draw`, concatenated.
pub fn draw_samples(n: usize, mut draw: impl FnMut(usize) -> Result<Tensor>) -> Result<Tensor> {
    let mut parts = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(500);
        parts.push(draw(k)?);
        left -= k;
    }
    Ok(Tensor::cat(&parts, 0)?)
}

/// Model samples back in the data's space: clamped to `[0, 1]`.
pub fn as_data(x: &Tensor) -> Result<Tensor> {
    Ok(x.clamp(0f32, 1f32)?)
}
