//! Parzen-window (Gaussian kernel density) log-likelihood, with the protocol of Goodfellow
//! et al. 2014 ("Generative adversarial nets", table 1; after Breuleux et al. 2011): fit a
//! KDE to 10,000 generated samples `s_i`, choose the bandwidth from `logspace(-1, 0, 10)` by
//! mean log-likelihood of a validation split (1,000 training digits), and report the mean
//! log-likelihood of the test digits with its standard error:
//!
//! `log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log N - (d/2) log(2 pi sigma^2)`.
//!
//! Squared distances come from one matrix product per block of test points
//! (the crate's `distances` module); all bandwidths are scored from the same distances.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::distances::{for_each_distance_row, Points};
use crate::{Error, Result};

/// The bandwidth grid of the protocol: `logspace(-1, 0, 10)`, 0.1 to 1.
pub fn default_sigmas() -> Vec<f64> {
    (0..10).map(|i| 10f64.powf(-1.0 + i as f64 / 9.0)).collect()
}

/// Test points per matrix product.
const BLOCK: usize = 100;

/// The outcome of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParzenResult {
    /// The chosen bandwidth.
    pub sigma: f64,
    /// Mean test log-likelihood (nats per item) under the chosen bandwidth.
    pub mean: f64,
    /// Standard error of the mean: sample std of the per-item values / sqrt(n_test).
    pub stderr: f64,
    /// The bandwidth grid and the mean validation log-likelihood of each.
    pub sigmas: Vec<f64>,
    /// Mean validation log-likelihood of each bandwidth of `sigmas`.
    pub validation: Vec<f64>,
    /// Number of samples the KDE is fitted to.
    pub n_kernel: usize,
    /// Number of validation points.
    pub n_validation: usize,
    /// Number of test points.
    pub n_test: usize,
}

fn check_sigmas(sigmas: &[f64]) -> Result<()> {
    if sigmas.is_empty() {
        return Err(Error::Config {
            field: "parzen_sigmas",
            value: "[]".into(),
            reason: "needs at least one bandwidth",
        });
    }
    if let Some(s) = sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::Config {
            field: "parzen_sigmas",
            value: s.to_string(),
            reason: "bandwidths must be positive and finite",
        });
    }
    Ok(())
}

/// `out[s][j] = log p_sigma_s(x_j)` under the KDE of `kernel: (N, ...)`, for every bandwidth.
pub fn parzen_log_likelihoods(
    kernel: &Tensor,
    x: &Tensor,
    sigmas: &[f64],
) -> Result<Vec<Vec<f64>>> {
    check_sigmas(sigmas)?;
    let k = Points::new(kernel, "Parzen kernel samples")?;
    let p = Points::new(x, "Parzen evaluation points")?;
    parzen_points(&k, &p, sigmas)
}

fn parzen_points(k: &Points, p: &Points, sigmas: &[f64]) -> Result<Vec<Vec<f64>>> {
    let n = k.len() as f64;
    let d = k.dim()? as f64;
    let consts: Vec<f64> = sigmas
        .iter()
        .map(|s| -n.ln() - 0.5 * d * (2.0 * std::f64::consts::PI * s * s).ln())
        .collect();
    let mut out = vec![vec![0.0; p.len()]; sigmas.len()];
    for_each_distance_row(p, k, BLOCK, |j, row| {
        // The largest term of every logsumexp comes from the smallest distance.
        let dmin = row.iter().cloned().fold(f64::INFINITY, f64::min);
        for (s, sigma) in sigmas.iter().enumerate() {
            let inv = 1.0 / (2.0 * sigma * sigma);
            let sum: f64 = row.iter().map(|&d2| (-(d2 - dmin) * inv).exp()).sum();
            out[s][j] = -dmin * inv + sum.ln() + consts[s];
        }
        Ok(())
    })?;
    Ok(out)
}

fn mean_and_stderr(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// The full protocol: bandwidth chosen on `validation`, mean log-likelihood of `test`.
pub fn parzen_evaluate(
    kernel: &Tensor,
    validation: &Tensor,
    test: &Tensor,
    sigmas: &[f64],
) -> Result<ParzenResult> {
    check_sigmas(sigmas)?;
    let k = Points::new(kernel, "Parzen kernel samples")?;
    let v = Points::new(validation, "Parzen validation points")?;
    let t = Points::new(test, "Parzen test points")?;
    let val: Vec<f64> = parzen_points(&k, &v, sigmas)?
        .iter()
        .map(|ll| mean_and_stderr(ll).0)
        .collect();
    let best = val
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .ok_or_else(|| Error::InvalidInput {
            what: "Parzen validation",
            reason: "no bandwidth gives a finite log-likelihood".into(),
        })?;
    let sigma = sigmas[best];
    let ll = parzen_points(&k, &t, &[sigma])?;
    let (mean, stderr) = mean_and_stderr(&ll[0]);
    Ok(ParzenResult {
        sigma,
        mean,
        stderr,
        sigmas: sigmas.to_vec(),
        validation: val,
        n_kernel: k.len(),
        n_validation: v.len(),
        n_test: t.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn grid_is_logspace() {
        let s = default_sigmas();
        assert_eq!(s.len(), 10);
        assert!((s[0] - 0.1).abs() < 1e-15 && (s[9] - 1.0).abs() < 1e-15);
        assert!((s[1] / s[0] - 10f64.powf(1.0 / 9.0)).abs() < 1e-12);
    }

    #[test]
    fn hand_computed_density() {
        // Kernel points (0, 0) and (1, 1) in d = 2, sigma = 0.5, x = (1, 0): both at squared
        // distance 1, so p(x) = 1/2 * 2 * N(1; 0, 0.25)-style term:
        // p = (1/2) [2 exp(-1 / (2 * 0.25))] / (2 pi 0.25) = exp(-2) / (pi / 2).
        // And x = (0, 0): p = (1/2) [1 + exp(-2 / 0.5)] / (pi / 2).
        let dev = Device::Cpu;
        let k = Tensor::new(&[[0f32, 0.0], [1.0, 1.0]], &dev).unwrap();
        let x = Tensor::new(&[[1f32, 0.0], [0.0, 0.0]], &dev).unwrap();
        let ll = parzen_log_likelihoods(&k, &x, &[0.5]).unwrap();
        let half_pi = std::f64::consts::PI / 2.0;
        let want0 = (-2f64).exp() / half_pi;
        let want1 = 0.5 * (1.0 + (-4f64).exp()) / half_pi;
        assert!(
            (ll[0][0] - want0.ln()).abs() < 1e-12,
            "{} vs {}",
            ll[0][0],
            want0.ln()
        );
        assert!((ll[0][1] - want1.ln()).abs() < 1e-12);
    }

    #[test]
    fn far_points_stay_finite() {
        // Distances of 10^4 sigma^2 underflow exp() without the shift by the minimum.
        let dev = Device::Cpu;
        let k = Tensor::new(&[[0f32], [1.0]], &dev).unwrap();
        let x = Tensor::new(&[[30f32]], &dev).unwrap();
        let ll = parzen_log_likelihoods(&k, &x, &[0.1]).unwrap();
        // Dominated by the kernel at 1: -(29^2)/(2 * 0.01) - ln 2 - 0.5 ln(2 pi 0.01).
        let want = -841.0 / 0.02 - 2f64.ln() - 0.5 * (2.0 * std::f64::consts::PI * 0.01).ln();
        assert!(
            (ll[0][0] - want).abs() < 1e-6 * want.abs(),
            "{} vs {want}",
            ll[0][0]
        );
    }

    #[test]
    fn protocol_picks_the_true_bandwidth_scale() {
        // Kernel, validation and test all from N(0, 0.3^2) in 1-D: the chosen sigma is the
        // grid point that fits best, a small one, and the test mean is close to the true
        // entropy -H = -0.5 ln(2 pi e 0.09) = -0.2150 (KDE bias is a few 0.01 at n = 2000).
        let dev = Device::Cpu;
        let mut rng = gm_core::GmRng::new(9);
        let k = rng.normal((2000, 1), 0.0, 0.3, &dev).unwrap();
        let v = rng.normal((1000, 1), 0.0, 0.3, &dev).unwrap();
        let t = rng.normal((2000, 1), 0.0, 0.3, &dev).unwrap();
        let r = parzen_evaluate(&k, &v, &t, &default_sigmas()).unwrap();
        assert!(r.sigma <= 0.13, "{r:?}");
        let truth = -0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.09).ln();
        assert!(
            (r.mean - truth).abs() < 0.05 + 4.0 * r.stderr,
            "{r:?} truth {truth}"
        );
        assert!(parzen_evaluate(&k, &v, &t, &[]).is_err());
        assert!(parzen_evaluate(&k, &v, &t, &[-1.0]).is_err());
    }
}
