//! The Lasso baseline of classical compressed sensing, with scikit-learn's objective
//!
//! P(x) = (1 / (2 m)) ||b - A x||^2 + alpha ||x||_1,
//!
//! solved by cyclic coordinate descent (Friedman, Hastie and Tibshirani, 2010): with the
//! residual r = b - A x kept up to date, coordinate j moves to
//! x_j = S(a_j . r + ||a_j||^2 x_j, m alpha) / ||a_j||^2, S the soft threshold.
//! The stopping rule is scikit-learn's: after a sweep whose largest change is below `tol`
//! times the largest coefficient, the duality gap of m P is computed with the dual point
//! s r, s = min(1, m alpha / ||A^T r||_inf),
//!
//! gap = ||r||^2 (1 + s^2) / 2 + m alpha ||x||_1 - s r . b,
//!
//! and the solver stops once gap <= tol ||b||^2. Bora et al. (2017) use this Lasso with
//! alpha = 0.1 in the pixel basis for MNIST; [`Basis::Dct`] solves for 2-D DCT
//! coefficients c with x = C^T c instead. Estimates are clipped to [0, 1].

use candle_core::Tensor;
use gm_core::ToHostF64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dct::Dct2;
use crate::operator::MeasurementOperator;
use crate::{Error, Result};

/// Hyperparameters of the solver (scikit-learn's defaults but alpha = 0.1, as in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LassoConfig {
    /// Weight of ||x||_1.
    pub alpha: f64,
    /// Relative duality-gap tolerance (gap <= tol ||b||^2 on the m-scaled objective).
    pub tol: f64,
    /// Most coordinate-descent sweeps.
    pub max_sweeps: usize,
}

impl Default for LassoConfig {
    fn default() -> Self {
        Self {
            alpha: 0.1,
            tol: 1e-4,
            max_sweeps: 1000,
        }
    }
}

impl LassoConfig {
    /// This config with weight `alpha` on ||x||_1.
    pub fn with_alpha(self, alpha: f64) -> Self {
        Self { alpha, ..self }
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(Error::config(
                "alpha",
                self.alpha,
                "must be positive and finite",
            ));
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(Error::config(
                "tol",
                self.tol,
                "must be positive and finite",
            ));
        }
        if self.max_sweeps == 0 {
            return Err(Error::config("max_sweeps", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// The result of one solve.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoSolution {
    /// The minimiser (in the coordinates the problem was posed in).
    pub x: Vec<f64>,
    /// Sweeps run.
    pub sweeps: usize,
    /// The duality gap of P at `x` (in P's units, i.e. divided by m).
    pub gap: f64,
    /// Whether the gap criterion was met within `max_sweeps`.
    pub converged: bool,
}

/// A design matrix prepared for coordinate descent: columns stored contiguously.
#[derive(Debug, Clone)]
pub struct LassoProblem {
    m: usize,
    d: usize,
    cols: Vec<f64>,
    col_sq: Vec<f64>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl LassoProblem {
    /// A given row-major, m x d.
    pub fn new(a_rows: &[f64], m: usize, d: usize) -> Result<Self> {
        if m == 0 || d == 0 || a_rows.len() != m * d {
            return Err(Error::shape(
                "Lasso design matrix",
                &[a_rows.len()],
                &[m * d],
            ));
        }
        let mut cols = vec![0.0; m * d];
        for i in 0..m {
            for j in 0..d {
                cols[j * m + i] = a_rows[i * d + j];
            }
        }
        let col_sq = (0..d)
            .map(|j| dot(&cols[j * m..(j + 1) * m], &cols[j * m..(j + 1) * m]))
            .collect();
        Ok(Self { m, d, cols, col_sq })
    }

    fn col(&self, j: usize) -> &[f64] {
        &self.cols[j * self.m..(j + 1) * self.m]
    }

    /// P(x) for measurements `b`.
    pub fn objective(&self, x: &[f64], b: &[f64], alpha: f64) -> f64 {
        let r = self.residual(x, b);
        dot(&r, &r) / (2.0 * self.m as f64) + alpha * x.iter().map(|v| v.abs()).sum::<f64>()
    }

    /// r = b - A x.
    pub fn residual(&self, x: &[f64], b: &[f64]) -> Vec<f64> {
        let mut r = b.to_vec();
        for (j, &xj) in x.iter().enumerate() {
            if xj != 0.0 {
                for (ri, aij) in r.iter_mut().zip(self.col(j)) {
                    *ri -= aij * xj;
                }
            }
        }
        r
    }

    /// A^T r / m: the gradient of the smooth part is its negative. At a minimiser it equals
    /// alpha sign(x_j) where x_j != 0 and lies in [-alpha, alpha] elsewhere (the KKT
    /// conditions).
    pub fn correlations(&self, x: &[f64], b: &[f64]) -> Vec<f64> {
        let r = self.residual(x, b);
        (0..self.d)
            .map(|j| dot(self.col(j), &r) / self.m as f64)
            .collect()
    }

    /// The duality gap of m P at x with residual r (see the module docs).
    fn scaled_gap(&self, x: &[f64], r: &[f64], b: &[f64], lam: f64) -> f64 {
        let dual_norm = (0..self.d)
            .map(|j| dot(self.col(j), r).abs())
            .fold(0.0, f64::max);
        let s = if dual_norm > lam {
            lam / dual_norm
        } else {
            1.0
        };
        let l1: f64 = x.iter().map(|v| v.abs()).sum();
        0.5 * dot(r, r) * (1.0 + s * s) + lam * l1 - s * dot(r, b)
    }

    /// Minimises P by coordinate descent from x = 0.
    pub fn solve(&self, b: &[f64], cfg: &LassoConfig) -> Result<LassoSolution> {
        cfg.validate()?;
        if b.len() != self.m {
            return Err(Error::shape("Lasso measurements", &[b.len()], &[self.m]));
        }
        let lam = cfg.alpha * self.m as f64;
        let mut x = vec![0.0; self.d];
        let mut r = b.to_vec();
        let b_sq = dot(b, b);
        let mut gap = self.scaled_gap(&x, &r, b, lam);
        if gap <= cfg.tol * b_sq {
            return Ok(LassoSolution {
                x,
                sweeps: 0,
                gap: gap / self.m as f64,
                converged: true,
            });
        }
        for sweep in 1..=cfg.max_sweeps {
            let (mut max_change, mut max_x) = (0.0f64, 0.0f64);
            for (j, &nj) in self.col_sq.iter().enumerate() {
                if nj == 0.0 {
                    continue;
                }
                let old = x[j];
                let col = &self.cols[j * self.m..(j + 1) * self.m];
                let rho = dot(col, &r) + nj * old;
                let new = rho.signum() * (rho.abs() - lam).max(0.0) / nj;
                if new != old {
                    let delta = old - new;
                    for (ri, aij) in r.iter_mut().zip(col) {
                        *ri += aij * delta;
                    }
                    x[j] = new;
                }
                max_change = max_change.max((new - old).abs());
                max_x = max_x.max(new.abs());
            }
            if max_x == 0.0 || max_change / max_x < cfg.tol || sweep == cfg.max_sweeps {
                gap = self.scaled_gap(&x, &r, b, lam);
                if gap <= cfg.tol * b_sq {
                    return Ok(LassoSolution {
                        x,
                        sweeps: sweep,
                        gap: gap / self.m as f64,
                        converged: true,
                    });
                }
            }
        }
        Ok(LassoSolution {
            x,
            sweeps: cfg.max_sweeps,
            gap: gap / self.m as f64,
            converged: false,
        })
    }
}

/// Solves one Lasso problem, A row-major m x d.
///
/// ```
/// use gm_inverse::{lasso, LassoConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A = I (m = d = 2): the minimiser of ||b - x||^2 / 4 + alpha ||x||_1 is the soft
/// // threshold of b at m alpha = 0.2.
/// let a = [1.0, 0.0, 0.0, 1.0];
/// let s = lasso(&a, 2, 2, &[1.0, 0.1], &LassoConfig::default().with_alpha(0.1))?;
/// assert!(s.converged);
/// assert!((s.x[0] - 0.8).abs() < 1e-9);
/// assert_eq!(s.x[1], 0.0);
/// # Ok(())
/// # }
/// ```
pub fn lasso(
    a_rows: &[f64],
    m: usize,
    d: usize,
    b: &[f64],
    cfg: &LassoConfig,
) -> Result<LassoSolution> {
    LassoProblem::new(a_rows, m, d)?.solve(b, cfg)
}

/// The basis in which x is assumed sparse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// x itself is sparse (MNIST digits are mostly black).
    Pixel,
    /// The 2-D DCT coefficients of the h x w image are sparse.
    Dct {
        /// The image height h.
        height: usize,
        /// The image width w.
        width: usize,
    },
}

/// The Lasso estimates of a batch.
#[derive(Debug, Clone)]
pub struct LassoBatch {
    /// Estimates in pixel space, clipped to [0, 1], `(N, n)`.
    pub x: Tensor,
    /// The raw solutions (coefficients in the chosen basis, unclipped).
    pub solutions: Vec<LassoSolution>,
}

impl LassoBatch {
    /// How many solves stopped at `max_sweeps` without meeting the gap criterion.
    pub fn not_converged(&self) -> usize {
        self.solutions.iter().filter(|s| !s.converged).count()
    }
}

/// Lasso estimates of every row of `b` `(N, m)` for the operator's matrix, in `basis`,
/// solved in parallel over images.
pub fn lasso_batch<O: MeasurementOperator + ?Sized>(
    op: &O,
    b: &Tensor,
    basis: Basis,
    cfg: &LassoConfig,
) -> Result<LassoBatch> {
    cfg.validate()?;
    let (n_img, m) = b.dims2()?;
    let d = op.input_dim();
    if m != op.num_measurements() {
        return Err(Error::shape(
            "measurements",
            b.dims(),
            &[n_img, op.num_measurements()],
        ));
    }
    let mut a = op.dense().rows_f64()?;
    let dct = match basis {
        Basis::Pixel => None,
        Basis::Dct { height, width } => {
            if height * width != d {
                return Err(Error::shape("DCT basis", &[height, width], &[d]));
            }
            let t = Dct2::new(height, width);
            // A x = A C^T c: row i of A C^T is the DCT of row i of A.
            for row in a.chunks_exact_mut(d) {
                let y = t.forward(row);
                row.copy_from_slice(&y);
            }
            Some(t)
        }
    };
    let problem = LassoProblem::new(&a, m, d)?;
    let bv: Vec<f64> = b.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?;
    let solutions = bv
        .par_chunks(m)
        .map(|bi| problem.solve(bi, cfg))
        .collect::<Result<Vec<_>>>()?;
    let mut xs = Vec::with_capacity(n_img * d);
    for s in &solutions {
        let x = match &dct {
            Some(t) => t.inverse(&s.x),
            None => s.x.clone(),
        };
        xs.extend(x.into_iter().map(|v| v.clamp(0.0, 1.0) as f32));
    }
    Ok(LassoBatch {
        x: Tensor::from_vec(xs, (n_img, d), b.device())?,
        solutions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::GmRng;

    fn field_of(cfg: LassoConfig) -> &'static str {
        match cfg.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn alpha_must_be_positive() {
        assert_eq!(field_of(LassoConfig::default().with_alpha(0.0)), "alpha");
    }

    #[test]
    fn tol_must_be_positive() {
        let c = LassoConfig {
            tol: -1.0,
            ..Default::default()
        };
        assert_eq!(field_of(c), "tol");
    }

    #[test]
    fn max_sweeps_cannot_be_zero() {
        let c = LassoConfig {
            max_sweeps: 0,
            ..Default::default()
        };
        assert_eq!(field_of(c), "max_sweeps");
    }

    /// Sylvester's 8 x 8 Hadamard matrix: H^T H = 8 I.
    fn hadamard8() -> Vec<f64> {
        let mut h = vec![1.0];
        let mut n = 1;
        while n < 8 {
            let mut g = vec![0.0; 4 * n * n];
            for i in 0..n {
                for j in 0..n {
                    let v = h[i * n + j];
                    g[i * 2 * n + j] = v;
                    g[i * 2 * n + j + n] = v;
                    g[(i + n) * 2 * n + j] = v;
                    g[(i + n) * 2 * n + j + n] = -v;
                }
            }
            h = g;
            n *= 2;
        }
        h
    }

    #[test]
    fn orthogonal_design_gives_the_soft_threshold() {
        // With A^T A = m I the minimiser is S(A^T b / m, alpha) coordinatewise; for
        // b = A x_true that is S(x_true, alpha).
        let h = hadamard8();
        let (m, d) = (8, 5);
        let a: Vec<f64> = (0..m).flat_map(|i| h[i * 8..i * 8 + d].to_vec()).collect();
        let x_true = [1.0, 0.0, -0.5, 0.0, 0.05];
        let b: Vec<f64> = (0..m)
            .map(|i| (0..d).map(|j| a[i * d + j] * x_true[j]).sum())
            .collect();
        let cfg = LassoConfig {
            tol: 1e-12,
            ..Default::default()
        };
        let s = lasso(&a, m, d, &b, &cfg).unwrap();
        let want = [0.9, 0.0, -0.4, 0.0, 0.0];
        for (g, w) in s.x.iter().zip(want) {
            assert!((g - w).abs() < 1e-10, "{:?}", s.x);
        }
        assert!(s.converged);
    }

    #[test]
    fn kkt_conditions_hold_on_a_random_underdetermined_problem() {
        let (m, d, alpha) = (40, 120, 0.05);
        let mut rng = GmRng::new(11);
        let a: Vec<f64> = rng.normal_vec(m * d).into_iter().map(f64::from).collect();
        let mut x_true = vec![0.0; d];
        for (k, j) in rng.permutation(d).into_iter().take(6).enumerate() {
            x_true[j] = 1.0 + k as f64 * 0.2;
        }
        let noise = rng.normal_vec(m);
        let b: Vec<f64> = (0..m)
            .map(|i| (0..d).map(|j| a[i * d + j] * x_true[j]).sum::<f64>() + 0.05 * noise[i] as f64)
            .collect();
        let cfg = LassoConfig {
            alpha,
            tol: 1e-12,
            max_sweeps: 100_000,
        };
        let p = LassoProblem::new(&a, m, d).unwrap();
        let s = p.solve(&b, &cfg).unwrap();
        assert!(
            s.converged && s.gap >= -1e-12,
            "{} sweeps, gap {}",
            s.sweeps,
            s.gap
        );
        let c = p.correlations(&s.x, &b);
        let eps = 1e-6;
        for (j, (&cj, &xj)) in c.iter().zip(&s.x).enumerate() {
            if xj != 0.0 {
                assert!((cj - alpha * xj.signum()).abs() < eps, "j {j}: {cj}");
            } else {
                assert!(cj.abs() <= alpha + eps, "j {j}: {cj}");
            }
        }
        // The 6-sparse signal is found: its entries (all >= 1) are the only large ones.
        let support: Vec<usize> = (0..d).filter(|&j| s.x[j].abs() > 0.5).collect();
        let truth: Vec<usize> = (0..d).filter(|&j| x_true[j] != 0.0).collect();
        assert_eq!(support, truth);
        // Any perturbation increases the objective (convexity + optimality).
        let f0 = p.objective(&s.x, &b, alpha);
        for j in [0, d / 2, d - 1] {
            for step in [1e-3, -1e-3] {
                let mut y = s.x.clone();
                y[j] += step;
                assert!(p.objective(&y, &b, alpha) >= f0 - 1e-12);
            }
        }
    }

    #[test]
    fn large_alpha_gives_zero() {
        // alpha >= ||A^T b||_inf / m makes x = 0 optimal.
        let a = vec![1.0, 0.0, 0.0, 1.0];
        let s = lasso(
            &a,
            2,
            2,
            &[0.1, -0.1],
            &LassoConfig::default().with_alpha(0.06),
        )
        .unwrap();
        assert_eq!(s.x, vec![0.0, 0.0]);
        assert_eq!(s.sweeps, 0);
    }
}
