//! Class-conditional GANs: a generator `G(z, y)` that draws an item of a chosen class `y`, and
//! a discriminator conditioned on the class in one of two ways.
//!
//! - The generator concatenates a class code `e(y)` with `z` before its first layer (the
//!   first linear layer of an MLP, the first projection of a DCGAN generator): a learned
//!   embedding row or the one-hot code (Mirza and Osindero 2014, "Conditional Generative
//!   Adversarial Nets").
//! - The projection discriminator of Miyato and Koyama (2018, "cGANs with Projection
//!   Discriminator"), eq. 3: `D(x, y) = psi(phi(x)) + <embed(y), phi(x)>`, `phi` the
//!   features of an unconditional critic and `psi` its output layer.
//! - The auxiliary classifier of ACGAN (Odena, Olah and Shlens 2017, "Conditional Image
//!   Synthesis with Auxiliary Classifier GANs"): `D(x)` outputs the real/fake logit and class
//!   logits; with `L_C` the class cross-entropy, the critic adds `L_C` on real and generated
//!   items and the generator adds `L_C` on its own (eq. 2-3: D maximises `L_S + L_C`, G
//!   maximises `L_C - L_S`); [`CganConfig::critic_classifies_generated`] off keeps the
//!   critic's `L_C` to real items.
//!
//! The real/fake part is any adversarial [`crate::Objective`] (non-saturating GAN, hinge,
//! least squares, WGAN, WGAN-GP, ...) with the critic tricks, through the one adversarial
//! step ([`crate::adversarial`]). [`CganTrainer`] implements [`gm_core::Trainer`]: `fit`
//! gives progress, checkpoints, bit-identical resume and a grid with one row per class; the
//! saved `model.safetensors` (`gm.model` = `cgan/<conditioning>`) rebuilds the
//! [`ConditionalGenerator`], a [`gm_core::Generator`] whose latent carries the class code.

mod config;
mod nets;
mod trainer;

pub use config::{CganConfig, Conditioning, LabelEmbedding};
pub use nets::{
    class_cross_entropy, one_hot, uniform_labels, ConditionalDiscriminator, ConditionalGenerator,
    CriticOutput,
};
pub use trainer::{CganLoss, CganTrainer};

/// The prefix of the model name a conditional GAN run saves (`cgan/projection`,
/// `cgan/acgan`).
pub const MODEL_PREFIX: &str = "cgan/";

mod recipe;

/// The class-conditional GAN in `cargo xtask run`: an image model on the labelled digits
/// (options `conditioning`, `embedding`, `arch`, `acgan-real-classes`).
pub const ENTRY: crate::registry::ModelEntry = crate::registry::ModelEntry {
    name: "cgan",
    about: "class-conditional GAN on the labelled digits: projection discriminator \
            (Miyato and Koyama 2018) or ACGAN (Odena et al. 2017); class accuracy",
    budget: &[
        ("steps", Some("3000")),
        ("batch-size", Some("64")),
        ("lr", Some("2e-4")),
    ],
    run: crate::registry::Run::Images(recipe::build),
    saved: crate::registry::Saved::Generator {
        model: "cgan",
        load: recipe::saved_generator,
    },
};
