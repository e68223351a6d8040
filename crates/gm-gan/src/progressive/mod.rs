//! Progressive growing of GANs (Karras, Aila, Laine and Lehtinen 2018, "Progressive growing
//! of GANs for improved quality, stability, and variation").
//!
//! Training starts at a small side and doubles the resolution stage by stage (4x4 to 32x32
//! by default; the digits grow from 7x7 to 28x28). A new generator block fades in smoothly
//! (section 2, figure 2): `G = (1 - alpha) u(toRGB_old(h)) + alpha toRGB_new(block(u(h)))`,
//! with `u` nearest-neighbour upsampling and `alpha` rising linearly from 0 to 1 over the
//! first half of the stage; the discriminator mirrors it,
//! `(1 - alpha) fromRGB_old(d(x)) + alpha block(fromRGB_new(x))` with `d` 2x2 average
//! pooling, and the real images are blended between the two resolutions
//! the same way. The other ingredients of the paper, all here:
//!
//! - pixel-wise feature normalisation in G after each convolution (section 4.2),
//!   `b = a / sqrt(mean_c a_c^2 + 1e-8)`;
//! - the equalised learning rate (section 4.1): weights stored as `N(0, 1)` draws and
//!   multiplied at run time by He's constant `sqrt(2 / fan_in)`, so that Adam's step is the
//!   same for every layer whatever its fan-in;
//! - the minibatch standard deviation (section 3): D's last block gets one more feature map,
//!   the standard deviation of each feature over the batch averaged over features and pixels.
//!
//! The loss is the non-saturating GAN loss by default; the paper's WGAN-GP, or any other
//! adversarial objective with the critic tricks, is the config's `objective` and `tricks`,
//! through the one adversarial step ([`crate::adversarial`]). Adam follows the
//! paper: lr 0.001, beta1 0, beta2 0.99, moments reset at each new resolution.

mod config;
mod layers;
mod nets;
mod trainer;

pub use config::ProgressiveConfig;
pub use layers::{
    equalized_conv2d, equalized_linear, minibatch_stddev, pixel_norm, EqualizedConv2d,
    EqualizedLinear,
};
pub use nets::{ProgressiveDiscriminator, ProgressiveGenerator};
pub use trainer::ProgressiveTrainer;

mod stage;

pub use stage::ProgressiveStage;

/// Progressive growing in `cargo xtask run`: measured by its zoo experiment; a saved run
/// (`progressive/<r>x<r>`) rebuilds its generator at the resolution it trained last.
pub const ENTRY: crate::registry::ModelEntry = crate::registry::ModelEntry {
    name: "progressive",
    about: "progressive growing (Karras et al. 2018), 7 to 28 pixels on the digits",
    budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    run: crate::registry::Run::Zoo,
    saved: crate::registry::Saved::Generator {
        model: "progressive",
        load: stage::saved_generator,
    },
};
