//! [`ProgressiveConfig`]: stages, feature maps, objective and Adam of a progressive GAN.

use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::adversarial::Game;
use crate::objective::Objective;
use crate::tricks::Tricks;
use crate::{Error, Result};

/// Hyperparameters of a progressively grown GAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressiveConfig {
    /// Dimension of the latent code z, at least 1.
    pub latent_dim: usize,
    /// Side of the first stage's images.
    pub start_size: usize,
    /// Channels of the images (1 grey, 3 colour).
    #[serde(default = "one")]
    pub image_channels: usize,
    /// Feature maps at each stage's resolution (one entry per stage: `start_size`, twice
    /// that, ...); the number of entries sets the final resolution.
    pub channels: Vec<usize>,
    /// The adversarial objective (any: WGAN's clipping and WGAN-GP's penalty included).
    pub objective: Objective,
    /// The critic's tricks (n critic steps, penalties, noise, smoothing, DiffAugment,
    /// historical averaging); feature matching, spectral normalization and the weight
    /// average are refused.
    #[serde(default)]
    pub tricks: Tricks,
    /// Adam of both networks.
    pub adam: AdamConfig,
    /// Training steps per stage; the fade-in takes the first half.
    pub stage_steps: usize,
    /// Images in the periodic sample grid.
    pub grid_samples: usize,
}

impl Default for ProgressiveConfig {
    /// 4x4 to 32x32 with 32, 32, 16 and 8 feature maps (sized for two CPU cores).
    fn default() -> Self {
        Self {
            latent_dim: 64,
            start_size: 4,
            image_channels: 1,
            channels: vec![32, 32, 16, 8],
            objective: Objective::default(),
            tricks: Tricks::default(),
            adam: AdamConfig {
                lr: 1e-3,
                beta1: 0.0,
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            stage_steps: 1_500,
            grid_samples: 64,
        }
    }
}

fn one() -> usize {
    1
}

impl ProgressiveConfig {
    /// Shape of one image of the last stage, `(image_channels, F, F)`.
    pub fn image_shape(&self) -> Vec<usize> {
        vec![self.image_channels, self.final_size(), self.final_size()]
    }

    /// Number of stages (resolutions).
    pub fn stages(&self) -> usize {
        self.channels.len()
    }

    /// Side of stage `stage`'s images.
    pub fn resolution(&self, stage: usize) -> usize {
        self.start_size << stage
    }

    /// Side of the last stage's images.
    pub fn final_size(&self) -> usize {
        self.resolution(self.stages().saturating_sub(1))
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.start_size < 2 {
            return Err(Error::config(
                "start_size",
                self.start_size,
                "must be at least 2",
            ));
        }
        if self.image_channels == 0 {
            return Err(Error::config(
                "image_channels",
                self.image_channels,
                "must be at least 1",
            ));
        }
        if self.channels.is_empty() || self.channels.len() > 8 || self.channels.contains(&0) {
            return Err(Error::config(
                "channels",
                format!("{:?}", self.channels),
                "one to eight stages, each with at least one feature map",
            ));
        }
        if self.stage_steps < 2 {
            return Err(Error::config(
                "stage_steps",
                self.stage_steps,
                "must be at least 2 (the fade-in takes the first half)",
            ));
        }
        Game::new(&self.objective, &self.tricks).validate("progressive growing", false)?;
        self.adam.validate()?;
        Ok(())
    }
}
