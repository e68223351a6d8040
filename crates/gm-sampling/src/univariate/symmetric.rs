//! The symmetric location-scale distributions on the whole real line: [`Laplace`],
//! [`Logistic`], [`Cauchy`] and [`Normal`] (its quantile by Wichura's AS 241).

use std::f64::consts::PI;

use super::{bad_p, check_location, check_scale, Univariate};
use crate::special::{std_normal_cdf, std_normal_isf, std_normal_pdf, std_normal_quantile};
use crate::Result;

#[cfg(doc)]
use crate::Error;

/// Laplace(mu, b): f = e^{-|x - mu|/b} / (2b); F^{-1}(p) = mu + b ln(2p) for p < 1/2,
/// mu - b ln(2(1 - p)) otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Laplace {
    pub(crate) loc: f64,
    pub(crate) scale: f64,
}

impl Laplace {
    /// Errors with [`Error::LocationNotFinite`] or [`Error::ScaleNotPositive`].
    pub fn new(loc: f64, scale: f64) -> Result<Self> {
        check_location(loc)?;
        check_scale(scale)?;
        Ok(Self { loc, scale })
    }
}

impl Univariate for Laplace {
    fn pdf(&self, x: f64) -> f64 {
        (-(x - self.loc).abs() / self.scale).exp() / (2.0 * self.scale)
    }
    fn ln_pdf(&self, x: f64) -> f64 {
        -(x - self.loc).abs() / self.scale - (2.0 * self.scale).ln()
    }
    fn cdf(&self, x: f64) -> f64 {
        let z = (x - self.loc) / self.scale;
        if z < 0.0 {
            0.5 * z.exp()
        } else {
            1.0 - 0.5 * (-z).exp()
        }
    }
    fn sf(&self, x: f64) -> f64 {
        self.cdf(2.0 * self.loc - x)
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        if p < 0.5 {
            self.loc + self.scale * (2.0 * p).ln()
        } else {
            self.loc - self.scale * (2.0 * (1.0 - p)).ln()
        }
    }
    fn isf(&self, p: f64) -> f64 {
        2.0 * self.loc - self.quantile(p)
    }
    fn support(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
}

/// Logistic(mu, s): F = 1 / (1 + e^{-(x - mu)/s}), f = F (1 - F) / s,
/// F^{-1}(p) = mu + s ln(p / (1 - p)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logistic {
    pub(crate) loc: f64,
    pub(crate) scale: f64,
}

impl Logistic {
    /// Errors with [`Error::LocationNotFinite`] or [`Error::ScaleNotPositive`].
    pub fn new(loc: f64, scale: f64) -> Result<Self> {
        check_location(loc)?;
        check_scale(scale)?;
        Ok(Self { loc, scale })
    }
}

impl Univariate for Logistic {
    fn pdf(&self, x: f64) -> f64 {
        let z = -((x - self.loc) / self.scale).abs();
        let e = z.exp();
        e / (self.scale * (1.0 + e) * (1.0 + e))
    }
    fn cdf(&self, x: f64) -> f64 {
        1.0 / (1.0 + (-(x - self.loc) / self.scale).exp())
    }
    fn sf(&self, x: f64) -> f64 {
        1.0 / (1.0 + ((x - self.loc) / self.scale).exp())
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.loc + self.scale * (p.ln() - (-p).ln_1p())
    }
    fn isf(&self, p: f64) -> f64 {
        2.0 * self.loc - self.quantile(p)
    }
    fn support(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
}

/// Cauchy(x0, gamma): f = 1 / (pi gamma (1 + z^2)), z = (x - x0)/gamma,
/// F = 1/2 + atan(z)/pi, F^{-1}(p) = x0 + gamma tan(pi (p - 1/2)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cauchy {
    pub(crate) loc: f64,
    pub(crate) scale: f64,
}

impl Cauchy {
    /// Errors with [`Error::LocationNotFinite`] or [`Error::ScaleNotPositive`].
    pub fn new(loc: f64, scale: f64) -> Result<Self> {
        check_location(loc)?;
        check_scale(scale)?;
        Ok(Self { loc, scale })
    }
}

impl Univariate for Cauchy {
    fn pdf(&self, x: f64) -> f64 {
        let z = (x - self.loc) / self.scale;
        1.0 / (PI * self.scale * (1.0 + z * z))
    }
    fn cdf(&self, x: f64) -> f64 {
        let z = (x - self.loc) / self.scale;
        if z < -1.0 {
            // atan(z) + pi/2 = atan(-1/z) for z < 0, without cancellation.
            (-1.0 / z).atan() / PI
        } else {
            0.5 + z.atan() / PI
        }
    }
    fn sf(&self, x: f64) -> f64 {
        self.cdf(2.0 * self.loc - x)
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        if p == 0.0 {
            return f64::NEG_INFINITY;
        }
        if p == 1.0 {
            return f64::INFINITY;
        }
        if p < 0.25 {
            // tan(pi (p - 1/2)) = -1 / tan(pi p), accurate for small p.
            self.loc - self.scale / (PI * p).tan()
        } else if p > 0.75 {
            self.loc + self.scale / (PI * (1.0 - p)).tan()
        } else {
            self.loc + self.scale * (PI * (p - 0.5)).tan()
        }
    }
    fn isf(&self, p: f64) -> f64 {
        2.0 * self.loc - self.quantile(p)
    }
    fn support(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
}

/// Normal(mu, sigma): f = e^{-(x - mu)^2 / (2 sigma^2)} / (sigma sqrt(2 pi)),
/// F = Phi((x - mu)/sigma), F^{-1}(p) = mu + sigma Phi^{-1}(p) with Phi^{-1} by Wichura's AS 241
/// (relative accuracy about 1e-16).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    pub(crate) mean: f64,
    pub(crate) std: f64,
}

impl Normal {
    /// Errors with [`Error::LocationNotFinite`] (mean) or [`Error::ScaleNotPositive`] (std).
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        check_location(mean)?;
        check_scale(std)?;
        Ok(Self { mean, std })
    }
    /// N(0, 1).
    pub fn standard() -> Self {
        Self {
            mean: 0.0,
            std: 1.0,
        }
    }
    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// The standard deviation.
    pub fn std(&self) -> f64 {
        self.std
    }
}

impl Univariate for Normal {
    fn pdf(&self, x: f64) -> f64 {
        std_normal_pdf((x - self.mean) / self.std) / self.std
    }
    fn ln_pdf(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        -0.5 * z * z - self.std.ln() - 0.5 * (2.0 * PI).ln()
    }
    fn cdf(&self, x: f64) -> f64 {
        std_normal_cdf((x - self.mean) / self.std)
    }
    fn sf(&self, x: f64) -> f64 {
        std_normal_cdf((self.mean - x) / self.std)
    }
    fn quantile(&self, p: f64) -> f64 {
        self.mean + self.std * std_normal_quantile(p)
    }
    fn isf(&self, p: f64) -> f64 {
        self.mean + self.std * std_normal_isf(p)
    }
    fn support(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
}
