//! Metrics of generated images of any shape against held-out real images, in a feature space
//! that needs no pretrained network (or in a user-supplied one, see [`crate::features`], or
//! Inception-v3 with the user's weights file, see [`crate::inception`]):
//!
//! - Frechet distance of the fitted Gaussians (Heusel et al. 2017), [`crate::frechet`]; FID
//!   in the `inception` space;
//! - KID, the unbiased cubic-kernel `MMD^2` over subsets (Binkowski et al. 2018),
//!   [`crate::kernel_distance`](mod@crate::kernel_distance);
//! - the unbiased Gaussian-kernel `MMD^2` with the median bandwidth (Gretton et al. 2012),
//!   [`crate::mmd`];
//! - the sliced Wasserstein distance `SW_2` (Rabin et al. 2011), [`crate::sliced`];
//! - improved precision/recall (Kynkaanniemi et al. 2019) and the 1-NN two-sample accuracy
//!   (Lopez-Paz & Oquab 2017), [`crate::neighbours`].
//!
//! Which space was used is part of the report (`features: "random-conv(seed 0, 512-d)"`):
//! numbers from different spaces are not comparable.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use gm_core::Generator;
use serde::{Deserialize, Serialize};

use crate::config::{EvalConfig, FeatureSpace};
use crate::evaluate::{check_finite, new_report, sample_generator, to_unit_pixels, FeatureNet};
use crate::features::{
    extract_features, to_nchw, ConvFeatureNet, FeatureExtractor, PixelFeatures, RandomConvConfig,
};
use crate::frechet::frechet_distance_features;
use crate::inception::{InceptionConfig, InceptionV3};
use crate::kernel_distance::{kernel_distance, KernelDistance};
use crate::mmd::{gaussian_mmd, GaussianMmd};
use crate::neighbours::{one_nn_accuracy, precision_recall, OneNnAccuracy, PrecisionRecall};
use crate::sliced::{sliced_wasserstein, SlicedWasserstein};
use crate::{Error, EvalReport, Result};

/// The order of the sliced Wasserstein distance in the report.
pub const SLICED_P: f64 = 2.0;

/// The metrics of one sample set against a reference set in one feature space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnyDataMetrics {
    /// The feature space, e.g. `random-conv(seed 0, 512-d)`.
    pub features: String,
    /// Dimension `d` of the feature vectors.
    pub feature_dim: usize,
    /// The real set the samples are compared with.
    pub reference: String,
    /// Number of generated items compared.
    pub n_samples: usize,
    /// Number of real items in the reference set.
    pub n_reference: usize,
    /// Frechet distance of the Gaussians fitted to the two feature sets (FID in the
    /// `inception` space).
    pub frechet_distance: f64,
    /// KID over random subsets of the two feature sets.
    pub kernel_distance: KernelDistance,
    /// Unbiased Gaussian-kernel `MMD^2` on at most `max_neighbour_points` items of each set.
    pub gaussian_mmd: GaussianMmd,
    /// Sliced Wasserstein distance `SW_2` over `sliced_projections` directions.
    pub sliced_wasserstein: SlicedWasserstein,
    /// Improved precision and recall on the first `min(max_neighbour_points, n, n')`
    /// items of each set.
    pub precision_recall: PrecisionRecall,
    /// Leave-one-out 1-NN two-sample accuracy on the same items as `precision_recall`.
    pub one_nn: OneNnAccuracy,
}

/// The feature extractor `cfg.features` names, for images like `samples` (on their device).
pub fn feature_extractor(cfg: &EvalConfig, samples: &Tensor) -> Result<Box<dyn FeatureExtractor>> {
    let device = samples.device();
    let item: usize = samples.dims().iter().skip(1).product();
    if cfg.features.uses_mnist_classifier(item) {
        return Ok(Box::new(FeatureNet::pretrained(device)?));
    }
    Ok(match cfg.features {
        FeatureSpace::Pixels => Box::new(PixelFeatures {
            max_side: cfg.pixel_max_side,
        }),
        FeatureSpace::Network => Box::new(ConvFeatureNet::load(network_file(cfg)?, device)?),
        FeatureSpace::Inception => {
            let inception = InceptionConfig {
                input_size: cfg.inception_input_size,
                ..InceptionConfig::default()
            };
            Box::new(InceptionV3::load(network_file(cfg)?, inception, device)?)
        }
        _ => {
            let in_channels = to_nchw(&samples.narrow(0, 0, 1)?)?.dim(1)?;
            Box::new(ConvFeatureNet::random(
                RandomConvConfig {
                    in_channels,
                    dim: cfg.random_conv_dim,
                    seed: cfg.random_conv_seed,
                },
                device,
            )?)
        }
    })
}

/// The safetensors file of the `network` and `inception` spaces.
fn network_file(cfg: &EvalConfig) -> Result<&std::path::Path> {
    cfg.feature_network.as_deref().ok_or(Error::Config {
        field: "feature_network",
        value: "none".into(),
        reason: "must name a safetensors file when features = network or inception",
    })
}

/// Every metric of generated features `fake: (n, d)` against real features `real: (n', d)`,
/// with the wall time of each. `features` and `reference` name the space and the real set.
pub fn compare_features(
    fake: &Tensor,
    real: &Tensor,
    cfg: &EvalConfig,
    features: &str,
    reference: &str,
) -> Result<(AnyDataMetrics, BTreeMap<String, f64>)> {
    let (n, d) = fake.dims2()?;
    let (nr, dr) = real.dims2()?;
    if d != dr {
        return Err(Error::InvalidInput {
            what: "reference features",
            reason: format!("have {dr} dimensions, the samples' features {d}"),
        });
    }
    let mut times = BTreeMap::new();
    let mut timed = |name: &str, t: Instant| {
        times.insert(name.to_string(), t.elapsed().as_secs_f64());
    };
    let t = Instant::now();
    let fd = frechet_distance_features(fake, real)?;
    timed("frechet_distance", t);

    let t = Instant::now();
    let kid = kernel_distance(fake, real, cfg.kid_subsets, cfg.kid_subset_size, cfg.seed)?;
    timed("kernel_distance", t);

    let t = Instant::now();
    let cap = cfg.max_neighbour_points;
    let mmd = gaussian_mmd(
        &fake.narrow(0, 0, n.min(cap))?,
        &real.narrow(0, 0, nr.min(cap))?,
    )?;
    timed("gaussian_mmd", t);

    let t = Instant::now();
    let sw = sliced_wasserstein(fake, real, cfg.sliced_projections, SLICED_P, cfg.seed)?;
    timed("sliced_wasserstein", t);

    let m = cap.min(n).min(nr);
    let (real_m, fake_m) = (real.narrow(0, 0, m)?, fake.narrow(0, 0, m)?);
    let t = Instant::now();
    let pr = precision_recall(&real_m, &fake_m, cfg.pr_k)?;
    timed("precision_recall", t);
    let t = Instant::now();
    let nn = one_nn_accuracy(&real_m, &fake_m)?;
    timed("one_nn", t);

    Ok((
        AnyDataMetrics {
            features: features.to_string(),
            feature_dim: d,
            reference: reference.to_string(),
            n_samples: n,
            n_reference: nr,
            frechet_distance: fd,
            kernel_distance: kid,
            gaussian_mmd: mmd,
            sliced_wasserstein: sw,
            precision_recall: pr,
            one_nn: nn,
        },
        times,
    ))
}

/// Embeds images in `[0, 1]` (samples and reference alike) with `extractor` and compares them.
pub fn compare_images(
    samples: &Tensor,
    reference: &Tensor,
    extractor: &dyn FeatureExtractor,
    cfg: &EvalConfig,
    reference_name: &str,
) -> Result<(AnyDataMetrics, BTreeMap<String, f64>)> {
    let t = Instant::now();
    let fake = extract_features(extractor, samples, cfg.batch_size)?;
    let real = extract_features(extractor, reference, cfg.batch_size)?;
    let dt = t.elapsed().as_secs_f64();
    let (m, mut times) = compare_features(&fake, &real, cfg, &extractor.name(), reference_name)?;
    times.insert("features".into(), dt);
    Ok((m, times))
}

/// Refuses reference images outside `[0, 1]` (`pixel_range` applies to the samples only).
fn unit_reference(x: &Tensor) -> Result<Tensor> {
    let x = x.to_dtype(DType::F32)?;
    let lo = x.flatten_all()?.min(0)?.to_scalar::<f32>()?;
    let hi = x.flatten_all()?.max(0)?.to_scalar::<f32>()?;
    if lo < -1e-3 || hi > 1.0 + 1e-3 {
        return Err(Error::InvalidInput {
            what: "reference images",
            reason: format!(
                "pixel values span [{lo}, {hi}]; the reference set must lie in [0, 1] \
                 (pixel_range applies to the samples only)"
            ),
        });
    }
    Ok(x.clamp(0f32, 1f32)?)
}

fn describe_set(x: &Tensor) -> String {
    let dims = x.dims();
    let item: Vec<String> = dims[1..].iter().map(|d| d.to_string()).collect();
    format!("reference tensor ({} items of {})", dims[0], item.join("x"))
}

/// Evaluates generated images of any shape against held-out real images `reference` (same
/// item shape, pixels in `[0, 1]`; the samples' scale follows `pixel_range`), in the feature
/// space `cfg.features` picks: with `auto`, the MNIST classifier for 1x28x28 items and the
/// seeded random conv network for anything else. Runs on the samples' device.
pub fn evaluate_images(
    samples: &Tensor,
    reference: &Tensor,
    cfg: &EvalConfig,
) -> Result<EvalReport> {
    evaluate_images_from(samples, reference, cfg, "tensor", None)
}

pub(crate) fn evaluate_images_from(
    samples: &Tensor,
    reference: &Tensor,
    cfg: &EvalConfig,
    source: &str,
    reference_name: Option<&str>,
) -> Result<EvalReport> {
    cfg.validate()?;
    for (what, t) in [("samples", samples), ("reference", reference)] {
        let dims = t.dims();
        if dims.len() < 2 || dims[0] < 2 {
            return Err(Error::Shape {
                what,
                expected: "(n, ...) with n >= 2",
                found: dims.to_vec(),
            });
        }
    }
    if samples.dims()[1..] != reference.dims()[1..] {
        return Err(Error::Shape {
            what: "reference",
            expected: "the samples' item shape",
            found: reference.dims().to_vec(),
        });
    }
    check_finite(samples)?;
    check_finite(reference).map_err(|_| Error::InvalidInput {
        what: "reference",
        reason: "holds non-finite values".into(),
    })?;
    let device: Device = samples.device().clone();
    let x = to_unit_pixels(samples, cfg.pixel_range)?;
    let r = unit_reference(&reference.to_device(&device)?)?;
    let t = Instant::now();
    let extractor = feature_extractor(cfg, &x)?;
    let load = t.elapsed().as_secs_f64();
    let name = reference_name
        .map(str::to_string)
        .unwrap_or_else(|| describe_set(reference));
    let (m, times) = compare_images(&x, &r, extractor.as_ref(), cfg, &name)?;
    let mut report = new_report(source, cfg, samples.dim(0)?);
    report.timings_s.insert("load_features".into(), load);
    report.timings_s.extend(times);
    report.any_data = Some(m);
    Ok(report)
}

/// Draws `cfg.n_samples` images from `generator` (seeded by `cfg.seed`) and evaluates them
/// against `reference` with [`evaluate_images`].
pub fn evaluate_generator_with_reference<G: Generator + ?Sized>(
    generator: &G,
    reference: &Tensor,
    cfg: &EvalConfig,
    device: &Device,
) -> Result<EvalReport> {
    cfg.validate()?;
    let t = Instant::now();
    let samples = sample_generator(generator, cfg.n_samples, cfg.batch_size, cfg.seed, device)?;
    let sampling = t.elapsed().as_secs_f64();
    let mut r = evaluate_images_from(&samples, reference, cfg, "generator", None)?;
    r.timings_s.insert("sampling".into(), sampling);
    Ok(r)
}
