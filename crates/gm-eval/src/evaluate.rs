//! The entry points: evaluate a tensor of samples, a [`Generator`], or a file or folder of
//! samples, and append the report to a run folder (`eval.json` and `report.html`).
//!
//! Image samples (784 values per item) get the MNIST metrics against the 2,000 embedded test
//! digits, on the features of the shipped classifier: Frechet distance, classifier score,
//! kernel distance, label histogram, precision/recall, 1-NN accuracy and (optionally) the
//! Parzen-window protocol. 2-D samples get mode coverage on the ring or grid mixture.
//! Images of any other shape, or any images when `features` names a space other than the
//! MNIST classifier, are compared with a reference set of real images by
//! [`crate::any_data`] (the test digits for 1x28x28 samples given without one).

use gm_core::ToHostF64;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use gm_core::classifier::MnistClassifier;
use gm_core::data::{mnist_embedded, Mixture2d};
use gm_core::{Generator, GmRng};
use serde::{Deserialize, Serialize};

use crate::any_data::{compare_images, feature_extractor, AnyDataMetrics};
use crate::classifier_score::{classifier_score, label_histogram, ClassifierScore, LabelHistogram};
use crate::config::{EvalConfig, MixtureTarget, PixelRange};
use crate::features::FeatureExtractor;
use crate::frechet::{frechet_distance, GaussianStats};
use crate::kernel_distance::{kernel_distance, KernelDistance};
use crate::modes::{mode_coverage, ModeCoverage, MODE_SAMPLES};
use crate::neighbours::{one_nn_accuracy, precision_recall, OneNnAccuracy, PrecisionRecall};
use crate::parzen::{parzen_evaluate, ParzenResult};
use crate::{Error, Result};

/// Values per MNIST digit.
const DIGIT: usize = 28 * 28;

/// The shipped classifier as a feature map: 128-d penultimate features and 10 logits from
/// one forward pass.
#[derive(Debug, Clone)]
pub struct FeatureNet {
    classifier: MnistClassifier,
    w: Tensor,
    b: Tensor,
}

impl FeatureNet {
    /// The shipped MNIST classifier.
    pub fn pretrained(device: &Device) -> Result<Self> {
        let classifier = MnistClassifier::pretrained(device)?;
        let t = classifier.tensors();
        let get = |name: &str| {
            t.get(name).cloned().ok_or_else(|| Error::InvalidInput {
                what: "shipped classifier",
                reason: format!("lacks tensor `{name}`"),
            })
        };
        let w = get("fc2.weight")?.t()?.contiguous()?;
        let b = get("fc2.bias")?;
        Ok(Self { classifier, w, b })
    }

    /// Features `(n, 128)` and logits `(n, 10)` of digits `(n, 784)` or `(n, 1, 28, 28)` in
    /// `[0, 1]`, `batch` at a time.
    pub fn features_and_logits(&self, x: &Tensor, batch: usize) -> Result<(Tensor, Tensor)> {
        let n = x.dim(0)?;
        let (mut fs, mut ls) = (Vec::new(), Vec::new());
        for lo in (0..n).step_by(batch.max(1)) {
            let len = batch.max(1).min(n - lo);
            let f = self.classifier.features(&x.narrow(0, lo, len)?)?;
            ls.push(f.matmul(&self.w)?.broadcast_add(&self.b)?);
            fs.push(f);
        }
        if fs.is_empty() {
            return Err(Error::TooFew {
                what: "digits to classify",
                needed: 1,
                found: 0,
            });
        }
        Ok((Tensor::cat(&fs, 0)?, Tensor::cat(&ls, 0)?))
    }
}

impl FeatureExtractor for FeatureNet {
    fn name(&self) -> String {
        "mnist-classifier(128-d penultimate)".into()
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        let n = images.dim(0)?;
        if images.elem_count() != n * DIGIT {
            return Err(Error::Shape {
                what: "images for the MNIST classifier",
                expected: "(n, 784), (n, 28, 28) or (n, 1, 28, 28)",
                found: images.dims().to_vec(),
            });
        }
        let x = images.to_dtype(DType::F32)?.reshape((n, 1, 28, 28))?;
        Ok(self.classifier.features(&x)?)
    }
}

/// The MNIST metrics of one set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistMetrics {
    /// The real set the sample set is compared with.
    pub reference: String,
    pub n_samples: usize,
    pub frechet_distance: f64,
    pub classifier_score: ClassifierScore,
    pub kernel_distance: KernelDistance,
    pub labels: LabelHistogram,
    pub precision_recall: PrecisionRecall,
    pub one_nn: OneNnAccuracy,
    pub parzen: Option<ParzenResult>,
}

/// The report of one evaluation, written as `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// What was evaluated (a generator, a tensor, a file).
    pub source: String,
    pub gm_eval_version: String,
    pub config: EvalConfig,
    pub n_samples: usize,
    pub mnist: Option<MnistMetrics>,
    pub mixture: Option<MixtureMetrics>,
    /// Metrics against a reference set in a named feature space (absent from reports
    /// written before it existed).
    #[serde(default)]
    pub any_data: Option<AnyDataMetrics>,
    /// Wall time of each metric, seconds (not deterministic; kept apart from the metrics).
    pub timings_s: BTreeMap<String, f64>,
}

/// Mode coverage of 2-D samples, with the mixture they were scored against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureMetrics {
    pub mixture: MixtureTarget,
    pub coverage: ModeCoverage,
}

/// The real MNIST data the metrics compare with, and the feature network.
pub struct MnistEvaluator {
    net: FeatureNet,
    test: Tensor,
    test_features: Tensor,
    test_stats: GaussianStats,
    train: Tensor,
    device: Device,
}

impl MnistEvaluator {
    /// Loads the shipped classifier and the embedded digits, and computes the features of
    /// the 2,000 test digits once.
    pub fn new(device: &Device) -> Result<Self> {
        let net = FeatureNet::pretrained(device)?;
        let data = mnist_embedded()?;
        let test = data.test.head(data.test.len(), device)?.x;
        let train = data.train.head(data.train.len(), device)?.x;
        let (test_features, _) = net.features_and_logits(&test, 500)?;
        let test_stats = GaussianStats::from_features(&test_features)?;
        Ok(Self {
            net,
            test,
            test_features,
            test_stats,
            train,
            device: device.clone(),
        })
    }

    pub fn net(&self) -> &FeatureNet {
        &self.net
    }

    /// The 2,000 test digits `(2000, 1, 28, 28)`.
    pub fn test_digits(&self) -> &Tensor {
        &self.test
    }

    /// The 8,000 training digits `(8000, 1, 28, 28)`; the Parzen validation split is the last
    /// `parzen_validation` of them.
    pub fn train_digits(&self) -> &Tensor {
        &self.train
    }

    /// The MNIST Frechet distance of digits in `[0, 1]` (784 values per item, any shape) to
    /// the 2,000 test digits, on the shipped classifier's features.
    pub fn frechet_distance(&self, samples: &Tensor) -> Result<f64> {
        let x = samples.to_device(&self.device)?.to_dtype(DType::F32)?;
        let n = x.dim(0)?;
        let (feats, _) = self
            .net
            .features_and_logits(&x.reshape((n, 1, 28, 28))?, 500)?;
        self.frechet_distance_of_features(&feats)
    }

    fn frechet_distance_of_features(&self, feats: &Tensor) -> Result<f64> {
        frechet_distance(&GaussianStats::from_features(feats)?, &self.test_stats)
    }

    /// Every MNIST metric of `samples` (`(n, 784)`, `(n, 28, 28)` or `(n, 1, 28, 28)` in
    /// `[0, 1]`), with the wall time of each.
    pub fn evaluate(
        &self,
        samples: &Tensor,
        cfg: &EvalConfig,
    ) -> Result<(MnistMetrics, BTreeMap<String, f64>)> {
        cfg.validate()?;
        let x = samples.to_device(&self.device)?.to_dtype(DType::F32)?;
        let n = x.dim(0)?;
        let x = x.reshape((n, 1, 28, 28))?;
        let mut times = BTreeMap::new();
        let mut timed = |name: &str, t: Instant| {
            times.insert(name.to_string(), t.elapsed().as_secs_f64());
        };

        let t = Instant::now();
        let (feats, logits) = self.net.features_and_logits(&x, cfg.batch_size)?;
        timed("features", t);

        let t = Instant::now();
        let fd = self.frechet_distance_of_features(&feats)?;
        timed("frechet_distance", t);

        let t = Instant::now();
        let cs = classifier_score(&logits, cfg.score_splits)?;
        let labels = logits.argmax(candle_core::D::Minus1)?.to_vec1::<u32>()?;
        let hist = label_histogram(&labels, 10, cfg.label_min_share)?;
        timed("classifier_score", t);

        let t = Instant::now();
        let kid = kernel_distance(
            &feats,
            &self.test_features,
            cfg.kid_subsets,
            cfg.kid_subset_size,
            cfg.seed,
        )?;
        timed("kernel_distance", t);

        let m = cfg
            .max_neighbour_points
            .min(n)
            .min(self.test_features.dim(0)?);
        let (real_m, fake_m) = (self.test_features.narrow(0, 0, m)?, feats.narrow(0, 0, m)?);
        let t = Instant::now();
        let pr = precision_recall(&real_m, &fake_m, cfg.pr_k)?;
        timed("precision_recall", t);
        let t = Instant::now();
        let nn = one_nn_accuracy(&real_m, &fake_m)?;
        timed("one_nn", t);

        let parzen = if cfg.parzen {
            let t = Instant::now();
            let ntrain = self.train.dim(0)?;
            let val =
                self.train
                    .narrow(0, ntrain - cfg.parzen_validation, cfg.parzen_validation)?;
            let r = parzen_evaluate(&x, &val, &self.test, &cfg.parzen_sigmas)?;
            timed("parzen", t);
            Some(r)
        } else {
            None
        };
        Ok((
            MnistMetrics {
                reference: "mnist-10k/test (2,000 digits)".into(),
                n_samples: n,
                frechet_distance: fd,
                classifier_score: cs,
                kernel_distance: kid,
                labels: hist,
                precision_recall: pr,
                one_nn: nn,
                parzen,
            },
            times,
        ))
    }
}

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
pub fn evaluate_samples(samples: &Tensor, cfg: &EvalConfig) -> Result<EvalReport> {
    evaluate_samples_from(samples, cfg, "tensor")
}

/// An empty report of `n` samples from `source`.
pub(crate) fn new_report(source: &str, cfg: &EvalConfig, n: usize) -> EvalReport {
    EvalReport {
        source: source.to_string(),
        gm_eval_version: env!("CARGO_PKG_VERSION").to_string(),
        config: cfg.clone(),
        n_samples: n,
        mnist: None,
        mixture: None,
        any_data: None,
        timings_s: BTreeMap::new(),
    }
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

/// Reads samples from a `.safetensors` file (the tensor named `samples`, or its only tensor)
/// or from a folder of PNG images (grey-scale, sorted by name, scaled to `[0, 1]`).
pub fn load_samples(path: &Path, device: &Device) -> Result<Tensor> {
    if path.is_dir() {
        return load_png_folder(path, device);
    }
    let (tensors, _) = gm_core::io::load_safetensors(path, device)?;
    if let Some(t) = tensors.get("samples") {
        return Ok(t.clone());
    }
    if tensors.len() == 1 {
        if let Some(t) = tensors.values().next() {
            return Ok(t.clone());
        }
    }
    Err(Error::File {
        path: path.to_path_buf(),
        message: format!("holds {} tensors and none named `samples`", tensors.len()),
    })
}

/// Reads images from a `.safetensors` file (as [`load_samples`]) or a folder of PNG images,
/// sorted by name and scaled to `[0, 1]`: `(n, 3, h, w)` when any image has colour, else
/// `(n, 1, h, w)`.
pub fn load_images(path: &Path, device: &Device) -> Result<Tensor> {
    if path.is_dir() {
        return load_png_folder_with(path, device, true);
    }
    load_samples(path, device)
}

fn load_png_folder(dir: &Path, device: &Device) -> Result<Tensor> {
    load_png_folder_with(dir, device, false)
}

fn load_png_folder_with(dir: &Path, device: &Device, keep_colour: bool) -> Result<Tensor> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            message: "holds no .png images".into(),
        });
    }
    let mut images = Vec::with_capacity(names.len());
    let mut size = None;
    let mut colour = false;
    for p in &names {
        let img = image::open(p).map_err(|e| Error::File {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let wh = (img.width(), img.height());
        if *size.get_or_insert(wh) != wh {
            return Err(Error::File {
                path: p.clone(),
                message: format!("is {wh:?} pixels, the first image is {size:?}"),
            });
        }
        colour |= keep_colour && img.color().has_color();
        images.push(img);
    }
    let mut data = Vec::new();
    for img in images {
        if colour {
            // Interleaved RGB to channel planes.
            let rgb = img.to_rgb8().into_raw();
            for c in 0..3 {
                data.extend(rgb.iter().skip(c).step_by(3).map(|&v| v as f32 / 255.0));
            }
        } else {
            data.extend(
                img.to_luma8()
                    .into_raw()
                    .into_iter()
                    .map(|v| v as f32 / 255.0),
            );
        }
    }
    let (w, h) = size.unwrap_or((0, 0));
    let c = if colour { 3 } else { 1 };
    Ok(Tensor::from_vec(
        data,
        (names.len(), c, h as usize, w as usize),
        device,
    )?)
}

/// The report as a metric table for `report.html`.
pub fn metrics_table(r: &EvalReport) -> Vec<(String, String)> {
    let mut t = vec![
        ("eval: source".to_string(), r.source.clone()),
        ("eval: samples".to_string(), r.n_samples.to_string()),
    ];
    let mut row = |k: &str, v: String| t.push((format!("eval: {k}"), v));
    if let Some(m) = &r.mnist {
        row(
            "MNIST FD (vs test digits)",
            format!("{:.4}", m.frechet_distance),
        );
        row(
            "classifier score",
            format!(
                "{:.4} ± {:.4} ({} splits)",
                m.classifier_score.mean, m.classifier_score.std, m.classifier_score.splits
            ),
        );
        row(
            "KID",
            format!(
                "{:.4} ± {:.4} ({} subsets of {})",
                m.kernel_distance.mean,
                m.kernel_distance.std,
                m.kernel_distance.subsets,
                m.kernel_distance.subset_size
            ),
        );
        row(
            "digit classes covered",
            format!(
                "{} / {} {:?}",
                m.labels.covered, m.labels.classes, m.labels.counts
            ),
        );
        row(
            "precision / recall",
            format!(
                "{:.4} / {:.4} (k = {})",
                m.precision_recall.precision, m.precision_recall.recall, m.precision_recall.k
            ),
        );
        row("1-NN accuracy", format!("{:.4}", m.one_nn.accuracy));
        if let Some(p) = &m.parzen {
            row(
                "Parzen log-likelihood",
                format!("{:.2} ± {:.2} (sigma {:.4})", p.mean, p.stderr, p.sigma),
            );
        }
    }
    if let Some(m) = &r.any_data {
        // The names usually state their own size (`random-conv(seed 0, 512-d)`,
        // `reference tensor (80 items of 3x16x16)`): add it only where they do not.
        let dim = format!("{}-d", m.feature_dim);
        row(
            "feature space",
            if m.features.contains(&dim) {
                m.features.clone()
            } else {
                format!("{} ({dim})", m.features)
            },
        );
        row(
            "reference set",
            if states_count(&m.reference, m.n_reference) {
                m.reference.clone()
            } else {
                format!("{} ({} items)", m.reference, m.n_reference)
            },
        );
        let fid = if m.features.starts_with(crate::inception::INCEPTION_FEATURES) {
            " (FID)"
        } else {
            ""
        };
        row(
            "FD (vs reference)",
            format!("{:.4}{fid}", m.frechet_distance),
        );
        let k = &m.kernel_distance;
        row(
            "KID (vs reference)",
            format!(
                "{:.4} ± {:.4} ({} subsets of {})",
                k.mean, k.std, k.subsets, k.subset_size
            ),
        );
        let g = &m.gaussian_mmd;
        row(
            "MMD² (Gaussian kernel, vs reference)",
            format!(
                "{:.6} (bandwidth {:.4}, {} vs {} items)",
                g.mmd2, g.bandwidth, g.n_x, g.n_y
            ),
        );
        let sw = &m.sliced_wasserstein;
        row(
            "sliced Wasserstein (vs reference)",
            format!(
                "{:.4} (SW_{}, {} projections)",
                sw.distance, sw.p, sw.projections
            ),
        );
        row(
            "precision / recall (vs reference)",
            format!(
                "{:.4} / {:.4} (k = {})",
                m.precision_recall.precision, m.precision_recall.recall, m.precision_recall.k
            ),
        );
        row(
            "1-NN accuracy (vs reference)",
            format!("{:.4}", m.one_nn.accuracy),
        );
    }
    if let Some(m) = &r.mixture {
        let c = &m.coverage;
        row(
            "modes captured",
            format!("{} / {} ({:?})", c.modes_captured, c.modes, m.mixture),
        );
        row(
            "high-quality samples",
            format!("{:.2} %", 100.0 * c.high_quality),
        );
        row(
            "reverse KL to uniform modes",
            c.reverse_kl.map_or("n/a".into(), |v| format!("{v:.4}")),
        );
    }
    t
}

/// Whether `name` states the count `n` as a number of things of its own (`80 items`,
/// `2,000 digits`): the number, not part of a longer one, followed by a word.
fn states_count(name: &str, n: usize) -> bool {
    let plain = n.to_string();
    let grouped = plain
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    // Part of a longer number: a digit next to it, or a thousands comma then a digit.
    let continues = |mut before: std::iter::Rev<std::str::Chars<'_>>| match before.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some(',') => before.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let counts_things = |mut after: std::str::Chars<'_>| {
        after.next() == Some(' ') && after.next().is_some_and(char::is_alphabetic)
    };
    [plain, grouped].iter().any(|form| {
        name.match_indices(form.as_str()).any(|(i, _)| {
            !continues(name[..i].chars().rev()) && counts_things(name[i + form.len()..].chars())
        })
    })
}

/// Writes `dir/eval.json` and adds the evaluation's rows to the run's metric table in
/// `dir/report.html` (training metrics, images, curves and configuration are kept).
pub fn write_eval(dir: &Path, report: &EvalReport) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            message: "is not a run folder".into(),
        });
    }
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::File {
        path: dir.join("eval.json"),
        message: e.to_string(),
    })?;
    gm_core::io::write_atomic(dir.join("eval.json"), json.as_bytes())?;
    let title = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "run".into());
    gm_core::viz::update_report(dir, &title, &metrics_table(report))?;
    Ok(())
}

/// Reads a report written by [`write_eval`].
pub fn read_eval(dir: &Path) -> Result<EvalReport> {
    let p = dir.join("eval.json");
    let s = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&s).map_err(|e| Error::File {
        path: p,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::any_data::compare_features;

    /// A report of any-data metrics between two small random feature sets, under the given
    /// names of the feature space and the reference set.
    fn any_data_report(features: &str, reference: &str, n_reference: usize) -> EvalReport {
        let mut rng = GmRng::new(0);
        let fake = rng.normal((40, 8), 0.0, 1.0, &Device::Cpu).unwrap();
        let real = rng.normal((40, 8), 0.5, 1.0, &Device::Cpu).unwrap();
        let cfg = EvalConfig {
            kid_subsets: 2,
            kid_subset_size: 20,
            max_neighbour_points: 40,
            sliced_projections: 8,
            ..EvalConfig::default()
        };
        let (mut m, _) = compare_features(&fake, &real, &cfg, features, reference).unwrap();
        m.n_reference = n_reference;
        let mut r = new_report("tensor", &cfg, 40);
        r.any_data = Some(m);
        r
    }

    /// The parenthesised groups of `s`, innermost-agnostic: `a (b) (c)` gives `(b)`, `(c)`.
    fn groups(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, ch) in s.char_indices() {
            match ch {
                '(' => {
                    if depth == 0 {
                        start = i;
                    }
                    depth += 1;
                }
                ')' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(&s[start..=i]);
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn any_data_rows_state_each_description_once() {
        let cases = [
            // Names that state their size keep it once ...
            (
                "random-conv(seed 0, 8-d)",
                "reference tensor (40 items of 3x4x4)",
                40,
                "random-conv(seed 0, 8-d)",
                "reference tensor (40 items of 3x4x4)",
            ),
            (
                "mnist-classifier(8-d penultimate)",
                "mnist-10k/test (2,000 digits)",
                2_000,
                "mnist-classifier(8-d penultimate)",
                "mnist-10k/test (2,000 digits)",
            ),
            // ... names that do not get it added.
            (
                "pixels(avg-pooled to at most 32x32)",
                "held-out faces",
                40,
                "pixels(avg-pooled to at most 32x32) (8-d)",
                "held-out faces (40 items)",
            ),
            (
                "my-net(1,280 channels)",
                "faces of 280 people",
                1_280,
                "my-net(1,280 channels) (8-d)",
                "faces of 280 people (1280 items)",
            ),
        ];
        for (features, reference, n, want_space, want_ref) in cases {
            let table: BTreeMap<String, String> =
                metrics_table(&any_data_report(features, reference, n))
                    .into_iter()
                    .collect();
            assert_eq!(table["eval: feature space"], want_space);
            assert_eq!(table["eval: reference set"], want_ref);
            assert!(!table["eval: FD (vs reference)"].contains("FID"));
            for (k, v) in &table {
                let g = groups(v);
                for (i, a) in g.iter().enumerate() {
                    assert!(!g[i + 1..].contains(a), "{k} = {v} repeats {a}");
                }
            }
        }
    }

    #[test]
    fn counts_are_read_as_whole_numbers() {
        assert!(states_count("reference tensor (80 items of 3x4x4)", 80));
        assert!(states_count("mnist-10k/test (2,000 digits)", 2_000));
        assert!(states_count("2000 faces", 2_000));
        assert!(!states_count("1,280 faces", 280));
        assert!(!states_count("12000 faces", 2_000));
        assert!(!states_count("faces (3x80x80)", 8));
        assert!(!states_count("faces (3x80x80)", 80));
        assert!(!states_count("280 faces", 2_280));
    }
}
