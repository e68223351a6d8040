//! Small dense linear algebra in f64 (row-major `n x n`): the LU decomposition with partial
//! pivoting, log|det|, the inverse and a Gram-Schmidt orthogonalisation. Used to initialise
//! and invert the 1x1 convolution and to take the log-determinant of Jacobians in tests;
//! the matrices are at most a few hundred wide, so nothing here needs to be fast.

/// `P A = L U` with `L` unit lower triangular and `U` upper triangular.
#[derive(Debug, Clone, PartialEq)]
pub struct Lu {
    /// The matrix size: `A` is `n x n`.
    pub n: usize,
    /// Row `i` of `P A` is row `perm[i]` of `A`.
    pub perm: Vec<usize>,
    /// Unit lower triangular, row-major.
    pub lower: Vec<f64>,
    /// Upper triangular, row-major.
    pub upper: Vec<f64>,
    /// The determinant of `P`: +1 or -1.
    pub perm_sign: f64,
}

/// The LU decomposition of `a` (`n x n`, row-major) with partial pivoting; `None` when a
/// pivot is exactly zero (singular).
pub fn lu(a: &[f64], n: usize) -> Option<Lu> {
    assert_eq!(
        a.len(),
        n * n,
        "lu: {} values for a {n} x {n} matrix",
        a.len()
    );
    let mut m = a.to_vec();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut perm_sign = 1.0;
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| m[i * n + k].abs().total_cmp(&m[j * n + k].abs()))
            .unwrap_or(k);
        if m[p * n + k] == 0.0 || !m[p * n + k].is_finite() {
            return None;
        }
        if p != k {
            for j in 0..n {
                m.swap(k * n + j, p * n + j);
            }
            perm.swap(k, p);
            perm_sign = -perm_sign;
        }
        for i in k + 1..n {
            let f = m[i * n + k] / m[k * n + k];
            m[i * n + k] = f;
            for j in k + 1..n {
                m[i * n + j] -= f * m[k * n + j];
            }
        }
    }
    let mut lower = vec![0.0; n * n];
    let mut upper = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => lower[i * n + j] = m[i * n + j],
                std::cmp::Ordering::Equal => {
                    lower[i * n + j] = 1.0;
                    upper[i * n + j] = m[i * n + j];
                }
                std::cmp::Ordering::Less => upper[i * n + j] = m[i * n + j],
            }
        }
    }
    Some(Lu {
        n,
        perm,
        lower,
        upper,
        perm_sign,
    })
}

impl Lu {
    /// The permutation as a matrix `M` with `A = M L U` (`M = P^T`).
    pub fn perm_matrix(&self) -> Vec<f64> {
        let n = self.n;
        let mut m = vec![0.0; n * n];
        for (i, &p) in self.perm.iter().enumerate() {
            m[p * n + i] = 1.0;
        }
        m
    }
}

/// `log |det a|`; `-inf` for a singular matrix.
pub fn log_abs_det(a: &[f64], n: usize) -> f64 {
    match lu(a, n) {
        Some(f) => (0..n).map(|i| f.upper[i * n + i].abs().ln()).sum(),
        None => f64::NEG_INFINITY,
    }
}

/// `a^-1` by LU with partial pivoting; `None` when `a` is singular.
pub fn inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let f = lu(a, n)?;
    let mut inv = vec![0.0; n * n];
    for col in 0..n {
        // Solve L U x = P e_col.
        let mut y = vec![0.0; n];
        for i in 0..n {
            let b = if f.perm[i] == col { 1.0 } else { 0.0 };
            y[i] = b - (0..i).map(|j| f.lower[i * n + j] * y[j]).sum::<f64>();
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|j| f.upper[i * n + j] * y[j]).sum();
            y[i] = (y[i] - s) / f.upper[i * n + i];
        }
        for i in 0..n {
            inv[i * n + col] = y[i];
        }
    }
    Some(inv)
}

/// `a b` for `n x n` matrices.
pub fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    c
}

/// The orthogonal factor `Q` of `g = Q R` (modified Gram-Schmidt on the columns, signs fixed
/// by `R`'s positive diagonal): for a matrix of i.i.d. normals, a Haar-random rotation or
/// reflection, as Glow initialises its 1x1 convolutions. `None` when the columns are
/// linearly dependent.
pub fn orthogonal(g: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut cols: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..n).map(|i| g[i * n + j]).collect())
        .collect();
    for j in 0..n {
        for k in 0..j {
            let (done, rest) = cols.split_at_mut(j);
            let (u, v) = (&done[k], &mut rest[0]);
            let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            for (vi, ui) in v.iter_mut().zip(u) {
                *vi -= d * ui;
            }
        }
        let norm = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return None;
        }
        cols[j].iter_mut().for_each(|v| *v /= norm);
    }
    let mut q = vec![0.0; n * n];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..n {
            q[i * n + j] = c[i];
        }
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < tol)
    }

    #[test]
    fn lu_reconstructs_and_gives_the_determinant() {
        // det = 2 (1 * 4 - 0) - 1 (3 * 4 - 5 * 0) + 3 (3 * 0 - 5 * 1) = 8 - 12 - 15 = -19.
        let a = [2.0, 1.0, 3.0, 3.0, 1.0, 0.0, 5.0, 0.0, 4.0];
        let f = lu(&a, 3).unwrap();
        let back = matmul(&f.perm_matrix(), &matmul(&f.lower, &f.upper, 3), 3);
        assert!(close(&back, &a, 1e-12), "{back:?}");
        let det: f64 = f.perm_sign * (0..3).map(|i| f.upper[i * 3 + i]).product::<f64>();
        assert!((det + 19.0).abs() < 1e-12, "{det}");
        assert!((log_abs_det(&a, 3) - 19f64.ln()).abs() < 1e-12);
        let inv = inverse(&a, 3).unwrap();
        let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert!(close(&matmul(&a, &inv, 3), &eye, 1e-12));
    }

    #[test]
    fn singular_matrices_are_reported() {
        let a = [1.0, 2.0, 2.0, 4.0];
        assert!(lu(&a, 2).is_none() && inverse(&a, 2).is_none());
        assert_eq!(log_abs_det(&a, 2), f64::NEG_INFINITY);
        assert!(orthogonal(&a, 2).is_none());
    }

    #[test]
    fn orthogonal_is_orthogonal() {
        let g = [0.3, -1.2, 0.5, 2.0, 0.1, -0.7, 0.4, 0.9, 1.1];
        let q = orthogonal(&g, 3).unwrap();
        let qt: Vec<f64> = (0..9).map(|k| q[(k % 3) * 3 + k / 3]).collect();
        let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert!(close(&matmul(&qt, &q, 3), &eye, 1e-12));
        assert!(log_abs_det(&q, 3).abs() < 1e-12);
    }
}
