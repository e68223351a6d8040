//! The omega/rho family of discriminator costs. With `f` the data density and `g` the
//! generator density, a discriminator `D` is scored by
//!
//! ```text
//! J(D) = E_f[ phi(D(x)) ] + E_g[ psi(D(x)) ],     psi'(t) = rho(t),
//!                                                  phi'(t) = -omega^{-1}(t) rho(t),
//! ```
//!
//! for a strictly increasing `omega: (0, inf) -> R` and a positive `rho` on its range.
//! Maximising `f phi(D) + g psi(D)` at each x: stationarity
//! `rho(D) (g - f omega^{-1}(D)) = 0` gives `omega^{-1}(D) = g / f`, that is
//!
//! ```text
//! D*(x) = omega( g(x) / f(x) ),
//! ```
//!
//! and the second derivative `-f rho(D*) (omega^{-1})'(D*) < 0` makes it the unique maximum.
//! Where `f = g`, `D* = omega(1)` everywhere and `max J = phi(omega(1)) + psi(omega(1))`.
//!
//! Convention: D is large where x looks *generated* (D* increases with g / f). The built-ins:
//!
//! | cost | omega(r) | rho(t) | phi(t) | psi(t) | D* |
//! |---|---|---|---|---|---|
//! | A density ratio | r | 1 | -t^2 / 2 | t | g / f |
//! | B exponential | log(r) / 2 | e^(-t) | -e^t | -e^(-t) | log(g / f) / 2 |
//! | C cross entropy | r / (1 + r) | 1 / t | log(1 - t) | log t | g / (f + g) |
//! | mean square | r / (1 + r) | 2 (1 - t) | -t^2 | -(1 - t)^2 | g / (f + g) |
//!
//! A, B and C are the lecture notes' three examples; A's discriminator estimates the density
//! ratio itself. The mean-square pair is the least-squares cost with `D* = g / (f + g)`.
//!
//! C is the GAN cost of Goodfellow et al. (2014) with `D_GAN = 1 - D`: `E_f log D_GAN +
//! E_g log(1 - D_GAN)`, whose maximiser is `D_GAN* = f / (f + g)`. A user-defined pair
//! (omega, rho) gets phi and psi by numerical integration from `t0 = omega(1)`, where both
//! are set to 0 (phi and psi are defined up to additive constants).

use gm_core::ToHostF64;
use std::fmt;
use std::sync::Arc;

use candle_core::Tensor;

use crate::f_divergence::softplus_tensor;
use crate::quadrature::{integrate, QuadratureConfig};
use crate::{Error, Result};

/// A real function shared between threads.
pub type ScalarFn = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// A user-defined (omega, rho) pair, validated on construction.
#[derive(Clone)]
pub struct CustomCost {
    name: String,
    omega: ScalarFn,
    rho: ScalarFn,
    lower: f64,
    upper: f64,
}

impl fmt::Debug for CustomCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomCost")
            .field("name", &self.name)
            .field("range", &(self.lower, self.upper))
            .finish()
    }
}

/// A discriminator cost of the omega/rho family.
#[derive(Debug, Clone)]
pub enum DiscriminatorCost {
    /// A: `omega(r) = r`, `rho = 1`, `phi(t) = -t^2 / 2`, `psi(t) = t`, D in (0, inf).
    Ratio,
    /// Mean square: `phi(t) = -t^2`, `psi(t) = -(1 - t)^2`, D in (0, 1).
    MeanSquare,
    /// B: `phi(t) = -e^t`, `psi(t) = -e^(-t)`, D in R.
    Exponential,
    /// C: `phi(t) = log(1 - t)`, `psi(t) = log t`, D in (0, 1).
    CrossEntropy,
    /// A user-defined (omega, rho).
    Custom(CustomCost),
}

/// Ratios between `RATIO_MIN` and `RATIO_MAX` bound the numerical inverse of a custom omega.
const RATIO_MIN: f64 = 1e-12;
const RATIO_MAX: f64 = 1e12;

impl DiscriminatorCost {
    /// A user-defined cost. `omega` must be finite and strictly increasing on (0, inf) and
    /// `rho` finite and positive on its range; both are checked on a log grid of ratios
    /// from 1e-6 to 1e6.
    pub fn custom(
        name: impl Into<String>,
        omega: impl Fn(f64) -> f64 + Send + Sync + 'static,
        rho: impl Fn(f64) -> f64 + Send + Sync + 'static,
    ) -> Result<Self> {
        let mut prev: Option<(f64, f64)> = None;
        for k in -60..=60 {
            let r = 10f64.powf(k as f64 / 10.0);
            let w = omega(r);
            if !w.is_finite() {
                return Err(Error::NonFinite {
                    what: "omega",
                    at: r,
                    value: w,
                });
            }
            if let Some((r0, w0)) = prev {
                if w <= w0 {
                    return Err(Error::OmegaNotIncreasing {
                        r0,
                        w0,
                        r1: r,
                        w1: w,
                    });
                }
            }
            let p = rho(w);
            if !(p.is_finite() && p > 0.0) {
                return Err(Error::RhoNotPositive { t: w, value: p });
            }
            prev = Some((r, w));
        }
        Ok(DiscriminatorCost::Custom(CustomCost {
            name: name.into(),
            lower: omega(RATIO_MIN),
            upper: omega(RATIO_MAX),
            omega: Arc::new(omega),
            rho: Arc::new(rho),
        }))
    }

    /// The notes' three costs A, B, C.
    pub fn builtins() -> [DiscriminatorCost; 3] {
        [
            DiscriminatorCost::Ratio,
            DiscriminatorCost::Exponential,
            DiscriminatorCost::CrossEntropy,
        ]
    }

    /// Every closed-form cost: A, B, C and the mean square.
    pub fn closed_forms() -> [DiscriminatorCost; 4] {
        [
            DiscriminatorCost::Ratio,
            DiscriminatorCost::Exponential,
            DiscriminatorCost::CrossEntropy,
            DiscriminatorCost::MeanSquare,
        ]
    }

    /// A short name of the cost for tables and plots.
    pub fn name(&self) -> String {
        match self {
            DiscriminatorCost::Ratio => "A (density ratio)".into(),
            DiscriminatorCost::MeanSquare => "mean square".into(),
            DiscriminatorCost::Exponential => "B (exponential)".into(),
            DiscriminatorCost::CrossEntropy => "C (cross entropy)".into(),
            DiscriminatorCost::Custom(c) => c.name.clone(),
        }
    }

    /// The open interval where D lives: the range of omega (for a custom cost, omega at
    /// ratios 1e-12 and 1e12).
    pub fn domain(&self) -> (f64, f64) {
        match self {
            DiscriminatorCost::MeanSquare | DiscriminatorCost::CrossEntropy => (0.0, 1.0),
            DiscriminatorCost::Ratio => (0.0, f64::INFINITY),
            DiscriminatorCost::Exponential => (f64::NEG_INFINITY, f64::INFINITY),
            DiscriminatorCost::Custom(c) => (c.lower, c.upper),
        }
    }

    /// `omega(r)`, r = g / f > 0.
    pub fn omega(&self, r: f64) -> f64 {
        match self {
            DiscriminatorCost::MeanSquare | DiscriminatorCost::CrossEntropy => r / (1.0 + r),
            DiscriminatorCost::Ratio => r,
            DiscriminatorCost::Exponential => 0.5 * r.ln(),
            DiscriminatorCost::Custom(c) => (c.omega)(r),
        }
    }

    /// `omega^{-1}(t)`; NaN outside the range of omega. Custom costs invert by bisection in
    /// log r.
    pub fn omega_inverse(&self, t: f64) -> f64 {
        match self {
            DiscriminatorCost::MeanSquare | DiscriminatorCost::CrossEntropy => {
                if t > 0.0 && t < 1.0 {
                    t / (1.0 - t)
                } else {
                    f64::NAN
                }
            }
            DiscriminatorCost::Ratio => {
                if t > 0.0 {
                    t
                } else {
                    f64::NAN
                }
            }
            DiscriminatorCost::Exponential => (2.0 * t).exp(),
            DiscriminatorCost::Custom(c) => {
                if !(t >= c.lower && t <= c.upper) {
                    return f64::NAN;
                }
                let (mut lo, mut hi) = (RATIO_MIN.ln(), RATIO_MAX.ln());
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if (c.omega)(mid.exp()) < t {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                    if hi - lo < 1e-14 {
                        break;
                    }
                }
                (0.5 * (lo + hi)).exp()
            }
        }
    }

    /// `rho(t) = psi'(t) > 0`.
    pub fn rho(&self, t: f64) -> f64 {
        match self {
            DiscriminatorCost::Ratio => 1.0,
            DiscriminatorCost::MeanSquare => 2.0 * (1.0 - t),
            DiscriminatorCost::Exponential => (-t).exp(),
            DiscriminatorCost::CrossEntropy => 1.0 / t,
            DiscriminatorCost::Custom(c) => (c.rho)(t),
        }
    }

    /// `psi'(t) = rho(t)`.
    pub fn psi_prime(&self, t: f64) -> f64 {
        self.rho(t)
    }

    /// `phi'(t) = -omega^{-1}(t) rho(t)`.
    pub fn phi_prime(&self, t: f64) -> f64 {
        -self.omega_inverse(t) * self.rho(t)
    }

    /// `phi(t)`: the closed form of a built-in; for a custom cost the integral of phi' from
    /// omega(1) (NaN where the integral fails).
    pub fn phi(&self, t: f64) -> f64 {
        match self {
            DiscriminatorCost::Ratio => -0.5 * t * t,
            DiscriminatorCost::MeanSquare => -t * t,
            DiscriminatorCost::Exponential => -t.exp(),
            DiscriminatorCost::CrossEntropy => (-t).ln_1p(),
            DiscriminatorCost::Custom(_) => self.phi_integrated(t).unwrap_or(f64::NAN),
        }
    }

    /// `psi(t)`: the closed form of a built-in; for a custom cost the integral of rho from omega(1).
    pub fn psi(&self, t: f64) -> f64 {
        match self {
            DiscriminatorCost::Ratio => t,
            DiscriminatorCost::MeanSquare => -(1.0 - t).powi(2),
            DiscriminatorCost::Exponential => -(-t).exp(),
            DiscriminatorCost::CrossEntropy => t.ln(),
            DiscriminatorCost::Custom(_) => self.psi_integrated(t).unwrap_or(f64::NAN),
        }
    }

    fn check_in_domain(&self, t: f64) -> Result<()> {
        let (lo, hi) = self.domain();
        if t > lo && t < hi {
            Ok(())
        } else {
            Err(Error::OutsideDomain {
                what: "discriminator value",
                value: t,
                domain: format!("({lo}, {hi})"),
            })
        }
    }

    /// `\int_{omega(1)}^t phi'(s) ds`, by adaptive quadrature.
    pub fn phi_integrated(&self, t: f64) -> Result<f64> {
        self.check_in_domain(t)?;
        let t0 = self.omega(1.0);
        Ok(integrate(|s| self.phi_prime(s), t0, t, QuadratureConfig::default())?.value)
    }

    /// `\int_{omega(1)}^t rho(s) ds`, by adaptive quadrature.
    pub fn psi_integrated(&self, t: f64) -> Result<f64> {
        self.check_in_domain(t)?;
        let t0 = self.omega(1.0);
        Ok(integrate(|s| self.rho(s), t0, t, QuadratureConfig::default())?.value)
    }

    /// `f phi(d) + g psi(d)`: the integrand of J at a point where the densities are f and g.
    pub fn pointwise_value(&self, f: f64, g: f64, d: f64) -> f64 {
        f * self.phi(d) + g * self.psi(d)
    }

    /// The optimal discriminator `D* = omega(g / f)`.
    pub fn optimal_discriminator(&self, f: f64, g: f64) -> f64 {
        self.omega(g / f)
    }

    /// `max J` when f = g: `phi(omega(1)) + psi(omega(1))`.
    pub fn value_at_equality(&self) -> f64 {
        let t = self.omega(1.0);
        self.phi(t) + self.psi(t)
    }

    /// Maps raw network outputs into the domain: the logistic sigmoid for C and the mean
    /// square, softplus for A, the identity for B; for a custom cost on `(lo, hi)`,
    /// `lo + (hi - lo) sigmoid(v)` when both ends are finite, `lo + softplus(v)` or
    /// `hi - softplus(-v)` when one is, the identity otherwise.
    pub fn activation_tensor(&self, v: &Tensor) -> Result<Tensor> {
        let sigmoid =
            |v: &Tensor| -> Result<Tensor> { Ok(softplus_tensor(&v.neg()?)?.neg()?.exp()?) };
        match self {
            DiscriminatorCost::MeanSquare | DiscriminatorCost::CrossEntropy => sigmoid(v),
            DiscriminatorCost::Ratio => Ok(softplus_tensor(v)?),
            DiscriminatorCost::Custom(c) => match (c.lower.is_finite(), c.upper.is_finite()) {
                (true, true) => Ok(sigmoid(v)?.affine(c.upper - c.lower, c.lower)?),
                (true, false) => Ok((softplus_tensor(v)? + c.lower)?),
                (false, true) => Ok(softplus_tensor(&v.neg()?)?.affine(-1.0, c.upper)?),
                (false, false) => Ok(v.clone()),
            },
            _ => Ok(v.clone()),
        }
    }

    fn phi_tensor(&self, d: &Tensor) -> Result<Tensor> {
        Ok(match self {
            DiscriminatorCost::Ratio => d.sqr()?.affine(-0.5, 0.0)?,
            DiscriminatorCost::MeanSquare => d.sqr()?.neg()?,
            DiscriminatorCost::Exponential => d.exp()?.neg()?,
            DiscriminatorCost::CrossEntropy => d.affine(-1.0, 1.0)?.log()?,
            DiscriminatorCost::Custom(_) => self.custom_tensor(d, true)?,
        })
    }

    fn psi_tensor(&self, d: &Tensor) -> Result<Tensor> {
        Ok(match self {
            DiscriminatorCost::Ratio => d.clone(),
            DiscriminatorCost::MeanSquare => d.affine(-1.0, 1.0)?.sqr()?.neg()?,
            DiscriminatorCost::Exponential => d.neg()?.exp()?.neg()?,
            DiscriminatorCost::CrossEntropy => d.log()?,
            DiscriminatorCost::Custom(_) => self.custom_tensor(d, false)?,
        })
    }

    /// phi or psi of a custom cost: values by quadrature off the graph, attached to `d` to
    /// first order, `h(d0) + h'(d0) (d - d0)` with `d0 = d` detached, so the value is exact
    /// and so is the gradient.
    fn custom_tensor(&self, d: &Tensor, phi: bool) -> Result<Tensor> {
        let vals = d.flatten_all()?.to_host_f64()?.to_vec1::<f64>()?;
        let mut h = Vec::with_capacity(vals.len());
        let mut dh = Vec::with_capacity(vals.len());
        for &t in &vals {
            if phi {
                h.push(self.phi_integrated(t)?);
                dh.push(self.phi_prime(t));
            } else {
                h.push(self.psi_integrated(t)?);
                dh.push(self.psi_prime(t));
            }
        }
        let to_t = |v: Vec<f64>| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, d.shape(), &candle_core::Device::Cpu)?
                .to_dtype(d.dtype())?
                .to_device(d.device())?)
        };
        let h = to_t(h)?;
        let dh = to_t(dh)?;
        let delta = (d - d.detach())?;
        Ok((h + (dh * delta)?)?)
    }

    /// `J = mean phi(D(real)) + mean psi(D(fake))` from discriminator values in the domain,
    /// a differentiable scalar tensor. The discriminator maximises J (loss `-J`); the
    /// generator minimises it (loss [`DiscriminatorCost::generator_loss`]).
    pub fn cost(&self, d_real: &Tensor, d_fake: &Tensor) -> Result<Tensor> {
        let a = self.phi_tensor(d_real)?.mean_all()?;
        let b = self.psi_tensor(d_fake)?.mean_all()?;
        Ok((a + b)?)
    }

    /// J from raw outputs passed through [`DiscriminatorCost::activation_tensor`]; for C in
    /// the stable form `phi(sigmoid v) = -softplus(v)`, `psi(sigmoid v) = -softplus(-v)`.
    pub fn cost_from_logits(&self, v_real: &Tensor, v_fake: &Tensor) -> Result<Tensor> {
        match self {
            DiscriminatorCost::CrossEntropy => {
                let a = softplus_tensor(v_real)?.mean_all()?;
                let b = softplus_tensor(&v_fake.neg()?)?.mean_all()?;
                Ok((a + b)?.neg()?)
            }
            _ => self.cost(
                &self.activation_tensor(v_real)?,
                &self.activation_tensor(v_fake)?,
            ),
        }
    }

    /// The generator's loss: `mean psi(D(fake))`, the part of J it can change.
    pub fn generator_loss(&self, d_fake: &Tensor) -> Result<Tensor> {
        Ok(self.psi_tensor(d_fake)?.mean_all()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_rejects_decreasing_omega() {
        let r = DiscriminatorCost::custom("bad", |r| 1.0 / (1.0 + r), |_| 1.0);
        assert!(matches!(r, Err(Error::OmegaNotIncreasing { .. })));
    }

    #[test]
    fn custom_rejects_non_positive_rho() {
        let r = DiscriminatorCost::custom("bad", |r: f64| r.ln(), |t| t);
        assert!(matches!(r, Err(Error::RhoNotPositive { .. })));
    }

    #[test]
    fn custom_rejects_non_finite_omega() {
        let r = DiscriminatorCost::custom(
            "bad",
            |r: f64| if r > 100.0 { f64::NAN } else { r },
            |_| 1.0,
        );
        assert!(matches!(r, Err(Error::NonFinite { .. })));
    }

    #[test]
    fn integrated_outside_domain_is_an_error() {
        assert!(DiscriminatorCost::CrossEntropy.phi_integrated(1.5).is_err());
    }
}
