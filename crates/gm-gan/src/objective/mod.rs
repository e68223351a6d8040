//! The objectives of the one training loop. Each is a pair of losses on raw critic scores
//! `v = D(x)` (or, for the non-adversarial generators, one loss on two samples):
//!
//! | objective | critic loss | generator loss |
//! |---|---|---|
//! | GAN (Goodfellow et al. 2014) | `BCE(v_r, 1) + BCE(v_f, 0)` | minimax `E log(1 - s(v_f))` or non-saturating `-E log s(v_f)` |
//! | f-GAN (Nowozin et al. 2016) | `-(E g_f(v_r) - E f*(g_f(v_f)))` | `-E f*(g_f(v_f))` or non-saturating `-E g_f(v_f)` |
//! | omega/rho cost A, B, C | `-(E phi(D(v_r)) + E psi(D(v_f)))` | `E psi(D(v_f))` |
//! | WGAN (Arjovsky et al. 2017) | `E v_f - E v_r`, weights clipped to `[-c, c]` | `-E v_f` |
//! | WGAN-GP (Gulrajani et al. 2017) | WGAN + `lambda E (\|grad_x v(x_hat)\| - 1)^2` | `-E v_f` |
//! | hinge (Lim and Ye 2017, Miyato et al. 2018) | `E max(0, 1 - v_r) + E max(0, 1 + v_f)` | `-E v_f` |
//! | least squares (Mao et al. 2017, a = 0, b = c = 1) | `(E (v_r - 1)^2 + E v_f^2) / 2` | `E (v_f - 1)^2 / 2` |
//! | kernel generator | none | `-log J`, `J` the Cauchy-Schwarz ratio |
//! | MMD (GMMN, Li et al. 2015) | none | unbiased `MMD^2` |
//!
//! `s` is the logistic sigmoid and BCE the stable binary cross-entropy on logits
//! [`bce_with_logits`]. The losses of gm-divergence are used as they are; the omega/rho costs
//! follow its convention (D large where x looks generated).
//!
//! The gradient penalty differentiates a gradient, which candle only allows when
//! `CANDLE_GRAD_DO_NOT_DETACH=1` is set before the first backward pass on the thread:
//! [`enable_second_order`] sets it and proves it took effect.

use candle_core::Tensor;
use gm_divergence::f_divergence::softplus_tensor as softplus;
use gm_divergence::{
    cauchy_schwarz_ratio, fgan_critic_loss, fgan_generator_loss,
    fgan_generator_loss_non_saturating, mmd2_unbiased, DiscriminatorCost, Divergence, Kernel,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod penalty;

pub use penalty::{
    enable_second_order, gradient_norm_penalty, gradient_penalty, second_order_available,
    SECOND_ORDER_ENV,
};

/// The closed-form discriminator costs of the omega/rho family: the notes' A, B, C and the
/// mean square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OmegaCost {
    /// Density ratio: `omega(r) = r`, `rho = 1`, `phi(t) = -t^2 / 2`, `psi(t) = t`, so
    /// `D* = g / f`.
    A,
    /// Exponential: `phi(t) = -e^t`, `psi(t) = -e^(-t)`.
    B,
    /// Cross entropy (the GAN cost): `phi(t) = log(1 - t)`, `psi(t) = log t`.
    C,
    /// Mean square: `phi(t) = -t^2`, `psi(t) = -(1 - t)^2`, `D* = g / (f + g)`.
    MeanSquare,
}

impl OmegaCost {
    /// The cost's name in words.
    pub fn cost_name(&self) -> &'static str {
        match self {
            OmegaCost::A => "density ratio",
            OmegaCost::MeanSquare => "mean square",
            OmegaCost::B => "exponential",
            OmegaCost::C => "cross entropy",
        }
    }

    /// The gm-divergence cost.
    pub fn cost(&self) -> DiscriminatorCost {
        match self {
            OmegaCost::A => DiscriminatorCost::Ratio,
            OmegaCost::MeanSquare => DiscriminatorCost::MeanSquare,
            OmegaCost::B => DiscriminatorCost::Exponential,
            OmegaCost::C => DiscriminatorCost::CrossEntropy,
        }
    }
}

/// A user-defined omega/rho cost ([`DiscriminatorCost::custom`]) as a GAN objective. Its
/// functions live in code: a config records its name, and reading such a config back is an
/// error that says so.
#[derive(Debug, Clone)]
pub struct CustomCost(pub DiscriminatorCost);

impl PartialEq for CustomCost {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Serialize for CustomCost {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.name())
    }
}

impl<'de> Deserialize<'de> for CustomCost {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Err(serde::de::Error::custom(format!(
            "the custom omega/rho cost `{name}` is defined in code and cannot be read from a \
             config: build it with DiscriminatorCost::custom"
        )))
    }
}

/// The generator loss of the original GAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GanGeneratorLoss {
    /// `E log(1 - D(G(z)))`, the minimax game (saturates when D wins).
    Minimax,
    /// `-E log D(G(z))`, the heuristic of Goodfellow et al. section 3.
    NonSaturating,
}

/// What the generator and the critic optimise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Objective {
    /// The original GAN (Goodfellow et al. 2014): binary cross-entropy for the critic.
    Gan {
        /// The generator's loss: minimax or non-saturating.
        generator_loss: GanGeneratorLoss,
    },
    /// f-GAN (Nowozin et al. 2016): the variational bound of an f-divergence.
    FGan {
        /// The f-divergence the critic estimates.
        divergence: Divergence,
        /// Generator loss `-E g_f(v)` instead of `-E f*(g_f(v))`.
        non_saturating: bool,
    },
    /// One of the closed-form omega/rho discriminator costs.
    OmegaRho {
        /// The cost: A, B, C or the mean square.
        cost: OmegaCost,
    },
    /// Any omega/rho cost, a user-defined one included.
    OmegaRhoCustom {
        /// The cost, defined in code (a config records only its name).
        cost: CustomCost,
    },
    /// WGAN with the critic's weights clipped to `[-clip, clip]` after each update.
    Wgan {
        /// The clipping bound `c`, finite and positive.
        clip: f64,
    },
    /// WGAN with the gradient penalty of weight `penalty` (10 in the paper).
    WganGp {
        /// The penalty weight `lambda`, finite and positive.
        penalty: f64,
    },
    /// The hinge loss of geometric GAN and SN-GAN.
    Hinge,
    /// LSGAN's least squares with targets 0 (generated) and 1 (real).
    LeastSquares,
    /// The non-adversarial kernel generator: maximise the Cauchy-Schwarz ratio of a sum of
    /// Gaussian kernels (loss `-log J`).
    CauchySchwarz {
        /// The Gaussian kernels' bandwidths `s` in `exp(-d^2 / (2 s^2))`, at least one, each
        /// finite and positive.
        bandwidths: Vec<f64>,
    },
    /// GMMN: minimise the unbiased MMD^2 of a sum of Gaussian kernels.
    Mmd {
        /// The Gaussian kernels' bandwidths `s` in `exp(-d^2 / (2 s^2))`, at least one, each
        /// finite and positive.
        bandwidths: Vec<f64>,
    },
}

impl Default for Objective {
    fn default() -> Self {
        Objective::Gan {
            generator_loss: GanGeneratorLoss::NonSaturating,
        }
    }
}

/// The bandwidths of Li, Swersky and Zemel (2015) for MNIST pixels in `[0, 1]`.
pub const GMMN_MNIST_BANDWIDTHS: [f64; 6] = [2.0, 5.0, 10.0, 20.0, 40.0, 80.0];

fn positive_finite(field: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::config(field, v, "must be finite and > 0"));
    }
    Ok(())
}

impl Objective {
    /// A short name for tables and file names.
    pub fn name(&self) -> String {
        match self {
            Objective::Gan {
                generator_loss: GanGeneratorLoss::Minimax,
            } => "gan-minimax".into(),
            Objective::Gan {
                generator_loss: GanGeneratorLoss::NonSaturating,
            } => "gan".into(),
            Objective::FGan { divergence, .. } => match divergence.validate() {
                Ok(()) => format!("f-gan ({})", divergence.name()),
                Err(_) => "f-gan (invalid)".into(),
            },
            Objective::OmegaRho { cost } => format!("omega-rho {cost:?}"),
            Objective::OmegaRhoCustom { cost } => format!("omega-rho {}", cost.0.name()),
            Objective::Wgan { .. } => "wgan".into(),
            Objective::WganGp { .. } => "wgan-gp".into(),
            Objective::Hinge => "hinge".into(),
            Objective::LeastSquares => "lsgan".into(),
            Objective::CauchySchwarz { .. } => "kernel-generator".into(),
            Objective::Mmd { .. } => "mmd".into(),
        }
    }

    /// Checks the objective's parameters; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        match self {
            Objective::FGan { divergence, .. } => divergence.validate()?,
            Objective::Wgan { clip } => positive_finite("objective.clip", *clip)?,
            Objective::WganGp { penalty } => positive_finite("objective.penalty", *penalty)?,
            Objective::CauchySchwarz { bandwidths } | Objective::Mmd { bandwidths } => {
                if bandwidths.is_empty() {
                    return Err(Error::config(
                        "objective.bandwidths",
                        "[]",
                        "needs at least one bandwidth",
                    ));
                }
                for &b in bandwidths {
                    positive_finite("objective.bandwidths", b)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether a critic is trained (false for the kernel and MMD generators).
    pub fn is_adversarial(&self) -> bool {
        !matches!(
            self,
            Objective::CauchySchwarz { .. } | Objective::Mmd { .. }
        )
    }

    /// Whether the critic loss differentiates a gradient (the gradient penalty).
    pub fn needs_second_order(&self) -> bool {
        matches!(self, Objective::WganGp { .. })
    }

    /// Whether the critic's real targets can be smoothed (the logistic GAN objectives).
    pub fn supports_label_smoothing(&self) -> bool {
        matches!(self, Objective::Gan { .. })
    }

    /// The critic's loss from raw scores on real and generated items, without the gradient
    /// penalty (see [`gradient_penalty`]). `real_target` is 1, or `1 - s` under one-sided
    /// label smoothing (GAN only).
    pub fn critic_loss(
        &self,
        v_real: &Tensor,
        v_fake: &Tensor,
        real_target: f64,
    ) -> Result<Tensor> {
        Ok(match self {
            Objective::Gan { .. } => {
                (bce_with_logits(v_real, real_target)? + bce_with_logits(v_fake, 0.0)?)?
            }
            Objective::FGan { divergence, .. } => fgan_critic_loss(*divergence, v_real, v_fake)?,
            Objective::OmegaRho { cost } => cost.cost().cost_from_logits(v_real, v_fake)?.neg()?,
            Objective::OmegaRhoCustom { cost } => cost.0.cost_from_logits(v_real, v_fake)?.neg()?,
            Objective::Wgan { .. } | Objective::WganGp { .. } => {
                (v_fake.mean_all()? - v_real.mean_all()?)?
            }
            Objective::Hinge => {
                (v_real.affine(-1.0, 1.0)?.relu()?.mean_all()?
                    + v_fake.affine(1.0, 1.0)?.relu()?.mean_all()?)?
            }
            Objective::LeastSquares => (v_real.affine(1.0, -1.0)?.sqr()?.mean_all()?
                + v_fake.sqr()?.mean_all()?)?
            .affine(0.5, 0.0)?,
            Objective::CauchySchwarz { .. } | Objective::Mmd { .. } => {
                return Err(Error::config(
                    "objective",
                    self.name(),
                    "a non-adversarial objective has no critic",
                ))
            }
        })
    }

    /// Whether [`Objective::critic_score_gradient`] has a closed form for this objective.
    pub fn has_critic_score_gradient(&self) -> bool {
        matches!(
            self,
            Objective::Gan { .. }
                | Objective::Wgan { .. }
                | Objective::WganGp { .. }
                | Objective::Hinge
                | Objective::LeastSquares
        )
    }

    /// The gradients of [`Objective::critic_loss`] with respect to the raw scores on real and
    /// on generated items, in closed form, where the objective has one (GAN, WGAN, WGAN-GP,
    /// hinge, least squares); `None` otherwise. Differentiable in the scores (the hinge's
    /// step functions almost everywhere).
    pub fn critic_score_gradient(
        &self,
        v_real: &Tensor,
        v_fake: &Tensor,
        real_target: f64,
    ) -> Result<Option<(Tensor, Tensor)>> {
        let nr = v_real.elem_count() as f64;
        let nf = v_fake.elem_count() as f64;
        Ok(match self {
            // d/dv mean(softplus(v) - y v) = (sigmoid(v) - y) / n.
            Objective::Gan { .. } => Some((
                sigmoid(v_real)?.affine(1.0 / nr, -real_target / nr)?,
                sigmoid(v_fake)?.affine(1.0 / nf, 0.0)?,
            )),
            Objective::Wgan { .. } | Objective::WganGp { .. } => Some((
                v_real.ones_like()?.affine(-1.0 / nr, 0.0)?,
                v_fake.ones_like()?.affine(1.0 / nf, 0.0)?,
            )),
            // d/dv mean max(0, 1 - v) = -[v < 1] / n; d/dv mean max(0, 1 + v) = [v > -1] / n.
            Objective::Hinge => Some((
                v_real
                    .lt(1.0)?
                    .to_dtype(v_real.dtype())?
                    .affine(-1.0 / nr, 0.0)?,
                v_fake
                    .gt(-1.0)?
                    .to_dtype(v_fake.dtype())?
                    .affine(1.0 / nf, 0.0)?,
            )),
            // d/dv mean (v - 1)^2 / 2 = (v - 1) / n; d/dv mean v^2 / 2 = v / n.
            Objective::LeastSquares => Some((
                v_real.affine(1.0 / nr, -1.0 / nr)?,
                v_fake.affine(1.0 / nf, 0.0)?,
            )),
            _ => None,
        })
    }

    /// The generator's loss from raw critic scores on generated items.
    pub fn generator_loss(&self, v_fake: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Objective::Gan {
                generator_loss: GanGeneratorLoss::Minimax,
            } => softplus(v_fake)?.mean_all()?.neg()?,
            Objective::Gan {
                generator_loss: GanGeneratorLoss::NonSaturating,
            } => bce_with_logits(v_fake, 1.0)?,
            Objective::FGan {
                divergence,
                non_saturating,
            } => {
                let d = *divergence;
                if *non_saturating {
                    fgan_generator_loss_non_saturating(d, v_fake)?
                } else {
                    fgan_generator_loss(d, v_fake)?
                }
            }
            // psi(sigmoid v) = log sigmoid(v) = -softplus(-v), in the stable form.
            Objective::OmegaRho { cost: OmegaCost::C } => {
                softplus(&v_fake.neg()?)?.mean_all()?.neg()?
            }
            Objective::OmegaRho { cost } => {
                let c = cost.cost();
                c.generator_loss(&c.activation_tensor(v_fake)?)?
            }
            Objective::OmegaRhoCustom { cost } => {
                cost.0.generator_loss(&cost.0.activation_tensor(v_fake)?)?
            }
            Objective::Wgan { .. } | Objective::WganGp { .. } | Objective::Hinge => {
                v_fake.mean_all()?.neg()?
            }
            Objective::LeastSquares => v_fake
                .affine(1.0, -1.0)?
                .sqr()?
                .mean_all()?
                .affine(0.5, 0.0)?,
            Objective::CauchySchwarz { .. } | Objective::Mmd { .. } => {
                return Err(Error::config(
                    "objective",
                    self.name(),
                    "a non-adversarial objective has no critic scores",
                ))
            }
        })
    }

    /// The loss of a non-adversarial generator from real and generated batches `(n, ...)`.
    pub fn kernel_loss(&self, real: &Tensor, fake: &Tensor) -> Result<Tensor> {
        let (real, fake) = (real.flatten_from(1)?, fake.flatten_from(1)?);
        Ok(match self {
            Objective::CauchySchwarz { bandwidths } => {
                let k = Kernel::gaussian(bandwidths)?;
                cauchy_schwarz_ratio(&k, &real, &fake)?.log()?.neg()?
            }
            Objective::Mmd { bandwidths } => {
                let k = Kernel::gaussian(bandwidths)?;
                mmd2_unbiased(&k, &real, &fake)?
            }
            _ => {
                return Err(Error::config(
                    "objective",
                    self.name(),
                    "an adversarial objective has no kernel loss",
                ))
            }
        })
    }
}

/// `1 / (1 + exp(-x))` as `exp(min(x, 0)) / (1 + exp(-|x|))`: no overflow for any `x`, and
/// differentiable with candle's own operations.
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    let num = x.neg()?.relu()?.neg()?.exp()?;
    let den = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?;
    Ok((num / den)?)
}

/// Mean binary cross-entropy of logits `x` against a constant target `y`, in the stable
/// form `max(x, 0) - x y + log(1 + e^(-|x|))` (candle's own version overflows).
pub fn bce_with_logits(x: &Tensor, y: f64) -> Result<Tensor> {
    let tail = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    let l = ((x.relu()? - x.affine(y, 0.0)?)? + tail)?;
    Ok(l.mean_all()?)
}

#[cfg(test)]
mod tests;
