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

use crate::roots::solve_bracketed;
use crate::stats::{chi_square_test, ChiSquare};
use crate::univariate::{Normal, Truncated, Uniform, Univariate};
use crate::{Error, Result};

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

/// X = G(Z) for a scalar G on a bounded support [low, high] of Z.
pub struct ScalarTransform<G, H> {
    g: G,
    base_pdf: H,
    low: f64,
    high: f64,
    /// Support split at the critical points of G: G is monotone between consecutive entries.
    breaks: Vec<f64>,
}

impl<G: Fn(f64) -> f64, H: Fn(f64) -> f64> ScalarTransform<G, H> {
    /// `g`, the density `base_pdf` of Z on [low, high] (finite), and the number of grid cells
    /// used to find the critical points of G.
    pub fn new(g: G, base_pdf: H, low: f64, high: f64, grid: usize) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::InvalidInterval { low, high });
        }
        if grid == 0 {
            return Err(Error::ZeroCount("grid"));
        }
        let mut breaks = vec![low];
        let dz = (high - low) / grid as f64;
        let mut prev = derivative(&g, low);
        for k in 1..=grid {
            let z = if k == grid { high } else { low + k as f64 * dz };
            let d = derivative(&g, z);
            if d == 0.0 && k < grid {
                breaks.push(z);
            } else if prev != 0.0 && d.signum() != prev.signum() {
                let a = z - dz;
                if let Some(c) = solve_bracketed(|t| derivative(&g, t), a, z, 1e-14 * dz) {
                    breaks.push(c);
                }
            }
            prev = d;
        }
        breaks.push(high);
        breaks.dedup();
        Ok(Self {
            g,
            base_pdf,
            low,
            high,
            breaks,
        })
    }

    /// The critical points of G found in (low, high).
    pub fn critical_points(&self) -> &[f64] {
        &self.breaks[1..self.breaks.len() - 1]
    }

    /// Every z in the support with G(z) = x (one per monotone piece at most).
    pub fn roots(&self, x: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for (i, w) in self.breaks.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let ga = (self.g)(a) - x;
            let gb = (self.g)(b) - x;
            // Half-open pieces (a, b], except the first, so a shared end is counted once.
            if i > 0 && ga == 0.0 {
                continue;
            }
            if ga.signum() != gb.signum() || ga == 0.0 || gb == 0.0 {
                if let Some(z) = solve_bracketed(|t| (self.g)(t) - x, a, b, 1e-15 * (b - a)) {
                    out.push(z);
                }
            }
        }
        out
    }

    /// p_X(x) = sum over roots z_i of p_Z(z_i) / |G'(z_i)|. Roots where G' vanishes (x a
    /// critical value, a null set where p_X is singular) are left out.
    pub fn density(&self, x: f64) -> f64 {
        self.roots(x)
            .into_iter()
            .map(|z| (z, derivative(&self.g, z).abs()))
            .filter(|&(_, d)| d > 0.0)
            .map(|(z, d)| (self.base_pdf)(z) / d)
            .sum()
    }

    /// The values of G at the critical points and at the ends of the support, sorted: the
    /// points where p_X may be singular or jump.
    pub fn critical_values(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.breaks.iter().map(|&z| (self.g)(z)).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.dedup();
        v
    }

    /// P(a <= X <= b) = int_a^b p_X, by splitting at the critical values and, on each piece
    /// [c, d], substituting x = c + s^2 on its first half and x = d - s^2 on its second, which
    /// removes the inverse-square-root singularities of p_X at critical values.
    pub fn probability(&self, a: f64, b: f64, panels: usize) -> f64 {
        if !(a < b) {
            return 0.0;
        }
        let mut cuts = vec![a];
        // Critical values within rounding of an end are the end itself.
        let eps = 1e-12 * a.abs().max(b.abs()).max(1.0);
        cuts.extend(
            self.critical_values()
                .into_iter()
                .filter(|&c| c > a + eps && c < b - eps),
        );
        cuts.push(b);
        let f = |x: f64| self.density(x);
        let mut total = 0.0;
        for w in cuts.windows(2) {
            let (c, d) = (w[0], w[1]);
            let half = 0.5 * (d - c);
            let s_max = half.sqrt();
            total += gauss_legendre(&|s: f64| 2.0 * s * f(c + s * s), 0.0, s_max, panels);
            total += gauss_legendre(&|s: f64| 2.0 * s * f(d - s * s), 0.0, s_max, panels);
        }
        total
    }

    /// int p_X over the whole range of G: 1 for a proper density of Z on its support.
    pub fn total_probability(&self, panels: usize) -> f64 {
        let v = self.critical_values();
        match (v.first(), v.last()) {
            (Some(&lo), Some(&hi)) => self.probability(lo, hi, panels),
            _ => 0.0,
        }
    }

    /// G(z).
    pub fn apply(&self, z: f64) -> f64 {
        (self.g)(z)
    }

    /// The support of Z.
    pub fn support(&self) -> (f64, f64) {
        (self.low, self.high)
    }
}

/// A scalar transform with a plain-function G and a boxed base density.
pub type BoxedScalarTransform =
    ScalarTransform<fn(f64) -> f64, Box<dyn Fn(f64) -> f64 + Send + Sync>>;

/// Z ~ N(0, 1) (truncated to [-12, 12], mass lost < 1e-32) pushed through G on that support.
fn normal_base() -> Result<Truncated<Normal>> {
    Truncated::new(Normal::standard(), -12.0, 12.0)
}

/// X = Z^2, Z ~ N(0, 1): chi-square with one degree of freedom, p(x) = e^{-x/2} / sqrt(2 pi x).
pub fn square_of_normal() -> Result<BoxedScalarTransform> {
    let base = normal_base()?;
    ScalarTransform::new(
        (|z| z * z) as fn(f64) -> f64,
        Box::new(move |z| base.pdf(z)),
        -12.0,
        12.0,
        2000,
    )
}

/// X = Z^3 - 3Z with Z ~ Uniform(-2.5, 2.5): G has critical points +-1 and three roots for
/// every x in (-2, 2).
pub fn cubic_of_uniform() -> Result<BoxedScalarTransform> {
    let base = Uniform::new(-2.5, 2.5)?;
    ScalarTransform::new(
        (|z| z * z * z - 3.0 * z) as fn(f64) -> f64,
        Box::new(move |z| base.pdf(z)),
        -2.5,
        2.5,
        1000,
    )
}

/// The chi-square(1) density e^{-x/2} / sqrt(2 pi x), for x > 0.
pub fn chi_square1_pdf(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        (-0.5 * x).exp() / (2.0 * std::f64::consts::PI * x).sqrt()
    }
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

/// X = G(Z) for an invertible G: R^d -> R^d with known inverse.
pub struct VectorTransform<G, GI, H> {
    g: G,
    g_inv: GI,
    base_pdf: H,
    dim: usize,
}

impl<G, GI, H> VectorTransform<G, GI, H>
where
    G: Fn(&[f64]) -> Vec<f64>,
    GI: Fn(&[f64]) -> Vec<f64>,
    H: Fn(&[f64]) -> f64,
{
    /// `g`, its inverse, the density of Z and the dimension d.
    pub fn new(g: G, g_inv: GI, base_pdf: H, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroCount("dimension"));
        }
        Ok(Self {
            g,
            g_inv,
            base_pdf,
            dim,
        })
    }

    /// `J_G(z)[i][j] = dG_i/dz_j` by central differences, row-major.
    pub fn jacobian(&self, z: &[f64]) -> Result<Vec<f64>> {
        let d = self.dim;
        if z.len() != d {
            return Err(Error::DimensionMismatch {
                expected: d,
                got: z.len(),
            });
        }
        let mut j = vec![0.0; d * d];
        let mut zp = z.to_vec();
        for col in 0..d {
            let h = fd_step(z[col]);
            zp[col] = z[col] + h;
            let gp = (self.g)(&zp);
            zp[col] = z[col] - h;
            let gm = (self.g)(&zp);
            zp[col] = z[col];
            if gp.len() != d || gm.len() != d {
                return Err(Error::DimensionMismatch {
                    expected: d,
                    got: gp.len(),
                });
            }
            for row in 0..d {
                j[row * d + col] = (gp[row] - gm[row]) / (2.0 * h);
            }
        }
        Ok(j)
    }

    /// (x, p_X(x)) at x = G(z): p_Z(z) / |det J_G(z)|.
    pub fn density_at_preimage(&self, z: &[f64]) -> Result<(Vec<f64>, f64)> {
        let det = abs_determinant(&self.jacobian(z)?, self.dim)?;
        Ok(((self.g)(z), (self.base_pdf)(z) / det))
    }

    /// p_X(x) = p_Z(G^{-1}(x)) / |det J_G(G^{-1}(x))|.
    pub fn density(&self, x: &[f64]) -> Result<f64> {
        let z = (self.g_inv)(x);
        Ok(self.density_at_preimage(&z)?.1)
    }
}

type VecFn = fn(&[f64]) -> Vec<f64>;

/// A vector transform built from plain functions (as [`polar_to_cartesian`] returns).
pub type FnVectorTransform = VectorTransform<VecFn, VecFn, fn(&[f64]) -> f64>;

/// Polar to Cartesian: Z = (R, Theta) with R ~ Rayleigh(1), Theta ~ Uniform(0, 2 pi)
/// independent, G(r, theta) = (r cos theta, r sin theta), |det J| = r. Then X ~ N(0, I_2):
/// p_X(x) = e^{-|x|^2/2} / (2 pi) (the Box-Muller identity).
pub fn polar_to_cartesian() -> FnVectorTransform {
    fn g(z: &[f64]) -> Vec<f64> {
        vec![z[0] * z[1].cos(), z[0] * z[1].sin()]
    }
    fn g_inv(x: &[f64]) -> Vec<f64> {
        let r = x[0].hypot(x[1]);
        let t = x[1].atan2(x[0]);
        vec![
            r,
            if t < 0.0 {
                t + 2.0 * std::f64::consts::PI
            } else {
                t
            },
        ]
    }
    fn base(z: &[f64]) -> f64 {
        let (r, t) = (z[0], z[1]);
        if r < 0.0 || !(0.0..=2.0 * std::f64::consts::PI).contains(&t) {
            0.0
        } else {
            r * (-0.5 * r * r).exp() / (2.0 * std::f64::consts::PI)
        }
    }
    VectorTransform {
        g: g as VecFn,
        g_inv: g_inv as VecFn,
        base_pdf: base as fn(&[f64]) -> f64,
        dim: 2,
    }
}

/// An inverse branch `y -> g_k^{-1}(y)` of a many-to-one map: `None` where y is outside the
/// image of the branch.
pub type BranchInverse = Box<dyn Fn(&[f64]) -> Option<Vec<f64>> + Send + Sync>;
/// `y -> |det J_{g_k^{-1}}(y)|`, the Jacobian determinant of an inverse branch.
pub type BranchAbsDet = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;
/// A map G: R^d -> R^d.
pub type VectorMap = Box<dyn Fn(&[f64]) -> Vec<f64> + Send + Sync>;
/// A density on R^d.
pub type VectorDensity = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// One inverse branch g_k^{-1} of a map G: R^d -> R^d, with its |det J| in closed form or, if
/// none is given, by central finite differences of the inverse (one-sided at the edge of the
/// branch's image; relative accuracy about eps^{2/3} away from singular points).
pub struct InverseBranch {
    inverse: BranchInverse,
    abs_det: Option<BranchAbsDet>,
}

impl InverseBranch {
    /// A branch whose Jacobian is taken by finite differences.
    pub fn new(inverse: impl Fn(&[f64]) -> Option<Vec<f64>> + Send + Sync + 'static) -> Self {
        Self {
            inverse: Box::new(inverse),
            abs_det: None,
        }
    }

    /// A branch with its `|det J_{g_k^{-1}}(y)|` in closed form.
    pub fn with_abs_det(
        inverse: impl Fn(&[f64]) -> Option<Vec<f64>> + Send + Sync + 'static,
        abs_det: impl Fn(&[f64]) -> f64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            inverse: Box::new(inverse),
            abs_det: Some(Box::new(abs_det)),
        }
    }

    /// g_k^{-1}(y), or None outside the branch's image.
    pub fn inverse(&self, y: &[f64]) -> Option<Vec<f64>> {
        (self.inverse)(y)
    }

    /// `J_{g_k^{-1}}(y)[i][j] = d z_i / d y_j` by central differences (one-sided where one
    /// neighbour leaves the branch's image), row-major.
    pub fn jacobian(&self, y: &[f64]) -> Result<Vec<f64>> {
        let d = y.len();
        let mut j = vec![0.0; d * d];
        let mut yp = y.to_vec();
        let centre = self.inverse(y);
        for col in 0..d {
            let h = fd_step(y[col]);
            yp[col] = y[col] + h;
            let up = self.inverse(&yp);
            yp[col] = y[col] - h;
            let down = self.inverse(&yp);
            yp[col] = y[col];
            let (a, b, width) = match (up, down) {
                (Some(a), Some(b)) => (a, b, 2.0 * h),
                (Some(a), None) => match centre.clone() {
                    Some(c) => (a, c, h),
                    None => {
                        return Err(Error::OutsideBranch {
                            coordinate: col,
                            value: y[col],
                        })
                    }
                },
                (None, Some(b)) => match centre.clone() {
                    Some(c) => (c, b, h),
                    None => {
                        return Err(Error::OutsideBranch {
                            coordinate: col,
                            value: y[col],
                        })
                    }
                },
                (None, None) => {
                    return Err(Error::OutsideBranch {
                        coordinate: col,
                        value: y[col],
                    })
                }
            };
            if a.len() != d || b.len() != d {
                return Err(Error::DimensionMismatch {
                    expected: d,
                    got: a.len().min(b.len()),
                });
            }
            for row in 0..d {
                j[row * d + col] = (a[row] - b[row]) / width;
            }
        }
        Ok(j)
    }

    /// |det J_{g_k^{-1}}(y)|: the closed form if given, else LU of [`Self::jacobian`].
    pub fn abs_det_jacobian(&self, y: &[f64]) -> Result<f64> {
        match &self.abs_det {
            Some(f) => Ok(f(y)),
            None => abs_determinant(&self.jacobian(y)?, y.len()),
        }
    }
}

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

impl std::fmt::Debug for InverseBranch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InverseBranch")
            .field("closed_form_jacobian", &self.abs_det.is_some())
            .finish()
    }
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

    pub fn dim(&self) -> usize {
        self.dim
    }

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
