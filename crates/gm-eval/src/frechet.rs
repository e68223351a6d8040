//! Frechet distance between the Gaussians fitted to two feature sets (Heusel et al. 2017,
//! "GANs trained by a two time-scale update rule converge to a local Nash equilibrium"; the
//! "MNIST FD" of TF-GAN's MNIST example uses a classifier's features in place of Inception's):
//!
//! `FD = ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})`,
//!
//! the squared 2-Wasserstein distance between N(m1, S1) and N(m2, S2). The matrix square root
//! term is computed in f64 as `tr sqrt(sqrt(S1) S2 sqrt(S1))` (see [`crate::linalg`]).

use candle_core::Tensor;
use gm_core::ToHostF64;
use serde::{Deserialize, Serialize};

use crate::linalg::{
    feature_dims, mean_and_covariance, symmetrize, trace, trace_sqrt_product, trace_sqrt_psd,
};
use crate::{Error, Result};

/// A Gaussian fitted to features: mean `(d)` and covariance `(d, d)` row-major, in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianStats {
    /// Feature dimension `d`.
    pub dim: usize,
    /// Number of feature vectors fitted; 0 when built by [`GaussianStats::new`].
    pub n: usize,
    /// Mean, `d` values.
    pub mean: Vec<f64>,
    /// Covariance, `d * d` values row-major.
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

/// Frechet distance between the Gaussians fitted to two feature sets `(n, d)` and `(m, d)`:
/// through the `d x d` covariances ([`frechet_distance`]) when `d <= min(n, m)`, else through
/// the smaller Gram matrix ([`frechet_distance_dual`]), which gives the same value.
pub fn frechet_distance_features(x: &Tensor, y: &Tensor) -> Result<f64> {
    let (n, d) = feature_dims(x)?;
    let (m, _) = feature_dims(y)?;
    if d <= n.min(m) {
        frechet_distance(
            &GaussianStats::from_features(x)?,
            &GaussianStats::from_features(y)?,
        )
    } else {
        frechet_distance_dual(x, y)
    }
}

/// The Frechet distance of the fitted Gaussians computed without `d x d` matrices, for
/// features of more dimensions than items. With centred, scaled rows
/// `A = (x - mean x) / sqrt(n - 1)` and `B = (y - mean y) / sqrt(m - 1)`, `S1 = A^T A`,
/// `S2 = B^T B`, and the non-zero eigenvalues of `S1 S2 = A^T (A B^T B)` are those of
/// `(A B^T)(A B^T)^T` (`eig(P Q) = eig(Q P)` away from 0), so
///
/// `tr (S1 S2)^{1/2} = sum_i sigma_i(A B^T)`, `tr S1 = ||A||_F^2`, `tr S2 = ||B||_F^2`:
///
/// one symmetric eigenproblem of size `min(n, m)`.
pub fn frechet_distance_dual(x: &Tensor, y: &Tensor) -> Result<f64> {
    let (n, d) = feature_dims(x)?;
    let (m, dy) = feature_dims(y)?;
    if d != dy {
        return Err(Error::InvalidInput {
            what: "frechet_distance",
            reason: format!("feature dimensions differ: {d} vs {dy}"),
        });
    }
    let centred = |t: &Tensor, rows: usize| -> Result<(Tensor, Vec<f64>)> {
        let t = t.to_host_f64()?;
        let mean = t.mean_keepdim(0)?;
        let c = (t.broadcast_sub(&mean)? / ((rows - 1) as f64).sqrt())?;
        Ok((c, mean.flatten_all()?.to_vec1::<f64>()?))
    };
    let (a, ma) = centred(x, n)?;
    let (b, mb) = centred(y, m)?;
    let dm: f64 = ma.iter().zip(&mb).map(|(p, q)| (p - q).powi(2)).sum();
    let tr_a = a.sqr()?.sum_all()?.to_scalar::<f64>()?;
    let tr_b = b.sqr()?.sum_all()?.to_scalar::<f64>()?;
    let c = a.matmul(&b.t()?)?;
    let (g, k) = if n <= m {
        (c.matmul(&c.t()?)?, n)
    } else {
        (c.t()?.matmul(&c)?, m)
    };
    let mut g = g.flatten_all()?.to_vec1::<f64>()?;
    symmetrize(&mut g, k);
    let tsq = trace_sqrt_psd(&g, k)?;
    Ok(dm + tr_a + tr_b - 2.0 * tsq)
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

    /// `n / 2` independent non-commuting 2x2 blocks, each with the closed form
    /// tr sqrt(A B) = sqrt(tr(A B) + 2 sqrt(det A det B)), then one random orthogonal
    /// change of basis applied to both, which leaves the distance unchanged and makes
    /// the n x n matrices dense.
    fn dense_non_commuting_case(n: usize) {
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
    fn dense_non_commuting_covariances_match_the_closed_form() {
        // 128: the Jacobi solver; 300: tridiagonal QL (above linalg::JACOBI_MAX).
        dense_non_commuting_case(128);
        dense_non_commuting_case(300);
    }

    #[test]
    fn a_singular_large_set_against_itself_is_zero() {
        // 300-d features of which 60 are dead (always 0), as after a ReLU: S is singular and
        // goes to QL. Its 60 null eigenvalues come out at round-off and are cut at
        // n eps max|l|, so FD(x, x) = 2 tr S - 2 sum sqrt(l(S^2)) stays at round-off of tr S.
        let dev = candle_core::Device::Cpu;
        let live = GmRng::new(21).normal((600, 240), 0.0, 1.0, &dev).unwrap();
        let mix = GmRng::new(22).normal((240, 240), 0.0, 0.1, &dev).unwrap();
        let x = Tensor::cat(
            &[
                live.matmul(&mix).unwrap(),
                Tensor::zeros((600, 60), candle_core::DType::F32, &dev).unwrap(),
            ],
            1,
        )
        .unwrap();
        let a = GaussianStats::from_features(&x).unwrap();
        let tr = trace(&a.cov, 300);
        let fd = frechet_distance(&a, &a).unwrap();
        assert!(fd.abs() < 1e-9 * tr, "{fd} (tr S = {tr})");
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
    fn dual_matches_the_covariance_form() {
        // 20 and 30 points in 50 dimensions: rank-deficient covariances. The primal route
        // (50 x 50, singular S1) and the dual (20 x 20 Gram) must agree up to the null space:
        // its eigenvalues come out as round-off of order eps ||M|| ~ 1e-16 * 300, and each
        // adds its square root, ~2e-7, to tr sqrt; 31 of them (primal) and 1 (dual) bound the
        // difference by about 1e-5, under 1e-7 of the distance (~155).
        let dev = candle_core::Device::Cpu;
        let x = GmRng::new(7).normal((20, 50), 0.3, 1.0, &dev).unwrap();
        let y = GmRng::new(8).normal((30, 50), 0.0, 2.0, &dev).unwrap();
        let primal = frechet_distance(
            &GaussianStats::from_features(&x).unwrap(),
            &GaussianStats::from_features(&y).unwrap(),
        )
        .unwrap();
        let dual = frechet_distance_dual(&x, &y).unwrap();
        assert!((primal - dual).abs() < 1e-7 * primal, "{primal} vs {dual}");
        // The automatic choice takes the dual here (the same eigenproblem, transposed).
        let auto = frechet_distance_features(&y, &x).unwrap();
        assert!((auto - dual).abs() < 1e-9 * primal, "{auto} vs {dual}");
    }

    #[test]
    fn dimension_mismatch_is_an_error() {
        let a = GaussianStats::new(vec![0.0; 2], vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let b = GaussianStats::new(vec![0.0], vec![1.0]).unwrap();
        assert!(frechet_distance(&a, &b).is_err());
        assert!(GaussianStats::new(vec![0.0; 2], vec![1.0]).is_err());
    }
}
