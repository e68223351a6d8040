//! The orthonormal 2-D DCT-II, the sparsifying basis of the DCT Lasso:
//!
//! C[k][j] = s_k cos(pi (2 j + 1) k / (2 N)),  s_0 = sqrt(1/N), s_k = sqrt(2/N) (k > 0),
//!
//! so C C^T = I, the 2-D transform of an h x w image X is C_h X C_w^T and its inverse is
//! C_h^T Y C_w.

/// The N x N DCT-II matrix, row-major.
pub fn dct_matrix(n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for k in 0..n {
        let s = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for j in 0..n {
            c[k * n + j] =
                s * (std::f64::consts::PI * (2 * j + 1) as f64 * k as f64 / (2 * n) as f64).cos();
        }
    }
    c
}

/// A 2-D orthonormal DCT for h x w images (row-major), with its inverse.
#[derive(Debug, Clone)]
pub struct Dct2 {
    h: usize,
    w: usize,
    ch: Vec<f64>,
    cw: Vec<f64>,
}

impl Dct2 {
    /// The transform of `height x width` images.
    pub fn new(height: usize, width: usize) -> Self {
        Self {
            h: height,
            w: width,
            ch: dct_matrix(height),
            cw: dct_matrix(width),
        }
    }

    /// Number of values of one image.
    pub fn len(&self) -> usize {
        self.h * self.w
    }

    /// Whether an image has no values (a zero height or width).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Y = C_h X C_w^T.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        self.apply(x, false)
    }

    /// X = C_h^T Y C_w.
    pub fn inverse(&self, y: &[f64]) -> Vec<f64> {
        self.apply(y, true)
    }

    fn apply(&self, x: &[f64], inverse: bool) -> Vec<f64> {
        let (h, w) = (self.h, self.w);
        // Entry (a, b) of C or C^T.
        let ch = |a: usize, b: usize| {
            if inverse {
                self.ch[b * h + a]
            } else {
                self.ch[a * h + b]
            }
        };
        let cw = |a: usize, b: usize| {
            if inverse {
                self.cw[b * w + a]
            } else {
                self.cw[a * w + b]
            }
        };
        // Rows first: T = X Cw^T (or X Cw), then columns: Y = Ch T (or Ch^T T).
        let mut t = vec![0.0; h * w];
        for r in 0..h {
            for k in 0..w {
                t[r * w + k] = (0..w).map(|j| x[r * w + j] * cw(k, j)).sum();
            }
        }
        let mut y = vec![0.0; h * w];
        for k in 0..h {
            for c in 0..w {
                y[k * w + c] = (0..h).map(|r| ch(k, r) * t[r * w + c]).sum();
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::GmRng;

    #[test]
    fn dct_matrix_is_orthonormal() {
        let n = 28;
        let c = dct_matrix(n);
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..n).map(|j| c[a * n + j] * c[b * n + j]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "({a}, {b}): {dot}");
            }
        }
    }

    #[test]
    fn round_trip_and_energy() {
        let d = Dct2::new(6, 4);
        let x: Vec<f64> = GmRng::new(1)
            .normal_vec(24)
            .into_iter()
            .map(f64::from)
            .collect();
        let y = d.forward(&x);
        let back = d.inverse(&y);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12);
        }
        let e = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>();
        assert!((e(&x) - e(&y)).abs() < 1e-10);
        // A constant image has only the DC coefficient: sqrt(h w) * value.
        let y = d.forward(&[2.0; 24]);
        assert!((y[0] - 2.0 * 24f64.sqrt()).abs() < 1e-12);
        assert!(y[1..].iter().all(|v| v.abs() < 1e-12));
    }
}
