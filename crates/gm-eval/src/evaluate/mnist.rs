//! The MNIST metrics: the shipped classifier as a feature network ([`FeatureNet`]) and the
//! embedded digits the samples are compared with ([`MnistEvaluator`]).

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use gm_core::classifier::MnistClassifier;
use gm_core::data::mnist_embedded;

use super::report::MnistMetrics;
use crate::classifier_score::{classifier_score, label_histogram};
use crate::config::EvalConfig;
use crate::features::FeatureExtractor;
use crate::frechet::{frechet_distance, GaussianStats};
use crate::kernel_distance::kernel_distance;
use crate::neighbours::{one_nn_accuracy, precision_recall};
use crate::parzen::parzen_evaluate;
use crate::{Error, Result};

/// Values per MNIST digit.
pub(super) const DIGIT: usize = 28 * 28;

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

    /// The shipped classifier used as feature network.
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
