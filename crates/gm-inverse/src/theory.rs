//! The restricted isometry property (Candes and Tao, 2005) of a Gaussian measurement matrix,
//! checked numerically as rows of `cargo xtask reproduce theory`.
//!
//! A / sqrt(m) has restricted isometry constant delta_k when
//! (1 - delta_k) ||x||^2 <= ||A x||^2 / m <= (1 + delta_k) ||x||^2 for every k-sparse x, i.e.
//! every eigenvalue of A_S^T A_S / m lies in [1 - delta_k, 1 + delta_k] for every support
//! |S| = k. For A with i.i.d. N(0, 1) entries, delta_k <= delta holds with high probability
//! once m >= C delta^-2 k log(d / k) (Baraniuk, Davenport, DeVore and Wakin, 2008). The exact
//! constant is a maximum over all C(d, k) supports; [`empirical_ric`] maximises over random
//! supports, which gives a lower bound on it: enough to show where the property fails.

use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::{Error, Result};

const AREA: &str = "gm-inverse";

/// Eigenvalues of a symmetric k x k matrix (row-major) by cyclic Jacobi rotations.
pub fn symmetric_eigenvalues(a: &[f64], k: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    for _ in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j] * a[i * k + j])
            .sum();
        if off < 1e-24 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
            }
        }
    }
    (0..k).map(|i| a[i * k + i]).collect()
}

/// The empirical restricted isometry constant of A / sqrt(m), A (m x d) with N(0, 1)
/// entries drawn from `seed`: the largest |eigenvalue of A_S^T A_S / m - 1| over `supports`
/// random k-subsets S. Returns (delta_k, smallest eigenvalue seen, largest eigenvalue seen).
pub fn empirical_ric(
    m: usize,
    d: usize,
    k: usize,
    supports: usize,
    seed: u64,
) -> Result<(f64, f64, f64)> {
    if m == 0 {
        return Err(Error::config("m", 0, "must be at least 1"));
    }
    if k == 0 || k > d {
        return Err(Error::config("k", k, "must lie in 1..=d"));
    }
    if supports == 0 {
        return Err(Error::config("supports", 0, "must be at least 1"));
    }
    let mut rng = GmRng::new(seed);
    let a: Vec<f64> = rng.normal_vec(m * d).into_iter().map(f64::from).collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut gram = vec![0.0; k * k];
    for _ in 0..supports {
        let s: Vec<usize> = rng.permutation(d).into_iter().take(k).collect();
        for p in 0..k {
            for q in p..k {
                let v: f64 = (0..m)
                    .map(|i| a[i * d + s[p]] * a[i * d + s[q]])
                    .sum::<f64>()
                    / m as f64;
                gram[p * k + q] = v;
                gram[q * k + p] = v;
            }
        }
        for e in symmetric_eigenvalues(&gram, k) {
            lo = lo.min(e);
            hi = hi.max(e);
        }
    }
    Ok(((1.0 - lo).max(hi - 1.0), lo, hi))
}

/// Mean and standard error of ||A x||^2 / (m ||x||^2) over `trials` fresh draws of A (m x k
/// restricted to the support) and of a k-sparse x: 1 for N(0, 1) entries, the scaling of
/// Bora et al.
pub fn isometry_in_mean(m: usize, k: usize, trials: usize, seed: u64) -> (f64, f64) {
    let mut rng = GmRng::new(seed);
    let v: Vec<f64> = (0..trials)
        .map(|_| {
            let a = rng.normal_vec(m * k);
            let x = rng.normal_vec(k);
            let xx: f64 = x.iter().map(|&t| (t as f64).powi(2)).sum();
            let ax: f64 = (0..m)
                .map(|i| {
                    (0..k)
                        .map(|j| a[i * k + j] as f64 * x[j] as f64)
                        .sum::<f64>()
                        .powi(2)
                })
                .sum();
            ax / (m as f64 * xx)
        })
        .collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// The rows of this crate (well under a second).
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    let (d, k) = (784usize, 10usize);
    let klog = k as f64 * (d as f64 / k as f64).ln();
    let (mean, se) = isometry_in_mean(100, k, 4000, 1);
    rows.push(TheoryRow::new(
        AREA,
        "E ||A x||^2 / (m ||x||^2) = 1 for A with N(0,1) entries (m=100, 4000 draws, tol 5 s.e.)",
        mean,
        1.0,
        5.0 * se,
    ));
    let m_hi = (4.0 * klog).ceil() as usize;
    match empirical_ric(m_hi, d, k, 1000, 2) {
        Ok((delta, _, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "RIP holds at m = 4 k ln(d/k) = {m_hi} (d={d}, k={k}): empirical delta_k of A/sqrt(m) over 1000 random supports lies in [0, 1)"
            ),
            delta,
            0.5,
            0.5,
        )),
        Err(e) => rows.push(TheoryRow::new(AREA, format!("RIP at m = {m_hi}: {e}"), f64::NAN, 0.5, 0.5)),
    }
    let m_lo = (0.5 * klog).ceil() as usize;
    match empirical_ric(m_lo, d, k, 1000, 3) {
        Ok((delta, _, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "RIP fails at m = k ln(d/k) / 2 = {m_lo}: empirical delta_k >= 1 (shown in [1, 3]; some 10-sparse x has ||Ax||^2/m off by ||x||^2)"
            ),
            delta,
            2.0,
            1.0,
        )),
        Err(e) => rows.push(TheoryRow::new(AREA, format!("RIP at m = {m_lo}: {e}"), f64::NAN, 2.0, 1.0)),
    }
    let m_under = k - 1;
    match empirical_ric(m_under, d, k, 10, 4) {
        Ok((_, lo, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "m = {m_under} < k: A_S^T A_S is singular, smallest eigenvalue 0 (delta_k = 1)"
            ),
            lo,
            0.0,
            1e-9,
        )),
        Err(e) => rows.push(TheoryRow::new(
            AREA,
            format!("RIP at m = {m_under}: {e}"),
            f64::NAN,
            0.0,
            1e-9,
        )),
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_known_eigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let mut e = symmetric_eigenvalues(&[2.0, 1.0, 1.0, 2.0], 2);
        e.sort_by(|a, b| a.total_cmp(b));
        assert!(
            (e[0] - 1.0).abs() < 1e-12 && (e[1] - 3.0).abs() < 1e-12,
            "{e:?}"
        );
        // A diagonal matrix in a rotated basis: Q diag(1, 2, 5) Q^T, trace and spectrum kept.
        let (c, s) = (0.6f64, 0.8f64);
        let q = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let dvals = [1.0, 2.0, 5.0];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                a[i * 3 + j] = (0..3).map(|t| q[i * 3 + t] * dvals[t] * q[j * 3 + t]).sum();
            }
        }
        let mut e = symmetric_eigenvalues(&a, 3);
        e.sort_by(|a, b| a.total_cmp(b));
        for (g, w) in e.iter().zip(dvals) {
            assert!((g - w).abs() < 1e-10, "{e:?}");
        }
    }

    #[test]
    fn theory_rows_pass() {
        let rows = theory_rows();
        assert_eq!(rows.len(), 4);
        for r in &rows {
            assert!(r.pass(), "{r:?}");
        }
    }

    #[test]
    fn ric_shrinks_with_more_measurements() {
        let (d1, _, _) = empirical_ric(50, 200, 5, 200, 9).unwrap();
        let (d2, _, _) = empirical_ric(400, 200, 5, 200, 9).unwrap();
        // Marchenko-Pastur: delta ~ 2 sqrt(k/m) for one support; 8x the measurements at
        // least halves it.
        assert!(d2 < 0.5 * d1, "{d1} -> {d2}");
        assert!(empirical_ric(10, 20, 0, 5, 0).is_err());
    }
}
