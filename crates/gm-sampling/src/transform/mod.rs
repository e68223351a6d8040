//! Densities of transformed variables X = G(Z) (change of variables).
//!
//! Scalar G, monotone or not: p_X(x) = sum_{z : G(z) = x} p_Z(z) / |G'(z)|. Every root is found
//! by splitting the support of Z at the critical points of G (sign changes of G' on a fine grid,
//! refined by root finding), so that G is monotone on each piece and holds at most one root of
//! G(z) = x there, which is bracketed and refined. G' is taken by central finite differences,
//! G'(z) ~ (G(z + h) - G(z - h)) / (2h) with h = eps^{1/3} max(1, |z|).
//!
//! Vector G: R^d -> R^d invertible: p_X(x) = p_Z(z) / |det J_G(z)| at z = G^{-1}(x), the
//! Jacobian again by central finite differences (not autograd), the determinant by LU
//! factorization with partial pivoting.
//!
//! Vector G with several roots ([`BranchedVectorTransform`]): p_Y(y) = sum_k
//! p_Z(g_k^{-1}(y)) |det J_{g_k^{-1}}(y)| over the inverse branches g_k^{-1} of G, the
//! lecture's several-roots formula in d dimensions.

mod branched;
mod inverse_branch;
mod scalar;
mod vector;

use crate::{Error, Result};

pub use branched::{
    abs_of_normal, half_normal_pdf, square_first_of_normal, BranchedVectorTransform, VectorDensity,
    VectorMap,
};
pub use inverse_branch::{BranchAbsDet, BranchInverse, InverseBranch};
pub use scalar::{
    chi_square1_pdf, cubic_of_uniform, square_of_normal, BoxedScalarTransform, ScalarTransform,
};
pub use vector::{polar_to_cartesian, FnVectorTransform, VectorTransform};

fn fd_step(z: f64) -> f64 {
    f64::EPSILON.cbrt() * z.abs().max(1.0)
}

fn derivative(g: &impl Fn(f64) -> f64, z: f64) -> f64 {
    let h = fd_step(z);
    (g(z + h) - g(z - h)) / (2.0 * h)
}

// 5-point Gauss-Legendre on [-1, 1].
const GLEG_X: [f64; 5] = [
    -0.906_179_845_938_664,
    -0.538_469_310_105_683_1,
    0.0,
    0.538_469_310_105_683_1,
    0.906_179_845_938_664,
];
const GLEG_W: [f64; 5] = [
    0.236_926_885_056_189_1,
    0.478_628_670_499_366_5,
    0.568_888_888_888_888_9,
    0.478_628_670_499_366_5,
    0.236_926_885_056_189_1,
];

fn gauss_legendre(f: &impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let h = (b - a) / panels as f64;
    let mut s = 0.0;
    for k in 0..panels {
        let m = a + (k as f64 + 0.5) * h;
        for (x, w) in GLEG_X.iter().zip(GLEG_W) {
            s += w * f(m + 0.5 * h * x);
        }
    }
    0.5 * h * s
}

/// |det A| for a row-major n x n matrix, by LU with partial pivoting.
pub fn abs_determinant(a: &[f64], n: usize) -> Result<f64> {
    if a.len() != n * n {
        return Err(Error::LengthMismatch(a.len(), n * n));
    }
    let mut m = a.to_vec();
    let mut det = 1.0;
    for col in 0..n {
        let mut piv = col;
        for r in col + 1..n {
            if m[r * n + col].abs() > m[piv * n + col].abs() {
                piv = r;
            }
        }
        let p = m[piv * n + col];
        if p == 0.0 {
            return Ok(0.0);
        }
        if piv != col {
            for k in 0..n {
                m.swap(col * n + k, piv * n + k);
            }
        }
        det *= p;
        for r in col + 1..n {
            let factor = m[r * n + col] / p;
            for k in col..n {
                m[r * n + k] -= factor * m[col * n + k];
            }
        }
    }
    Ok(det.abs())
}
