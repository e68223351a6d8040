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
//!
//! [`Generator`]: gm_core::Generator

mod files;
mod mnist;
mod report;
mod samples;
mod table;

pub use files::{load_images, load_samples, read_eval, write_eval};
pub use mnist::{FeatureNet, MnistEvaluator};
pub use report::{EvalReport, MixtureMetrics, MnistMetrics};
pub use samples::{evaluate_generator, evaluate_samples, sample_generator};
pub use table::metrics_table;

pub(crate) use report::new_report;
pub(crate) use samples::{check_finite, to_unit_pixels};

#[cfg(test)]
mod tests;
