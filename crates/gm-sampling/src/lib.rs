//! gm-sampling: the classical methods of drawing realizations of a random variable from a
//! density, each proven against its exact distribution and each approximation reporting its
//! error.
//!
//! - [`univariate`]: inversion x = F^{-1}(u) for uniform, exponential, Laplace, logistic,
//!   Cauchy, Weibull, Pareto, Rayleigh, normal (Wichura's AS 241) and truncations.
//! - [`pinv`]: numerical inversion of a density known only through its pdf (PINV-style
//!   Newton interpolation of F^{-1}), reporting its u-error and setup cost.
//! - [`rejection`]: acceptance-rejection with acceptance-rate reporting and bound checks.
//! - [`conditional`]: sequential conditional inversion (inverse Rosenblatt transform).
//! - [`transform`]: densities of X = G(Z): several roots (scalar and vector, summed over
//!   inverse branches), Jacobian determinants.
//! - [`manifold`]: the sphere from the unit square, naive vs uniform.
//! - [`monte_carlo`]: Monte Carlo and importance sampling with standard errors and ESS.
//! - [`batched`]: inversion applied to seeded uniform candle tensors on any device.
//! - [`stats`]: Kolmogorov-Smirnov and chi-square goodness of fit.
//! - [`theory_rows`]: the crate's rows of `cargo xtask reproduce theory`.
#![warn(missing_docs)]
// `!(x > 0.0)` is used on purpose: it rejects NaN together with the out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod batched;
pub mod conditional;
pub mod error;
pub mod manifold;
pub mod monte_carlo;
pub mod pinv;
pub mod rejection;
pub mod roots;
pub mod special;
pub mod stats;
mod theory;
pub mod transform;
pub mod univariate;

pub use batched::BatchedInversion;
pub use conditional::{Conditional, SequentialInversion};
pub use error::{Error, Result};
pub use pinv::{NumericalInversion, UError};
pub use rejection::{Proposal, Rejection, RejectionRun, UniformBox};
pub use theory::theory_rows;
pub use transform::{BranchedVectorTransform, InverseBranch, ScalarTransform, VectorTransform};
pub use univariate::{
    open_unit, Cauchy, Exponential, Laplace, Logistic, Normal, Pareto, Rayleigh, Truncated,
    Uniform, Univariate, Weibull,
};
