//! CycleGAN (Zhu, Park, Isola and Efros 2017, "Unpaired Image-to-Image Translation using
//! Cycle-Consistent Adversarial Networks"): generators `G: X -> Y` and `F: Y -> X` and
//! discriminators `D_X`, `D_Y`, trained on unpaired samples of the two domains with the full
//! objective (eq. 3 of the paper)
//!
//! ```text
//! L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda L_cyc(G, F),
//! L_cyc(G, F)       = E_x |F(G(x)) - x|_1 + E_y |G(F(y)) - y|_1,
//! ```
//!
//! with `lambda = 10` and, as in section 4 of the paper, the least-squares adversarial loss
//! (Mao et al. 2017: `D` minimises `(D(y) - 1)^2 + D(G(x))^2`, halved; `G` minimises
//! `(D(G(x)) - 1)^2`) or, as an option, the non-saturating logistic loss. The identity loss
//! `E_y |G(y) - y|_1 + E_x |F(x) - x|_1` (weight `0.5 lambda` in the paper, for photo <->
//! painting) is off by default: here it would push `G` to leave stroke images unchanged.
//! Each discriminator sees generated images through a replay buffer of the last 50
//! ([`ImagePool`], Shrivastava et al. 2017), and the learning rate decays linearly to zero
//! over the second half of training ([`linear_decay_lr`]).
//!
//! The networks are the paper's ResNet generator (c7s1-k, d2k, residual blocks, u k,
//! c7s1-1, instance norm, ReLU, tanh output; 3x3 outer convolutions here) and PatchGAN
//! discriminator (strided 4x4 convolutions, LeakyReLU 0.2, instance norm, one score per
//! patch), narrowed for 28x28 digits on a CPU, on gm-core's im2col convolutions.
//!
//! The zoo measures them on a translation whose truth is known: `Y = T(X)` with
//! [`thicken_and_invert`] (a 3x3 max-filter dilation of the strokes, then `1 - x`), trained on
//! disjoint halves of the training digits, so no pair `(x, T(x))` is ever seen.

mod config;
mod data;
mod nets;
mod pool;
mod trainer;

pub use config::{AdversarialLoss, CycleGanConfig};
pub use data::{thicken_and_invert, transformed_halves, unpaired_domains};
pub use nets::{PatchDiscriminator, ResnetGenerator};
pub use pool::ImagePool;
pub use trainer::{cycle_loss, linear_decay_lr, CycleGanTrainer};

/// CycleGAN in `cargo xtask run`: measured by its zoo experiment; a translator, not a
/// generator of latents.
pub const ENTRY: crate::registry::ModelEntry = crate::registry::ModelEntry {
    name: "cyclegan",
    about: "CycleGAN (Zhu et al. 2017) between digits and a known transform of them",
    budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    run: crate::registry::Run::Zoo,
    saved: crate::registry::Saved::Unsupported {
        model: "cyclegan",
        why: "an image-to-image translator, not a map from latents",
    },
};
