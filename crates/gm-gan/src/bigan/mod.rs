//! BiGAN, the bidirectional GAN of Donahue, Krähenbühl and Darrell (2017, "Adversarial
//! Feature Learning"): an encoder `E: x -> z` learned beside the generator `G: z -> x`, and a
//! discriminator on joint pairs that tells `(x, E(x))`, `x ~ p_data`, from `(G(z), z)`,
//! `z ~ p_z`. The game (eq. 2 of the paper)
//!
//! ```text
//! min_{G,E} max_D  V(D, E, G) = E_x [log D(x, E(x))] + E_z [log(1 - D(G(z), z))]
//! ```
//!
//! has its optimum at `E = G^{-1}` (theorem 2), which makes `E(x)` a learned feature of `x`.
//! `D` descends the usual GAN critic loss on the two kinds of pairs. `G` and `E` take one
//! shared optimiser step on the non-saturating loss with the labels swapped for the encoder
//! pair, as in the paper's reference code: `-log D(G(z), z) - log(1 - D(x, E(x)))`.
//!
//! Features are judged as in section 4.2 of the paper: the 1-nearest-neighbour accuracy of
//! test digits against the encoded training digits (`gm_eval::nearest_neighbour_accuracy`,
//! Euclidean distance as in the official evaluation code; 97.35 % on full MNIST in the
//! official log), beside the same classifier on raw pixels.

mod config;
mod nets;
mod trainer;

pub use config::BiganConfig;
pub use nets::{Encoder, JointDiscriminator};
pub use trainer::BiganTrainer;

mod load;

/// BiGAN in `cargo xtask run`: measured by its zoo experiment; a saved run rebuilds its
/// generator.
pub const ENTRY: crate::registry::ModelEntry = crate::registry::ModelEntry {
    name: "bigan",
    about: "BiGAN (Donahue et al. 2017): generator, encoder, joint critic",
    budget: &[("steps", Some("1000")), ("batch-size", Some("64"))],
    run: crate::registry::Run::Zoo,
    saved: crate::registry::Saved::Generator {
        model: "bigan",
        load: load::saved_generator,
    },
};
