//! [`GanTrainConfig`]: the hyperparameters of a GAN run, validated field by field.

use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::nets::GanConfig;
use crate::objective::Objective;
use crate::tricks::Tricks;
use crate::unrolled::Unrolled;
use crate::{Error, Result};

/// Hyperparameters of a GAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanTrainConfig {
    /// The generator and discriminator architectures.
    pub model: GanConfig,
    /// The adversarial (or kernel) objective.
    pub objective: Objective,
    /// The generator's Adam.
    pub adam_g: AdamConfig,
    /// The critic's Adam.
    pub adam_d: AdamConfig,
    /// Stabilisation tricks; the default turns them all off.
    pub tricks: Tricks,
    /// Unrolled generator updates (Metz et al. 2017); `None`: plain updates.
    pub unrolled: Option<Unrolled>,
    /// Images in the periodic sample grid.
    pub grid_samples: usize,
}

impl Default for GanTrainConfig {
    fn default() -> Self {
        let adam = AdamConfig {
            lr: 2e-4,
            beta1: 0.5,
            ..AdamConfig::default()
        };
        Self {
            model: GanConfig::default(),
            objective: Objective::default(),
            adam_g: adam,
            adam_d: adam,
            tricks: Tricks::default(),
            unrolled: None,
            grid_samples: 64,
        }
    }
}

impl GanTrainConfig {
    /// The DCGAN recipe of Radford et al. (2016): Adam lr 2e-4, beta1 0.5, non-saturating loss.
    pub fn dcgan_mnist() -> Self {
        Self {
            model: GanConfig::dcgan_mnist(),
            ..Self::default()
        }
    }

    /// Whether the critic loss or the generator loss differentiates a gradient.
    pub fn needs_second_order(&self) -> bool {
        self.objective.needs_second_order()
            || self.tricks.needs_second_order()
            || self.unrolled.map(|u| u.second_order).unwrap_or(false)
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.objective.validate()?;
        self.adam_g.validate()?;
        self.adam_d.validate()?;
        self.tricks.validate()?;
        if self.tricks.label_smoothing > 0.0 && !self.objective.supports_label_smoothing() {
            return Err(Error::config(
                "tricks.label_smoothing",
                self.tricks.label_smoothing,
                "one-sided label smoothing needs the GAN objective (logistic targets)",
            ));
        }
        if let Some(u) = &self.unrolled {
            u.validate()?;
            if !self.objective.is_adversarial() || self.objective.needs_second_order() {
                return Err(Error::config(
                    "unrolled",
                    self.objective.name(),
                    "unrolling needs an adversarial objective without a gradient penalty",
                ));
            }
            if !matches!(
                self.model.discriminator,
                crate::nets::Architecture::Mlp { .. }
            ) {
                return Err(Error::config(
                    "unrolled",
                    "dcgan discriminator",
                    "unrolling needs an MLP discriminator",
                ));
            }
            if self.tricks.feature_matching {
                return Err(Error::config(
                    "tricks.feature_matching",
                    true,
                    "feature matching replaces the generator loss that unrolling changes",
                ));
            }
            if self.tricks.spectral_norm {
                return Err(Error::config(
                    "tricks.spectral_norm",
                    true,
                    "the unrolled look-ahead updates the raw critic weights",
                ));
            }
        }
        if !self.tricks.diff_augment.is_empty() && self.model.data_shape.len() != 3 {
            return Err(Error::config(
                "tricks.diff_augment",
                format!("{:?}", self.model.data_shape),
                "DiffAugment transforms images (channels, height, width)",
            ));
        }
        if !self.objective.is_adversarial()
            && (self.tricks.feature_matching
                || self.tricks.instance_noise > 0.0
                || self.tricks.n_critic > 1
                || self.tricks.needs_second_order()
                || self.tricks.spectral_norm
                || !self.tricks.diff_augment.is_empty())
        {
            return Err(Error::config(
                "tricks",
                self.objective.name(),
                "critic tricks need an adversarial objective",
            ));
        }
        Ok(())
    }
}
