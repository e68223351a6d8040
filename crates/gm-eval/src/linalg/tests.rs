//! Unit tests of gm-eval's `linalg`.

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
fn ql_agrees_with_jacobi_and_reconstructs() {
    // Random SPD (dense), a singular PSD (rank 3 of 12) and a matrix with a repeated
    // eigenvalue (the identity plus a rank-one term): the values match Jacobi's, and the
    // QL vectors rebuild the matrix and are orthonormal.
    let n = 12;
    let g: Vec<f64> = GmRng::new(9)
        .normal_vec(3 * n)
        .into_iter()
        .map(f64::from)
        .collect();
    let mut low = vec![0.0; n * n];
    let mut bump = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            low[i * n + j] = (0..3).map(|k| g[i * 3 + k] * g[j * 3 + k]).sum();
            bump[i * n + j] = g[i] * g[j] + if i == j { 1.0 } else { 0.0 };
        }
    }
    for a in [random_spd(n, 5), low, bump] {
        let max_abs = a.iter().fold(0f64, |m, x| m.max(x.abs()));
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        let (lj, _) = symmetric_eigen(&a, n).unwrap();
        let lq = symmetric_eigenvalues(&a, n).unwrap();
        for (x, y) in sorted(lj).iter().zip(sorted(lq)) {
            assert!((x - y).abs() < 1e-12 * max_abs * n as f64, "{x} vs {y}");
        }
        let (l, v) = symmetric_eigen_ql(&a, n).unwrap();
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
    // Sizes 0, 1 and 2 (closed form: the 2x2 eigenvalues are (a + c)/2 ± sqrt(((a - c)/2)^2 + b^2)).
    assert!(symmetric_eigenvalues(&[], 0).unwrap().is_empty());
    assert_eq!(symmetric_eigenvalues(&[4.0], 1).unwrap(), [4.0]);
    let mut two = symmetric_eigenvalues(&[2.0, 1.0, 1.0, 0.0], 2).unwrap();
    two.sort_by(f64::total_cmp);
    let r = 2f64.sqrt();
    assert!((two[0] - (1.0 - r)).abs() < 1e-15 && (two[1] - (1.0 + r)).abs() < 1e-15);
    assert!(symmetric_eigenvalues(&[1.0, f64::NAN, f64::NAN, 1.0], 2).is_err());
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
