//! Per-channel affine maps and batch normalisation with one pass over the activations.
//!
//! `channel_affine(x, s, t)[b, c, ...] = x[b, c, ...] s[c] + t[c]` is the primitive behind a
//! convolution's bias, batch normalisation and its learned scale and shift. Written with
//! candle's broadcasting ops, each of these costs a pass per op forward, and backward sums the
//! gradient over the batch and spatial axes with a strided reduction, plus a zero-filled buffer
//! and an addition per graph node; here the forward pass is one loop, and the backward pass is
//!
//! ```text
//! dx = channel_affine(g, s, 0),   ds[c] = sum_{b, i} g x,   dt[c] = sum_{b, i} g,
//! ```
//!
//! whose sums run over contiguous rows. The backward pass is built from differentiable tensor
//! ops, so second-order gradients (gradient penalties through batch norm) stay exact.
//!
//! [`batch_norm2d`] (Ioffe and Szegedy, 2015) in training mode normalises with the batch
//! statistics, `y = (x - mu) / sqrt(var + eps) gamma + beta`, as one `channel_affine` with
//! `s = gamma / sqrt(var + eps)` and `t = beta - mu s`; the gradient through `mu` and `var`
//! follows from autograd through `s` and `t`. Running statistics follow candle-nn's rule
//! (momentum 0.1, unbiased variance) and parameter names (`weight`, `bias`, `running_mean`,
//! `running_var`), so saved models load either way.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, Var};
use candle_nn::VarBuilder;
use rayon::prelude::*;

/// Items of a `(b, c, ...)` tensor: `(b, c, values per channel and item)`.
fn split(dims: &[usize]) -> Result<(usize, usize, usize)> {
    if dims.len() < 2 {
        candle_core::bail!("per-channel op: input {dims:?} needs at least (batch, channels)");
    }
    Ok((dims[0], dims[1], dims[2..].iter().product()))
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(d) => d,
        _ => candle_core::bail!("channel_affine: {what} must be f32"),
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("channel_affine: {what} must be contiguous"),
    }
}

struct ChannelAffine;

impl CustomOp3 for ChannelAffine {
    fn name(&self) -> &'static str {
        "gm-channel-affine"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "x")?;
        let s = f32_slice(s2, l2, "scale")?;
        let t = f32_slice(s3, l3, "shift")?;
        let (_, c, inner) = split(l1.dims())?;
        if s.len() != c || t.len() != c {
            candle_core::bail!(
                "channel_affine: {c} channels but scale {} and shift {}",
                s.len(),
                t.len()
            );
        }
        let mut out = vec![0f32; x.len()];
        let body = |(row, dst): (usize, &mut [f32])| {
            let (a, b) = (s[row % c], t[row % c]);
            let src = &x[row * inner..(row + 1) * inner];
            for (o, v) in dst.iter_mut().zip(src) {
                *o = v * a + b;
            }
        };
        if inner == 0 {
            // Nothing to compute.
        } else if x.len() >= 1 << 15 {
            out.par_chunks_mut(inner).enumerate().for_each(body);
        } else {
            out.chunks_mut(inner).enumerate().for_each(body);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        s: &Tensor,
        t: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = channel_affine(&grad, s, &t.zeros_like()?)?;
        let ds = channel_sum(&(&grad * x)?)?;
        let dt = channel_sum(&grad)?;
        Ok((Some(dx), Some(ds), Some(dt)))
    }
}

/// `sum_{b, i} x[b, c, i]` for every channel `c`: `(b, c, ...)` -> `(c)`, summing contiguous
/// rows first.
pub fn channel_sum(x: &Tensor) -> Result<Tensor> {
    let (b, c, inner) = split(x.dims())?;
    x.contiguous()?.reshape((b, c, inner))?.sum(2)?.sum(0)
}

/// `x[b, c, ...] s[c] + t[c]` for `x (b, c, ...)`, `s (c)`, `t (c)`. One pass on the CPU for
/// f32; candle's broadcasting ops elsewhere.
pub fn channel_affine(x: &Tensor, s: &Tensor, t: &Tensor) -> Result<Tensor> {
    let (_, c, _) = split(x.dims())?;
    if s.dims() != [c] || t.dims() != [c] {
        candle_core::bail!(
            "channel_affine: x {:?} needs scale and shift of shape [{c}], got {:?} and {:?}",
            x.dims(),
            s.dims(),
            t.dims()
        );
    }
    let fast = x.device().is_cpu()
        && [x.dtype(), s.dtype(), t.dtype()]
            .iter()
            .all(|d| *d == DType::F32);
    if fast {
        return x
            .contiguous()?
            .apply_op3(&s.contiguous()?, &t.contiguous()?, ChannelAffine);
    }
    let mut shape = vec![1usize; x.rank()];
    shape[1] = c;
    x.broadcast_mul(&s.reshape(shape.clone())?)?
        .broadcast_add(&t.reshape(shape)?)
}

/// Adds a per-channel bias: `x[b, c, ...] + t[c]`.
pub fn channel_bias(x: &Tensor, t: &Tensor) -> Result<Tensor> {
    channel_affine(x, &t.ones_like()?, t)
}

/// Batch norm's options (candle-nn's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    /// Added to the variance before its square root, `>= 0`.
    pub eps: f64,
    /// Weight of the batch statistics in the running averages, in `[0, 1]`:
    /// `running = (1 - momentum) running + momentum batch`.
    pub momentum: f64,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        Self {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

/// Batch normalisation over the channels of `(b, c, ...)` (or `(b, c)`) activations.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    cfg: BatchNormConfig,
}

/// A batch norm layer of `c` channels with candle-nn's names and initial values.
pub fn batch_norm2d(c: usize, cfg: BatchNormConfig, vb: VarBuilder) -> Result<BatchNorm2d> {
    if cfg.eps.is_nan() || cfg.eps < 0.0 || !(0.0..=1.0).contains(&cfg.momentum) {
        candle_core::bail!(
            "batch norm: eps {} must be >= 0 and momentum {} in [0, 1]",
            cfg.eps,
            cfg.momentum
        );
    }
    use candle_nn::Init;
    let running_mean = vb.get_with_hints(c, "running_mean", Init::Const(0.))?;
    let running_var = vb.get_with_hints(c, "running_var", Init::Const(1.))?;
    let weight = vb.get_with_hints(c, "weight", Init::Const(1.))?;
    let bias = vb.get_with_hints(c, "bias", Init::Const(0.))?;
    Ok(BatchNorm2d {
        weight,
        bias,
        running_mean: Var::from_tensor(&running_mean)?,
        running_var: Var::from_tensor(&running_var)?,
        cfg,
    })
}

impl BatchNorm2d {
    /// The scale `gamma`, one per channel.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The shift `beta`, one per channel.
    pub fn bias(&self) -> &Tensor {
        &self.bias
    }

    /// The layer's `eps` and momentum.
    pub fn config(&self) -> BatchNormConfig {
        self.cfg
    }

    /// Moves the running statistics towards a batch's `mean` and biased variance `var`
    /// over `count` values per channel (the unbiased variance enters the running one), as a
    /// training-mode forward pass does.
    pub fn update_running(&self, mean: &Tensor, var: &Tensor, count: usize) -> Result<()> {
        let m = self.cfg.momentum;
        let count = count as f64;
        let rm = ((self.running_mean.as_tensor() * (1.0 - m))? + (mean * m)?)?;
        let rv =
            ((self.running_var.as_tensor() * (1.0 - m))? + (var * (m * count / (count - 1.0)))?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        Ok(())
    }

    /// Normalised activations: batch statistics when `train` (updating the running ones),
    /// running statistics otherwise.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (b, c, inner) = split(x.dims())?;
        if c != self.weight.dim(0)? {
            candle_core::bail!(
                "batch norm of {} channels applied to {:?}",
                self.weight.dim(0)?,
                x.dims()
            );
        }
        let (mean, var) = if train {
            let count = (b * inner) as f64;
            if count < 2.0 {
                candle_core::bail!(
                    "batch norm in training mode needs more than one value per channel, got {:?}",
                    x.dims()
                );
            }
            let mean = channel_sum(x)?.affine(1.0 / count, 0.0)?;
            let centred = channel_affine(x, &mean.ones_like()?, &mean.neg()?)?;
            let var = channel_sum(&centred.sqr()?)?.affine(1.0 / count, 0.0)?;
            self.update_running(&mean.detach(), &var.detach(), b * inner)?;
            (mean, var)
        } else {
            (
                self.running_mean.as_tensor().clone(),
                self.running_var.as_tensor().clone(),
            )
        };
        let scale = (&self.weight / (var + self.cfg.eps)?.sqrt()?)?;
        let shift = (&self.bias - (&mean * &scale)?)?;
        channel_affine(x, &scale, &shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_util::{max_diff, scale};
    use crate::{GmRng, ParamStore};
    use candle_core::{Device, ModuleT};

    /// Forward and the gradients of x, s, t against candle's broadcasting ops, on odd shapes
    /// and ranks 2 to 4.
    #[test]
    fn channel_affine_matches_broadcasting_ops() {
        let dev = Device::Cpu;
        for (seed, dims) in [
            vec![3usize, 5],
            vec![2, 3, 7],
            vec![4, 3, 5, 7],
            vec![64, 16, 14, 14],
            vec![1, 1, 1, 1],
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = GmRng::new(seed as u64);
            let c = dims[1];
            let x = Var::from_tensor(&rng.normal(dims.clone(), 0.5, 2.0, &dev).unwrap()).unwrap();
            let s = Var::from_tensor(&rng.normal(c, 0.0, 1.0, &dev).unwrap()).unwrap();
            let t = Var::from_tensor(&rng.normal(c, 0.0, 1.0, &dev).unwrap()).unwrap();
            let mut shape = vec![1usize; dims.len()];
            shape[1] = c;
            let y_ref = x
                .broadcast_mul(&s.reshape(shape.clone()).unwrap())
                .unwrap()
                .broadcast_add(&t.reshape(shape).unwrap())
                .unwrap();
            let y = channel_affine(&x, &s, &t).unwrap();
            assert!(max_diff(&y, &y_ref) <= 1e-5 * scale(&y_ref), "{dims:?}");
            let gy = rng.normal(dims.clone(), 0.0, 1.0, &dev).unwrap();
            let g_ref = (y_ref * &gy)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g = (y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("x", &x), ("s", &s), ("t", &t)] {
                let (a, b) = (g.get(v).unwrap(), g_ref.get(v).unwrap());
                assert!(
                    max_diff(a, b) <= 1e-4 * scale(b),
                    "grad {name} for {dims:?}: {}",
                    max_diff(a, b)
                );
            }
        }
    }

    #[test]
    fn shapes_are_checked() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3, 4), DType::F32, &dev).unwrap();
        let bad = Tensor::zeros(4, DType::F32, &dev).unwrap();
        let ok = Tensor::zeros(3, DType::F32, &dev).unwrap();
        assert!(channel_affine(&x, &bad, &ok).is_err());
        assert!(channel_affine(&Tensor::zeros(3, DType::F32, &dev).unwrap(), &ok, &ok).is_err());
    }

    /// Training and inference mode, running statistics and gradients against candle-nn's
    /// BatchNorm holding the same weights.
    #[test]
    fn batch_norm_matches_candle_nn() {
        let dev = Device::Cpu;
        for (seed, dims) in [vec![8usize, 3, 5, 5], vec![16, 4], vec![5, 2, 7]]
            .into_iter()
            .enumerate()
        {
            let c = dims[1];
            let ours_store = ParamStore::new(1);
            let ours =
                batch_norm2d(c, BatchNormConfig::default(), ours_store.var_builder(&dev)).unwrap();
            let ref_store = ParamStore::new(2);
            let reference = candle_nn::batch_norm(
                c,
                candle_nn::BatchNormConfig::default(),
                ref_store.var_builder(&dev),
            )
            .unwrap();
            // Non-trivial scale and shift, the same in both.
            let mut rng = GmRng::new(10 + seed as u64);
            let mut w: std::collections::BTreeMap<String, Tensor> = ours_store
                .tensors()
                .into_iter()
                .map(|(k, v)| (k, v.copy().unwrap()))
                .collect();
            w.insert("weight".into(), rng.normal(c, 1.0, 0.5, &dev).unwrap());
            w.insert("bias".into(), rng.normal(c, 0.0, 0.5, &dev).unwrap());
            ours_store.load(&w, "test").unwrap();
            ref_store.load(&w, "test").unwrap();

            let x = Var::from_tensor(&rng.normal(dims.clone(), 1.0, 3.0, &dev).unwrap()).unwrap();
            let gy = rng.normal(dims.clone(), 0.0, 1.0, &dev).unwrap();
            let y = ours.forward_t(&x, true).unwrap();
            let y_ref = reference.forward_t(&x, true).unwrap();
            assert!(
                max_diff(&y, &y_ref) <= 1e-4 * scale(&y_ref),
                "train {dims:?}"
            );
            let g = (y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
            let g_ref = (y_ref * &gy)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let wv: Vec<(String, Var)> = ours_store.vars();
            let rv: Vec<(String, Var)> = ref_store.vars();
            let get =
                |vs: &[(String, Var)], n: &str| vs.iter().find(|(k, _)| k == n).unwrap().1.clone();
            for n in ["weight", "bias"] {
                let (a, b) = (
                    g.get(get(&wv, n).as_tensor()).unwrap(),
                    g_ref.get(get(&rv, n).as_tensor()).unwrap(),
                );
                assert!(max_diff(a, b) <= 1e-4 * scale(b), "grad {n} {dims:?}");
            }
            let (a, b) = (g.get(&x).unwrap(), g_ref.get(&x).unwrap());
            assert!(
                max_diff(a, b) <= 1e-4 * scale(b),
                "grad x {dims:?}: {}",
                max_diff(a, b)
            );
            for n in ["running_mean", "running_var"] {
                let (a, b) = (get(&wv, n), get(&rv, n));
                assert!(
                    max_diff(a.as_tensor(), b.as_tensor()) <= 1e-5,
                    "{n} {dims:?}"
                );
            }
            let y = ours.forward_t(&x, false).unwrap();
            let y_ref = reference.forward_t(&x, false).unwrap();
            assert!(
                max_diff(&y, &y_ref) <= 1e-4 * scale(&y_ref),
                "eval {dims:?}"
            );
        }
    }

    #[test]
    fn batch_norm_refuses_one_value_per_channel_and_wrong_channels() {
        let dev = Device::Cpu;
        let store = ParamStore::new(0);
        let bn = batch_norm2d(3, BatchNormConfig::default(), store.var_builder(&dev)).unwrap();
        let one = Tensor::zeros((1, 3), DType::F32, &dev).unwrap();
        assert!(bn.forward_t(&one, true).is_err());
        let wrong = Tensor::zeros((4, 2, 3), DType::F32, &dev).unwrap();
        assert!(bn.forward_t(&wrong, true).is_err());
        assert!(batch_norm2d(
            3,
            BatchNormConfig {
                eps: -1.0,
                ..Default::default()
            },
            store.var_builder(&dev)
        )
        .is_err());
    }
}
