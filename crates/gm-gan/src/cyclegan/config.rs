//! [`CycleGanConfig`] and the adversarial loss of both generator/discriminator pairs.

use candle_core::Tensor;
use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::adversarial::Game;
use crate::objective::{bce_with_logits, Objective};
use crate::tricks::Tricks;
use crate::{Error, Result};

/// The adversarial loss of both generator/discriminator pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdversarialLoss {
    /// LSGAN, the paper's choice.
    LeastSquares,
    /// The logistic loss, non-saturating for the generators.
    NonSaturating,
}

impl AdversarialLoss {
    /// The discriminator's loss on raw patch scores of real and (pooled) generated images,
    /// halved as in the paper "to slow down the rate at which D learns relative to G".
    pub fn discriminator_loss(&self, v_real: &Tensor, v_fake: &Tensor) -> Result<Tensor> {
        let l = match self {
            AdversarialLoss::LeastSquares => {
                (v_real.affine(1.0, -1.0)?.sqr()?.mean_all()? + v_fake.sqr()?.mean_all()?)?
            }
            AdversarialLoss::NonSaturating => {
                (bce_with_logits(v_real, 1.0)? + bce_with_logits(v_fake, 0.0)?)?
            }
        };
        Ok(l.affine(0.5, 0.0)?)
    }

    /// The generator's loss on raw patch scores of its images.
    pub fn generator_loss(&self, v_fake: &Tensor) -> Result<Tensor> {
        match self {
            AdversarialLoss::LeastSquares => Ok(v_fake.affine(1.0, -1.0)?.sqr()?.mean_all()?),
            AdversarialLoss::NonSaturating => bce_with_logits(v_fake, 1.0),
        }
    }
}

/// Hyperparameters of a CycleGAN run on one-channel square images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleGanConfig {
    /// Side of the square images (even, at least 8).
    pub image_size: usize,
    /// Feature maps `k` of the generators' outer layers (`2 k` inside) and of the
    /// discriminators' first layer.
    pub channels: usize,
    /// Residual blocks at half resolution in each generator.
    pub residual_blocks: usize,
    /// The adversarial loss of both generator/discriminator pairs, in the paper's form
    /// (the discriminators' loss halved); unused when `objective` is given.
    pub adversarial: AdversarialLoss,
    /// Any adversarial objective of gm-gan in place of `adversarial` (WGAN's clipping and
    /// WGAN-GP's penalty included), through the one adversarial step, with `tricks`.
    #[serde(default)]
    pub objective: Option<Objective>,
    /// The discriminators' tricks under `objective` (n critic steps, penalties, instance
    /// noise, label smoothing, DiffAugment, historical averaging); feature matching,
    /// spectral normalization and the weight average are refused.
    #[serde(default)]
    pub tricks: Tricks,
    /// `lambda`, the weight of the cycle-consistency loss (10 in the paper).
    pub cycle_weight: f64,
    /// Weight of the identity loss (0: off; the paper's is `0.5 lambda` where used).
    pub identity_weight: f64,
    /// Generated images kept for each discriminator (50 in the paper; 0: no buffer).
    pub pool_size: usize,
    /// One Adam for `G` and `F`, one for `D_X` and `D_Y`, as in the reference code; `lr` is
    /// the rate before the decay.
    pub adam: AdamConfig,
    /// Updates in the whole run: the learning-rate schedule's length.
    pub total_steps: usize,
    /// Fraction of `total_steps` after which the rate decays linearly to 0 (0.5 in the paper).
    pub decay_start: f64,
}

impl Default for CycleGanConfig {
    /// The paper's settings (lambda 10, buffer 50, Adam lr 2e-4, beta1 0.5, decay over the
    /// second half) with networks sized for 28x28 digits on two CPU cores.
    fn default() -> Self {
        Self {
            image_size: 28,
            channels: 8,
            residual_blocks: 2,
            adversarial: AdversarialLoss::LeastSquares,
            objective: None,
            tricks: Tricks::default(),
            cycle_weight: 10.0,
            identity_weight: 0.0,
            pool_size: 50,
            adam: AdamConfig {
                lr: 2e-4,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            total_steps: 1_000,
            decay_start: 0.5,
        }
    }
}

fn non_negative_finite(field: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::config(field, v, "must be finite and >= 0"));
    }
    Ok(())
}

impl CycleGanConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.image_size < 8 || !self.image_size.is_multiple_of(2) {
            return Err(Error::config(
                "image_size",
                self.image_size,
                "must be even and at least 8",
            ));
        }
        if self.channels == 0 {
            return Err(Error::config("channels", 0, "must be at least 1"));
        }
        non_negative_finite("cycle_weight", self.cycle_weight)?;
        non_negative_finite("identity_weight", self.identity_weight)?;
        if self.total_steps == 0 {
            return Err(Error::config("total_steps", 0, "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.decay_start) {
            return Err(Error::config(
                "decay_start",
                self.decay_start,
                "must lie in [0, 1]",
            ));
        }
        match &self.objective {
            Some(o) => Game::new(o, &self.tricks).validate("CycleGAN", false)?,
            None if self.tricks != Tricks::default() => {
                return Err(Error::config(
                    "tricks",
                    "set",
                    "the paper's adversarial loss takes no tricks: give an objective",
                ))
            }
            None => {}
        }
        self.adam.validate()?;
        Ok(())
    }

    /// Shape of one item of the two-domain data set: `[2, s, s]`, X then Y.
    pub fn item_shape(&self) -> Vec<usize> {
        vec![2, self.image_size, self.image_size]
    }
}
