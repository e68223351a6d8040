//! Evaluation of a set-up [`NumericalInversion`]: the guide-table look-up, the quantile and
//! sampling, the accessors, and the measurement of the achieved u-error.

use std::cell::Cell;

use rand::Rng;

use super::{Density, NumericalInversion, UError};
use crate::univariate::open_unit;
use crate::{Error, Result};

impl NumericalInversion {
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
