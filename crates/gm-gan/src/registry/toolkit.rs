//! The user's choice of adversarial loss and tricks for any model (`--loss`, `--ema`, `--r1`,
//! `--r2`, `--diff-augment`, `--spectral-norm`, `--autograd`).

use crate::{Augment, Error, GanGeneratorLoss, Objective, Result, Tricks};

/// Losses and tricks chosen for a run; each one left out keeps the model's recipe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Toolkit {
    /// The adversarial loss ([`Toolkit::parse_loss`]).
    pub loss: Option<Objective>,
    /// The generator's weight average: its decay and the updates before it starts.
    pub ema: Option<(f64, u64)>,
    /// The weight of the R1 penalty on real images.
    pub r1: Option<f64>,
    /// The weight of the R2 penalty on generated images.
    pub r2: Option<f64>,
    /// The DiffAugment policy.
    pub diff_augment: Option<Vec<Augment>>,
    /// Spectral normalization of every critic layer.
    pub spectral_norm: bool,
    /// Train through candle's autograd rather than a written-out step.
    pub autograd: bool,
}

impl Toolkit {
    /// The loss called `name`: `gan` (non-saturating), `hinge`, `lsgan`, `wgan` (clipping
    /// 0.01) or `wgan-gp` (penalty 10).
    pub fn parse_loss(name: &str) -> Result<Objective> {
        Ok(match name {
            "gan" => Objective::Gan {
                generator_loss: GanGeneratorLoss::NonSaturating,
            },
            "hinge" => Objective::Hinge,
            "lsgan" => Objective::LeastSquares,
            "wgan" => Objective::Wgan { clip: 0.01 },
            "wgan-gp" => Objective::WganGp { penalty: 10.0 },
            other => {
                return Err(Error::Config {
                    field: "--loss",
                    value: other.to_string(),
                    reason: "use gan, hinge, lsgan, wgan or wgan-gp",
                })
            }
        })
    }

    /// A model's game with the choices made: the loss replaces `objective`, the tricks set
    /// their fields of `tricks` (the model's configuration then refuses, by name, what it
    /// cannot take).
    pub fn apply(&self, objective: &mut Objective, tricks: &mut Tricks) {
        if let Some(loss) = &self.loss {
            *objective = loss.clone();
        }
        if let Some((decay, start)) = self.ema {
            tricks.ema_decay = decay;
            tricks.ema_start = start;
        }
        tricks.spectral_norm |= self.spectral_norm;
        tricks.r1 = self.r1.unwrap_or(tricks.r1);
        tricks.r2 = self.r2.unwrap_or(tricks.r2);
        if let Some(p) = &self.diff_augment {
            tricks.diff_augment = p.clone();
        }
    }
}
