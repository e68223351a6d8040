//! The distributions on a half-line: [`Exponential`], [`Weibull`], [`Pareto`] and
//! [`Rayleigh`], each with a closed-form quantile and inverse survival function.

use super::{bad_p, check_scale, check_shape, Univariate};
use crate::{Error, Result};

/// Exponential(lambda): f = lambda e^{-lambda x} (x >= 0), F = 1 - e^{-lambda x},
/// F^{-1}(p) = -ln(1 - p) / lambda.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponential {
    pub(crate) rate: f64,
}

impl Exponential {
    /// Errors with [`Error::RateNotPositive`] unless the rate is finite and > 0.
    pub fn new(rate: f64) -> Result<Self> {
        if rate.is_finite() && rate > 0.0 {
            Ok(Self { rate })
        } else {
            Err(Error::RateNotPositive(rate))
        }
    }
}

impl Univariate for Exponential {
    fn pdf(&self, x: f64) -> f64 {
        if x < 0.0 {
            0.0
        } else {
            self.rate * (-self.rate * x).exp()
        }
    }
    fn ln_pdf(&self, x: f64) -> f64 {
        if x < 0.0 {
            f64::NEG_INFINITY
        } else {
            self.rate.ln() - self.rate * x
        }
    }
    fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else {
            -(-self.rate * x).exp_m1()
        }
    }
    fn sf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            1.0
        } else {
            (-self.rate * x).exp()
        }
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        -(-p).ln_1p() / self.rate
    }
    fn isf(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        -p.ln() / self.rate
    }
    fn support(&self) -> (f64, f64) {
        (0.0, f64::INFINITY)
    }
}

/// Weibull(k, lambda): f = (k/lambda) (x/lambda)^{k-1} e^{-(x/lambda)^k} (x >= 0),
/// F = 1 - e^{-(x/lambda)^k}, F^{-1}(p) = lambda (-ln(1 - p))^{1/k}.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weibull {
    pub(crate) shape: f64,
    pub(crate) scale: f64,
}

impl Weibull {
    /// Errors with [`Error::ShapeNotPositive`] or [`Error::ScaleNotPositive`].
    pub fn new(shape: f64, scale: f64) -> Result<Self> {
        check_shape(shape)?;
        check_scale(scale)?;
        Ok(Self { shape, scale })
    }
}

impl Univariate for Weibull {
    fn pdf(&self, x: f64) -> f64 {
        if x < 0.0 {
            return 0.0;
        }
        let z = x / self.scale;
        if x == 0.0 {
            return if self.shape < 1.0 {
                f64::INFINITY
            } else if self.shape == 1.0 {
                1.0 / self.scale
            } else {
                0.0
            };
        }
        self.shape / self.scale * z.powf(self.shape - 1.0) * (-z.powf(self.shape)).exp()
    }
    fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else {
            -(-(x / self.scale).powf(self.shape)).exp_m1()
        }
    }
    fn sf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            1.0
        } else {
            (-(x / self.scale).powf(self.shape)).exp()
        }
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * (-(-p).ln_1p()).powf(1.0 / self.shape)
    }
    fn isf(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * (-p.ln()).powf(1.0 / self.shape)
    }
    fn support(&self) -> (f64, f64) {
        (0.0, f64::INFINITY)
    }
}

/// Pareto(x_m, alpha): f = alpha x_m^alpha / x^{alpha+1} (x >= x_m), F = 1 - (x_m/x)^alpha,
/// F^{-1}(p) = x_m (1 - p)^{-1/alpha}.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pareto {
    pub(crate) scale: f64,
    pub(crate) shape: f64,
}

impl Pareto {
    /// `scale` is x_m, `shape` is alpha. Errors with [`Error::ScaleNotPositive`] or
    /// [`Error::ShapeNotPositive`].
    pub fn new(scale: f64, shape: f64) -> Result<Self> {
        check_scale(scale)?;
        check_shape(shape)?;
        Ok(Self { scale, shape })
    }
}

impl Univariate for Pareto {
    fn pdf(&self, x: f64) -> f64 {
        if x < self.scale {
            0.0
        } else {
            self.shape / x * (self.scale / x).powf(self.shape)
        }
    }
    fn cdf(&self, x: f64) -> f64 {
        if x <= self.scale {
            0.0
        } else {
            -(self.shape * (self.scale / x).ln()).exp_m1()
        }
    }
    fn sf(&self, x: f64) -> f64 {
        if x <= self.scale {
            1.0
        } else {
            (self.scale / x).powf(self.shape)
        }
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * (-(-p).ln_1p() / self.shape).exp()
    }
    fn isf(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * p.powf(-1.0 / self.shape)
    }
    fn support(&self) -> (f64, f64) {
        (self.scale, f64::INFINITY)
    }
}

/// Rayleigh(sigma): f = x/sigma^2 e^{-x^2/(2 sigma^2)} (x >= 0), F = 1 - e^{-x^2/(2 sigma^2)},
/// F^{-1}(p) = sigma sqrt(-2 ln(1 - p)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rayleigh {
    pub(crate) scale: f64,
}

impl Rayleigh {
    /// Errors with [`Error::ScaleNotPositive`].
    pub fn new(scale: f64) -> Result<Self> {
        check_scale(scale)?;
        Ok(Self { scale })
    }
}

impl Univariate for Rayleigh {
    fn pdf(&self, x: f64) -> f64 {
        if x < 0.0 {
            0.0
        } else {
            let s2 = self.scale * self.scale;
            x / s2 * (-x * x / (2.0 * s2)).exp()
        }
    }
    fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else {
            -(-x * x / (2.0 * self.scale * self.scale)).exp_m1()
        }
    }
    fn sf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            1.0
        } else {
            (-x * x / (2.0 * self.scale * self.scale)).exp()
        }
    }
    fn quantile(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * (-2.0 * (-p).ln_1p()).sqrt()
    }
    fn isf(&self, p: f64) -> f64 {
        if bad_p(p) {
            return f64::NAN;
        }
        self.scale * (-2.0 * p.ln()).sqrt()
    }
    fn support(&self) -> (f64, f64) {
        (0.0, f64::INFINITY)
    }
}
