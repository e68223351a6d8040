//! Sequential conditional inversion: the inverse Rosenblatt transform (Rosenblatt, 1952).
//!
//! A joint density factors as f(x_1, ..., x_d) = f(x_1) f(x_2 | x_1) ... f(x_d | x_1..x_{d-1}).
//! With independent U_1, ..., U_d ~ Uniform(0, 1), the draws
//! x_1 = F_1^{-1}(U_1), x_2 = F_{2|1}^{-1}(U_2 | x_1), ..., x_d = F_{d|1..d-1}^{-1}(U_d | ...)
//! have joint density f. Each conditional is given as a quantile function, a CDF (inverted by
//! bracketed root finding) or a pdf on a bounded interval (CDF by composite Gauss-Lobatto
//! quadrature, then root finding).

use rand::Rng;

use crate::roots::solve_bracketed;
use crate::univariate::open_unit;
use crate::{Error, Result};

type CondFn = Box<dyn Fn(&[f64], f64) -> f64 + Send + Sync>;
type DomainFn = Box<dyn Fn(&[f64]) -> (f64, f64) + Send + Sync>;

/// One conditional law x_k | x_1..x_{k-1}; closures receive the previous coordinates.
pub enum Conditional {
    /// F^{-1}(u | previous).
    Quantile(CondFn),
    /// F(x | previous) on the domain (low, high) (may be infinite).
    Cdf {
        /// `F(x | previous)`.
        cdf: CondFn,
        /// The domain `(low, high)` given the previous coordinates.
        domain: DomainFn,
    },
    /// f(x | previous), possibly unnormalized, on a bounded domain.
    Pdf {
        /// `f(x | previous)`, possibly unnormalized.
        pdf: CondFn,
        /// The bounded domain `(low, high)` given the previous coordinates.
        domain: DomainFn,
    },
}

impl std::fmt::Debug for Conditional {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conditional::Quantile(_) => "Quantile",
            Conditional::Cdf { .. } => "Cdf",
            Conditional::Pdf { .. } => "Pdf",
        })
    }
}

impl Conditional {
    /// A conditional given by its quantile function.
    pub fn quantile(q: impl Fn(&[f64], f64) -> f64 + Send + Sync + 'static) -> Self {
        Conditional::Quantile(Box::new(q))
    }
    /// A conditional given by its CDF on a domain that may depend on the previous coordinates.
    pub fn cdf(
        cdf: impl Fn(&[f64], f64) -> f64 + Send + Sync + 'static,
        domain: impl Fn(&[f64]) -> (f64, f64) + Send + Sync + 'static,
    ) -> Self {
        Conditional::Cdf {
            cdf: Box::new(cdf),
            domain: Box::new(domain),
        }
    }
    /// A conditional given by its (possibly unnormalized) pdf on a bounded domain.
    pub fn pdf(
        pdf: impl Fn(&[f64], f64) -> f64 + Send + Sync + 'static,
        domain: impl Fn(&[f64]) -> (f64, f64) + Send + Sync + 'static,
    ) -> Self {
        Conditional::Pdf {
            pdf: Box::new(pdf),
            domain: Box::new(domain),
        }
    }

    fn invert(&self, prev: &[f64], u: f64) -> Result<f64> {
        match self {
            Conditional::Quantile(q) => Ok(q(prev, u)),
            Conditional::Cdf { cdf, domain } => {
                let (mut lo, mut hi) = domain(prev);
                if lo.is_nan() || hi.is_nan() || lo >= hi {
                    return Err(Error::InvalidInterval { low: lo, high: hi });
                }
                // Expand infinite ends until they bracket u.
                let mut step = 1.0;
                if lo == f64::NEG_INFINITY {
                    lo = hi.min(0.0) - step;
                    while cdf(prev, lo) > u {
                        step *= 2.0;
                        lo -= step;
                        if step > 1e300 {
                            return Err(Error::NoBracket(u));
                        }
                    }
                }
                step = 1.0;
                if hi == f64::INFINITY {
                    hi = lo.max(0.0) + step;
                    while cdf(prev, hi) < u {
                        step *= 2.0;
                        hi += step;
                        if step > 1e300 {
                            return Err(Error::NoBracket(u));
                        }
                    }
                }
                let tol = 1e-13 * (hi - lo).abs().max(1e-300);
                solve_bracketed(|x| cdf(prev, x) - u, lo, hi, tol).ok_or(Error::NoBracket(u))
            }
            Conditional::Pdf { pdf, domain } => {
                let (lo, hi) = domain(prev);
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(Error::InvalidInterval { low: lo, high: hi });
                }
                invert_pdf(|x| pdf(prev, x), lo, hi, u)
            }
        }
    }
}

const PANELS: usize = 64;

fn lobatto(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const X: f64 = 0.654_653_670_707_977_1;
    let m = 0.5 * (a + b);
    let r = 0.5 * (b - a);
    r * (0.1 * (f(a) + f(b)) + 49.0 / 90.0 * (f(m - X * r) + f(m + X * r)) + 32.0 / 45.0 * f(m))
}

/// F^{-1}(u) for a pdf on [lo, hi]: composite Gauss-Lobatto CDF on 64 panels, then root finding
/// inside the panel that holds u.
fn invert_pdf(f: impl Fn(f64) -> f64, lo: f64, hi: f64, u: f64) -> Result<f64> {
    let checked = |x: f64| -> f64 { f(x) };
    let h = (hi - lo) / PANELS as f64;
    let mut cum = [0.0; PANELS + 1];
    for k in 0..PANELS {
        let a = lo + k as f64 * h;
        let m = lobatto(&checked, a, a + h);
        if m.is_nan() || m.is_infinite() {
            return Err(Error::NonFiniteDensity { x: a, value: m });
        }
        if m < 0.0 {
            return Err(Error::NegativeDensity { x: a, value: m });
        }
        cum[k + 1] = cum[k] + m;
    }
    let total = cum[PANELS];
    if !(total > 0.0) {
        return Err(Error::NotNormalizable(total));
    }
    let target = u * total;
    let k = (cum.partition_point(|&c| c <= target).max(1) - 1).min(PANELS - 1);
    let a = lo + k as f64 * h;
    let b = if k + 1 == PANELS { hi } else { a + h };
    let rest = target - cum[k];
    solve_bracketed(
        |x| {
            if x <= a {
                -rest
            } else {
                lobatto(&checked, a, x) - rest
            }
        },
        a,
        b,
        1e-13 * (hi - lo),
    )
    .ok_or(Error::NoBracket(u))
}

/// A d-dimensional law sampled by sequential conditional inversion.
#[derive(Debug, Default)]
pub struct SequentialInversion {
    steps: Vec<Conditional>,
}

impl SequentialInversion {
    /// An empty chain; add coordinates with [`SequentialInversion::then`].
    pub fn new() -> Self {
        Self { steps: Vec::new() }
    }
    /// Appends the law of the next coordinate given all earlier ones.
    pub fn then(mut self, c: Conditional) -> Self {
        self.steps.push(c);
        self
    }
    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.steps.len()
    }
    /// The inverse Rosenblatt map: u in (0, 1)^d to x.
    pub fn transform(&self, u: &[f64]) -> Result<Vec<f64>> {
        if u.len() != self.steps.len() {
            return Err(Error::DimensionMismatch {
                expected: self.steps.len(),
                got: u.len(),
            });
        }
        let mut x = Vec::with_capacity(u.len());
        for (step, &uk) in self.steps.iter().zip(u) {
            let xk = step.invert(&x, uk)?;
            x.push(xk);
        }
        Ok(x)
    }
    /// One joint draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Vec<f64>> {
        let u: Vec<f64> = (0..self.steps.len()).map(|_| open_unit(rng)).collect();
        self.transform(&u)
    }
    /// `n` joint draws.
    pub fn sample_n<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Vec<Vec<f64>>> {
        (0..n).map(|_| self.sample(rng)).collect()
    }
}

/// The correlated bivariate normal with unit variances and correlation rho:
/// X_1 = Phi^{-1}(U_1), X_2 | X_1 ~ N(rho X_1, 1 - rho^2).
pub fn bivariate_normal(rho: f64) -> Result<SequentialInversion> {
    if !(rho > -1.0 && rho < 1.0) {
        return Err(Error::CorrelationOutOfRange(rho));
    }
    let s = (1.0 - rho * rho).sqrt();
    Ok(SequentialInversion::new()
        .then(Conditional::quantile(|_, u| {
            crate::special::std_normal_quantile(u)
        }))
        .then(Conditional::quantile(move |p, u| {
            rho * p[0] + s * crate::special::std_normal_quantile(u)
        })))
}

/// The uniform law on the simplex {x_i >= 0, x_1 + x_2 + x_3 <= 1} (density 6), factored as
/// f(x_1) = 3 (1 - x_1)^2, f(x_2 | x_1) = 2 (1 - x_1 - x_2) / (1 - x_1)^2 on [0, 1 - x_1],
/// f(x_3 | x_1, x_2) = 1 / (1 - x_1 - x_2) on [0, 1 - x_1 - x_2]. The first conditional is
/// inverted in closed form (x_1 = 1 - (1 - u)^{1/3}), the second from its pdf numerically and
/// the third from its CDF, so that all three kinds are exercised.
pub fn simplex3() -> SequentialInversion {
    SequentialInversion::new()
        .then(Conditional::quantile(|_, u| 1.0 - (1.0 - u).cbrt()))
        .then(Conditional::pdf(
            |p, x| (1.0 - p[0] - x).max(0.0),
            |p| (0.0, 1.0 - p[0]),
        ))
        .then(Conditional::cdf(
            |p, x| (x / (1.0 - p[0] - p[1])).clamp(0.0, 1.0),
            |p| (0.0, 1.0 - p[0] - p[1]),
        ))
}
