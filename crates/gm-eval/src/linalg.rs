//! Small dense linear algebra in f64 for the metrics: sample mean and covariance, the cyclic
//! Jacobi eigendecomposition of a symmetric matrix (Golub & Van Loan, Matrix Computations,
//! section 8.5), the faster Householder tridiagonalisation followed by the implicit QL method
//! (Golub & Van Loan section 8.3; the EISPACK `tred2`/`tql2` pair, as in Numerical Recipes
//! section 11.2-11.3), the square root of a positive semi-definite matrix, and
//! `tr sqrt(S1 S2) = tr sqrt(sqrt(S1) S2 sqrt(S1))`, the term of the Frechet distance that
//! needs a matrix square root. `S1 S2` is not symmetric, but it is similar to the symmetric
//! positive semi-definite `sqrt(S1) S2 sqrt(S1)`, so both have the same non-negative
//! eigenvalues and the trace of the square root is the sum of their square roots.
//!
//! Matrices are row-major `Vec<f64>` of `n * n` values.
#![allow(clippy::needless_range_loop)]

use candle_core::{Device, Tensor};
use gm_core::ToHostF64;

use crate::{Error, Result};

/// Most sweeps of the cyclic Jacobi method; it converges quadratically, in well under 20
/// sweeps for the matrices met here.
const MAX_SWEEPS: usize = 100;

/// The `(n, d)` of a feature matrix with at least two rows (a covariance needs them).
pub fn feature_dims(x: &Tensor) -> Result<(usize, usize)> {
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
    Ok((n, d))
}

/// Mean `(d)` and unbiased covariance `(d, d)` of the rows of `x: (n, d)`, in f64.
pub fn mean_and_covariance(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
    let (n, d) = feature_dims(x)?;
    let x = x.to_host_f64()?;
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

/// Most implicit QL iterations per eigenvalue; two or three are typical.
const MAX_QL_ITERATIONS: usize = 60;

fn check_symmetric_input(a: &[f64], n: usize, what: &'static str) -> Result<()> {
    if a.len() != n * n {
        return Err(Error::InvalidInput {
            what,
            reason: format!("{} values do not make a {n}x{n} matrix", a.len()),
        });
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput {
            what,
            reason: "the matrix has non-finite entries".into(),
        });
    }
    Ok(())
}

/// Householder reduction of the symmetric `a` (overwritten) to tridiagonal form: returns the
/// diagonal `d` and the sub-diagonal `e` (`e[i]` couples `i - 1` and `i`, `e[0] = 0`); with
/// `vectors`, `a` ends as the orthogonal `Q` with `Q^T A Q` tridiagonal (EISPACK `tred2`).
fn tridiagonalize(a: &mut [f64], n: usize, vectors: bool) -> (Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    for i in (1..n).rev() {
        let l = i - 1;
        let mut h = 0.0;
        if l > 0 {
            let scale: f64 = (0..=l).map(|k| a[i * n + k].abs()).sum();
            if scale == 0.0 {
                e[i] = a[i * n + l];
            } else {
                for k in 0..=l {
                    a[i * n + k] /= scale;
                    h += a[i * n + k] * a[i * n + k];
                }
                let f = a[i * n + l];
                let g = if f >= 0.0 { -h.sqrt() } else { h.sqrt() };
                e[i] = scale * g;
                h -= f * g;
                a[i * n + l] = f - g;
                let mut f = 0.0;
                for j in 0..=l {
                    if vectors {
                        a[j * n + i] = a[i * n + j] / h;
                    }
                    let mut g = 0.0;
                    for k in 0..=j {
                        g += a[j * n + k] * a[i * n + k];
                    }
                    for k in (j + 1)..=l {
                        g += a[k * n + j] * a[i * n + k];
                    }
                    e[j] = g / h;
                    f += e[j] * a[i * n + j];
                }
                let hh = f / (h + h);
                for j in 0..=l {
                    let f = a[i * n + j];
                    let g = e[j] - hh * f;
                    e[j] = g;
                    for k in 0..=j {
                        a[j * n + k] -= f * e[k] + g * a[i * n + k];
                    }
                }
            }
        } else {
            e[i] = a[i * n + l];
        }
        d[i] = h;
    }
    if n > 0 {
        d[0] = 0.0;
        e[0] = 0.0;
    }
    for i in 0..n {
        if vectors {
            // Accumulate the transformations: row and column i of Q.
            if d[i] != 0.0 {
                for j in 0..i {
                    let mut g = 0.0;
                    for k in 0..i {
                        g += a[i * n + k] * a[k * n + j];
                    }
                    for k in 0..i {
                        a[k * n + j] -= g * a[k * n + i];
                    }
                }
            }
            d[i] = a[i * n + i];
            a[i * n + i] = 1.0;
            for j in 0..i {
                a[j * n + i] = 0.0;
                a[i * n + j] = 0.0;
            }
        } else {
            d[i] = a[i * n + i];
        }
    }
    (d, e)
}

/// Eigenvalues of the tridiagonal matrix `(d, e)` by the implicit QL method with Wilkinson
/// shifts (EISPACK `tql2`), into `d`; with `z` (the `Q` of [`tridiagonalize`]), its columns
/// become the eigenvectors of the original matrix.
fn tridiagonal_ql(d: &mut [f64], e: &mut [f64], mut z: Option<&mut [f64]>) -> Result<()> {
    let n = d.len();
    for i in 1..n {
        e[i - 1] = e[i];
    }
    if n > 0 {
        e[n - 1] = 0.0;
    }
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            if iter > MAX_QL_ITERATIONS {
                return Err(Error::NoConvergence {
                    n,
                    sweeps: MAX_QL_ITERATIONS,
                });
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            let signed_r = if g >= 0.0 { r } else { -r };
            g = d[m] - d[l] + e[l] / (g + signed_r);
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut i = m;
            let mut deflated = false;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    // Underflow: the matrix splits here; restart on the smaller block.
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                if let Some(z) = z.as_deref_mut() {
                    for k in 0..n {
                        let f = z[k * n + i + 1];
                        z[k * n + i + 1] = s * z[k * n + i] + c * f;
                        z[k * n + i] = c * z[k * n + i] - s * f;
                    }
                }
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    Ok(())
}

/// Eigenvalues of a symmetric matrix (unordered), by tridiagonalisation and implicit QL:
/// about `4 n^3 / 3` operations, several times fewer than one Jacobi sweep.
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Result<Vec<f64>> {
    check_symmetric_input(a, n, "symmetric_eigenvalues")?;
    let mut a = a.to_vec();
    symmetrize(&mut a, n);
    let (mut d, mut e) = tridiagonalize(&mut a, n, false);
    tridiagonal_ql(&mut d, &mut e, None)?;
    Ok(d)
}

/// Eigenvalues and eigenvectors (column `k` of the row-major result for value `k`) of a
/// symmetric matrix, by tridiagonalisation and implicit QL.
pub fn symmetric_eigen_ql(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    check_symmetric_input(a, n, "symmetric_eigen_ql")?;
    let mut q = a.to_vec();
    symmetrize(&mut q, n);
    let (mut d, mut e) = tridiagonalize(&mut q, n, true);
    tridiagonal_ql(&mut d, &mut e, Some(&mut q))?;
    Ok((d, q))
}

/// `a b` for square `n x n` matrices through candle's matrix product (blocked, threaded).
fn matmul_blas(a: &[f64], b: &[f64], n: usize) -> Result<Vec<f64>> {
    let dev = Device::Cpu;
    let ta = Tensor::from_slice(a, (n, n), &dev)?;
    let tb = Tensor::from_slice(b, (n, n), &dev)?;
    Ok(ta.matmul(&tb)?.flatten_all()?.to_vec1::<f64>()?)
}

/// Largest matrix solved by the Jacobi method in the functions below: it is cheap at that size
/// and finds tiny eigenvalues to high relative accuracy, so the square roots of a singular
/// covariance's null space stay at round-off (the MNIST FD of a set against itself is
/// ~1e-11). Larger matrices go to tridiagonal QL, whose eigenvalues are accurate to about
/// `n eps max|l|` in absolute terms; values below that bound are set to zero before any
/// square root, since they cannot be told apart from 0.
pub const JACOBI_MAX: usize = 256;

/// Eigenvalues and optionally eigenvectors of a positive semi-definite matrix, negative
/// round-off set to zero (and, above [`JACOBI_MAX`], values below `n eps max|l|`).
fn eigen_psd(a: &[f64], n: usize, vectors: bool) -> Result<(Vec<f64>, Vec<f64>)> {
    if n <= JACOBI_MAX {
        let (l, v) = symmetric_eigen(a, n)?;
        return Ok((l.into_iter().map(|x| x.max(0.0)).collect(), v));
    }
    let (l, v) = if vectors {
        symmetric_eigen_ql(a, n)?
    } else {
        (symmetric_eigenvalues(a, n)?, Vec::new())
    };
    let top = l.iter().fold(0f64, |m, x| m.max(x.abs()));
    let tol = n as f64 * f64::EPSILON * top;
    Ok((
        l.into_iter()
            .map(|x| if x > tol { x } else { 0.0 })
            .collect(),
        v,
    ))
}

/// `sum_i sqrt(l_i)` over the eigenvalues of a positive semi-definite matrix: the trace norm
/// of its square root (see [`JACOBI_MAX`] for the solver).
pub fn trace_sqrt_psd(a: &[f64], n: usize) -> Result<f64> {
    let (l, _) = eigen_psd(a, n, false)?;
    Ok(l.iter().map(|x| x.sqrt()).sum())
}

/// The symmetric square root of a positive semi-definite matrix, `V diag(sqrt(l)) V^T`;
/// eigenvalues below zero (round-off of a singular covariance) are taken as zero.
pub fn sqrt_psd(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let (l, v) = eigen_psd(a, n, true)?;
    let r: Vec<f64> = l.iter().map(|x| x.sqrt()).collect();
    if n <= JACOBI_MAX {
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
        return Ok(out);
    }
    // (V diag(r)) V^T.
    let mut vr = v.clone();
    for row in vr.chunks_mut(n.max(1)) {
        for (x, rk) in row.iter_mut().zip(&r) {
            *x *= rk;
        }
    }
    let dev = Device::Cpu;
    let tv = Tensor::from_slice(&v, (n, n), &dev)?;
    let tvr = Tensor::from_slice(&vr, (n, n), &dev)?;
    let mut out = tvr.matmul(&tv.t()?)?.flatten_all()?.to_vec1::<f64>()?;
    symmetrize(&mut out, n);
    Ok(out)
}

/// `tr sqrt(S1 S2)` for symmetric positive semi-definite `S1`, `S2`, computed as the sum of the
/// square roots of the eigenvalues of the symmetric `sqrt(S1) S2 sqrt(S1)`.
pub fn trace_sqrt_product(s1: &[f64], s2: &[f64], n: usize) -> Result<f64> {
    check_symmetric_input(s2, n, "trace_sqrt_product")?;
    let r = sqrt_psd(s1, n)?;
    let mut m = if n <= JACOBI_MAX {
        matmul(&matmul(&r, s2, n), &r, n)
    } else {
        matmul_blas(&matmul_blas(&r, s2, n)?, &r, n)?
    };
    symmetrize(&mut m, n);
    trace_sqrt_psd(&m, n)
}

#[cfg(test)]
mod tests;
