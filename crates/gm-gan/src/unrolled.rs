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
//! `theta_D^K` constant. The look-ahead steps here are plain gradient steps with their own
//! rate (the paper reuses the critic's Adam); the real update of the critic is untouched.
//!
//! The exact (second-order) gradient needs `CANDLE_GRAD_DO_NOT_DETACH=1`, see
//! [`crate::objective::enable_second_order`].

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::nets::Discriminator;
use crate::objective::Objective;
use crate::{Error, Result};

/// Look-ahead settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Unrolled {
    /// Look-ahead updates `k` (5 and 10 in the paper).
    pub steps: usize,
    /// Rate of the look-ahead gradient steps.
    pub lr: f64,
    /// Differentiate through the updates (true) or use the first-order surrogate.
    pub second_order: bool,
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
/// otherwise it is detached.
pub fn unrolled_params(
    d: &Discriminator,
    objective: &Objective,
    real: &Tensor,
    fake: &Tensor,
    real_target: f64,
    cfg: &Unrolled,
) -> Result<Vec<Tensor>> {
    cfg.validate()?;
    let real = real.detach();
    let fake = if cfg.second_order {
        fake.clone()
    } else {
        fake.detach()
    };
    let fresh = |ps: &[Tensor]| -> Vec<Tensor> { ps.iter().map(|p| p.detach()).collect() };
    let mut params = if cfg.second_order {
        d.params()?
    } else {
        fresh(&d.params()?)
    };
    for _ in 0..cfg.steps {
        // candle keeps gradients of variables only, and the look-ahead parameters are
        // intermediate tensors: each is read through `p + delta` with `delta` a zero-valued
        // variable, whose gradient is exactly dL/dp (and, under second order, stays a function
        // of p and of the generated batch).
        let deltas: Vec<Var> = params
            .iter()
            .map(|p| Var::from_tensor(&p.zeros_like()?))
            .collect::<candle_core::Result<_>>()?;
        let read: Vec<Tensor> = params
            .iter()
            .zip(&deltas)
            .map(|(p, d)| p + d.as_tensor())
            .collect::<candle_core::Result<_>>()?;
        let loss = objective.critic_loss(
            &d.forward_with(&read, &real)?,
            &d.forward_with(&read, &fake)?,
            real_target,
        )?;
        let grads = loss.backward()?;
        let mut next = Vec::with_capacity(params.len());
        for (p, delta) in params.iter().zip(&deltas) {
            let g = grads.get(delta.as_tensor()).ok_or_else(|| {
                Error::config("unrolled", "no gradient", "a critic parameter is unused")
            })?;
            next.push((p - g.affine(cfg.lr, 0.0)?)?);
        }
        params = if cfg.second_order { next } else { fresh(&next) };
    }
    if !cfg.second_order {
        params = params.iter().map(|p| p.detach()).collect();
    }
    Ok(params)
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
