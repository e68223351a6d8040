//! Numerical inversion of a density given only its pdf, in the spirit of PINV
//! (Derflinger, Hoermann and Leydold, "Random variate generation by numerical inversion when
//! only the density is known", ACM TOMACS 20(4), 2010).
//!
//! Setup:
//! 1. Tail cut-off. From the centre, the domain is walked outward in segments of doubling
//!    length; each segment's mass m_k is integrated (adaptive 5-point Gauss-Lobatto). Once the
//!    masses decay with ratio r = m_k / m_{k-1} < 1 and the geometric tail estimate
//!    m_k r / (1 - r) is below 0.05 * u_resolution of the mass found so far, the domain is cut.
//!    A tail whose segment masses do not decay is reported as not integrable.
//! 2. Intervals. On each interval [a, a + h], six Chebyshev-Lobatto nodes
//!    x_j = a + h (1 - cos(j pi / 5)) / 2 are placed, the CDF increments
//!    u_j = int_a^{x_j} f are accumulated by 5-point Gauss-Lobatto quadrature between nodes,
//!    and x(u) is interpolated through (u_j, x_j) by a degree-5 Newton polynomial. The
//!    u-error |F(P(t)) - t| is checked at the midpoints t between consecutive u_j; the
//!    interval is accepted when it is below 0.9 * u_resolution (times the total mass), and
//!    h is scaled by (tolerance / error)^{1/6} (the interpolation error is O(h^6)).
//! 3. A guide table maps u to its interval in O(1) on average.
//!
//! Sampling is x = P_i(u A - C_i) for the interval i holding u: one table look-up and one
//! Horner-like evaluation of degree 5. [`NumericalInversion::u_error`] measures the achieved
//! max and mean |F(F^{-1}(u)) - u|, against the user's exact CDF when one is given.
//! [`NumericalInversion::setup_pdf_evaluations`] counts the pdf calls made by the setup.
//! The support is assumed to be one interval on which the pdf is finite and positive inside.

mod eval;
mod setup;

use std::cell::Cell;

use crate::{Error, Result};

type Func = Box<dyn Fn(f64) -> f64 + Send + Sync>;

const ORDER: usize = 5;
// Gauss-Lobatto 5-point rule on [-1, 1]: nodes 0, +-sqrt(3/7), +-1; weights 32/45, 49/90, 1/10.
const GL_X: f64 = 0.654_653_670_707_977_1;
const GL_W_END: f64 = 0.1;
const GL_W_MID: f64 = 49.0 / 90.0;
const GL_W_CEN: f64 = 32.0 / 45.0;

/// A density that checks and counts every evaluation.
struct Density<'a> {
    f: &'a (dyn Fn(f64) -> f64 + Send + Sync),
    count: Cell<u64>,
}

impl Density<'_> {
    fn eval(&self, x: f64) -> Result<f64> {
        self.count.set(self.count.get() + 1);
        let v = (self.f)(x);
        if v.is_nan() || v.is_infinite() {
            return Err(Error::NonFiniteDensity { x, value: v });
        }
        if v < 0.0 {
            return Err(Error::NegativeDensity { x, value: v });
        }
        Ok(v)
    }

    /// 5-point Gauss-Lobatto over [a, b] with f(a), f(b) known: 3 new evaluations.
    fn lobatto(&self, a: f64, b: f64, fa: f64, fb: f64) -> Result<f64> {
        let m = 0.5 * (a + b);
        let r = 0.5 * (b - a);
        let s = GL_W_END * (fa + fb)
            + GL_W_MID * (self.eval(m - GL_X * r)? + self.eval(m + GL_X * r)?)
            + GL_W_CEN * self.eval(m)?;
        Ok(s * r)
    }

    /// Adaptive Gauss-Lobatto: split until the two halves agree with the whole to `tol`.
    fn adaptive(&self, a: f64, b: f64, fa: f64, fb: f64, tol: f64, depth: u32) -> Result<f64> {
        let whole = self.lobatto(a, b, fa, fb)?;
        let m = 0.5 * (a + b);
        let fm = self.eval(m)?;
        let left = self.lobatto(a, m, fa, fm)?;
        let right = self.lobatto(m, b, fm, fb)?;
        if (left + right - whole).abs() <= tol || depth == 0 || m <= a || m >= b {
            Ok(left + right)
        } else {
            Ok(self.adaptive(a, m, fa, fm, 0.5 * tol, depth - 1)?
                + self.adaptive(m, b, fm, fb, 0.5 * tol, depth - 1)?)
        }
    }

    fn integral(&self, a: f64, b: f64, rel_tol: f64) -> Result<f64> {
        let fa = self.eval(a)?;
        let fb = self.eval(b)?;
        let rough = self.lobatto(a, b, fa, fb)?;
        let tol = (rough.abs() * rel_tol).max(f64::MIN_POSITIVE);
        self.adaptive(a, b, fa, fb, tol, 40)
    }
}

/// Builder of a [`NumericalInversion`].
pub struct NumericalInversionBuilder {
    pdf: Func,
    cdf: Option<Func>,
    domain: (f64, f64),
    center: f64,
    scale: f64,
    u_resolution: f64,
}

impl NumericalInversionBuilder {
    /// The support [low, high] (either side may be infinite). Default: the real line.
    pub fn domain(mut self, low: f64, high: f64) -> Self {
        self.domain = (low, high);
        self
    }
    /// A point of high density (e.g. the mode) where the setup starts. Default 0.
    pub fn center(mut self, center: f64) -> Self {
        self.center = center;
        self
    }
    /// The length of the first tail segment (a rough scale of the density). Default 1.
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }
    /// Maximal tolerated u-error |F(F^{-1}(u)) - u|. Default 1e-10.
    pub fn u_resolution(mut self, u: f64) -> Self {
        self.u_resolution = u;
        self
    }
    /// The exact CDF of the normalized density, used only to measure the u-error.
    pub fn cdf(mut self, cdf: impl Fn(f64) -> f64 + Send + Sync + 'static) -> Self {
        self.cdf = Some(Box::new(cdf));
        self
    }
    /// Runs the setup.
    pub fn build(self) -> Result<NumericalInversion> {
        NumericalInversion::setup(self)
    }
}

#[derive(Debug, Clone, Copy)]
struct Interval {
    x0: f64,
    x1: f64,
    t: [f64; ORDER + 1],
    c: [f64; ORDER + 1],
}

impl Interval {
    #[inline]
    fn eval(&self, t: f64) -> f64 {
        let mut acc = self.c[ORDER];
        for j in (0..ORDER).rev() {
            acc = acc * (t - self.t[j]) + self.c[j];
        }
        acc.clamp(self.x0, self.x1)
    }
}

/// The achieved accuracy of a numerical inversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UError {
    /// max_k |F(F^{-1}(u_k)) - u_k|.
    pub max: f64,
    /// mean_k |F(F^{-1}(u_k)) - u_k|.
    pub mean: f64,
    /// Number of points u_k = (k + 1/2) / n.
    pub n: usize,
    /// Whether F was the user's exact CDF (true) or numerical quadrature of the pdf (false).
    pub exact_cdf: bool,
}

/// A piecewise-polynomial approximation of F^{-1} for a density known through its pdf.
pub struct NumericalInversion {
    pdf: Func,
    cdf: Option<Func>,
    intervals: Vec<Interval>,
    /// cum[i] = int_{cut_low}^{x0_i} f; cum[len] = total area.
    cum: Vec<f64>,
    area: f64,
    guide: Vec<u32>,
    setup_evals: u64,
    cut: (f64, f64),
    u_resolution: f64,
}

impl std::fmt::Debug for NumericalInversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumericalInversion")
            .field("intervals", &self.intervals.len())
            .field("area", &self.area)
            .field("setup_evals", &self.setup_evals)
            .field("cut", &self.cut)
            .field("u_resolution", &self.u_resolution)
            .finish()
    }
}

impl NumericalInversion {
    /// Starts a builder for the (possibly unnormalized) density `pdf`.
    pub fn builder(pdf: impl Fn(f64) -> f64 + Send + Sync + 'static) -> NumericalInversionBuilder {
        NumericalInversionBuilder {
            pdf: Box::new(pdf),
            cdf: None,
            domain: (f64::NEG_INFINITY, f64::INFINITY),
            center: 0.0,
            scale: 1.0,
            u_resolution: 1e-10,
        }
    }
}
