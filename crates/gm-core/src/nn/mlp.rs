//! [`Mlp`]: fully connected layers on candle tensors, the one MLP of gm's models (GAN
//! generators and critics, BiGAN's encoder and joint critic, the VAE's hidden stacks). Its
//! parameters are a flat list `[w0, b0, w1, b1, ...]` named `<prefix><i>.weight` and
//! `<prefix><i>.bias`, so that it also runs *functionally* on another list
//! ([`Mlp::forward_with`]) and gives the gradient of a loss with respect to that list written
//! out in tensor operations ([`Mlp::param_gradient`], the unrolled critic's look-ahead).
//! [`crate::nn::DenseStack`] is its host-memory counterpart for the written-out training
//! steps.

use candle_core::{DType, Tensor, Var};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::nn::{leaky_relu, relu, DenseActivation};
use crate::{Error, GmRng, Result};

/// How the layers draw their initial weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MlpInit {
    /// candle's (PyTorch's) default: Kaiming-uniform weights, biases uniform in
    /// `+-1/sqrt(fan_in)`.
    #[default]
    Default,
    /// Random orthogonal weights times `gain` (Saxe et al. 2014; rows orthonormal when a
    /// layer narrows or keeps its width, columns when it widens), biases zero: the
    /// initialiser of Metz et al.'s 2-D experiments (gain 1.4).
    Orthogonal {
        /// The factor applied to the orthogonal weights.
        gain: f64,
    },
}

/// `gain` times an orthogonal `rows x cols` matrix made from the row-major Gaussian draws
/// `g` by modified Gram-Schmidt (in f64): over the rows when `rows <= cols`, so that
/// `W W^T = gain^2 I`, else over the columns, `W^T W = gain^2 I`. Gaussian input makes the
/// result Haar-distributed, the same law as QR with the sign fix.
pub fn orthogonal(g: &[f32], rows: usize, cols: usize, gain: f64) -> Vec<f32> {
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

/// `log(1 + e^x)` computed as `max(x, 0) + log(1 + e^{-|x|})`, finite for every finite `x`.
pub fn softplus(x: &Tensor) -> candle_core::Result<Tensor> {
    x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?
}

impl DenseActivation {
    /// The nonlinearity on a tensor (the same values as on host memory).
    pub fn apply_tensor(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            DenseActivation::Identity => Ok(x.clone()),
            DenseActivation::Relu => relu(x),
            DenseActivation::LeakyRelu(s) => leaky_relu(x, *s as f64),
            DenseActivation::Tanh => x.tanh(),
            DenseActivation::Softplus => softplus(x),
            DenseActivation::Sigmoid => candle_nn::ops::sigmoid(x),
        }
    }

    /// The derivative at the pre-activation `z`, given the output `out = apply_tensor(z)`. The
    /// piecewise-linear ones are constant masks (their second derivative is zero almost
    /// everywhere); the smooth ones stay differentiable.
    pub fn derivative_tensor(&self, z: &Tensor, out: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            DenseActivation::Identity => z.ones_like(),
            DenseActivation::Relu => z.gt(0.0)?.to_dtype(z.dtype()),
            DenseActivation::LeakyRelu(s) => {
                let s = *s as f64;
                z.gt(0.0)?.to_dtype(z.dtype())?.affine(1.0 - s, s)
            }
            DenseActivation::Tanh => out.sqr()?.affine(-1.0, 1.0),
            DenseActivation::Softplus => candle_nn::ops::sigmoid(z),
            DenseActivation::Sigmoid => out * out.affine(-1.0, 1.0)?,
        }
    }
}

/// `x w^T + b` for `x: (n, in)`.
pub fn affine(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)?.broadcast_add(b)
}

/// Fully connected layers of the given widths; see the module documentation. The hidden
/// layers are followed by the activation, the last layer too when built with
/// [`Mlp::with_activated_output`].
#[derive(Debug, Clone)]
pub struct Mlp {
    params: Vec<Tensor>,
    activation: DenseActivation,
    activated_output: bool,
}

impl Mlp {
    /// Layers `<prefix>0, <prefix>1, ...` through `widths` (at least two), their weights
    /// drawn by `init` from `vb`'s store in layer order (weight, then bias).
    pub fn new(
        widths: &[usize],
        activation: DenseActivation,
        init: MlpInit,
        vb: VarBuilder,
        prefix: &str,
    ) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::Config {
                field: "mlp widths",
                value: format!("{widths:?}"),
                reason: "an MLP needs at least two widths, each at least 1",
            });
        }
        let mut params = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let vb = vb.pp(format!("{prefix}{i}"));
            match init {
                MlpInit::Default => {
                    let l = candle_nn::linear(w[0], w[1], vb)?;
                    params.push(l.weight().clone());
                    params.extend(l.bias().cloned());
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
                    let draws = weight.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
                    let q = orthogonal(&draws, rows, cols, gain);
                    let value = Tensor::from_vec(q, (rows, cols), weight.device())?
                        .to_dtype(weight.dtype())?;
                    Var::from_tensor(&weight)?.set(&value)?;
                    params.push(weight);
                    let zero = candle_nn::init::Init::Const(0.0);
                    params.push(vb.get_with_hints(rows, "bias", zero)?);
                }
            }
        }
        Ok(Self {
            params,
            activation,
            activated_output: false,
        })
    }

    /// The same layers with the activation after the last one too (a hidden stack whose
    /// output feeds further layers).
    pub fn with_activated_output(mut self) -> Self {
        self.activated_output = true;
        self
    }

    /// The parameters `[w0, b0, w1, b1, ...]`.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// The nonlinearity.
    pub fn activation(&self) -> DenseActivation {
        self.activation
    }

    /// The layers' output `(n, out)` for flat inputs `(n, in)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        Ok(self.forward_with(&self.params, x)?.1)
    }

    /// [`Mlp::forward`] with inverted dropout after each hidden activation: each unit is
    /// kept with probability `1 - drop` (masks from `rng`) and scaled by `1 / (1 - drop)`.
    pub fn forward_dropout(&self, x: &Tensor, drop: f64, rng: &mut GmRng) -> Result<Tensor> {
        let layers = self.params.len() / 2;
        let mut h = x.clone();
        for i in 0..layers {
            h = affine(&h, &self.params[2 * i], &self.params[2 * i + 1])?;
            if i + 1 < layers || self.activated_output {
                h = self.activation.apply_tensor(&h)?;
                if drop > 0.0 && i + 1 < layers {
                    let keep = rng
                        .uniform(h.shape(), 0.0, 1.0, h.device())?
                        .ge(drop)?
                        .to_dtype(h.dtype())?;
                    h = (h * keep.affine(1.0 / (1.0 - drop), 0.0)?)?;
                }
            }
        }
        Ok(h)
    }

    /// Hidden features (after the last hidden activation; the input without hidden layers)
    /// and the output, with `p` in place of the stored parameters.
    pub fn forward_with(&self, p: &[Tensor], x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let layers = p.len() / 2;
        let mut h = x.clone();
        let mut feat = x.clone();
        for i in 0..layers {
            h = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            if i + 1 < layers {
                h = self.activation.apply_tensor(&h)?;
                feat = h.clone();
            } else if self.activated_output {
                h = self.activation.apply_tensor(&h)?;
            }
        }
        Ok((feat, h))
    }

    /// The gradient of a loss with respect to `p` (a list shaped like
    /// [`Mlp::params`]), backpropagation written out in tensor operations, so that the result
    /// stays a differentiable function of `p` and `x` (second order) without a `backward`
    /// pass over their history. `dscore` maps the outputs to the loss's gradient with
    /// respect to them. Stacks without an activated output only.
    pub fn param_gradient<E: From<candle_core::Error> + From<Error>>(
        &self,
        p: &[Tensor],
        x: &Tensor,
        dscore: impl FnOnce(&Tensor) -> std::result::Result<Tensor, E>,
    ) -> std::result::Result<Vec<Tensor>, E> {
        if self.activated_output {
            return Err(Error::Config {
                field: "mlp",
                value: "activated output".into(),
                reason: "the written-out gradient takes a linear last layer",
            }
            .into());
        }
        let layers = p.len() / 2;
        let mut inputs = Vec::with_capacity(layers);
        let mut pre = Vec::with_capacity(layers);
        let mut h = x.clone();
        for i in 0..layers {
            let z = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            inputs.push(h);
            h = if i + 1 < layers {
                self.activation.apply_tensor(&z)?
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
                g = (back * self.activation.derivative_tensor(&pre[i - 1], &inputs[i])?)?;
            }
        }
        Ok(grads.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests;
