//! The radial flow of Rezende and Mohamed (2015), here in the normalizing direction:
//!
//! ```text
//! z = x + beta h(r) (x - x0),   h(r) = 1 / (alpha + r),   r = |x - x0|
//! log |det dz/dx| = (d - 1) ln(1 + beta h) + ln(1 + beta h + beta h'(r) r)
//!                 = (d - 1) ln(1 + beta h) + ln(1 + beta alpha h^2)
//! ```
//!
//! with `alpha = softplus(a) > 0` and `beta = -alpha + softplus(b) >= -alpha`, which keeps the
//! map invertible. The inverse is closed-form: `|z - x0| = r (1 + beta / (alpha + r))` is a
//! quadratic in `r` with one positive root, then `x - x0 = (z - x0) / (1 + beta h(r))`
//! (computed in f64, outside the autograd graph).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::flow::{from_f64_like, softplus, to_f64_vec, Flow};
use crate::{Error, Result};

/// A radial layer over vectors of `d` coordinates.
#[derive(Debug, Clone)]
pub struct Radial {
    x0: Tensor,
    a: Tensor,
    b: Tensor,
}

/// A radial layer over `d` coordinates: `x0` starts at N(0, 1), and `alpha = ln 2`,
/// `beta = 0` (the identity).
pub fn radial(d: usize, vb: VarBuilder) -> Result<Radial> {
    if d == 0 {
        return Err(Error::config("dim", 0, "must be at least 1"));
    }
    let zero = candle_nn::Init::Const(0.0);
    Ok(Radial {
        x0: vb.get_with_hints(
            d,
            "x0",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        )?,
        a: vb.get_with_hints(1, "alpha", zero)?,
        b: vb.get_with_hints(1, "beta", zero)?,
    })
}

impl Radial {
    /// `(alpha, beta)` as `(1,)` tensors.
    fn alpha_beta(&self) -> Result<(Tensor, Tensor)> {
        let alpha = softplus(&self.a)?;
        let beta = (softplus(&self.b)? - &alpha)?;
        Ok((alpha, beta))
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let d = self.x0.elem_count();
        if x.rank() != 2 || x.dim(1)? != d {
            return Err(Error::Shape {
                what: "radial flow input (n, d) (0: any size)",
                got: x.dims().to_vec(),
                expected: vec![0, d],
            });
        }
        Ok(())
    }
}

impl Flow for Radial {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check(x)?;
        let d = self.x0.elem_count();
        let (alpha, beta) = self.alpha_beta()?;
        let diff = x.broadcast_sub(&self.x0.reshape((1, d))?)?;
        let r = diff.sqr()?.sum_keepdim(1)?.sqrt()?;
        let h = r.broadcast_add(&alpha)?.recip()?;
        let bh = h.broadcast_mul(&beta)?;
        let z = (x + diff.broadcast_mul(&bh)?)?;
        let first = (bh.clone() + 1.0)?.log()?.affine((d - 1) as f64, 0.0)?;
        let second = (h.sqr()?.broadcast_mul(&(&beta * &alpha)?)? + 1.0)?.log()?;
        Ok((z, (first + second)?.squeeze(1)?))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let d = self.x0.elem_count();
        let (alpha, beta) = self.alpha_beta()?;
        let (alpha, beta) = (to_f64_vec(&alpha)?[0], to_f64_vec(&beta)?[0]);
        let x0 = to_f64_vec(&self.x0)?;
        let zs = to_f64_vec(z)?;
        let mut out = Vec::with_capacity(zs.len());
        for row in zs.chunks_exact(d) {
            let rho = row
                .iter()
                .zip(&x0)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            // r^2 + (alpha + beta - rho) r - rho alpha = 0; the positive root, in the form
            // without cancellation for either sign of the linear coefficient.
            let bq = alpha + beta - rho;
            let disc = (bq * bq + 4.0 * rho * alpha).sqrt();
            let r = if bq > 0.0 {
                2.0 * rho * alpha / (bq + disc)
            } else {
                0.5 * (disc - bq)
            };
            let f = 1.0 + beta / (alpha + r);
            out.extend(row.iter().zip(&x0).map(|(zi, ci)| ci + (zi - ci) / f));
        }
        from_f64_like(out, z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};
    use candle_core::Device;
    use gm_core::{GmRng, ParamStore};

    #[test]
    fn inverts_and_log_det_matches_the_jacobian() {
        let dev = Device::Cpu;
        for (d, seed) in [(2, 1), (2, 2), (3, 3)] {
            let store = ParamStore::new(seed);
            let layer = radial(d, store.var_builder(&dev)).unwrap();
            randomize(&store, seed + 10, 1.0);
            let (_, beta) = layer.alpha_beta().unwrap();
            assert!(to_f64_vec(&beta).unwrap()[0].abs() > 1e-2);
            let x = GmRng::new(seed).normal((8, d), 0.0, 1.5, &dev).unwrap();
            assert_round_trip(&layer, &x, 1e-5);
            for i in 0..3 {
                assert_log_det_matches(&layer, &x.narrow(0, i, 1).unwrap(), 1e-5);
            }
        }
    }

    #[test]
    fn contracting_beta_stays_invertible() {
        // beta near its bound -alpha pulls space hard towards x0.
        let dev = Device::Cpu;
        let store = ParamStore::new(0);
        let layer = radial(2, store.var_builder(&dev)).unwrap();
        store.varmap().data().lock().unwrap()["beta"]
            .set(&Tensor::new(&[-6f32], &dev).unwrap())
            .unwrap();
        let x = GmRng::new(4).normal((16, 2), 0.0, 2.0, &dev).unwrap();
        assert_round_trip(&layer, &x, 1e-5);
        assert_log_det_matches(&layer, &x.narrow(0, 0, 1).unwrap(), 1e-4);
    }
}
