//! [`BiganConfig`]: the generator, the encoder and the joint critic of a BiGAN run.

use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::adversarial::Game;
use crate::nets::{Activation, Architecture, GanConfig};
use crate::objective::Objective;
use crate::tricks::Tricks;
use crate::{Error, Result};

/// Hyperparameters of a BiGAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiganConfig {
    /// Dimension of `z ~ N(0, I)` (50 in the paper's MNIST model).
    pub latent_dim: usize,
    /// Shape of one data item, e.g. `[1, 28, 28]`; pixels in `[0, 1]`.
    pub data_shape: Vec<usize>,
    /// Hidden widths of `E` (LeakyReLU 0.2, linear output).
    pub encoder_hidden: Vec<usize>,
    /// Hidden widths of `G` (ReLU, tanh output in network space `[-1, 1]`).
    pub generator_hidden: Vec<usize>,
    /// Hidden widths of the joint `D` on `(x, z)` (LeakyReLU 0.2).
    pub discriminator_hidden: Vec<usize>,
    /// Dropout probability after each hidden layer of `D` during its updates and the
    /// `(G, E)` updates. Without it `D` soon tells `(x, E(x))` from `(G(z), z)` almost
    /// perfectly and `G` never leaves noise (measured here: 0 and 0.2 fail, 0.5 trains).
    pub discriminator_dropout: f64,
    /// The objective: GAN (minimax or non-saturating), WGAN, WGAN-GP or hinge, whose
    /// generator loss, applied to the negated score of `(x, E(x))`, is the encoder's side of
    /// the game; the others have no swapped-label form here.
    pub objective: Objective,
    /// The critic's tricks (n critic steps, penalties on the joint pair `[x, z]`, instance
    /// noise on it, label smoothing, historical averaging); DiffAugment, feature matching,
    /// spectral normalization and the weight average are refused.
    #[serde(default)]
    pub tricks: Tricks,
    /// The discriminator's Adam.
    pub adam_d: AdamConfig,
    /// The one Adam shared by the generator and the encoder.
    pub adam_ge: AdamConfig,
    /// Samples `G(z)` in the periodic grid.
    pub grid_samples: usize,
}

impl Default for BiganConfig {
    /// The permutation-invariant MNIST model of the paper, narrowed for CPU training:
    /// 784-512-512-50 encoder, 50-512-512-784 generator, (784 + 50)-512-512-1 discriminator
    /// with dropout 0.5, Adam lr 2e-4, beta1 0.5.
    fn default() -> Self {
        let adam = AdamConfig {
            lr: 2e-4,
            beta1: 0.5,
            ..AdamConfig::default()
        };
        Self {
            latent_dim: 50,
            data_shape: vec![1, 28, 28],
            encoder_hidden: vec![512, 512],
            generator_hidden: vec![512, 512],
            discriminator_hidden: vec![512, 512],
            discriminator_dropout: 0.5,
            objective: Objective::default(),
            tricks: Tricks::default(),
            adam_d: adam,
            adam_ge: adam,
            grid_samples: 64,
        }
    }
}

impl BiganConfig {
    /// Values per data item.
    pub fn data_dim(&self) -> usize {
        self.data_shape.iter().product()
    }

    /// Input width of the joint discriminator: data plus latent.
    pub fn joint_dim(&self) -> usize {
        self.data_dim() + self.latent_dim
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.data_shape.is_empty() || self.data_dim() == 0 {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "must be non-empty with no zero dimension",
            ));
        }
        for (field, hidden) in [
            ("encoder_hidden", &self.encoder_hidden),
            ("generator_hidden", &self.generator_hidden),
            ("discriminator_hidden", &self.discriminator_hidden),
        ] {
            if hidden.contains(&0) {
                return Err(Error::config(
                    field,
                    format!("{hidden:?}"),
                    "hidden layers must have at least one unit",
                ));
            }
        }
        if !(0.0..1.0).contains(&self.discriminator_dropout) {
            return Err(Error::config(
                "discriminator_dropout",
                self.discriminator_dropout,
                "must lie in [0, 1)",
            ));
        }
        if !matches!(
            self.objective,
            Objective::Gan { .. }
                | Objective::Wgan { .. }
                | Objective::WganGp { .. }
                | Objective::Hinge
        ) {
            return Err(Error::config(
                "objective",
                self.objective.name(),
                "BiGAN swaps the labels for the encoder: needs GAN, WGAN, WGAN-GP or hinge",
            ));
        }
        Game::new(&self.objective, &self.tricks).validate("BiGAN", false)?;
        if !self.tricks.diff_augment.is_empty() {
            return Err(Error::config(
                "tricks.diff_augment",
                "on (BiGAN)",
                "the critic sees joint pairs [x, z], not images",
            ));
        }
        self.adam_d.validate()?;
        self.adam_ge.validate()?;
        Ok(())
    }

    /// The generator's network config (its `discriminator` field is unused).
    pub(super) fn generator_config(&self) -> GanConfig {
        GanConfig {
            latent_dim: self.latent_dim,
            data_shape: self.data_shape.clone(),
            generator: Architecture::Mlp {
                hidden: self.generator_hidden.clone(),
                activation: Activation::Relu,
            },
            discriminator: Architecture::Mlp {
                hidden: self.discriminator_hidden.clone(),
                activation: Activation::LeakyRelu,
            },
            output: crate::nets::OutputActivation::Tanh,
            mlp_init: crate::nets::MlpInit::Default,
        }
    }
}
