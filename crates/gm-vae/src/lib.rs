//! gm-vae: variational autoencoders and the variational toolbox around them.
//!
//! - [`config`]: architectures (MLP, convolutional), likelihoods and the presets of the
//!   PyTorch VAE example, Bora et al. (2017) and Burda et al. (2016, IWAE).
//! - [`bound`]: log-densities, the analytic and Monte Carlo KL, `reparameterize`, `elbo`
//!   terms, `iwae_bound` and the importance-sampled log-likelihood.
//! - [`model`]: the encoder q(z|x), the decoder p(x|z) (a [`gm_core::Generator`]) and [`Vae`].
//! - [`trainer`]: [`VaeTrainer`], a [`gm_core::Trainer`] for gm-core's `fit` loop.
//! - [`gradient`]: reparameterization vs score-function (REINFORCE) gradients and their
//!   empirical variance.
//! - [`svi`]: per-datapoint (non-amortized) stochastic variational inference.
//! - [`gmm`]: a Gaussian mixture fitted by EM (plain f64).
//! - [`linear_gaussian`]: a model with a closed-form posterior, to check ELBO identities.
//! - [`theory`]: the numerical checks of `cargo xtask reproduce theory`.
//! - [`outputs`]: sample, reconstruction, interpolation and latent-map grids.
#![warn(missing_docs)]

pub mod bound;
pub mod config;
pub mod error;
mod fused;
pub mod gmm;
pub mod gradient;
pub mod linear_gaussian;
pub mod model;
pub mod outputs;
pub mod svi;
pub mod theory;
pub mod trainer;

pub use bound::{elbo_terms, iwae_bound, log_likelihood, reparameterize, ElboTerms, KlEstimator};
pub use config::{Activation, Architecture, Likelihood, VaeConfig};
pub use error::{Error, Result};
pub use model::{Decoder, Encoder, LoadedVae, Vae};
pub use theory::theory_rows;
pub use trainer::{Objective, VaeTrainConfig, VaeTrainer};
