//! The distributions on a bounded interval: [`Uniform`] and [`Truncated`], any distribution
//! restricted to [low, high] and inverted through its own cdf or survival function.

use super::{bad_p, Univariate};
use crate::{Error, Result};

/// Uniform(a, b): f = 1/(b - a) on [a, b], F(x) = (x - a)/(b - a), F^{-1}(p) = a + p (b - a).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uniform {
    pub(crate) low: f64,
    pub(crate) high: f64,
}

impl Uniform {
    /// Errors with [`Error::InvalidInterval`] unless both bounds are finite and low < high.
    pub fn new(low: f64, high: f64) -> Result<Self> {
        if low.is_finite() && high.is_finite() && low < high {
            Ok(Self { low, high })
        } else {
            Err(Error::InvalidInterval { low, high })
        }
    }
}

impl Univariate for Uniform {
    fn pdf(&self, x: f64) -> f64 {
        if x >= self.low && x <= self.high {
            1.0 / (self.high - self.low)
        } else {
            0.0
        }
    }
    fn cdf(&self, x: f64) -> f64 {
        ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }
    fn sf(&self, x: f64) -> f64 {
        ((self.high - x) / (self.high - self.low)).clamp(0.0, 1.0)
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.low + p * (self.high - self.low)
    }
    fn support(&self) -> (f64, f64) {
        (self.low, self.high)
    }
}

/// A distribution D restricted to [low, high]: f_T = f / (F(high) - F(low)) on [low, high],
/// F_T^{-1}(p) = F^{-1}(F(low) + p (F(high) - F(low))), computed through the survival function
/// when the interval lies in the upper tail so that far-tail truncations stay accurate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truncated<D> {
    inner: D,
    pub(crate) low: f64,
    pub(crate) high: f64,
    f_low: f64,
    s_low: f64,
    mass: f64,
    upper: bool,
}

impl<D: Univariate> Truncated<D> {
    /// Errors with [`Error::InvalidTruncation`] unless low < high (either may be infinite), and
    /// with [`Error::TruncationMassZero`] when the interval carries no mass under `inner`.
    pub fn new(inner: D, low: f64, high: f64) -> Result<Self> {
        if low.is_nan() || high.is_nan() || low >= high {
            return Err(Error::InvalidTruncation { low, high });
        }
        let f_low = inner.cdf(low);
        let s_low = inner.sf(low);
        let upper = f_low > 0.5;
        let mass = if upper {
            s_low - inner.sf(high)
        } else {
            inner.cdf(high) - f_low
        };
        if !(mass > 0.0) || !mass.is_finite() {
            return Err(Error::TruncationMassZero { low, high });
        }
        Ok(Self {
            inner,
            low,
            high,
            f_low,
            s_low,
            mass,
            upper,
        })
    }
    /// The probability F(high) - F(low) of the interval under the inner distribution.
    pub fn mass(&self) -> f64 {
        self.mass
    }
}

impl<D: Univariate> Univariate for Truncated<D> {
    fn pdf(&self, x: f64) -> f64 {
        if x < self.low || x > self.high {
            0.0
        } else {
            self.inner.pdf(x) / self.mass
        }
    }
    fn cdf(&self, x: f64) -> f64 {
        if x <= self.low {
            return 0.0;
        }
        if x >= self.high {
            return 1.0;
        }
        let v = if self.upper {
            (self.s_low - self.inner.sf(x)) / self.mass
        } else {
            (self.inner.cdf(x) - self.f_low) / self.mass
        };
        v.clamp(0.0, 1.0)
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        let x = if self.upper {
            self.inner.isf(self.s_low - p * self.mass)
        } else {
            self.inner.quantile(self.f_low + p * self.mass)
        };
        x.clamp(self.low, self.high)
    }
    fn support(&self) -> (f64, f64) {
        let (a, b) = self.inner.support();
        (a.max(self.low), b.min(self.high))
    }
}
