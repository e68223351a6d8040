//! Small dense linear algebra in f64 for the metrics: sample mean and covariance, the cyclic
//! Jacobi eigendecomposition of a symmetric matrix (Golub & Van Loan, Matrix Computations,
//! section 8.5), the square root of a positive semi-definite matrix, and
//! `tr sqrt(S1 S2) = tr sqrt(sqrt(S1) S2 sqrt(S1))`, the term of the Frechet distance that
//! needs a matrix square root. `S1 S2` is not symmetric, but it is similar to the symmetric
//! positive semi-definite `sqrt(S1) S2 sqrt(S1)`, so both have the same non-negative
//! eigenvalues and the trace of the square root is the sum of their square roots.
//!
//! Matrices are row-major `Vec<f64>` of `n * n` values.
#![allow(clippy::needless_range_loop)]

use candle_core::{DType, Tensor};

use crate::{Error, Result};

/// Most sweeps of the cyclic Jacobi method; it converges quadratically, in well under 20
/// sweeps for the matrices met here.
const MAX_SWEEPS: usize = 100;

/// Mean `(d)` and unbiased covariance `(d, d)` of the rows of `x: (n, d)`, in f64.
pub fn mean_and_covariance(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
    let (n, d) = x.dims2().map_err(|_| Error::Shape {
        what: "features",
        expected: "(n, d)",
        found: x.dims().to_vec(),
    })?;
    if n < 2 {
        return Err(Error::TooFew {
            what: "covariance",
            needed: 2,
            found: n,
        });
    }
    let x = x.to_dtype(DType::F64)?;
    let mean = x.mean_keepdim(0)?;
    let xc = x.broadcast_sub(&mean)?;
    let cov = (xc.t()?.matmul(&xc)? / (n as f64 - 1.0))?;
    let mut cov = cov.flatten_all()?.to_vec1::<f64>()?;
    symmetrize(&mut cov, d);
    Ok((mean.flatten_all()?.to_vec1::<f64>()?, cov))
}

/// Replaces `a` by `(a + a^T) / 2`, removing round-off asymmetry.
pub fn symmetrize(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in (i + 1)..n {
            let m = 0.5 * (a[i * n + j] + a[j * n + i]);
            a[i * n + j] = m;
            a[j * n + i] = m;
        }
    }
}

/// `a b` for square `n x n` matrices.
pub fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    c
}

/// Trace of a square matrix.
pub fn trace(a: &[f64], n: usize) -> f64 {
    (0..n).map(|i| a[i * n + i]).sum()
}

/// Eigenvalues and eigenvectors of a symmetric matrix by the cyclic Jacobi method.
/// Returns `(values, vectors)` with eigenvector `k` in column `k` of the row-major `vectors`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if a.len() != n * n {
        return Err(Error::InvalidInput {
            what: "symmetric_eigen",
            reason: format!("{} values do not make a {n}x{n} matrix", a.len()),
        });
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput {
            what: "symmetric_eigen",
            reason: "the matrix has non-finite entries".into(),
        });
    }
    let mut a = a.to_vec();
    symmetrize(&mut a, n);
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let frob2: f64 = a.iter().map(|x| x * x).sum();
    let tol2 = frob2 * 1e-30;
    let mut converged = false;
    for _ in 0..MAX_SWEEPS {
        let mut off = 0.0;
        for p in 0..n {
            for q in (p + 1)..n {
                off += a[p * n + q] * a[p * n + q];
            }
        }
        if off <= tol2 || off == 0.0 {
            converged = true;
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                // The rotation angle that zeroes a_pq: cot(2 phi) = theta; t = tan(phi) is
                // the smaller root of t^2 + 2 theta t - 1 = 0, for stability.
                let theta = (aqq - app) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    let s = if theta >= 0.0 { 1.0 } else { -1.0 };
                    s / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    if k == p || k == q {
                        continue;
                    }
                    let akp = a[k * n + p];
                    let akq = a[k * n + q];
                    let np = c * akp - s * akq;
                    let nq = s * akp + c * akq;
                    a[k * n + p] = np;
                    a[p * n + k] = np;
                    a[k * n + q] = nq;
                    a[q * n + k] = nq;
                }
                a[p * n + p] = app - t * apq;
                a[q * n + q] = aqq + t * apq;
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    if !converged {
        return Err(Error::NoConvergence {
            n,
            sweeps: MAX_SWEEPS,
        });
    }
    Ok(((0..n).map(|i| a[i * n + i]).collect(), v))
}

/// The symmetric square root of a positive semi-definite matrix, `V diag(sqrt(l)) V^T`;
/// eigenvalues below zero (round-off of a singular covariance) are taken as zero.
pub fn sqrt_psd(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let (l, v) = symmetric_eigen(a, n)?;
    let r: Vec<f64> = l.iter().map(|x| x.max(0.0).sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let w = v[i * n + k] * r[k];
            if w == 0.0 {
                continue;
            }
            for j in 0..n {
                out[i * n + j] += w * v[j * n + k];
            }
        }
    }
    symmetrize(&mut out, n);
    Ok(out)
}

/// `tr sqrt(S1 S2)` for symmetric positive semi-definite `S1`, `S2`, computed as the sum of the
/// square roots of the eigenvalues of the symmetric `sqrt(S1) S2 sqrt(S1)`.
pub fn trace_sqrt_product(s1: &[f64], s2: &[f64], n: usize) -> Result<f64> {
    let r = sqrt_psd(s1, n)?;
    let mut m = matmul(&matmul(&r, s2, n), &r, n);
    symmetrize(&mut m, n);
    let (l, _) = symmetric_eigen(&m, n)?;
    Ok(l.iter().map(|x| x.max(0.0).sqrt()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::GmRng;

    fn random_spd(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = GmRng::new(seed);
        let g: Vec<f64> = rng
            .normal_vec(n * (n + 3))
            .into_iter()
            .map(f64::from)
            .collect();
        let m = n + 3;
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = (0..m).map(|k| g[i * m + k] * g[j * m + k]).sum::<f64>() / m as f64;
            }
        }
        s
    }

    #[test]
    fn eigen_reconstructs_and_is_orthonormal() {
        let n = 40;
        let a = random_spd(n, 1);
        let (l, v) = symmetric_eigen(&a, n).unwrap();
        let max_abs = a.iter().fold(0f64, |m, x| m.max(x.abs()));
        for i in 0..n {
            for j in 0..n {
                let rec: f64 = (0..n).map(|k| v[i * n + k] * l[k] * v[j * n + k]).sum();
                assert!((rec - a[i * n + j]).abs() < 1e-12 * max_abs * n as f64);
                let dot: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "V^T V [{i},{j}] = {dot}");
            }
        }
    }

    #[test]
    fn sqrt_squares_back() {
        let n = 30;
        let a = random_spd(n, 2);
        let r = sqrt_psd(&a, n).unwrap();
        let rr = matmul(&r, &r, n);
        for (x, y) in rr.iter().zip(&a) {
            assert!((x - y).abs() < 1e-11, "{x} vs {y}");
        }
    }

    #[test]
    fn two_by_two_closed_form() {
        // For 2x2 S1 S2 with eigenvalues l1, l2 > 0:
        // (sqrt l1 + sqrt l2)^2 = tr(S1 S2) + 2 sqrt(det S1 det S2).
        let s1 = [2.0, 0.7, 0.7, 1.0];
        let s2 = [0.5, -0.3, -0.3, 3.0];
        let p = matmul(&s1, &s2, 2);
        let det1 = s1[0] * s1[3] - s1[1] * s1[2];
        let det2 = s2[0] * s2[3] - s2[1] * s2[2];
        let want = (trace(&p, 2) + 2.0 * (det1 * det2).sqrt()).sqrt();
        let got = trace_sqrt_product(&s1, &s2, 2).unwrap();
        assert!((got - want).abs() < 1e-13, "{got} vs {want}");
    }

    #[test]
    fn non_finite_and_bad_size_are_errors() {
        assert!(symmetric_eigen(&[1.0, f64::NAN, f64::NAN, 1.0], 2).is_err());
        assert!(symmetric_eigen(&[1.0, 2.0, 3.0], 2).is_err());
    }
}
