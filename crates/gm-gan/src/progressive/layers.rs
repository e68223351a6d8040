//! The layers of Karras et al.: pixel norm (section 4.2), minibatch standard deviation
//! (section 3) and the equalised learning rate (section 4.1).

use candle_core::{Module, Tensor};
use candle_nn::init::Init;
use candle_nn::VarBuilder;
use gm_core::nn::conv::conv2d_op;

use crate::Result;

/// The floor under the pixel norm's and the minibatch std's square roots.
const EPS: f64 = 1e-8;

/// Pixel-wise feature normalisation of `(n, c, h, w)`: each pixel's feature vector divided by
/// its root mean square over the channels, so that `mean_c b^2 = 1` at every pixel.
pub fn pixel_norm(x: &Tensor) -> Result<Tensor> {
    let rms = (x.sqr()?.mean_keepdim(1)? + EPS)?.sqrt()?;
    Ok(x.broadcast_div(&rms)?)
}

/// The minibatch standard deviation layer: `(n, c, h, w) -> (n, c + 1, h, w)`, the new
/// channel filled with `mean_{c,h,w} sqrt(var_batch(x) + 1e-8)` (the variance over the batch,
/// population form).
pub fn minibatch_stddev(x: &Tensor) -> Result<Tensor> {
    let (n, _, h, w) = x.dims4()?;
    let centred = x.broadcast_sub(&x.mean_keepdim(0)?)?;
    let std = (centred.sqr()?.mean_keepdim(0)? + EPS)?.sqrt()?;
    let s = std.mean_all()?.reshape((1, 1, 1, 1))?;
    let plane = s.broadcast_as((n, 1, h, w))?;
    Ok(Tensor::cat(&[x, &plane], 1)?)
}

pub(super) fn lrelu(x: &Tensor) -> Result<Tensor> {
    Ok(gm_core::nn::leaky_relu(x, 0.2)?)
}

fn unit_normal() -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: 1.0,
    }
}

/// A `k x k` convolution (stride 1, "same" padding) with the equalised learning rate: the
/// stored weight is `N(0, 1)`, the applied one `weight * sqrt(2 / (c_in k^2))`; zero bias.
#[derive(Debug, Clone)]
pub struct EqualizedConv2d {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
    pad: usize,
}

/// An [`EqualizedConv2d`] from `c_in` to `c_out` channels (`weight`, `bias` under `vb`).
pub fn equalized_conv2d(
    c_in: usize,
    c_out: usize,
    k: usize,
    vb: VarBuilder,
) -> Result<EqualizedConv2d> {
    let weight = vb.get_with_hints((c_out, c_in, k, k), "weight", unit_normal())?;
    let bias = vb.get_with_hints(c_out, "bias", Init::Const(0.0))?;
    Ok(EqualizedConv2d {
        weight,
        bias,
        scale: (2.0 / (c_in * k * k) as f64).sqrt(),
        pad: k / 2,
    })
}

impl EqualizedConv2d {
    /// He's constant `sqrt(2 / fan_in)` applied to the stored weight at run time.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The stored (unscaled) weight.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Module for EqualizedConv2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.weight.affine(self.scale, 0.0)?;
        gm_core::nn::channel::channel_bias(&conv2d_op(x, &w, 1, self.pad)?, &self.bias)
    }
}

/// A fully connected layer with the equalised learning rate.
#[derive(Debug, Clone)]
pub struct EqualizedLinear {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
}

/// An [`EqualizedLinear`] from `d_in` to `d_out` features.
pub fn equalized_linear(d_in: usize, d_out: usize, vb: VarBuilder) -> Result<EqualizedLinear> {
    let weight = vb.get_with_hints((d_out, d_in), "weight", unit_normal())?;
    let bias = vb.get_with_hints(d_out, "bias", Init::Const(0.0))?;
    Ok(EqualizedLinear {
        weight,
        bias,
        scale: (2.0 / d_in as f64).sqrt(),
    })
}

impl EqualizedLinear {
    /// He's constant `sqrt(2 / d_in)` applied to the stored weight at run time.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Module for EqualizedLinear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.weight.affine(self.scale, 0.0)?;
        x.matmul(&w.t()?)?.broadcast_add(&self.bias)
    }
}
