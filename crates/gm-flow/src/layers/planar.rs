//! The planar flow of Rezende and Mohamed (2015), here in the normalizing direction:
//!
//! ```text
//! z = x + u^ tanh(w^T x + b),     log |det dz/dx| = ln |1 + (1 - tanh^2(w^T x + b)) w^T u^|
//! ```
//!
//! with `u^ = u + (m(w^T u) - w^T u) w / |w|^2`, `m(a) = -1 + softplus(a)`, which keeps
//! `w^T u^ > -1` and so the map invertible (their appendix A.1). The inverse solves the scalar
//! equation `a + (w^T u^) tanh(a) = w^T z + b` for `a = w^T x + b` (strictly increasing in
//! `a`) by bisection in f64, then `x = z - u^ tanh(a)`; it is exact to f64 rounding but lies
//! outside the autograd graph.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::flow::{from_f64_like, softplus, to_f64_vec, Flow};
use crate::{Error, Result};

/// A planar layer over vectors of `d` coordinates.
#[derive(Debug, Clone)]
pub struct Planar {
    u: Tensor,
    w: Tensor,
    b: Tensor,
}

/// A planar layer over `d` coordinates; `u` and `w` start at N(0, 0.5^2), `b` at 0.
pub fn planar(d: usize, vb: VarBuilder) -> Result<Planar> {
    if d == 0 {
        return Err(Error::config("dim", 0, "must be at least 1"));
    }
    let init = candle_nn::Init::Randn {
        mean: 0.0,
        stdev: 0.5,
    };
    Ok(Planar {
        u: vb.get_with_hints(d, "u", init)?,
        w: vb.get_with_hints(d, "w", init)?,
        b: vb.get_with_hints(1, "b", candle_nn::Init::Const(0.0))?,
    })
}

impl Planar {
    /// `u^`, the constrained `u`.
    fn u_hat(&self) -> Result<Tensor> {
        let wu = (&self.w * &self.u)?.sum_all()?;
        let m = (softplus(&wu)? - 1.0)?;
        let w2 = self.w.sqr()?.sum_all()?;
        let coef = ((m - wu)? / w2)?;
        Ok((&self.u + self.w.broadcast_mul(&coef)?)?)
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let d = self.w.elem_count();
        if x.rank() != 2 || x.dim(1)? != d {
            return Err(Error::Shape {
                what: "planar flow input (n, d) (0: any size)",
                got: x.dims().to_vec(),
                expected: vec![0, d],
            });
        }
        Ok(())
    }
}

impl Flow for Planar {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check(x)?;
        let d = self.w.elem_count();
        let u = self.u_hat()?;
        let a = x.matmul(&self.w.reshape((d, 1))?)?.broadcast_add(&self.b)?;
        let h = a.tanh()?;
        let z = (x + h.broadcast_mul(&u.reshape((1, d))?)?)?;
        let wu = (&self.w * &u)?.sum_all()?;
        let det = (h.sqr()?.affine(-1.0, 1.0)?.broadcast_mul(&wu)? + 1.0)?;
        Ok((z, det.abs()?.log()?.squeeze(1)?))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let d = self.w.elem_count();
        let u = to_f64_vec(&self.u_hat()?)?;
        let w = to_f64_vec(&self.w)?;
        let b = to_f64_vec(&self.b)?[0];
        let c: f64 = w.iter().zip(&u).map(|(a, b)| a * b).sum();
        let zs = to_f64_vec(z)?;
        let mut out = Vec::with_capacity(zs.len());
        for row in zs.chunks_exact(d) {
            let y = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + b;
            // g(a) = a + c tanh(a) - y is increasing (c > -1) and its root lies within |c|
            // of y.
            let (mut lo, mut hi) = (y - c.abs() - 1e-9, y + c.abs() + 1e-9);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid + c * mid.tanh() < y {
                    lo = mid;
                } else {
                    hi = mid;
                }
                if hi - lo <= f64::EPSILON * mid.abs().max(1.0) {
                    break;
                }
            }
            let t = (0.5 * (lo + hi)).tanh();
            out.extend(row.iter().zip(&u).map(|(zi, ui)| zi - ui * t));
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
            let layer = planar(d, store.var_builder(&dev)).unwrap();
            randomize(&store, seed + 10, 1.0);
            let x = GmRng::new(seed).normal((8, d), 0.0, 1.5, &dev).unwrap();
            assert_round_trip(&layer, &x, 1e-5);
            for i in 0..3 {
                assert_log_det_matches(&layer, &x.narrow(0, i, 1).unwrap(), 1e-5);
            }
        }
    }

    #[test]
    fn the_constraint_keeps_it_invertible_when_u_opposes_w() {
        // w^T u = -3 < -1 would fold the plane; u^ has w^T u^ = m(-3) = -1 + ln(1 + e^-3).
        let dev = Device::Cpu;
        let store = ParamStore::new(0);
        let layer = planar(2, store.var_builder(&dev)).unwrap();
        let t = store.tensors();
        let set = |name: &str, v: &[f32]| {
            store.varmap().data().lock().unwrap()[name]
                .set(&Tensor::new(v, &dev).unwrap())
                .unwrap();
        };
        assert!(t.contains_key("u") && t.contains_key("w"));
        set("u", &[-3.0, 0.0]);
        set("w", &[1.0, 0.0]);
        let u = to_f64_vec(&layer.u_hat().unwrap()).unwrap();
        let want = -1.0 + (1.0 + (-3f64).exp()).ln();
        assert!((u[0] - want).abs() < 1e-6, "{u:?}");
        let x = GmRng::new(4).normal((16, 2), 0.0, 2.0, &dev).unwrap();
        assert_round_trip(&layer, &x, 1e-5);
        let (_, ld) = layer.forward(&x).unwrap();
        assert!(ld.to_vec1::<f32>().unwrap().iter().all(|v| v.is_finite()));
    }
}
