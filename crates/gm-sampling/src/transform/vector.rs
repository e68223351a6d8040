//! The invertible vector change of variables X = G(Z), G: R^d -> R^d: [`VectorTransform`]
//! (finite-difference Jacobian, density through the known inverse) and the polar-to-Cartesian
//! example.

use super::{abs_determinant, fd_step};
use crate::{Error, Result};

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
