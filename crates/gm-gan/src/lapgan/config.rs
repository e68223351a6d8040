//! [`LapganConfig`]: the pyramid's levels, the coarse GAN and the conditional networks.

use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::adversarial::Game;
use crate::nets::{Activation, Architecture, GanConfig, MlpInit, OutputActivation};
use crate::objective::Objective;
use crate::trainer::GanTrainConfig;
use crate::tricks::Tricks;
use crate::{Error, Result};

/// Hyperparameters of a LAPGAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapganConfig {
    /// Side of the (square) finest images.
    pub image_size: usize,
    /// Channels of the images (1 grey, 3 colour).
    #[serde(default = "one")]
    pub image_channels: usize,
    /// Pyramid levels: one unconditional GAN and `levels - 1` conditional ones.
    pub levels: usize,
    /// Noise dimensions of the coarse generator.
    pub latent_dim: usize,
    /// Hidden widths of the coarse (fully connected) generator and discriminator.
    pub coarse_hidden: Vec<usize>,
    /// Feature maps of each conditional level's convolutional networks, finest level first
    /// (one entry per level but the coarsest).
    pub channels: Vec<usize>,
    /// The adversarial objective of every level (any: WGAN's clipping and WGAN-GP's penalty
    /// included).
    pub objective: Objective,
    /// The critic's tricks at every level (n critic steps, penalties, noise, smoothing,
    /// DiffAugment on the band, historical averaging); feature matching, spectral
    /// normalization and the weight average are refused.
    #[serde(default)]
    pub tricks: Tricks,
    /// Adam of every network.
    pub adam: AdamConfig,
    /// Updates of the coarse GAN per batch (each on the batch's coarse images with fresh
    /// noise), at least 1: the coarse pair is a small MLP on `coarse_size` images and costs
    /// a fraction of a conditional level's update.
    #[serde(default = "one")]
    pub coarse_updates: usize,
    /// Images in the periodic sample grid.
    pub grid_samples: usize,
}

impl Default for LapganConfig {
    /// The 28x28 digits in three levels (28, 14, 7) with 16 and 32 feature maps at 28 and 14
    /// (sized for two CPU cores), ten coarse updates per batch, the non-saturating GAN loss,
    /// and Adam (lr 1e-3, beta1 0.5): the recipe measured in the README.
    fn default() -> Self {
        Self {
            image_size: 28,
            image_channels: 1,
            levels: 3,
            latent_dim: 64,
            coarse_hidden: vec![256, 256],
            channels: vec![16, 32],
            objective: Objective::default(),
            tricks: Tricks::default(),
            adam: AdamConfig {
                lr: 1e-3,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            coarse_updates: 10,
            grid_samples: 64,
        }
    }
}

fn one() -> usize {
    1
}

impl LapganConfig {
    /// Shape of one image, `(image_channels, image_size, image_size)`.
    pub fn image_shape(&self) -> Vec<usize> {
        vec![self.image_channels, self.image_size, self.image_size]
    }

    /// Side of the coarsest level.
    pub fn coarse_size(&self) -> usize {
        self.image_size >> self.levels.saturating_sub(1).min(usize::BITS as usize - 1)
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.levels < 2 {
            return Err(Error::config(
                "levels",
                self.levels,
                "a Laplacian pyramid of GANs needs at least 2 levels",
            ));
        }
        let f = 1usize.checked_shl((self.levels - 1) as u32).unwrap_or(0);
        if f == 0 || !self.image_size.is_multiple_of(f) || self.image_size / f < 2 {
            return Err(Error::config(
                "image_size",
                self.image_size,
                "must be divisible by 2^(levels - 1) with a coarsest side of at least 2",
            ));
        }
        if self.image_channels == 0 {
            return Err(Error::config(
                "image_channels",
                self.image_channels,
                "must be at least 1",
            ));
        }
        if self.channels.len() != self.levels - 1 || self.channels.contains(&0) {
            return Err(Error::config(
                "channels",
                format!("{:?}", self.channels),
                "one positive entry per conditional level (levels - 1)",
            ));
        }
        if self.coarse_updates == 0 {
            return Err(Error::config(
                "coarse_updates",
                0,
                "the coarse GAN needs at least 1 update per batch",
            ));
        }
        Game::new(&self.objective, &self.tricks).validate("LAPGAN", false)?;
        self.adam.validate()?;
        self.coarse_config().validate()
    }

    /// The coarse level's GAN: part 1's trainer on the `coarse_size` images.
    pub fn coarse_config(&self) -> GanTrainConfig {
        let s = self.coarse_size();
        GanTrainConfig {
            model: GanConfig {
                latent_dim: self.latent_dim,
                data_shape: vec![self.image_channels, s, s],
                generator: Architecture::Mlp {
                    hidden: self.coarse_hidden.clone(),
                    activation: Activation::Relu,
                },
                discriminator: Architecture::Mlp {
                    hidden: self.coarse_hidden.iter().rev().cloned().collect(),
                    activation: Activation::LeakyRelu,
                },
                output: OutputActivation::Tanh,
                mlp_init: MlpInit::Default,
            },
            objective: self.objective.clone(),
            adam_g: self.adam,
            adam_d: self.adam,
            tricks: self.tricks.clone(),
            unrolled: None,
            grid_samples: 0,
        }
    }
}
