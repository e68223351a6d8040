//! Fully connected layers as a flat parameter list, with the functional forward and the
//! written-out backward the unrolled critic uses.

use candle_core::Tensor;
use candle_nn::{linear, VarBuilder};

use super::{Activation, MlpInit};
use crate::{Error, Result};

/// `gain` times an orthogonal `rows x cols` matrix made from the row-major Gaussian draws
/// `g` by modified Gram-Schmidt (in f64): over the rows when `rows <= cols`, so that
/// `W W^T = gain^2 I`, else over the columns, `W^T W = gain^2 I`. Gaussian input makes the
/// result Haar-distributed, the same law as QR with the sign fix.
pub(super) fn orthogonal(g: &[f32], rows: usize, cols: usize, gain: f64) -> Vec<f32> {
    let by_rows = rows <= cols;
    let (count, len) = if by_rows { (rows, cols) } else { (cols, rows) };
    let at = |v: usize, k: usize| if by_rows { v * cols + k } else { k * cols + v };
    let mut vecs: Vec<Vec<f64>> = (0..count)
        .map(|v| (0..len).map(|k| g[at(v, k)] as f64).collect())
        .collect();
    for v in 0..count {
        let (done, rest) = vecs.split_at_mut(v);
        let cur = &mut rest[0];
        for prev in done.iter() {
            let dot: f64 = cur.iter().zip(prev).map(|(a, b)| a * b).sum();
            cur.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = cur.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        cur.iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0f32; rows * cols];
    for (v, vec) in vecs.iter().enumerate() {
        for (k, x) in vec.iter().enumerate() {
            out[at(v, k)] = (gain * x) as f32;
        }
    }
    out
}

/// `x w^T + b` for `x: (n, in)`.
pub(super) fn affine(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)?.broadcast_add(b)
}

/// Fully connected layers held as a flat list `[w0, b0, w1, b1, ...]`.
#[derive(Debug, Clone)]
pub(super) struct Mlp {
    pub(super) params: Vec<Tensor>,
    activation: Activation,
}

impl Mlp {
    pub(super) fn new(
        widths: &[usize],
        activation: Activation,
        init: MlpInit,
        vb: VarBuilder,
    ) -> Result<Self> {
        let mut params = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let vb = vb.pp(format!("fc{i}"));
            match init {
                MlpInit::Default => {
                    let l = linear(w[0], w[1], vb)?;
                    params.push(l.weight().clone());
                    params.push(
                        l.bias()
                            .ok_or_else(|| Error::config("linear", "no bias", "bias expected"))?
                            .clone(),
                    );
                }
                MlpInit::Orthogonal { gain } => {
                    // Standard normal draws from the store's seeded generator, made
                    // orthogonal in place.
                    let (rows, cols) = (w[1], w[0]);
                    let normal = candle_nn::init::Init::Randn {
                        mean: 0.0,
                        stdev: 1.0,
                    };
                    let weight = vb.get_with_hints((rows, cols), "weight", normal)?;
                    let draws = weight
                        .flatten_all()?
                        .to_dtype(candle_core::DType::F32)?
                        .to_vec1::<f32>()?;
                    let q = orthogonal(&draws, rows, cols, gain);
                    let value = Tensor::from_vec(q, (rows, cols), weight.device())?
                        .to_dtype(weight.dtype())?;
                    candle_core::Var::from_tensor(&weight)?.set(&value)?;
                    params.push(weight);
                    let zero = candle_nn::init::Init::Const(0.0);
                    params.push(vb.get_with_hints(rows, "bias", zero)?);
                }
            }
        }
        Ok(Self { params, activation })
    }

    pub(super) fn activation(&self) -> Activation {
        self.activation
    }

    /// Hidden features (after the last hidden activation) and the output, with `p` in place
    /// of the stored parameters.
    pub(super) fn forward_with(
        &self,
        p: &[Tensor],
        x: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let layers = p.len() / 2;
        let mut h = x.clone();
        let mut feat = x.clone();
        for i in 0..layers {
            h = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            if i + 1 < layers {
                h = self.activation.apply(&h)?;
                feat = h.clone();
            }
        }
        Ok((feat, h))
    }

    /// The gradient of a loss with respect to `p`, backpropagation written out in tensor
    /// operations, so that the result stays a differentiable function of `p` and `x` (second
    /// order) without a `backward` pass over their history. `dscore` maps the outputs to the
    /// loss's gradient with respect to them.
    pub(super) fn param_gradient(
        &self,
        p: &[Tensor],
        x: &Tensor,
        dscore: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        let layers = p.len() / 2;
        let mut inputs = Vec::with_capacity(layers);
        let mut pre = Vec::with_capacity(layers);
        let mut h = x.clone();
        for i in 0..layers {
            let z = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            inputs.push(h);
            h = if i + 1 < layers {
                self.activation.apply(&z)?
            } else {
                z.clone()
            };
            pre.push(z);
        }
        let mut g = dscore(&h)?;
        let mut grads = vec![None; p.len()];
        for i in (0..layers).rev() {
            grads[2 * i] = Some(g.t()?.matmul(&inputs[i])?);
            grads[2 * i + 1] = Some(g.sum(0)?);
            if i > 0 {
                let back = g.matmul(&p[2 * i])?;
                g = (back * self.activation.derivative(&pre[i - 1], &inputs[i])?)?;
            }
        }
        Ok(grads.into_iter().flatten().collect())
    }
}
