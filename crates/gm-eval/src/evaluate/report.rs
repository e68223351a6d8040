//! The report types: the MNIST metrics, the mode coverage of 2-D samples and the report of
//! one evaluation (`eval.json`), with the empty report the entry points fill in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::any_data::AnyDataMetrics;
use crate::classifier_score::{ClassifierScore, LabelHistogram};
use crate::config::{EvalConfig, MixtureTarget};
use crate::kernel_distance::KernelDistance;
use crate::modes::ModeCoverage;
use crate::neighbours::{OneNnAccuracy, PrecisionRecall};
use crate::parzen::ParzenResult;

/// The MNIST metrics of one set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistMetrics {
    /// The real set the sample set is compared with.
    pub reference: String,
    /// Number of samples evaluated.
    pub n_samples: usize,
    /// MNIST Frechet distance to the test digits, on the classifier's features.
    pub frechet_distance: f64,
    /// The Inception-score analogue with the MNIST classifier.
    pub classifier_score: ClassifierScore,
    /// KID against the test digits, on the classifier's features.
    pub kernel_distance: KernelDistance,
    /// Histogram of the classifier's predicted labels over the 10 digit classes.
    pub labels: LabelHistogram,
    /// Improved precision and recall against the test digits.
    pub precision_recall: PrecisionRecall,
    /// Leave-one-out 1-NN two-sample accuracy against the test digits.
    pub one_nn: OneNnAccuracy,
    /// The Parzen-window log-likelihood of the test digits; `None` when `parzen` is off.
    pub parzen: Option<ParzenResult>,
}

/// The report of one evaluation, written as `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// What was evaluated (a generator, a tensor, a file).
    pub source: String,
    /// Version of gm-eval that wrote the report.
    pub gm_eval_version: String,
    /// The settings of the evaluation.
    pub config: EvalConfig,
    /// Number of samples evaluated.
    pub n_samples: usize,
    /// The MNIST metrics, for 784-value items in the MNIST classifier's space.
    pub mnist: Option<MnistMetrics>,
    /// Mode coverage, for 2-D samples.
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
    /// The mixture the samples were scored against (never `Auto`).
    pub mixture: MixtureTarget,
    /// Mode coverage of the samples against that mixture.
    pub coverage: ModeCoverage,
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
