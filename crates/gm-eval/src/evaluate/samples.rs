//! Evaluation of samples: checks and scaling of the input, the dispatch on the item shape
//! (MNIST metrics, any-data metrics or mode coverage), and sampling a generator.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use gm_core::data::{mnist_embedded, Mixture2d};
use gm_core::{Generator, GmRng, ToHostF64};

use super::mnist::{MnistEvaluator, DIGIT};
use super::report::{new_report, EvalReport, MixtureMetrics};
use crate::any_data::{compare_images, feature_extractor};
use crate::config::{EvalConfig, MixtureTarget, PixelRange};
use crate::modes::{mode_coverage, MODE_SAMPLES};
use crate::{Error, Result};

pub(crate) fn check_finite(x: &Tensor) -> Result<()> {
    let s = x.to_host_f64()?.sum_all()?.to_scalar::<f64>()?;
    if !s.is_finite() {
        return Err(Error::InvalidInput {
            what: "samples",
            reason: "hold non-finite values".into(),
        });
    }
    Ok(())
}

/// Scales image samples to `[0, 1]` and refuses values far outside it.
pub(crate) fn to_unit_pixels(x: &Tensor, range: PixelRange) -> Result<Tensor> {
    let x = match range {
        PixelRange::Unit => x.to_dtype(DType::F32)?,
        PixelRange::Signed => ((x.to_dtype(DType::F32)? + 1.0)? * 0.5)?,
    };
    let lo = x.flatten_all()?.min(0)?.to_scalar::<f32>()?;
    let hi = x.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    if lo < -0.5 || hi > 1.5 {
        return Err(Error::InvalidInput {
            what: "image samples",
            reason: format!(
                "pixel values span [{lo}, {hi}], far outside [0, 1]; set pixel_range to \
                 `signed` for tanh outputs in [-1, 1]"
            ),
        });
    }
    Ok(x.clamp(0f32, 1f32)?)
}

/// Evaluates a batch of samples: images (784 values per item) with the MNIST metrics, 2-D
/// points with mode coverage. Runs on the samples' device. With `features` other than `auto`
/// or `mnist_classifier`, 784-value items are compared with the 2,000 test digits in that
/// space instead ([`crate::any_data`]); other images need a reference set:
/// [`crate::evaluate_images`].
///
/// ```
/// use candle_core::{Device, Tensor};
/// use gm_core::data::Mixture2d;
/// use gm_eval::{evaluate_samples, EvalConfig, MixtureTarget};
/// // One point on each mean of the ring of 8: every mode is captured, every point is
/// // high quality, and the ring wins over the grid of 25.
/// let points: Vec<f32> = Mixture2d::ring8()
///     .means
///     .iter()
///     .flat_map(|m| [m[0] as f32, m[1] as f32])
///     .collect();
/// let samples = Tensor::from_vec(points, (8, 2), &Device::Cpu)?;
/// let report = evaluate_samples(&samples, &EvalConfig::default())?;
/// let mixture = report.mixture.expect("2-D samples get mode coverage");
/// assert_eq!(mixture.mixture, MixtureTarget::Ring8);
/// assert_eq!(mixture.coverage.modes_captured, 8);
/// assert_eq!(mixture.coverage.high_quality, 1.0);
/// assert!(report.mnist.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate_samples(samples: &Tensor, cfg: &EvalConfig) -> Result<EvalReport> {
    evaluate_samples_from(samples, cfg, "tensor")
}

fn evaluate_samples_from(samples: &Tensor, cfg: &EvalConfig, source: &str) -> Result<EvalReport> {
    cfg.validate()?;
    let dims = samples.dims().to_vec();
    if dims.len() < 2 || dims[0] == 0 {
        return Err(Error::Shape {
            what: "samples",
            expected: "(n, ...) with n >= 1",
            found: dims,
        });
    }
    check_finite(samples)?;
    let n = dims[0];
    let item: usize = dims[1..].iter().product();
    let mut report = new_report(source, cfg, n);
    match item {
        DIGIT if !cfg.features.uses_mnist_classifier(item) => {
            let x = to_unit_pixels(samples, cfg.pixel_range)?;
            let t = Instant::now();
            let test = mnist_embedded()?.test;
            let real = test.head(test.len(), samples.device())?.x;
            let extractor = feature_extractor(cfg, &x)?;
            report
                .timings_s
                .insert("load_reference".into(), t.elapsed().as_secs_f64());
            let (m, times) = compare_images(
                &x,
                &real,
                extractor.as_ref(),
                cfg,
                "mnist-10k/test (2,000 digits)",
            )?;
            report.any_data = Some(m);
            report.timings_s.extend(times);
        }
        DIGIT => {
            let x = to_unit_pixels(samples, cfg.pixel_range)?;
            let t = Instant::now();
            let ev = MnistEvaluator::new(samples.device())?;
            report
                .timings_s
                .insert("load_reference".into(), t.elapsed().as_secs_f64());
            let (m, times) = ev.evaluate(&x, cfg)?;
            report.mnist = Some(m);
            report.timings_s.extend(times);
        }
        2 => {
            let t = Instant::now();
            let x = samples.reshape((n, 2))?;
            let score = |target| -> Result<MixtureMetrics> {
                let mix = match target {
                    MixtureTarget::Grid25 => Mixture2d::grid25(),
                    _ => Mixture2d::ring8(),
                };
                Ok(MixtureMetrics {
                    mixture: target,
                    coverage: mode_coverage(&x, &mix)?,
                })
            };
            let m = match cfg.mixture {
                MixtureTarget::Auto => {
                    let ring = score(MixtureTarget::Ring8)?;
                    let grid = score(MixtureTarget::Grid25)?;
                    if grid.coverage.high_quality > ring.coverage.high_quality {
                        grid
                    } else {
                        ring
                    }
                }
                t => score(t)?,
            };
            report.mixture = Some(m);
            report
                .timings_s
                .insert("mode_coverage".into(), t.elapsed().as_secs_f64());
        }
        _ => {
            return Err(Error::Shape {
                what: "samples",
                expected: "(n, 784), (n, 28, 28), (n, 1, 28, 28) or (n, 2); images of other \
                           shapes need a reference set (evaluate_images)",
                found: dims,
            })
        }
    }
    Ok(report)
}

/// Draws samples from `generator` with `GmRng::new(cfg.seed)`, `cfg.batch_size` at a time
/// (`cfg.n_samples` images, or 2,500 points when the output is 2-D), and evaluates them.
pub fn evaluate_generator<G: Generator + ?Sized>(
    generator: &G,
    cfg: &EvalConfig,
    device: &Device,
) -> Result<EvalReport> {
    cfg.validate()?;
    let shape = generator.output_shape();
    let n = if shape.iter().product::<usize>() == 2 {
        MODE_SAMPLES
    } else {
        cfg.n_samples
    };
    let t = Instant::now();
    let samples = sample_generator(generator, n, cfg.batch_size, cfg.seed, device)?;
    let sampling = t.elapsed().as_secs_f64();
    let mut r = evaluate_samples_from(&samples, cfg, "generator")?;
    r.timings_s.insert("sampling".into(), sampling);
    Ok(r)
}

/// `n` samples of `generator`, drawn `batch` at a time from `GmRng::new(seed)`.
pub fn sample_generator<G: Generator + ?Sized>(
    generator: &G,
    n: usize,
    batch: usize,
    seed: u64,
    device: &Device,
) -> Result<Tensor> {
    if n == 0 || batch == 0 {
        return Err(Error::Config {
            field: if n == 0 { "n_samples" } else { "batch_size" },
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    let mut rng = GmRng::new(seed);
    let mut parts = Vec::new();
    for lo in (0..n).step_by(batch) {
        let b = batch.min(n - lo);
        parts.push(generator.sample(b, &mut rng, device)?.detach());
    }
    Ok(Tensor::cat(&parts, 0)?)
}
