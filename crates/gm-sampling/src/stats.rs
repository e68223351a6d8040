//! Goodness-of-fit statistics used to prove samplers against their exact distributions.
//!
//! - Kolmogorov-Smirnov: D_n = sup_x |F_n(x) - F(x)|, with the asymptotic critical value
//!   c(alpha) / sqrt(n), c(alpha) = sqrt(-ln(alpha / 2) / 2) (1.628 at 0.01, 1.949 at 0.001).
//! - Pearson chi-square: X^2 = sum_i (O_i - E_i)^2 / E_i, compared with the chi-square
//!   distribution with k - 1 - (fitted parameters) degrees of freedom through its survival
//!   function Q(dof / 2, X^2 / 2).

use crate::special::gamma_q;
use crate::{Error, Result};

/// The one-sample Kolmogorov-Smirnov statistic D_n = sup |F_n - F| of `samples` against `cdf`.
/// Sorts `samples` in place. NaN samples give an error-free D = 1.
pub fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = samples.len();
    if n == 0 {
        return 0.0;
    }
    if samples.iter().any(|x| x.is_nan()) {
        return 1.0;
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let nf = n as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in samples.iter().enumerate() {
        let f = cdf(x);
        let lo = f - i as f64 / nf;
        let hi = (i + 1) as f64 / nf - f;
        d = d.max(lo).max(hi);
    }
    d
}

/// Asymptotic KS critical value c(alpha)/sqrt(n), c(alpha) = sqrt(-ln(alpha/2)/2).
pub fn ks_critical(n: usize, alpha: f64) -> f64 {
    (-(alpha / 2.0).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// Result of a Pearson chi-square goodness-of-fit test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    /// X^2 = sum (O - E)^2 / E.
    pub statistic: f64,
    /// Degrees of freedom (bins - 1).
    pub dof: usize,
    /// P(chi2_dof > X^2).
    pub p_value: f64,
}

/// Chi-square survival function P(chi2_k > x) = Q(k/2, x/2).
pub fn chi_square_sf(x: f64, dof: usize) -> f64 {
    gamma_q(dof as f64 / 2.0, x / 2.0)
}

/// Pearson test of observed bin counts against bin probabilities (renormalized to sum 1).
pub fn chi_square_test(observed: &[u64], probs: &[f64]) -> Result<ChiSquare> {
    if observed.len() != probs.len() {
        return Err(Error::LengthMismatch(observed.len(), probs.len()));
    }
    if observed.len() < 2 {
        return Err(Error::ZeroCount("bins beyond the first"));
    }
    let n: u64 = observed.iter().sum();
    let total_p: f64 = probs.iter().sum();
    let mut stat = 0.0;
    for (&o, &p) in observed.iter().zip(probs) {
        let e = n as f64 * p / total_p;
        if e > 0.0 {
            stat += (o as f64 - e).powi(2) / e;
        } else if o > 0 {
            stat = f64::INFINITY;
        }
    }
    let dof = observed.len() - 1;
    Ok(ChiSquare {
        statistic: stat,
        dof,
        p_value: chi_square_sf(stat, dof),
    })
}

/// Counts of `samples` in the bins `edges[i]..edges[i+1]` (values outside are dropped).
pub fn histogram(samples: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len().saturating_sub(1)];
    for &x in samples {
        if edges.len() < 2 || !(x >= edges[0] && x < edges[edges.len() - 1]) {
            continue;
        }
        let i = edges.partition_point(|&e| e <= x) - 1;
        let last = counts.len() - 1;
        counts[i.min(last)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_of_perfect_grid_is_half_step() {
        let n = 100;
        let mut xs: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let d = ks_statistic(&mut xs, |x| x.clamp(0.0, 1.0));
        assert!((d - 0.5 / n as f64).abs() < 1e-12);
        assert!((ks_critical(10_000, 0.01) - 0.016_276).abs() < 1e-5);
    }

    #[test]
    fn chi_square_detects_a_wrong_model() {
        let fair = chi_square_test(&[100, 100, 100, 100], &[0.25; 4]).unwrap();
        assert_eq!(fair.statistic, 0.0);
        assert!(fair.p_value > 0.999);
        let bad = chi_square_test(&[160, 80, 80, 80], &[0.25; 4]).unwrap();
        assert!(bad.p_value < 1e-6);
        assert!(chi_square_test(&[1, 2], &[0.5]).is_err());
    }

    #[test]
    fn histogram_counts_half_open_bins() {
        let c = histogram(&[0.0, 0.5, 1.0, 1.5, 2.0, -1.0], &[0.0, 1.0, 2.0]);
        assert_eq!(c, vec![2, 2]);
    }
}
