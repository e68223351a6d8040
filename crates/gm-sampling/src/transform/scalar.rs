//! The scalar change of variables X = G(Z): [`ScalarTransform`] (critical points, roots,
//! density and probabilities of X) and its examples, the square of a normal and a cubic of a
//! uniform, with the chi-square(1) density they are checked against.

use super::{derivative, gauss_legendre};
use crate::roots::solve_bracketed;
use crate::univariate::{Normal, Truncated, Uniform, Univariate};
use crate::{Error, Result};

/// X = G(Z) for a scalar G on a bounded support [low, high] of Z.
pub struct ScalarTransform<G, H> {
    g: G,
    base_pdf: H,
    low: f64,
    high: f64,
    /// Support split at the critical points of G: G is monotone between consecutive entries.
    breaks: Vec<f64>,
}

impl<G: Fn(f64) -> f64, H: Fn(f64) -> f64> ScalarTransform<G, H> {
    /// `g`, the density `base_pdf` of Z on [low, high] (finite), and the number of grid cells
    /// used to find the critical points of G.
    pub fn new(g: G, base_pdf: H, low: f64, high: f64, grid: usize) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::InvalidInterval { low, high });
        }
        if grid == 0 {
            return Err(Error::ZeroCount("grid"));
        }
        let mut breaks = vec![low];
        let dz = (high - low) / grid as f64;
        let mut prev = derivative(&g, low);
        for k in 1..=grid {
            let z = if k == grid { high } else { low + k as f64 * dz };
            let d = derivative(&g, z);
            if d == 0.0 && k < grid {
                breaks.push(z);
            } else if prev != 0.0 && d.signum() != prev.signum() {
                let a = z - dz;
                if let Some(c) = solve_bracketed(|t| derivative(&g, t), a, z, 1e-14 * dz) {
                    breaks.push(c);
                }
            }
            prev = d;
        }
        breaks.push(high);
        breaks.dedup();
        Ok(Self {
            g,
            base_pdf,
            low,
            high,
            breaks,
        })
    }

    /// The critical points of G found in (low, high).
    pub fn critical_points(&self) -> &[f64] {
        &self.breaks[1..self.breaks.len() - 1]
    }

    /// Every z in the support with G(z) = x (one per monotone piece at most).
    pub fn roots(&self, x: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for (i, w) in self.breaks.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let ga = (self.g)(a) - x;
            let gb = (self.g)(b) - x;
            // Half-open pieces (a, b], except the first, so a shared end is counted once.
            if i > 0 && ga == 0.0 {
                continue;
            }
            if ga.signum() != gb.signum() || ga == 0.0 || gb == 0.0 {
                if let Some(z) = solve_bracketed(|t| (self.g)(t) - x, a, b, 1e-15 * (b - a)) {
                    out.push(z);
                }
            }
        }
        out
    }

    /// p_X(x) = sum over roots z_i of p_Z(z_i) / |G'(z_i)|. Roots where G' vanishes (x a
    /// critical value, a null set where p_X is singular) are left out.
    pub fn density(&self, x: f64) -> f64 {
        self.roots(x)
            .into_iter()
            .map(|z| (z, derivative(&self.g, z).abs()))
            .filter(|&(_, d)| d > 0.0)
            .map(|(z, d)| (self.base_pdf)(z) / d)
            .sum()
    }

    /// The values of G at the critical points and at the ends of the support, sorted: the
    /// points where p_X may be singular or jump.
    pub fn critical_values(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.breaks.iter().map(|&z| (self.g)(z)).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.dedup();
        v
    }

    /// P(a <= X <= b) = int_a^b p_X, by splitting at the critical values and, on each piece
    /// [c, d], substituting x = c + s^2 on its first half and x = d - s^2 on its second, which
    /// removes the inverse-square-root singularities of p_X at critical values.
    pub fn probability(&self, a: f64, b: f64, panels: usize) -> f64 {
        if !(a < b) {
            return 0.0;
        }
        let mut cuts = vec![a];
        // Critical values within rounding of an end are the end itself.
        let eps = 1e-12 * a.abs().max(b.abs()).max(1.0);
        cuts.extend(
            self.critical_values()
                .into_iter()
                .filter(|&c| c > a + eps && c < b - eps),
        );
        cuts.push(b);
        let f = |x: f64| self.density(x);
        let mut total = 0.0;
        for w in cuts.windows(2) {
            let (c, d) = (w[0], w[1]);
            let half = 0.5 * (d - c);
            let s_max = half.sqrt();
            total += gauss_legendre(&|s: f64| 2.0 * s * f(c + s * s), 0.0, s_max, panels);
            total += gauss_legendre(&|s: f64| 2.0 * s * f(d - s * s), 0.0, s_max, panels);
        }
        total
    }

    /// int p_X over the whole range of G: 1 for a proper density of Z on its support.
    pub fn total_probability(&self, panels: usize) -> f64 {
        let v = self.critical_values();
        match (v.first(), v.last()) {
            (Some(&lo), Some(&hi)) => self.probability(lo, hi, panels),
            _ => 0.0,
        }
    }

    /// G(z).
    pub fn apply(&self, z: f64) -> f64 {
        (self.g)(z)
    }

    /// The support of Z.
    pub fn support(&self) -> (f64, f64) {
        (self.low, self.high)
    }
}

/// A scalar transform with a plain-function G and a boxed base density.
pub type BoxedScalarTransform =
    ScalarTransform<fn(f64) -> f64, Box<dyn Fn(f64) -> f64 + Send + Sync>>;

/// Z ~ N(0, 1) (truncated to [-12, 12], mass lost < 1e-32) pushed through G on that support.
fn normal_base() -> Result<Truncated<Normal>> {
    Truncated::new(Normal::standard(), -12.0, 12.0)
}

/// X = Z^2, Z ~ N(0, 1): chi-square with one degree of freedom, p(x) = e^{-x/2} / sqrt(2 pi x).
pub fn square_of_normal() -> Result<BoxedScalarTransform> {
    let base = normal_base()?;
    ScalarTransform::new(
        (|z| z * z) as fn(f64) -> f64,
        Box::new(move |z| base.pdf(z)),
        -12.0,
        12.0,
        2000,
    )
}

/// X = Z^3 - 3Z with Z ~ Uniform(-2.5, 2.5): G has critical points +-1 and three roots for
/// every x in (-2, 2).
pub fn cubic_of_uniform() -> Result<BoxedScalarTransform> {
    let base = Uniform::new(-2.5, 2.5)?;
    ScalarTransform::new(
        (|z| z * z * z - 3.0 * z) as fn(f64) -> f64,
        Box::new(move |z| base.pdf(z)),
        -2.5,
        2.5,
        1000,
    )
}

/// The chi-square(1) density e^{-x/2} / sqrt(2 pi x), for x > 0.
pub fn chi_square1_pdf(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        (-0.5 * x).exp() / (2.0 * std::f64::consts::PI * x).sqrt()
    }
}
