//! Monte Carlo estimators with standard errors, and importance sampling.
//!
//! Plain Monte Carlo: mu_hat = (1/n) sum f(X_i), SE = s / sqrt(n) with the sample standard
//! deviation s, and the normal-approximation interval mu_hat +- z_{(1+level)/2} SE.
//! Importance sampling with X_i ~ q and w_i = p(X_i) / q(X_i):
//! plain mu_hat = (1/n) sum w_i f(X_i) (p normalized); self-normalized
//! mu_hat = sum w_i f_i / sum w_i (p known up to a constant), with delta-method standard error
//! sqrt(sum w_i^2 (f_i - mu_hat)^2) / sum w_i. Effective sample size ESS = (sum w)^2 / sum w^2.

use crate::special::std_normal_quantile;
use crate::{Error, Result};

/// A Monte Carlo estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub mean: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Number of draws.
    pub n: usize,
    /// Effective sample size (n for plain Monte Carlo).
    pub ess: f64,
}

impl Estimate {
    /// The normal-approximation confidence interval mean +- z SE at `level` (e.g. 0.95).
    pub fn confidence_interval(&self, level: f64) -> Result<(f64, f64)> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::InvalidLevel(level));
        }
        let z = std_normal_quantile(0.5 + 0.5 * level);
        Ok((
            self.mean - z * self.std_error,
            self.mean + z * self.std_error,
        ))
    }
}

/// Plain Monte Carlo from the values f(X_i).
pub fn monte_carlo(values: &[f64]) -> Result<Estimate> {
    let n = values.len();
    if n < 2 {
        return Err(Error::ZeroCount("values beyond the first"));
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Ok(Estimate {
        mean,
        std_error: (var / n as f64).sqrt(),
        n,
        ess: n as f64,
    })
}

/// ESS = (sum w)^2 / sum w^2.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let s: f64 = weights.iter().sum();
    let s2: f64 = weights.iter().map(|w| w * w).sum();
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

fn check(values: &[f64], weights: &[f64]) -> Result<()> {
    if values.len() != weights.len() {
        return Err(Error::LengthMismatch(values.len(), weights.len()));
    }
    if values.len() < 2 {
        return Err(Error::ZeroCount("values beyond the first"));
    }
    let s: f64 = weights.iter().sum();
    if !(s.is_finite() && s > 0.0) || weights.iter().any(|w| *w < 0.0) {
        return Err(Error::DegenerateWeights(s));
    }
    Ok(())
}

/// Plain importance sampling: mean of w_i f_i, with w_i = p(X_i)/q(X_i) for normalized p.
pub fn importance_sampling(values: &[f64], weights: &[f64]) -> Result<Estimate> {
    check(values, weights)?;
    let prod: Vec<f64> = values.iter().zip(weights).map(|(f, w)| f * w).collect();
    let mut est = monte_carlo(&prod)?;
    est.ess = effective_sample_size(weights);
    Ok(est)
}

/// Self-normalized importance sampling: sum w_i f_i / sum w_i, for p known up to a constant.
pub fn self_normalized_importance_sampling(values: &[f64], weights: &[f64]) -> Result<Estimate> {
    check(values, weights)?;
    let sw: f64 = weights.iter().sum();
    let mean = values.iter().zip(weights).map(|(f, w)| f * w).sum::<f64>() / sw;
    let var = values
        .iter()
        .zip(weights)
        .map(|(f, w)| w * w * (f - mean).powi(2))
        .sum::<f64>();
    Ok(Estimate {
        mean,
        std_error: var.sqrt() / sw,
        n: values.len(),
        ess: effective_sample_size(weights),
    })
}
