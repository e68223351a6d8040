//! gm-eval: offline evaluation of any generator, with the protocols the papers used and the
//! shipped MNIST classifier in place of an Inception download.
//!
//! - [`frechet`]: Frechet distance between feature Gaussians (Heusel et al. 2017), "MNIST FD".
//! - [`classifier_score`]: the Inception-score analogue (Salimans et al. 2016) and the
//!   predicted-label histogram.
//! - [`kernel_distance`]: KID, the unbiased cubic-kernel MMD^2 (Binkowski et al. 2018).
//! - [`parzen`]: Parzen-window log-likelihood (Goodfellow et al. 2014 protocol).
//! - [`modes`]: mode coverage on 2-D mixtures (VEEGAN, PacGAN).
//! - [`neighbours`]: improved precision/recall (Kynkaanniemi et al. 2019) and the 1-NN
//!   two-sample accuracy.
//! - [`evaluate`]: one entry point for tensors, generators and files; `eval.json` and
//!   `report.html` in a run folder.
//! - [`linalg`]: the small f64 linear algebra (Jacobi eigendecomposition, PSD square root).

mod distances;

pub mod classifier_score;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod frechet;
pub mod kernel_distance;
pub mod linalg;
pub mod modes;
pub mod neighbours;
pub mod parzen;

pub use classifier_score::{classifier_score, label_histogram, ClassifierScore, LabelHistogram};
pub use config::{EvalConfig, MixtureTarget, PixelRange};
pub use error::{Error, Result};
pub use evaluate::{
    evaluate_generator, evaluate_samples, load_samples, metrics_table, read_eval, sample_generator,
    write_eval, EvalReport, FeatureNet, MixtureMetrics, MnistEvaluator, MnistMetrics,
};
pub use frechet::{frechet_distance, frechet_distance_features, GaussianStats};
pub use kernel_distance::{kernel_distance, mmd2_unbiased, KernelDistance};
pub use modes::{mode_coverage, ModeCoverage, MODE_SAMPLES};
pub use neighbours::{one_nn_accuracy, precision_recall, OneNnAccuracy, PrecisionRecall};
pub use parzen::{default_sigmas, parzen_evaluate, parzen_log_likelihoods, ParzenResult};
