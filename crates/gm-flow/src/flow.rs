//! The [`Flow`] trait and its composition. A normalizing flow is an invertible map
//! `f: x -> z` onto a base distribution `p_Z` (here the standard normal), so that by the change
//! of variables
//!
//! ```text
//! log p_X(x) = log p_Z(f(x)) + log |det df/dx|,        x = f^-1(z), z ~ p_Z
//! ```
//!
//! (the issue's `p_X(x) = p_Z(g^-1(x)) |det dg^-1/dx|` with the generator `g = f^-1`).
//!
//! **Convention.** Every layer's `forward` is the *normalizing* direction `x -> z` (data to
//! latent) and returns `log |det dz/dx|` per item; `inverse` is the generative direction
//! `z -> x`. Composing `f = f_K o ... o f_1` adds the log-determinants (chain rule), and
//! the inverse runs the layers backwards. This is the direction RealNVP (Dinh et al. 2017)
//! and Glow (Kingma and Dhariwal 2018) train in: the log-likelihood of data needs only
//! forward passes.

use candle_core::{Tensor, D};
use gm_core::ToHostF64;

use crate::Result;

/// An invertible layer with a tractable Jacobian determinant.
pub trait Flow: std::fmt::Debug {
    /// The normalizing direction `x -> z`: returns `(z, log |det dz/dx|)`, the second of
    /// shape `(n,)` for a batch of `n` items.
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)>;

    /// The generative direction `z -> x`, the exact inverse of [`Flow::forward`].
    fn inverse(&self, z: &Tensor) -> Result<Tensor>;

    /// Sets data-dependent parameters (ActNorm's, Kingma and Dhariwal 2018) from the batch
    /// `x` and returns the forward output `z`. Layers without such parameters just run
    /// forward.
    fn data_init(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward(x)?.0)
    }
}

/// Layers applied in order in the normalizing direction: `f = f_K o ... o f_1`.
#[derive(Debug, Default)]
pub struct FlowSequence {
    layers: Vec<Box<dyn Flow>>,
}

impl FlowSequence {
    /// The sequence of `layers`, the first applied first in the normalizing direction.
    pub fn new(layers: Vec<Box<dyn Flow>>) -> Self {
        Self { layers }
    }

    /// Appends `layer`, applied after the others in the normalizing direction.
    pub fn push(&mut self, layer: Box<dyn Flow>) {
        self.layers.push(layer);
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the sequence has no layers (then it is the identity).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers, in normalizing order.
    pub fn layers(&self) -> &[Box<dyn Flow>] {
        &self.layers
    }
}

impl Flow for FlowSequence {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut z = x.clone();
        let mut logdet = Tensor::zeros(x.dim(0)?, x.dtype(), x.device())?;
        for layer in &self.layers {
            let (next, ld) = layer.forward(&z)?;
            z = next;
            logdet = (logdet + ld)?;
        }
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        let mut x = z.clone();
        for layer in self.layers.iter().rev() {
            x = layer.inverse(&x)?;
        }
        Ok(x)
    }

    fn data_init(&self, x: &Tensor) -> Result<Tensor> {
        let mut z = x.clone();
        for layer in &self.layers {
            z = layer.data_init(&z)?;
        }
        Ok(z)
    }
}

/// `log N(z; 0, I)` per item: `-|z|^2 / 2 - (D / 2) ln(2 pi)` over all but the batch axis.
pub fn standard_normal_log_prob(z: &Tensor) -> Result<Tensor> {
    let d: usize = z.dims()[1..].iter().product();
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    Ok(sum_per_item(&z.sqr()?)?.affine(-0.5, -(d as f64) * half_log_2pi)?)
}

/// `log p_X(x) = log N(f(x); 0, I) + log |det df/dx|` per item, for any flow onto the
/// standard normal.
pub fn log_prob(flow: &dyn Flow, x: &Tensor) -> Result<Tensor> {
    let (z, logdet) = flow.forward(x)?;
    Ok((standard_normal_log_prob(&z)? + logdet)?)
}

/// Sums every axis but the first: `(n, ...) -> (n,)`.
pub fn sum_per_item(t: &Tensor) -> Result<Tensor> {
    if t.rank() == 1 {
        return Ok(t.clone());
    }
    Ok(t.flatten_from(1)?.sum(D::Minus1)?)
}

/// A per-channel vector `(c,)` shaped to broadcast against `like` `(n, c, ...)`.
pub(crate) fn per_channel(v: &Tensor, like: &Tensor) -> Result<Tensor> {
    let mut shape = vec![1usize; like.rank()];
    shape[1] = v.elem_count();
    Ok(v.reshape(shape)?)
}

/// `ln(1 + e^x)`, computed as `max(x, 0) + ln(1 + e^-|x|)` so it neither overflows nor loses
/// the small values.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((x.relu()? + tail)?)
}

/// `ln sigmoid(x) = -softplus(-x)`.
pub fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    Ok(softplus(&x.neg()?)?.neg()?)
}

/// The values of a tensor as f64, row-major.
pub(crate) fn to_f64_vec(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?)
}

/// Row-major f64 values computed on the host as a tensor of `like`'s shape, dtype and
/// device.
pub(crate) fn from_f64_like(values: Vec<f64>, like: &Tensor) -> Result<Tensor> {
    Ok(
        Tensor::from_vec(values, like.shape(), &candle_core::Device::Cpu)?
            .to_dtype(like.dtype())?
            .to_device(like.device())?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn standard_normal_log_prob_matches_the_formula() {
        // z = (1, 2): -(1 + 4) / 2 - ln(2 pi) = -2.5 - 1.8378770664 = -4.3378770664.
        let z = Tensor::new(&[[1f32, 2.0]], &Device::Cpu).unwrap();
        let lp = standard_normal_log_prob(&z)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!((lp[0] as f64 + 4.337_877_066_4).abs() < 1e-5, "{lp:?}");
    }

    #[test]
    fn softplus_is_stable_at_the_extremes() {
        let x = Tensor::new(&[-100f32, -1.0, 0.0, 1.0, 100.0], &Device::Cpu).unwrap();
        let v = softplus(&x).unwrap().to_vec1::<f32>().unwrap();
        let want = [
            0.0f64,
            0.313_261_687_5,
            std::f64::consts::LN_2,
            1.313_261_687_5,
            100.0,
        ];
        for (a, b) in v.iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-5, "{v:?}");
        }
    }
}
