//! gm-gan: one adversarial training loop in which the objective is a choice.
//!
//! - [`objective`]: GAN (minimax and non-saturating), f-GAN with every divergence of
//!   gm-divergence, the omega/rho costs A, B, C, WGAN (weight clipping), WGAN-GP (gradient
//!   penalty, second order), the kernel generator (Cauchy-Schwarz ratio) and MMD (GMMN).
//! - [`nets`]: MLP generators and discriminators, and DCGAN (Radford et al. 2016).
//! - [`unrolled`]: the unrolled GAN of Metz et al. (2017), exact or first-order.
//! - [`tricks`]: n critic steps, feature matching, historical averaging, instance noise,
//!   one-sided label smoothing.
//! - [`adversarial`]: one adversarial step for every model, a [`adversarial::Player`] per
//!   network and a [`adversarial::Game`] that owns the objective, penalties and tricks.
//! - [`trainer`]: [`GanTrainer`], a [`gm_core::Trainer`] for gm-core's `fit` loop.
//! - [`mix`]: MIX+GAN (Arora et al. 2017), mixtures of generators and critics.
//! - [`latent`]: interpolation walks and latent vector arithmetic as image grids.
//! - [`theory`]: the numerical checks of `cargo xtask reproduce theory`.
//! - The zoo (part 2), one folder per model (config, networks, trainer): [`lapgan`]
//!   (Denton et al. 2015), [`progressive`] (Karras et al. 2018), [`bigan`] (Donahue et al.
//!   2017), [`cyclegan`] (Zhu et al. 2017). Their measurement (`cargo xtask reproduce zoo`)
//!   lives with the examples, so the library does not depend on gm-eval.
//! - [`conditional`]: class-conditional generation, a generator `G(z, y)` with a label
//!   embedding and the projection (Miyato and Koyama 2018) or ACGAN (Odena et al. 2017)
//!   discriminator, trained by [`CganTrainer`].
//! - [`registry`]: every model of `cargo xtask run`, one line each: how the runner builds,
//!   trains and measures it and how a saved run is rebuilt for sampling.
#![warn(missing_docs)]

pub mod adversarial;
pub mod augment;
pub mod bigan;
pub mod conditional;
pub mod cyclegan;
pub mod error;
pub mod lapgan;
pub mod latent;
pub mod mix;
pub mod nets;
pub mod objective;
pub mod progressive;
pub mod registry;
pub mod spectral;
pub mod theory;
pub mod trainer;
pub mod tricks;
pub mod two_sample;
pub mod unrolled;

pub use augment::{diff_augment, Augment};
pub use conditional::{
    CganConfig, CganTrainer, ConditionalDiscriminator, ConditionalGenerator, Conditioning,
    LabelEmbedding,
};
pub use error::{Error, Result};
pub use mix::{MixGanConfig, MixGanTrainer, MixGenerator};
pub use nets::{
    Activation, Architecture, Discriminator, GanConfig, GanGenerator, MlpInit, OutputActivation,
};
pub use objective::{
    bce_with_logits, enable_second_order, gradient_norm_penalty, gradient_penalty,
    second_order_available, CustomCost, GanGeneratorLoss, Objective, OmegaCost,
    GMMN_MNIST_BANDWIDTHS,
};
pub use theory::theory_rows;
pub use trainer::{
    generator_from_weights, scatter_image, GanTrainConfig, GanTrainer, LoadedGenerator,
};
pub use tricks::Tricks;
pub use unrolled::{unrolled_params, LookAhead, Unrolled};
