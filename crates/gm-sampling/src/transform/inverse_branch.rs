//! One inverse branch g_k^{-1} of a many-to-one map G: R^d -> R^d ([`InverseBranch`]), with
//! the |det J| of the branch in closed form or by finite differences, and the boxed function
//! types it is built from.

use super::{abs_determinant, fd_step};
use crate::{Error, Result};

/// An inverse branch `y -> g_k^{-1}(y)` of a many-to-one map: `None` where y is outside the
/// image of the branch.
pub type BranchInverse = Box<dyn Fn(&[f64]) -> Option<Vec<f64>> + Send + Sync>;
/// `y -> |det J_{g_k^{-1}}(y)|`, the Jacobian determinant of an inverse branch.
pub type BranchAbsDet = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

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

impl std::fmt::Debug for InverseBranch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InverseBranch")
            .field("closed_form_jacobian", &self.abs_det.is_some())
            .finish()
    }
}
