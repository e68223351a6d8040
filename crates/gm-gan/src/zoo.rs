//! The zoo's reproduction (`cargo xtask reproduce zoo`): LAPGAN, progressive growing, BiGAN
//! and CycleGAN each report their measurements as [`ZooRow`]s of one markdown table, beside
//! the reference each paper (or part 1's DCGAN at the same budget) gives.

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use gm_eval::MnistEvaluator;

use crate::{Error, Result};

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
    /// which should be a run folder prepared by [`gm_core::run::prepare`] (the zoo example's
    /// `--out`): nothing is ever deleted, so a model's folder that already holds a checkpoint
    /// is refused unless [`resume`](Self::resume).
    pub out_dir: PathBuf,
    /// Continue each model from the checkpoint in its folder (a stopped run), instead of
    /// requiring fresh folders.
    pub resume: bool,
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
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::config("steps", self.steps, "must be at least 1"));
        }
        if self.batch_size < 2 {
            return Err(Error::config(
                "batch_size",
                self.batch_size,
                "must be at least 2",
            ));
        }
        if self.fd_samples < 2 {
            return Err(Error::config(
                "fd_samples",
                self.fd_samples,
                "must be at least 2",
            ));
        }
        Ok(())
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

/// Centre-crops `(n, c, 32, 32)` images to `(n, c, 28, 28)` (MNIST padded by 2 on each side).
pub fn crop_32_to_28(x: &Tensor) -> Result<Tensor> {
    Ok(x.narrow(2, 2, 28)?.narrow(3, 2, 28)?.contiguous()?)
}

/// Zero-pads `(n, c, 28, 28)` images to `(n, c, 32, 32)`.
pub fn pad_28_to_32(x: &Tensor) -> Result<Tensor> {
    Ok(x.pad_with_zeros(2, 2, 2)?.pad_with_zeros(3, 2, 2)?)
}

/// Part 1's DCGAN trained for `opts.steps` generator updates on the embedded training digits
/// (gm-core's `fit`, run folder `opts.out_dir/dcgan`): the FD baseline of LAPGAN and
/// progressive growing at the same budget.
pub fn dcgan_rows(opts: &ZooOptions, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = std::time::Instant::now();
    let data = gm_core::data::mnist_embedded()?;
    let dir = opts.out_dir.join("dcgan");
    let mut trainer =
        crate::GanTrainer::new(crate::GanTrainConfig::dcgan_mnist(), opts.seed, device)?;
    let per_epoch = data.train.len() / opts.batch_size;
    let fc = gm_core::FitConfig {
        epochs: opts.steps.div_ceil(per_epoch.max(1)),
        batch_size: opts.batch_size,
        seed: opts.seed,
        stop_after: Some(opts.steps as u64),
        drop_last: true,
        resume: opts.resume,
        progress: !opts.quick,
        ..Default::default()
    };
    gm_core::fit(&mut trainer, &data.train, &fc, &dir, device)?;
    let mut rng = gm_core::GmRng::derive(opts.seed, 7);
    let samples =
        gm_core::Generator::sample(trainer.generator(), opts.fd_samples, &mut rng, device)?;
    let fd = MnistEvaluator::new(device)?.frechet_distance(&samples)?;
    Ok(vec![ZooRow {
        model: "DCGAN (part 1)".into(),
        metric: format!("FD ({} samples)", opts.fd_samples),
        value: format!("{fd:.1}"),
        reference: format!(
            "baseline: {} generator steps, batch {}",
            opts.steps, opts.batch_size
        ),
        wall_s: started.elapsed().as_secs_f64(),
    }])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let ok = ZooOptions::new(true, 0, "/tmp/unused");
        ok.validate().unwrap();
        for (bad, field) in [
            (
                ZooOptions {
                    steps: 0,
                    ..ok.clone()
                },
                "steps",
            ),
            (
                ZooOptions {
                    batch_size: 1,
                    ..ok.clone()
                },
                "batch_size",
            ),
            (
                ZooOptions {
                    fd_samples: 1,
                    ..ok.clone()
                },
                "fd_samples",
            ),
        ] {
            assert!(matches!(bad.validate(), Err(Error::Config { field: f, .. }) if f == field));
        }
    }

    #[test]
    fn table_escapes_pipes_inside_cells() {
        let row = ZooRow {
            model: "CycleGAN".into(),
            metric: "|G(x) - T(x)|".into(),
            value: "0.5".into(),
            reference: "identity".into(),
            wall_s: 1.0,
        };
        let t = markdown_table(&[row]);
        let line = t.lines().nth(2).unwrap();
        assert_eq!(
            line,
            "| CycleGAN | \\|G(x) - T(x)\\| | 0.5 | identity | 1.0 |"
        );
    }

    #[test]
    fn pad_and_crop_are_inverse() {
        let x = Tensor::arange(0f32, 2.0 * 784.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 1, 28, 28))
            .unwrap();
        let p = pad_28_to_32(&x).unwrap();
        assert_eq!(p.dims(), &[2, 1, 32, 32]);
        // The border is zero and the crop gives the image back.
        assert_eq!(
            p.narrow(2, 0, 2)
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
            0.0
        );
        let back = crop_32_to_28(&p).unwrap();
        let diff = (back - &x)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn fd_of_test_digits_is_near_zero_and_of_noise_is_large() {
        let dev = Device::Cpu;
        let fd = MnistEvaluator::new(&dev).unwrap();
        let test = fd.test_digits().clone();
        assert!(fd.frechet_distance(&test).unwrap().abs() < 1e-3);
        let noise = gm_core::GmRng::new(0)
            .uniform((500, 1, 28, 28), 0.0, 1.0, &dev)
            .unwrap();
        assert!(fd.frechet_distance(&noise).unwrap() > 100.0);
    }
}
