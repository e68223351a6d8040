//! Nearest-neighbour upsampling by 2, `(n, c, h, w) -> (n, c, 2h, 2w)`, in one pass.
//!
//! Written with candle's ops (a broadcast of `(n, c, h, 1, w, 1)`), the backward pass is a
//! sum over two strided axes, one of the slowest reductions on the CPU. Here the forward pass
//! copies each value into its 2x2 block and the backward pass is `4 avg_pool2d(g, 2)`, the
//! sum of each block: exact, and differentiable again (second order) through candle's pooling.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

struct Upsample2;

impl CustomOp1 for Upsample2 {
    fn name(&self) -> &'static str {
        "gm-upsample2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = super::f32_contiguous(storage, layout, "upsample2")?;
        let (n, c, h, w) = layout.shape().dims4()?;
        let mut out = vec![0f32; 4 * x.len()];
        let plane = h * w;
        if plane > 0 {
            out.par_chunks_mut(4 * plane)
                .zip(x.par_chunks(plane))
                .for_each(|(dst, src)| {
                    for (i, row) in src.chunks(w).enumerate() {
                        let (top, bottom) = dst[4 * i * w..4 * (i + 1) * w].split_at_mut(2 * w);
                        for (j, &v) in row.iter().enumerate() {
                            top[2 * j] = v;
                            top[2 * j + 1] = v;
                        }
                        bottom.copy_from_slice(top);
                    }
                });
        }
        Ok((CpuStorage::F32(out), Shape::from((n, c, 2 * h, 2 * w))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.avg_pool2d(2)?.affine(4.0, 0.0)?))
    }
}

/// Nearest-neighbour upsampling by 2 of `(n, c, h, w)`: one pass on the CPU for f32, a
/// broadcast of candle's ops elsewhere.
pub fn upsample2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1(Upsample2);
    }
    x.reshape((n, c, h, 1, w, 1))?
        .broadcast_as((n, c, h, 2, w, 2))?
        .reshape((n, c, 2 * h, 2 * w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn broadcast(x: &Tensor) -> Tensor {
        let (n, c, h, w) = x.dims4().unwrap();
        x.reshape((n, c, h, 1, w, 1))
            .unwrap()
            .broadcast_as((n, c, h, 2, w, 2))
            .unwrap()
            .reshape((n, c, 2 * h, 2 * w))
            .unwrap()
    }

    #[test]
    fn upsample2_matches_the_broadcast_forward_and_backward() {
        let dev = Device::Cpu;
        let v: Vec<f32> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let x = Var::from_vec(v, (2, 3, 5, 4), &dev).unwrap();
        let w = Tensor::arange(0f32, (2 * 3 * 10 * 8) as f32, &dev)
            .unwrap()
            .reshape((2, 3, 10, 8))
            .unwrap()
            .sin()
            .unwrap();
        let ours = upsample2(x.as_tensor()).unwrap();
        let theirs = broadcast(x.as_tensor());
        assert_eq!(
            ours.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            theirs.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let g = |y: Tensor| {
            let grads = (y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            grads
                .get(x.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let (a, b) = (g(ours), g(theirs));
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }
}
