//! Univariate distributions sampled by inversion of a uniform draw.
//!
//! The inverse-CDF theorem: if U ~ Uniform(0, 1) and F is a CDF with generalized inverse
//! F^{-1}(u) = inf { x : F(x) >= u }, then X = F^{-1}(U) has CDF F. Every distribution here
//! gives pdf, ln pdf, cdf, survival function, quantile (= inverse CDF) and inverse survival
//! function in closed form, and `sample` returns `quantile(u)` for one open-interval uniform
//! draw u in (0, 1). Parameters are validated in `new`, one error variant per bad parameter.

use std::f64::consts::PI;

use rand::Rng;

use crate::special::{std_normal_cdf, std_normal_isf, std_normal_pdf, std_normal_quantile};
use crate::{Error, Result};

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
    pub fn mean(&self) -> f64 {
        self.mean
    }
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
