//! The invertible 1x1 convolution of Glow (Kingma and Dhariwal 2018): every pixel's channel
//! vector is multiplied by one learned `c x c` matrix `W`, a learned generalisation of the
//! channel permutations between RealNVP's couplings, with
//! `log |det dz/dx| = H W log |det W|`.
//!
//! `W` is LU-parameterised, `W = P L (U + diag(sign exp(log_s)))`, with `P` a fixed
//! permutation, `L` unit lower and `U` strictly upper triangular (learned) and a learned
//! `log_s`, so that `log |det W| = sum log_s` costs O(c) and is differentiable. It starts at
//! the LU decomposition of a random rotation (Glow's initialisation). The inverse multiplies
//! by `W^-1`, computed in f64 from the current weights (a constant of the graph: gradients
//! through the inverse flow to `z`, not to `W`).

use candle_core::{Device, Tensor, Var};
use candle_nn::VarBuilder;
use gm_core::nn::conv::conv2d_op;

use crate::flow::{to_f64_vec, Flow};
use crate::{linalg, Error, Result};

/// An invertible 1x1 convolution over `c` channels.
#[derive(Debug, Clone)]
pub struct InvConv1x1 {
    c: usize,
    /// Fixed: the permutation matrix and the signs of the diagonal of `U`.
    perm: Tensor,
    sign: Tensor,
    lower: Tensor,
    upper: Tensor,
    log_s: Tensor,
    lower_mask: Tensor,
    upper_mask: Tensor,
    eye: Tensor,
}

/// An invertible 1x1 convolution over `c` channels. Built fresh from a store, it draws a
/// Gaussian matrix (the initial value of `lower`), orthogonalises it and stores its LU
/// factors; built from saved tensors, it takes them as they are.
pub fn invconv1x1(c: usize, vb: VarBuilder) -> Result<InvConv1x1> {
    if c == 0 {
        return Err(Error::config("channels", 0, "must be at least 1"));
    }
    let fresh = !vb.contains_tensor("perm");
    let zero = candle_nn::Init::Const(0.0);
    let lower = vb.get_with_hints(
        (c, c),
        "lower",
        candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        },
    )?;
    let upper = vb.get_with_hints((c, c), "upper", zero)?;
    let log_s = vb.get_with_hints(c, "log_s", zero)?;
    let perm = vb.get_with_hints((c, c), "perm", zero)?;
    let sign = vb.get_with_hints(c, "sign", zero)?;
    if fresh {
        let g = to_f64_vec(&lower)?;
        let q = linalg::orthogonal(&g, c).ok_or(Error::Singular("InvConv1x1 initialisation"))?;
        let f = linalg::lu(&q, c).ok_or(Error::Singular("InvConv1x1 initialisation"))?;
        let diag: Vec<f64> = (0..c).map(|i| f.upper[i * c + i]).collect();
        let mut strict_upper = f.upper.clone();
        for i in 0..c {
            strict_upper[i * c + i] = 0.0;
        }
        let dev = lower.device();
        let dt = lower.dtype();
        let set = |t: &Tensor, v: Vec<f64>| -> Result<()> {
            if !t.is_variable() {
                return Err(Error::NotTrainable("InvConv1x1"));
            }
            let new = Tensor::from_vec(v, t.shape(), dev)?.to_dtype(dt)?;
            Var::from_tensor(t)?.set(&new)?;
            Ok(())
        };
        set(&lower, f.lower.clone())?;
        set(&upper, strict_upper)?;
        set(&log_s, diag.iter().map(|d| d.abs().ln()).collect())?;
        set(&perm, f.perm_matrix())?;
        set(&sign, diag.iter().map(|d| d.signum()).collect())?;
    }
    let dev = lower.device().clone();
    let dt = lower.dtype();
    let tri = |upper: bool| -> Result<Tensor> {
        let v: Vec<f32> = (0..c * c)
            .map(|k| f32::from(u8::from(if upper { k % c > k / c } else { k % c < k / c })))
            .collect();
        Ok(Tensor::from_vec(v, (c, c), &dev)?.to_dtype(dt)?)
    };
    Ok(InvConv1x1 {
        c,
        lower_mask: tri(false)?,
        upper_mask: tri(true)?,
        eye: Tensor::eye(c, dt, &dev)?,
        perm,
        sign,
        lower,
        upper,
        log_s,
    })
}

impl InvConv1x1 {
    /// `W = P L (U + diag(sign exp(log_s)))`. `P` and `sign` enter detached: they are fixed.
    pub fn weight(&self) -> Result<Tensor> {
        let l = ((&self.lower * &self.lower_mask)? + &self.eye)?;
        let diag = (self.sign.detach() * self.log_s.exp()?)?;
        let u = ((&self.upper * &self.upper_mask)?
            + self.eye.broadcast_mul(&diag.reshape((1, self.c))?)?)?;
        Ok(self.perm.detach().matmul(&l.matmul(&u)?)?)
    }

    /// The layer as the written-out training step sees it.
    pub(crate) fn host_layer(&self) -> crate::fused::HostLayer {
        crate::fused::HostLayer::InvConv {
            lower: self.lower.clone(),
            upper: self.upper.clone(),
            log_s: self.log_s.clone(),
            perm: self.perm.clone(),
            sign: self.sign.clone(),
        }
    }

    fn check(&self, x: &Tensor) -> Result<(usize, usize)> {
        match x.dims() {
            &[_, c, h, w] if c == self.c => Ok((h, w)),
            d => Err(Error::Shape {
                what: "1x1 convolution input (n, c, h, w) (0: any size)",
                got: d.to_vec(),
                expected: vec![0, self.c, 0, 0],
            }),
        }
    }

    fn apply(x: &Tensor, w: &Tensor) -> Result<Tensor> {
        let c = w.dim(0)?;
        Ok(conv2d_op(x, &w.reshape((c, c, 1, 1))?, 1, 0)?)
    }
}

impl Flow for InvConv1x1 {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (h, w) = self.check(x)?;
        let z = Self::apply(x, &self.weight()?)?;
        let logdet = (self.log_s.sum_all()? * (h * w) as f64)?
            .reshape(1)?
            .broadcast_as(x.dim(0)?)?
            .contiguous()?;
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let w = to_f64_vec(&self.weight()?)?;
        let inv = linalg::inverse(&w, self.c).ok_or(Error::Singular("InvConv1x1 inverse"))?;
        let inv = Tensor::from_vec(inv, (self.c, self.c), &Device::Cpu)?
            .to_dtype(z.dtype())?
            .to_device(z.device())?;
        Self::apply(z, &inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};
    use gm_core::{GmRng, ParamStore};

    #[test]
    fn starts_as_a_rotation_and_inverts() {
        let dev = Device::Cpu;
        let store = ParamStore::new(5);
        let layer = invconv1x1(4, store.var_builder(&dev)).unwrap();
        let w = to_f64_vec(&layer.weight().unwrap()).unwrap();
        let wt: Vec<f64> = (0..16).map(|k| w[(k % 4) * 4 + k / 4]).collect();
        let wtw = linalg::matmul(&wt, &w, 4);
        for i in 0..4 {
            for j in 0..4 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((wtw[i * 4 + j] - want).abs() < 1e-5, "{wtw:?}");
            }
        }
        // Not a permutation: the rotation mixes channels.
        assert!(w.iter().filter(|v| v.abs() > 1e-3).count() > 4);
        let x = GmRng::new(1).normal((3, 4, 2, 3), 0.0, 1.0, &dev).unwrap();
        assert_round_trip(&layer, &x, 1e-5);
        // log |det| of a rotation is 0.
        let (_, ld) = layer.forward(&x).unwrap();
        assert!(
            ld.abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                < 1e-5
        );
    }

    #[test]
    fn log_det_matches_the_jacobian_after_training_moves_it() {
        let dev = Device::Cpu;
        let store = ParamStore::new(5);
        let layer = invconv1x1(4, store.var_builder(&dev)).unwrap();
        randomize(&store, 6, 0.3);
        let x = GmRng::new(2).normal((1, 4, 2, 2), 0.0, 1.0, &dev).unwrap();
        let (_, ld) = layer.forward(&x).unwrap();
        assert!(
            ld.abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.1
        );
        // The formula against log |det W| taken directly, times H W = 4.
        let w = to_f64_vec(&layer.weight().unwrap()).unwrap();
        let direct = 4.0 * linalg::log_abs_det(&w, 4);
        assert!((ld.to_vec1::<f32>().unwrap()[0] as f64 - direct).abs() < 1e-4);
        assert_log_det_matches(&layer, &x, 1e-4);
        assert_round_trip(&layer, &x, 1e-5);
    }

    #[test]
    fn saved_factors_rebuild_the_same_weight() {
        let dev = Device::Cpu;
        let store = ParamStore::new(5);
        let layer = invconv1x1(3, store.var_builder(&dev)).unwrap();
        let back = invconv1x1(3, gm_core::model::var_builder_from(store.tensors(), &dev)).unwrap();
        let (a, b) = (layer.weight().unwrap(), back.weight().unwrap());
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
