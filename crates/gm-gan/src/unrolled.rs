//! Unrolled GAN (Metz, Poole, Pfau and Sohl-Dickstein 2017). The generator is scored against
//! the critic *after* `k` look-ahead updates `theta_{i+1} = theta_i - eta grad L_D(theta_i)`,
//!
//! ```text
//! f_K(theta_G) = L_G(theta_G, theta_D^K(theta_G, theta_D)),
//! ```
//!
//! and its gradient flows through the updates: `d theta_D^K / d theta_G` is a product of
//! second derivatives of the critic loss, which lets the generator anticipate how the critic
//! would respond and so discourages collapse onto one mode. The first-order surrogate holds
//! `theta_D^K` constant. The look-ahead steps are either plain gradient steps with their own
//! rate, or, as in the paper's reference code, steps of the critic's own Adam continued from
//! its current moments and step count,
//!
//! ```text
//! m_i = b1 m + (1 - b1) g_i,  v_i = b2 v + (1 - b2) g_i^2,
//! theta_{i+1} = theta_i - lr (m_i / (1 - b1^t)) / (sqrt(v_i / (1 - b2^t) + 1e-16) + eps),
//! ```
//!
//! differentiated through as well (the `1e-16` keeps the derivative of the square root finite
//! where a gradient entry and its history are exactly zero). The real update of the critic is
//! untouched either way.
//!
//! For the objectives whose critic loss has a closed-form gradient in the scores (GAN,
//! WGAN, WGAN-GP) each look-ahead gradient is the MLP's backpropagation written out in tensor
//! operations ([`Discriminator::param_gradient_with`]); the others call candle's `backward`,
//! which walks back through every earlier look-ahead step and the generator each time (the
//! cost grows with k^2). Both are differentiated through the same way.
//!
//! The exact (second-order) gradient needs `CANDLE_GRAD_DO_NOT_DETACH=1`, see
//! [`crate::objective::enable_second_order`].

use candle_core::{Tensor, Var};
use gm_core::Adam;
use serde::{Deserialize, Serialize};

use crate::nets::Discriminator;
use crate::objective::Objective;
use crate::{Error, Result};

/// The update rule of the look-ahead steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookAhead {
    /// `theta <- theta - lr grad`, with [`Unrolled::lr`].
    #[default]
    Sgd,
    /// The critic's Adam (its hyperparameters, moments and step count), as in the paper.
    Adam,
}

/// Look-ahead settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Unrolled {
    /// Look-ahead updates `k` (5 and 10 in the paper).
    pub steps: usize,
    /// Rate of the look-ahead gradient steps ([`LookAhead::Sgd`] only).
    pub lr: f64,
    /// Differentiate through the updates (true) or use the first-order surrogate.
    pub second_order: bool,
    /// The update rule of the look-ahead steps (absent from a saved config: SGD).
    #[serde(default)]
    pub optimizer: LookAhead,
}

/// The most look-ahead steps accepted: each keeps a copy of the critic's graph alive.
pub const MAX_UNROLL_STEPS: usize = 100;

impl Unrolled {
    /// `k` exact look-ahead steps of rate 0.1 (a rate of 0.5 made k = 10 diverge on the
    /// 2-D mixtures).
    pub fn new(steps: usize) -> Self {
        Self {
            steps,
            lr: 0.1,
            second_order: true,
            optimizer: LookAhead::Sgd,
        }
    }

    /// `k` exact look-ahead steps of the critic's own Adam (Metz et al.'s reference code).
    pub fn adam(steps: usize) -> Self {
        Self {
            optimizer: LookAhead::Adam,
            ..Self::new(steps)
        }
    }

    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.steps > MAX_UNROLL_STEPS {
            return Err(Error::config(
                "unrolled.steps",
                self.steps,
                "must lie in 1..=100",
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config(
                "unrolled.lr",
                self.lr,
                "must be finite and > 0",
            ));
        }
        Ok(())
    }
}

/// The critic's parameters after `cfg.steps` look-ahead steps on `objective`'s critic loss
/// with the batches `real` and `fake` (network space). With `cfg.second_order` the result is
/// a function of the critic's variables and of whatever `fake` depends on (the generator);
/// otherwise it is detached. [`LookAhead::Adam`] needs the critic's optimizer `critic_opt`.
pub fn unrolled_params(
    d: &Discriminator,
    objective: &Objective,
    real: &Tensor,
    fake: &Tensor,
    real_target: f64,
    cfg: &Unrolled,
    critic_opt: Option<&Adam>,
) -> Result<Vec<Tensor>> {
    cfg.validate()?;
    let mut adam = match (cfg.optimizer, critic_opt) {
        (LookAhead::Sgd, _) => None,
        (LookAhead::Adam, None) => {
            return Err(Error::config(
                "unrolled.optimizer",
                "adam",
                "the Adam look-ahead needs the critic's optimizer",
            ))
        }
        (LookAhead::Adam, Some(opt)) => Some(AdamLookAhead::new(opt, d)?),
    };
    let real = real.detach();
    let fake = if cfg.second_order {
        fake.clone()
    } else {
        fake.detach()
    };
    let n_real = real.dim(0)?;
    let both = Tensor::cat(&[&real, &fake], 0)?;
    let fresh = |ps: &[Tensor]| -> Vec<Tensor> { ps.iter().map(|p| p.detach()).collect() };
    let mut params = if cfg.second_order {
        d.params()?
    } else {
        fresh(&d.params()?)
    };
    let split = |scores: &Tensor| -> Result<(Tensor, Tensor)> {
        Ok((
            scores.narrow(0, 0, n_real)?,
            scores.narrow(0, n_real, scores.dim(0)? - n_real)?,
        ))
    };
    // Where the critic loss has a closed-form gradient in the scores, the look-ahead
    // gradients are backpropagation written out in tensor operations: a `backward` pass would
    // also walk back through every earlier look-ahead step and the generator, each step.
    let closed_form = objective.has_critic_score_gradient();
    for _ in 0..cfg.steps {
        // One pass over both batches (the MLP critic scores each row on its own).
        let grads = if closed_form {
            d.param_gradient_with(&params, &both, |scores| {
                let (v_real, v_fake) = split(scores)?;
                let (g_real, g_fake) = objective
                    .critic_score_gradient(&v_real, &v_fake, real_target)?
                    .ok_or_else(|| {
                        Error::config("objective", objective.name(), "no closed-form gradient")
                    })?;
                Ok(Tensor::cat(&[g_real, g_fake], 0)?)
            })?
        } else {
            autograd_gradient(d, objective, &params, &both, &split, real_target)?
        };
        let mut next = Vec::with_capacity(params.len());
        if let Some(a) = adam.as_mut() {
            a.t += 1;
        }
        for (i, (p, g)) in params.iter().zip(&grads).enumerate() {
            let g = if cfg.second_order {
                g.clone()
            } else {
                g.detach()
            };
            next.push(match adam.as_mut() {
                None => (p - g.affine(cfg.lr, 0.0)?)?,
                Some(a) => (p - a.update(i, &g)?)?,
            });
        }
        params = if cfg.second_order { next } else { fresh(&next) };
    }
    if !cfg.second_order {
        params = params.iter().map(|p| p.detach()).collect();
    }
    Ok(params)
}

/// The critic loss's gradient at `params` by candle's `backward`. candle keeps gradients of
/// variables only, and the look-ahead parameters are intermediate tensors: each is read
/// through `p + delta` with `delta` a zero-valued variable, whose gradient is exactly dL/dp
/// (and, under second order, stays a function of p and of the generated batch).
fn autograd_gradient(
    d: &Discriminator,
    objective: &Objective,
    params: &[Tensor],
    both: &Tensor,
    split: &dyn Fn(&Tensor) -> Result<(Tensor, Tensor)>,
    real_target: f64,
) -> Result<Vec<Tensor>> {
    let deltas: Vec<Var> = params
        .iter()
        .map(|p| Var::from_tensor(&p.zeros_like()?))
        .collect::<candle_core::Result<_>>()?;
    let read: Vec<Tensor> = params
        .iter()
        .zip(&deltas)
        .map(|(p, d)| p + d.as_tensor())
        .collect::<candle_core::Result<_>>()?;
    let (v_real, v_fake) = split(&d.forward_with(&read, both)?)?;
    let grads = objective
        .critic_loss(&v_real, &v_fake, real_target)?
        .backward()?;
    deltas
        .iter()
        .map(|delta| {
            grads.get(delta.as_tensor()).cloned().ok_or_else(|| {
                Error::config("unrolled", "no gradient", "a critic parameter is unused")
            })
        })
        .collect()
}

/// The critic's Adam state, continued through the look-ahead steps.
struct AdamLookAhead {
    cfg: gm_core::AdamConfig,
    t: u64,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl AdamLookAhead {
    /// The moments of `opt` in the order of [`Discriminator::params`].
    fn new(opt: &Adam, d: &Discriminator) -> Result<Self> {
        let state = opt.state_tensors("")?;
        let params = d.params()?;
        let (mut m, mut v) = (Vec::new(), Vec::new());
        for (name, p) in d.param_names()?.iter().zip(&params) {
            let get = |k: String| -> Result<Tensor> {
                let t = state.get(&k).ok_or_else(|| {
                    Error::config(
                        "unrolled.optimizer",
                        k.clone(),
                        "the critic's Adam lacks this moment",
                    )
                })?;
                Ok(t.to_device(p.device())?.to_dtype(p.dtype())?.detach())
            };
            m.push(get(format!("m.{name}"))?);
            v.push(get(format!("v.{name}"))?);
        }
        Ok(Self {
            cfg: *opt.config(),
            t: opt.steps(),
            m,
            v,
        })
    }

    /// The Adam step of parameter `i` for gradient `g` (moments advanced, step count `t`
    /// already advanced for this look-ahead step).
    fn update(&mut self, i: usize, g: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        let m = (self.m[i].affine(c.beta1, 0.0)? + g.affine(1.0 - c.beta1, 0.0)?)?;
        let v = (self.v[i].affine(c.beta2, 0.0)? + g.sqr()?.affine(1.0 - c.beta2, 0.0)?)?;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        let denom = (v.affine(1.0 / bc2, 1e-16)?.sqrt()? + c.eps)?;
        let step = m.affine(c.lr / bc1, 0.0)?.div(&denom)?;
        self.m[i] = m;
        self.v[i] = v;
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unroll_steps_must_be_in_range() {
        for k in [0, MAX_UNROLL_STEPS + 1] {
            assert!(matches!(
                Unrolled::new(k).validate(),
                Err(Error::Config {
                    field: "unrolled.steps",
                    ..
                })
            ));
        }
        Unrolled::new(5).validate().unwrap();
    }

    #[test]
    fn unroll_lr_must_be_positive() {
        let u = Unrolled {
            lr: 0.0,
            ..Unrolled::new(5)
        };
        assert!(matches!(
            u.validate(),
            Err(Error::Config {
                field: "unrolled.lr",
                ..
            })
        ));
    }
}
