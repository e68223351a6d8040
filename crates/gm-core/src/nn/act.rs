//! Activations with one pass forward and one backward: `leaky_relu(x) = max(x, a x)`
//! (`0 <= a <= 1`) and `relu = leaky_relu` with `a = 0`.
//!
//! candle-nn writes LeakyReLU as `max(x, 0) + a min(x, 0)`: five tensors forward and two
//! comparison masks backward. Here the backward pass is `g * m` with the mask
//! `m = 1 (x > 0), a (x <= 0)` computed in one pass; `m` is piecewise constant in `x`, so the
//! product is the exact derivative, also under second-order differentiation.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    const CHUNK: usize = 1 << 14;
    let body = |(dst, src): (&mut [f32], &[f32])| {
        for (o, &v) in dst.iter_mut().zip(src) {
            *o = f(v);
        }
    };
    if x.len() >= 4 * CHUNK {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(body);
    } else {
        body((&mut out, x));
    }
    out
}

struct LeakyRelu(f32);
/// The derivative mask of [`LeakyRelu`]: 1 where `x > 0`, the slope elsewhere.
struct LeakyReluMask(f32);

impl CustomOp1 for LeakyRelu {
    fn name(&self) -> &'static str {
        "gm-leaky-relu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let a = self.0;
        let x = super::f32_contiguous(storage, layout, "leaky_relu")?;
        let out = map(x, |v| if v > 0.0 { v } else { a * v });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let mask = arg.contiguous()?.apply_op1_no_bwd(&LeakyReluMask(self.0))?;
        Ok(Some(grad.mul(&mask)?))
    }
}

impl CustomOp1 for LeakyReluMask {
    fn name(&self) -> &'static str {
        "gm-leaky-relu-mask"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let a = self.0;
        let x = super::f32_contiguous(storage, layout, "leaky_relu")?;
        let out = map(x, |v| if v > 0.0 { 1.0 } else { a });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// `max(x, slope x)` for `slope` in `[0, 1]`; one pass on the CPU for f32, candle-nn's
/// formulation elsewhere.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&slope) {
        candle_core::bail!("leaky_relu: slope {slope} must lie in [0, 1]");
    }
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1(LeakyRelu(slope as f32));
    }
    candle_nn::ops::leaky_relu(x, slope)
}

/// `max(x, 0)`: [`leaky_relu`] with slope 0 on the CPU in f32, candle's own `relu` (one
/// kernel on a GPU) elsewhere.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return leaky_relu(x, 0.0);
    }
    x.relu()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_util::max_diff;
    use crate::GmRng;
    use candle_core::{Device, Var};

    #[test]
    fn leaky_relu_matches_candle_nn_forward_and_backward() {
        let dev = Device::Cpu;
        for (seed, (dims, slope)) in [
            (vec![7usize], 0.2),
            (vec![3, 5, 9], 0.0),
            (vec![64, 32, 14, 14], 0.2),
            (vec![2, 1], 1.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = GmRng::new(seed as u64);
            let x = Var::from_tensor(&rng.normal(dims.clone(), 0.0, 1.0, &dev).unwrap()).unwrap();
            let y = leaky_relu(&x, slope).unwrap();
            let y_ref = candle_nn::ops::leaky_relu(&x, slope).unwrap();
            assert_eq!(max_diff(&y, &y_ref), 0.0, "{dims:?}");
            let gy = rng.normal(dims.clone(), 0.0, 1.0, &dev).unwrap();
            let g = (y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
            let g_ref = (y_ref * &gy)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(
                max_diff(g.get(&x).unwrap(), g_ref.get(&x).unwrap()) <= 1e-6,
                "{dims:?}"
            );
        }
    }

    #[test]
    fn relu_is_slope_zero_and_bad_slopes_are_refused() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[-2f32, -0.0, 0.5, 3.0], &dev).unwrap();
        assert_eq!(
            relu(&x).unwrap().to_vec1::<f32>().unwrap(),
            vec![0.0, 0.0, 0.5, 3.0]
        );
        // Off the f32 CPU path: candle's relu, the same values.
        let x64 = x.to_dtype(DType::F64).unwrap();
        assert_eq!(
            relu(&x64).unwrap().to_vec1::<f64>().unwrap(),
            vec![0.0, 0.0, 0.5, 3.0]
        );
        assert!(leaky_relu(&x, -0.1).is_err());
        assert!(leaky_relu(&x, 1.5).is_err());
        assert!(leaky_relu(&x, f64::NAN).is_err());
    }
}
