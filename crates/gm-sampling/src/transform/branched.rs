//! The vector change of variables with several roots, [`BranchedVectorTransform`]: the density
//! summed over the inverse branches, box probabilities and a chi-square goodness-of-fit test,
//! and its examples (the square of the first coordinate and the absolute values of a standard
//! normal pair).

use super::{InverseBranch, GLEG_W, GLEG_X};
use crate::stats::{chi_square_test, ChiSquare};
use crate::{Error, Result};

/// A map G: R^d -> R^d.
pub type VectorMap = Box<dyn Fn(&[f64]) -> Vec<f64> + Send + Sync>;
/// A density on R^d.
pub type VectorDensity = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// A map G: R^d -> R^d with several roots: the change of variables summed over the inverse
/// branches,
///
/// ```text
/// p_Y(y) = sum_k p_Z(g_k^{-1}(y)) |det J_{g_k^{-1}}(y)|,
/// ```
///
/// the d-dimensional form of p_X(x) = sum_i p_Z(z_i) / |G'(z_i)| (|det J_{G^{-1}}| =
/// 1 / |det J_G| at the preimage). The branches must partition the preimages: each z with
/// G(z) = y is returned by exactly one branch, up to a null set.
///
/// ```
/// use gm_sampling::transform::{chi_square1_pdf, square_first_of_normal};
/// use gm_sampling::special::std_normal_pdf;
/// let t = square_first_of_normal();
/// let p = t.density(&[0.7, -0.3]).unwrap();
/// assert!((p - chi_square1_pdf(0.7) * std_normal_pdf(-0.3)).abs() < 1e-15);
/// ```
pub struct BranchedVectorTransform {
    g: VectorMap,
    base_pdf: VectorDensity,
    branches: Vec<InverseBranch>,
    dim: usize,
}

impl std::fmt::Debug for BranchedVectorTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BranchedVectorTransform")
            .field("dim", &self.dim)
            .field("branches", &self.branches)
            .finish()
    }
}

impl BranchedVectorTransform {
    /// The dimension d, G, the density p_Z and the inverse branches (at least one).
    pub fn new(
        dim: usize,
        g: impl Fn(&[f64]) -> Vec<f64> + Send + Sync + 'static,
        base_pdf: impl Fn(&[f64]) -> f64 + Send + Sync + 'static,
        branches: Vec<InverseBranch>,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroCount("dimension"));
        }
        if branches.is_empty() {
            return Err(Error::ZeroCount("inverse branches"));
        }
        Ok(Self {
            g: Box::new(g),
            base_pdf: Box::new(base_pdf),
            branches,
            dim,
        })
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The inverse branches.
    pub fn branches(&self) -> &[InverseBranch] {
        &self.branches
    }

    fn check_point(&self, v: &[f64]) -> Result<()> {
        if v.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                got: v.len(),
            });
        }
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(Error::NonFiniteInput {
                index: i,
                value: v[i],
            }),
            None => Ok(()),
        }
    }

    /// y = G(z).
    pub fn apply(&self, z: &[f64]) -> Result<Vec<f64>> {
        self.check_point(z)?;
        Ok((self.g)(z))
    }

    /// The preimages of y, one per branch whose image holds y.
    pub fn preimages(&self, y: &[f64]) -> Result<Vec<Vec<f64>>> {
        self.check_point(y)?;
        Ok(self.branches.iter().filter_map(|b| b.inverse(y)).collect())
    }

    /// p_Y(y) = sum_k p_Z(g_k^{-1}(y)) |det J_{g_k^{-1}}(y)| over the branches whose image
    /// holds y.
    pub fn density(&self, y: &[f64]) -> Result<f64> {
        self.check_point(y)?;
        let mut total = 0.0;
        for b in &self.branches {
            let Some(z) = b.inverse(y) else { continue };
            if z.len() != self.dim {
                return Err(Error::DimensionMismatch {
                    expected: self.dim,
                    got: z.len(),
                });
            }
            let pz = (self.base_pdf)(&z);
            if pz > 0.0 {
                total += pz * b.abs_det_jacobian(y)?;
            }
        }
        Ok(total)
    }

    /// P(Y in the box [lo, hi]) by tensor-product 5-point Gauss-Legendre on `panels` panels
    /// per axis, after y_j = lo_j + s_j^2 on every axis, which removes an inverse-square-root
    /// singularity of p_Y at the lower faces (as at the critical value 0 of z^2). Costs
    /// (5 panels)^d density evaluations.
    pub fn probability_box(&self, lo: &[f64], hi: &[f64], panels: usize) -> Result<f64> {
        self.check_point(lo)?;
        self.check_point(hi)?;
        if panels == 0 {
            return Err(Error::ZeroCount("panels"));
        }
        if let Some(j) = (0..self.dim).find(|&j| !(lo[j] < hi[j])) {
            return Err(Error::InvalidInterval {
                low: lo[j],
                high: hi[j],
            });
        }
        let d = self.dim;
        // Nodes and weights on each axis in s, with the 2 s ds Jacobian folded in.
        let axes: Vec<Vec<(f64, f64)>> = (0..d)
            .map(|j| {
                let s_max = (hi[j] - lo[j]).sqrt();
                let h = s_max / panels as f64;
                let mut nodes = Vec::with_capacity(5 * panels);
                for k in 0..panels {
                    let m = (k as f64 + 0.5) * h;
                    for (x, w) in GLEG_X.iter().zip(GLEG_W) {
                        let s = m + 0.5 * h * x;
                        nodes.push((lo[j] + s * s, 0.5 * h * w * 2.0 * s));
                    }
                }
                nodes
            })
            .collect();
        let per_axis = 5 * panels;
        let mut idx = vec![0usize; d];
        let mut y = vec![0.0; d];
        let mut total = 0.0;
        'outer: loop {
            let mut w = 1.0;
            for j in 0..d {
                let (yj, wj) = axes[j][idx[j]];
                y[j] = yj;
                w *= wj;
            }
            total += w * self.density(&y)?;
            // Advance the mixed-radix index (axis 0 fastest).
            for i in idx.iter_mut() {
                *i += 1;
                if *i < per_axis {
                    continue 'outer;
                }
                *i = 0;
            }
            break;
        }
        Ok(total)
    }
}

impl BranchedVectorTransform {
    /// Pearson's chi-square test of `samples` of Y against p_Y on the product grid of the
    /// per-axis `edges`, plus one cell for everything outside the grid. Cell probabilities
    /// are [`Self::probability_box`] with `panels` panels per axis; the outside cell gets
    /// 1 minus their sum.
    pub fn goodness_of_fit(
        &self,
        samples: &[Vec<f64>],
        edges: &[Vec<f64>],
        panels: usize,
    ) -> Result<ChiSquare> {
        let d = self.dim;
        if edges.len() != d {
            return Err(Error::DimensionMismatch {
                expected: d,
                got: edges.len(),
            });
        }
        for e in edges {
            if e.len() < 2 {
                return Err(Error::ZeroCount("bins per axis"));
            }
            if let Some(w) = e.windows(2).find(|w| !(w[0] < w[1])) {
                return Err(Error::InvalidInterval {
                    low: w[0],
                    high: w[1],
                });
            }
        }
        let bins: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
        let cells: usize = bins.iter().product();
        let cell_of = |y: &[f64]| -> Option<usize> {
            let mut index = 0;
            for j in (0..d).rev() {
                let e = &edges[j];
                if !(y[j] >= e[0] && y[j] < e[e.len() - 1]) {
                    return None;
                }
                let b = e.partition_point(|&x| x <= y[j]) - 1;
                index = index * bins[j] + b;
            }
            Some(index)
        };
        let mut counts = vec![0u64; cells + 1];
        for y in samples {
            self.check_point(y)?;
            counts[cell_of(y).unwrap_or(cells)] += 1;
        }
        let mut probs = Vec::with_capacity(cells + 1);
        let (mut lo, mut hi) = (vec![0.0; d], vec![0.0; d]);
        for c in 0..cells {
            let mut rest = c;
            for j in 0..d {
                let b = rest % bins[j];
                rest /= bins[j];
                lo[j] = edges[j][b];
                hi[j] = edges[j][b + 1];
            }
            probs.push(self.probability_box(&lo, &hi, panels)?);
        }
        probs.push((1.0 - probs.iter().sum::<f64>()).max(0.0));
        chi_square_test(&counts, &probs)
    }
}

fn standard_normal2(z: &[f64]) -> f64 {
    (-0.5 * (z[0] * z[0] + z[1] * z[1])).exp() / (2.0 * std::f64::consts::PI)
}

/// (Z1, Z2) -> (Z1^2, Z2) with Z ~ N(0, I_2): two branches (+-sqrt(y1), y2) for y1 > 0, each
/// with |det J_{g^{-1}}| = 1 / (2 sqrt(y1)). Then Y1 ~ chi-square(1) independent of
/// Y2 ~ N(0, 1): p_Y(y) = e^{-y1/2} / sqrt(2 pi y1) * e^{-y2^2/2} / sqrt(2 pi).
pub fn square_first_of_normal() -> BranchedVectorTransform {
    let branch = |sign: f64| {
        InverseBranch::with_abs_det(
            move |y: &[f64]| (y[0] > 0.0).then(|| vec![sign * y[0].sqrt(), y[1]]),
            |y: &[f64]| 0.5 / y[0].sqrt(),
        )
    };
    BranchedVectorTransform {
        g: Box::new(|z: &[f64]| vec![z[0] * z[0], z[1]]),
        base_pdf: Box::new(standard_normal2),
        branches: vec![branch(1.0), branch(-1.0)],
        dim: 2,
    }
}

/// (Z1, Z2) -> (|Z1|, |Z2|) with Z ~ N(0, I_2): four branches (s1 y1, s2 y2), s_i = +-1, on
/// y >= 0, each with |det J| = 1. Then p_Y(y) = (2 phi(y1)) (2 phi(y2)), a product of
/// half-normal densities (at y_i = 0 both signs give z_i = 0: the right-continuous value).
pub fn abs_of_normal() -> BranchedVectorTransform {
    let branch = |s1: f64, s2: f64| {
        InverseBranch::with_abs_det(
            move |y: &[f64]| (y[0] >= 0.0 && y[1] >= 0.0).then(|| vec![s1 * y[0], s2 * y[1]]),
            |_: &[f64]| 1.0,
        )
    };
    BranchedVectorTransform {
        g: Box::new(|z: &[f64]| vec![z[0].abs(), z[1].abs()]),
        base_pdf: Box::new(standard_normal2),
        branches: vec![
            branch(1.0, 1.0),
            branch(1.0, -1.0),
            branch(-1.0, 1.0),
            branch(-1.0, -1.0),
        ],
        dim: 2,
    }
}

/// The half-normal density 2 e^{-y^2/2} / sqrt(2 pi) for y >= 0.
pub fn half_normal_pdf(y: f64) -> f64 {
    if y < 0.0 {
        0.0
    } else {
        2.0 * (-0.5 * y * y).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }
}
