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

use std::cell::Cell;

use rand::Rng;

use crate::univariate::open_unit;
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

enum Attempt {
    Accept {
        interval: Interval,
        mass: f64,
        f_end: f64,
        err: f64,
    },
    Reject {
        err: f64,
    },
    Empty {
        f_end: f64,
    },
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

    fn setup(b: NumericalInversionBuilder) -> Result<Self> {
        let (lo, hi) = b.domain;
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(Error::InvalidInterval { low: lo, high: hi });
        }
        if !(b.center.is_finite() && b.center >= lo && b.center <= hi) {
            return Err(Error::LocationNotFinite(b.center));
        }
        if !(b.scale.is_finite() && b.scale > 0.0) {
            return Err(Error::ScaleNotPositive(b.scale));
        }
        if !(1e-15..=1e-2).contains(&b.u_resolution) {
            return Err(Error::InvalidResolution(b.u_resolution));
        }
        let dens = Density {
            f: b.pdf.as_ref(),
            count: Cell::new(0),
        };
        if dens.eval(b.center)? <= 0.0 {
            return Err(Error::ZeroAtCentre(b.center));
        }
        let eps_tail = 0.05 * b.u_resolution;
        let (right, mass_r) = find_cut(&dens, b.center, hi, b.scale, eps_tail, 1.0)?;
        let (left, mass_l) = find_cut(&dens, b.center, lo, b.scale, eps_tail, -1.0)?;
        let area_estimate = mass_r + mass_l;
        if !(area_estimate.is_finite() && area_estimate > 0.0) {
            return Err(Error::NotNormalizable(area_estimate));
        }
        // Drop the negligible mass next to each end, so that the first and last intervals do
        // not start where F^{-1} is singular (a zero of the pdf, a far-tail underflow).
        let drop = eps_tail * area_estimate;
        let left = refine_cut(&dens, left, b.center, drop)?;
        let right = refine_cut(&dens, right, b.center, drop)?;
        let tol = 0.8 * b.u_resolution * area_estimate;

        let mut intervals = Vec::new();
        let mut cum = vec![0.0];
        let mut a = left;
        let mut fa = dens.eval(a)?;
        let width = right - left;
        let mut h = (width / 64.0).min(b.scale);
        let min_h = 1e-13 * (left.abs().max(right.abs())).max(b.scale);
        while a < right {
            if right - a < 1.2 * h {
                h = right - a;
            }
            match try_interval(&dens, a, h, fa, tol)? {
                Attempt::Accept {
                    interval,
                    mass,
                    f_end,
                    err,
                } => {
                    let total = cum.last().copied().unwrap_or(0.0) + mass;
                    intervals.push(interval);
                    cum.push(total);
                    a = interval.x1;
                    fa = f_end;
                    let grow = if err > 0.0 {
                        0.9 * (tol / err).powf(1.0 / 6.0)
                    } else {
                        2.0
                    };
                    h *= grow.clamp(1.0, 2.0);
                    if intervals.len() > 200_000 {
                        return Err(Error::ResolutionNotReached {
                            resolution: b.u_resolution,
                            x: a,
                        });
                    }
                }
                Attempt::Empty { f_end } => {
                    // No mass on [a, a + h] (outside the support): skip it.
                    a += h;
                    fa = f_end;
                }
                Attempt::Reject { err } => {
                    let shrink = if err.is_finite() && err > 0.0 {
                        0.9 * (tol / err).powf(1.0 / 6.0)
                    } else {
                        0.5
                    };
                    h *= shrink.clamp(0.1, 0.8);
                    if h < min_h {
                        return Err(Error::ResolutionNotReached {
                            resolution: b.u_resolution,
                            x: a,
                        });
                    }
                }
            }
        }
        let area = cum.last().copied().unwrap_or(0.0);
        if !(area.is_finite() && area > 0.0) || intervals.is_empty() {
            return Err(Error::NotNormalizable(area));
        }
        let g = intervals.len();
        let mut guide = Vec::with_capacity(g);
        let mut i = 0usize;
        for k in 0..g {
            let v = k as f64 / g as f64 * area;
            while i + 1 < g && cum[i + 1] <= v {
                i += 1;
            }
            guide.push(i as u32);
        }
        let setup_evals = dens.count.get();
        Ok(Self {
            pdf: b.pdf,
            cdf: b.cdf,
            intervals,
            cum,
            area,
            guide,
            setup_evals,
            cut: (left, right),
            u_resolution: b.u_resolution,
        })
    }

    #[inline]
    fn locate(&self, v: f64) -> usize {
        let g = self.guide.len();
        let k = ((v / self.area * g as f64) as usize).min(g - 1);
        let mut i = self.guide[k] as usize;
        let last = self.intervals.len() - 1;
        while i < last && self.cum[i + 1] <= v {
            i += 1;
        }
        i
    }

    /// Approximate F^{-1}(u) for u in [0, 1]; NaN outside.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        if !(0.0..=1.0).contains(&u) {
            return f64::NAN;
        }
        let v = u * self.area;
        let i = self.locate(v);
        self.intervals[i].eval(v - self.cum[i])
    }

    /// The lecture's name for [`NumericalInversion::quantile`].
    pub fn inverse_cdf(&self, u: f64) -> f64 {
        self.quantile(u)
    }

    /// One draw F^{-1}(U).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile(open_unit(rng))
    }

    /// `n` draws.
    pub fn sample_n<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        (0..n).map(|_| self.sample(rng)).collect()
    }

    /// Number of pdf evaluations the setup made.
    pub fn setup_pdf_evaluations(&self) -> u64 {
        self.setup_evals
    }

    /// Number of interpolation intervals.
    pub fn intervals(&self) -> usize {
        self.intervals.len()
    }

    /// The computational domain after the tail cut-off.
    pub fn cut_off(&self) -> (f64, f64) {
        self.cut
    }

    /// The integral of the (unnormalized) pdf over the computational domain.
    pub fn area(&self) -> f64 {
        self.area
    }

    /// The requested u-resolution.
    pub fn u_resolution(&self) -> f64 {
        self.u_resolution
    }

    /// The normalized density f(x) / area.
    pub fn pdf(&self, x: f64) -> f64 {
        (self.pdf)(x) / self.area
    }

    /// Measures max and mean |F(F^{-1}(u)) - u| over u_k = (k + 1/2)/n, k < n. F is the exact
    /// CDF when the builder was given one; otherwise the setup's cumulative areas plus an
    /// adaptive quadrature from the interval start (which then measures interpolation error only).
    pub fn u_error(&self, n: usize) -> Result<UError> {
        if n == 0 {
            return Err(Error::ZeroCount("n"));
        }
        let dens = Density {
            f: self.pdf.as_ref(),
            count: Cell::new(0),
        };
        let mut max: f64 = 0.0;
        let mut sum = 0.0;
        for k in 0..n {
            let u = (k as f64 + 0.5) / n as f64;
            let x = self.quantile(u);
            let fx = match &self.cdf {
                Some(cdf) => cdf(x),
                None => {
                    let i = self.locate(u * self.area);
                    let x0 = self.intervals[i].x0;
                    let part = if x > x0 {
                        dens.integral(x0, x, 1e-14)?
                    } else {
                        0.0
                    };
                    (self.cum[i] + part) / self.area
                }
            };
            let e = (fx - u).abs();
            max = max.max(e);
            sum += e;
        }
        Ok(UError {
            max,
            mean: sum / n as f64,
            n,
            exact_cdf: self.cdf.is_some(),
        })
    }
}

/// Walks from `center` towards `bound` (direction `dir`) in doubling segments; returns the cut
/// point and the mass between centre and cut.
fn find_cut(
    dens: &Density<'_>,
    center: f64,
    bound: f64,
    scale: f64,
    eps_tail: f64,
    dir: f64,
) -> Result<(f64, f64)> {
    let side = if dir > 0.0 { "+infinity" } else { "-infinity" };
    if bound.is_finite() {
        if bound == center {
            return Ok((center, 0.0));
        }
        let (a, b) = if dir > 0.0 {
            (center, bound)
        } else {
            (bound, center)
        };
        return Ok((bound, dens.integral(a, b, 1e-12)?));
    }
    let mut x = center;
    let mut step = scale;
    let mut total = 0.0;
    let mut prev: Option<f64> = None;
    for _ in 0..200 {
        let next = x + dir * step;
        let (a, b) = if dir > 0.0 { (x, next) } else { (next, x) };
        let m = dens.integral(a, b, 1e-12)?;
        total += m;
        if m == 0.0 {
            return Ok((x, total));
        }
        if let Some(p) = prev {
            let r = m / p;
            if r < 0.95 {
                let tail = m * r / (1.0 - r);
                if tail < eps_tail * total {
                    return Ok((next, total));
                }
            }
        }
        prev = Some(m);
        x = next;
        step *= 2.0;
        if !x.is_finite() {
            break;
        }
    }
    Err(Error::NonIntegrableTail { side, x })
}

/// The point x between `outer` and `inner` farthest inward with mass(outer, x) <= `drop`
/// (bisection to 1% of the distance moved, loose quadrature: only the order of magnitude matters).
fn refine_cut(dens: &Density<'_>, outer: f64, inner: f64, drop: f64) -> Result<f64> {
    if outer == inner {
        return Ok(outer);
    }
    let mass = |x: f64| -> Result<f64> {
        let (a, b) = if outer < x { (outer, x) } else { (x, outer) };
        if a == b {
            Ok(0.0)
        } else {
            dens.integral(a, b, 1e-3)
        }
    };
    let (mut ok, mut bad) = (outer, inner);
    for _ in 0..200 {
        // Stop when the bracket is small relative to the distance already moved in.
        if ok != outer && (bad - ok).abs() <= 1e-2 * (ok - outer).abs() {
            break;
        }
        let m = 0.5 * (ok + bad);
        if mass(m)? <= drop {
            ok = m;
        } else {
            bad = m;
        }
    }
    Ok(ok)
}

/// Builds and checks one interpolation interval [a, a + h].
fn try_interval(dens: &Density<'_>, a: f64, h: f64, fa: f64, tol: f64) -> Result<Attempt> {
    let mut x = [0.0; ORDER + 1];
    let mut fx = [0.0; ORDER + 1];
    let mut u = [0.0; ORDER + 1];
    x[0] = a;
    fx[0] = fa;
    for j in 1..=ORDER {
        x[j] = a + h * 0.5 * (1.0 - (j as f64 * std::f64::consts::PI / ORDER as f64).cos());
        fx[j] = dens.eval(x[j])?;
    }
    x[ORDER] = a + h;
    for j in 1..=ORDER {
        u[j] = u[j - 1] + dens.lobatto(x[j - 1], x[j], fx[j - 1], fx[j])?;
    }
    if u[ORDER] == 0.0 {
        return Ok(Attempt::Empty { f_end: fx[ORDER] });
    }
    if (1..=ORDER).any(|j| u[j] <= u[j - 1]) {
        return Ok(Attempt::Reject { err: f64::INFINITY });
    }
    // Newton divided differences of x as a function of u.
    let mut c = x;
    for k in 1..=ORDER {
        for j in (k..=ORDER).rev() {
            c[j] = (c[j] - c[j - 1]) / (u[j] - u[j - k]);
        }
    }
    let interval = Interval {
        x0: x[0],
        x1: x[ORDER],
        t: u,
        c,
    };
    let mut err: f64 = 0.0;
    for j in 1..=ORDER {
        let t = 0.5 * (u[j - 1] + u[j]);
        let mut xt = c[ORDER];
        for k in (0..ORDER).rev() {
            xt = xt * (t - u[k]) + c[k];
        }
        if !(xt > x[j - 1] && xt < x[j]) {
            return Ok(Attempt::Reject { err: f64::INFINITY });
        }
        let ft = dens.eval(xt)?;
        let ut = u[j - 1] + dens.lobatto(x[j - 1], xt, fx[j - 1], ft)?;
        err = err.max((ut - t).abs());
    }
    if err <= tol {
        Ok(Attempt::Accept {
            interval,
            mass: u[ORDER],
            f_end: fx[ORDER],
            err,
        })
    } else {
        Ok(Attempt::Reject { err })
    }
}
