//! Univariate distributions sampled by inversion of a uniform draw.
//!
//! The inverse-CDF theorem: if U ~ Uniform(0, 1) and F is a CDF with generalized inverse
//! F^{-1}(u) = inf { x : F(x) >= u }, then X = F^{-1}(U) has CDF F. Every distribution here
//! gives pdf, ln pdf, cdf, survival function, quantile (= inverse CDF) and inverse survival
//! function in closed form, and `sample` returns `quantile(u)` for one open-interval uniform
//! draw u in (0, 1). Parameters are validated in `new`, one error variant per bad parameter.

mod bounded;
mod positive;
mod symmetric;

use rand::Rng;

use crate::{Error, Result};

pub use bounded::{Truncated, Uniform};
pub use positive::{Exponential, Pareto, Rayleigh, Weibull};
pub use symmetric::{Cauchy, Laplace, Logistic, Normal};

/// A uniform draw on the open interval (0, 1): ((k + 1/2) / 2^53) for a 53-bit integer k, so
/// quantiles of unbounded distributions never see 0 or 1.
pub fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A univariate distribution with closed-form (or accurate) pdf, cdf and quantile.
pub trait Univariate {
    /// Density f(x).
    fn pdf(&self, x: f64) -> f64;
    /// ln f(x) (-inf outside the support).
    fn ln_pdf(&self, x: f64) -> f64 {
        self.pdf(x).ln()
    }
    /// CDF F(x) = P(X <= x).
    fn cdf(&self, x: f64) -> f64;
    /// Survival function S(x) = 1 - F(x), computed without cancellation where possible.
    fn sf(&self, x: f64) -> f64 {
        1.0 - self.cdf(x)
    }
    /// Quantile F^{-1}(p) for p in [0, 1]; NaN outside.
    fn quantile(&self, p: f64) -> f64;
    /// Inverse survival function S^{-1}(p) = F^{-1}(1 - p), accurate for small p where possible.
    fn isf(&self, p: f64) -> f64 {
        self.quantile(1.0 - p)
    }
    /// The lecture's name for [`Univariate::quantile`].
    fn inverse_cdf(&self, p: f64) -> f64 {
        self.quantile(p)
    }
    /// The closure of the support, (lower, upper), possibly infinite.
    fn support(&self) -> (f64, f64);
    /// One draw by inversion: F^{-1}(U), U ~ Uniform(0, 1).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64
    where
        Self: Sized,
    {
        self.quantile(open_unit(rng))
    }
    /// `n` draws by inversion.
    fn sample_n<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64>
    where
        Self: Sized,
    {
        (0..n).map(|_| self.sample(rng)).collect()
    }
}

fn bad_p(p: f64) -> bool {
    !(0.0..=1.0).contains(&p) || p.is_nan()
}

fn check_location(x: f64) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::LocationNotFinite(x))
    }
}

fn check_scale(s: f64) -> Result<()> {
    if s.is_finite() && s > 0.0 {
        Ok(())
    } else {
        Err(Error::ScaleNotPositive(s))
    }
}

fn check_shape(s: f64) -> Result<()> {
    if s.is_finite() && s > 0.0 {
        Ok(())
    } else {
        Err(Error::ShapeNotPositive(s))
    }
}
