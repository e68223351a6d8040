//! Frechet distance between the Gaussians fitted to two feature sets (Heusel et al. 2017,
//! "GANs trained by a two time-scale update rule converge to a local Nash equilibrium"; the
//! "MNIST FD" of TF-GAN's MNIST example uses a classifier's features in place of Inception's):
//!
//! `FD = ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})`,
//!
//! the squared 2-Wasserstein distance between N(m1, S1) and N(m2, S2). The matrix square root
//! term is computed in f64 as `tr sqrt(sqrt(S1) S2 sqrt(S1))` (see [`crate::linalg`]).

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::linalg::{mean_and_covariance, trace, trace_sqrt_product};
use crate::{Error, Result};

/// A Gaussian fitted to features: mean `(d)` and covariance `(d, d)` row-major, in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianStats {
    pub dim: usize,
    pub n: usize,
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
}

impl GaussianStats {
    /// Sample mean and unbiased covariance of the rows of `features: (n, d)`, `n >= 2`.
    pub fn from_features(features: &Tensor) -> Result<Self> {
        let (n, dim) = features.dims2().map_err(|_| Error::Shape {
            what: "features",
            expected: "(n, d)",
            found: features.dims().to_vec(),
        })?;
        let (mean, cov) = mean_and_covariance(features)?;
        Ok(Self { dim, n, mean, cov })
    }

    /// A Gaussian given by its parameters (checks the sizes).
    pub fn new(mean: Vec<f64>, cov: Vec<f64>) -> Result<Self> {
        let dim = mean.len();
        if cov.len() != dim * dim || dim == 0 {
            return Err(Error::InvalidInput {
                what: "GaussianStats",
                reason: format!(
                    "a mean of {dim} values needs {} covariance values, got {}",
                    dim * dim,
                    cov.len()
                ),
            });
        }
        Ok(Self {
            dim,
            n: 0,
            mean,
            cov,
        })
    }
}

/// `||m1 - m2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})`.
///
/// ```
/// use gm_eval::{frechet_distance, GaussianStats};
/// // N((0, 0), diag(1, 4)) and N((1, 0), diag(4, 1)): 1 + (1 - 2)^2 + (2 - 1)^2 = 3.
/// let a = GaussianStats::new(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 4.0])?;
/// let b = GaussianStats::new(vec![1.0, 0.0], vec![4.0, 0.0, 0.0, 1.0])?;
/// assert!((frechet_distance(&a, &b)? - 3.0).abs() < 1e-12);
/// # Ok::<(), gm_eval::Error>(())
/// ```
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> Result<f64> {
    if a.dim != b.dim {
        return Err(Error::InvalidInput {
            what: "frechet_distance",
            reason: format!("feature dimensions differ: {} vs {}", a.dim, b.dim),
        });
    }
    let n = a.dim;
    let dm: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let tsq = trace_sqrt_product(&a.cov, &b.cov, n)?;
    Ok(dm + trace(&a.cov, n) + trace(&b.cov, n) - 2.0 * tsq)
}

/// Frechet distance between the Gaussians fitted to two feature sets `(n, d)` and `(m, d)`.
pub fn frechet_distance_features(x: &Tensor, y: &Tensor) -> Result<f64> {
    frechet_distance(
        &GaussianStats::from_features(x)?,
        &GaussianStats::from_features(y)?,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::needless_range_loop)]
    use super::*;
    use crate::linalg::matmul;
    use gm_core::GmRng;

    /// Applies `Q = H_1 ... H_r` (Householder reflections from random vectors) as `Q S Q^T`.
    fn rotate(s: &[f64], n: usize, seed: u64) -> Vec<f64> {
        let mut rng = GmRng::new(seed);
        let mut out = s.to_vec();
        for _ in 0..6 {
            let v: Vec<f64> = rng.normal_vec(n).into_iter().map(f64::from).collect();
            let vv: f64 = v.iter().map(|x| x * x).sum();
            let mut h = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] = if i == j { 1.0 } else { 0.0 } - 2.0 * v[i] * v[j] / vv;
                }
            }
            out = matmul(&matmul(&h, &out, n), &h, n);
        }
        out
    }

    #[test]
    fn diagonal_covariances_match_the_closed_form() {
        // Commuting (diagonal) covariances: tr sqrt(S1 S2) = sum_i sqrt(a_i b_i).
        let n = 128;
        let a: Vec<f64> = (0..n).map(|i| 0.1 + i as f64 * 0.05).collect();
        let b: Vec<f64> = (0..n).map(|i| 3.0 / (1.0 + i as f64)).collect();
        let diag = |d: &[f64]| {
            let mut m = vec![0.0; n * n];
            for i in 0..n {
                m[i * n + i] = d[i];
            }
            m
        };
        let m1: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let m2: Vec<f64> = (0..n).map(|i| (i as f64).cos()).collect();
        let want: f64 = (0..n)
            .map(|i| (m1[i] - m2[i]).powi(2) + (a[i].sqrt() - b[i].sqrt()).powi(2))
            .sum();
        let got = frechet_distance(
            &GaussianStats::new(m1, diag(&a)).unwrap(),
            &GaussianStats::new(m2, diag(&b)).unwrap(),
        )
        .unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
    }

    #[test]
    fn dense_non_commuting_covariances_match_the_closed_form() {
        // 64 independent non-commuting 2x2 blocks, each with the closed form
        // tr sqrt(A B) = sqrt(tr(A B) + 2 sqrt(det A det B)), then one random orthogonal
        // change of basis applied to both, which leaves the distance unchanged and makes
        // the 128x128 matrices dense.
        let n = 128;
        let mut rng = GmRng::new(11);
        let mut s1 = vec![0.0; n * n];
        let mut s2 = vec![0.0; n * n];
        let mut want_trace = 0.0;
        for blk in 0..n / 2 {
            let u: Vec<f64> = rng
                .uniform_vec(6, 0.2, 2.0)
                .into_iter()
                .map(f64::from)
                .collect();
            let a = [u[0] + u[2], 0.5 * u[2], 0.5 * u[2], u[1] + u[2]];
            let b = [
                u[4] + 0.8 * u[5],
                -0.4 * u[5],
                -0.4 * u[5],
                u[3] + 0.8 * u[5],
            ];
            let p = matmul(&a, &b, 2);
            let det = (a[0] * a[3] - a[1] * a[2]) * (b[0] * b[3] - b[1] * b[2]);
            assert!(det > 0.0);
            let tsq = (p[0] + p[3] + 2.0 * det.sqrt()).sqrt();
            want_trace += a[0] + a[3] + b[0] + b[3] - 2.0 * tsq;
            let o = 2 * blk;
            for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                s1[(o + i) * n + o + j] = a[i * 2 + j];
                s2[(o + i) * n + o + j] = b[i * 2 + j];
            }
        }
        let (s1, s2) = (rotate(&s1, n, 5), rotate(&s2, n, 5));
        // The rotated blocks no longer commute as whole matrices.
        let (p, q) = (matmul(&s1, &s2, n), matmul(&s2, &s1, n));
        assert!(p.iter().zip(&q).any(|(x, y)| (x - y).abs() > 1e-3));
        let m1 = vec![0.5; n];
        let m2 = vec![0.25; n];
        let want = n as f64 * 0.0625 + want_trace;
        let got = frechet_distance(
            &GaussianStats::new(m1, s1).unwrap(),
            &GaussianStats::new(m2, s2).unwrap(),
        )
        .unwrap();
        assert!(
            (got - want).abs() < 1e-8 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }

    #[test]
    fn scaled_covariance_and_identical_sets() {
        // S2 = c^2 S1: (S1 S2)^{1/2} = c S1, so FD = ||dm||^2 + (1 - c)^2 tr S1; and a feature
        // set against itself has distance 0.
        let dev = candle_core::Device::Cpu;
        let x = GmRng::new(3).normal((500, 16), 0.0, 1.0, &dev).unwrap();
        let x = x
            .matmul(&GmRng::new(4).normal((16, 16), 0.0, 1.0, &dev).unwrap())
            .unwrap();
        let a = GaussianStats::from_features(&x).unwrap();
        let y = (x.clone() * 1.5).unwrap();
        let b = GaussianStats::from_features(&y).unwrap();
        let tr = trace(&a.cov, 16);
        let dm: f64 = a.mean.iter().map(|m| (0.5 * m).powi(2)).sum();
        let want = dm + 0.25 * tr;
        let got = frechet_distance(&a, &b).unwrap();
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
        assert!(frechet_distance(&a, &a).unwrap().abs() < 1e-8 * tr);
    }

    #[test]
    fn dimension_mismatch_is_an_error() {
        let a = GaussianStats::new(vec![0.0; 2], vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let b = GaussianStats::new(vec![0.0], vec![1.0]).unwrap();
        assert!(frechet_distance(&a, &b).is_err());
        assert!(GaussianStats::new(vec![0.0; 2], vec![1.0]).is_err());
    }
}
