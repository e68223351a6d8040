//! gm-eval: offline evaluation of any generator, with the protocols the papers used and the
//! shipped MNIST classifier in place of an Inception download.
//!
//! - [`frechet`]: Frechet distance between feature Gaussians (Heusel et al. 2017), "MNIST FD".
//! - [`classifier_score`](mod@classifier_score): the Inception-score analogue (Salimans et
//!   al. 2016) and the predicted-label histogram.
//! - [`kernel_distance`](mod@kernel_distance): KID, the unbiased cubic-kernel MMD^2
//!   (Binkowski et al. 2018).
//! - [`parzen`]: Parzen-window log-likelihood (Goodfellow et al. 2014 protocol).
//! - [`modes`]: mode coverage on 2-D mixtures (VEEGAN, PacGAN).
//! - [`neighbours`]: improved precision/recall (Kynkaanniemi et al. 2019) and the 1-NN
//!   two-sample accuracy.
//! - [`features`]: feature spaces for images of any shape: pixels, a seeded random conv
//!   network (Naeem et al. 2020), a user's conv network from a safetensors file.
//! - [`inception`]: Inception-v3 pool3 features (Szegedy et al. 2016) in pytorch-fid's FID
//!   variant, from a safetensors file the user supplies: FID proper (Heusel et al. 2017).
//! - [`mmd`]: the unbiased Gaussian-kernel MMD^2 with the median bandwidth (Gretton et al.
//!   2012).
//! - [`sliced`]: the sliced Wasserstein distance (Rabin et al. 2011).
//! - [`any_data`]: all of the above against a held-out reference set, for data the MNIST
//!   classifier does not fit; `evaluate_images`.
//! - [`evaluate`]: one entry point for tensors, generators and files; `eval.json` and
//!   `report.html` in a run folder.
//! - [`linalg`]: the small f64 linear algebra (Jacobi eigendecomposition, PSD square root).
#![warn(missing_docs)]

mod distances;

pub mod any_data;
pub mod classifier_score;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod frechet;
pub mod inception;
pub mod kernel_distance;
pub mod linalg;
pub mod memorisation;
pub mod mmd;
pub mod modes;
pub mod neighbours;
pub mod parzen;
pub mod sliced;

pub use any_data::{
    compare_features, compare_images, evaluate_generator_with_reference, evaluate_images,
    feature_extractor, AnyDataMetrics,
};
pub use classifier_score::{classifier_score, label_histogram, ClassifierScore, LabelHistogram};
pub use config::{EvalConfig, FeatureSpace, MixtureTarget, PixelRange};
pub use error::{Error, Result};
pub use evaluate::{
    evaluate_generator, evaluate_samples, load_images, load_samples, metrics_table, read_eval,
    sample_generator, write_eval, EvalReport, FeatureNet, MixtureMetrics, MnistEvaluator,
    MnistMetrics,
};
pub use features::{
    extract_features, ConvFeatureNet, FeatureExtractor, PixelFeatures, RandomConvConfig,
};
pub use frechet::{
    frechet_distance, frechet_distance_dual, frechet_distance_features, GaussianStats,
};
pub use inception::{InceptionConfig, InceptionV3, FID_INPUT_SIZE};
pub use kernel_distance::{kernel_distance, mmd2_unbiased, KernelDistance};
pub use memorisation::{nearest_training_images, save_nearest_neighbours};
pub use mmd::{gaussian_mmd, gaussian_mmd2_unbiased, median_bandwidth, GaussianMmd};
pub use modes::{mode_coverage, ModeCoverage, MODE_SAMPLES};
pub use neighbours::{
    nearest_neighbour_accuracy, one_nn_accuracy, precision_recall, OneNnAccuracy, PrecisionRecall,
};
pub use parzen::{default_sigmas, parzen_evaluate, parzen_log_likelihoods, ParzenResult};
pub use sliced::{
    random_directions, sliced_wasserstein, sliced_wasserstein_with, SlicedWasserstein,
};
