//! gm-inverse: inverse problems with generative priors.
//!
//! Recover x from few noisy linear measurements b = A x + e by searching the range of a
//! trained generator G (Bora, Jalal, Price and Dimakis, "Compressed Sensing using Generative
//! Models", ICML 2017):
//!
//! z_hat = argmin_z ||b - A G(z)||^2 / m + lambda ||z||^2,  x_hat = G(z_hat),
//!
//! and compare with the sparsity prior of classical compressed sensing (the Lasso).
//!
//! - [`operator`]: the [`MeasurementOperator`] trait and its measurement matrices: Gaussian
//!   A with N(0, 1) entries, random-pixel and centred-block inpainting masks,
//!   super-resolution by average pooling, and the identity (denoising); seeded noise.
//! - [`estimator`]: [`recover`], the batched estimator for any [`gm_core::Generator`]
//!   (all images and random restarts in one tensor computation, Adam on z), and
//!   [`recover_each`], the same estimator one image at a time.
//! - [`lasso`]: the Lasso (scikit-learn's objective) by coordinate descent with a duality-gap
//!   stopping rule, in the pixel basis or a 2-D DCT basis.
//! - [`dct`]: the orthonormal 2-D DCT-II.
//! - [`metrics`]: per-pixel MSE with 1.96 standard errors, and the measurement-saving factor
//!   at equal error.
//! - [`srec`]: Bora et al.'s S-REC condition measured on any generator's range: random
//!   pairs and a search for the worst chord.
//! - [`theory`]: the empirical restricted isometry constant of a Gaussian A.
#![warn(missing_docs)]

pub mod dct;
pub mod error;
pub mod estimator;
pub mod lasso;
pub mod metrics;
pub mod operator;
pub mod srec;
pub mod theory;

pub use error::{Error, Result};
pub use estimator::{recover, recover_each, CsgmConfig, Recovery};
pub use lasso::{lasso, lasso_batch, Basis, LassoConfig, LassoSolution};
pub use metrics::{mean_with_ci, per_image_mse, saving_factors, MeanCi};
pub use operator::{
    add_noise, measure, CentreBlockMask, Denoising, DenseOperator, GaussianMeasurement,
    MeasurementOperator, RandomPixelMask, SuperResolution,
};
pub use srec::{srec_of_generator, SrecConfig, SrecStats};
pub use theory::theory_rows;
