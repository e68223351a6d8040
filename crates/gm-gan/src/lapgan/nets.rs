//! The conditional levels' networks: the residual generator `G_k(z, l)` and the
//! discriminator of `(h, l)` pairs.

use candle_core::{Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use gm_core::nn::conv::{conv2d, Conv2d, ConvConfig};

use crate::Result;

const SAME: ConvConfig = ConvConfig {
    stride: 1,
    padding: 1,
    output_padding: 0,
};
const DOWN: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

/// `G_k(z, l)`: the residual `h~ = G_k(z, l)` from the upsampled coarser image `l` (`c`
/// channels) and a noise plane `z` stacked as one more channel (the paper's conditioning), three 3x3 convolutions,
/// ReLU, and a tanh output (residuals of `[0, 1]` images lie in `(-1, 1)`).
#[derive(Debug, Clone)]
pub(super) struct ResidualGenerator {
    c0: Conv2d,
    c1: Conv2d,
    c2: Conv2d,
}

impl ResidualGenerator {
    pub(super) fn new(c: usize, ch: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            c0: conv2d(c + 1, ch, 3, SAME, vb.pp("c0"))?,
            c1: conv2d(ch, ch, 3, SAME, vb.pp("c1"))?,
            c2: conv2d(ch, c, 3, SAME, vb.pp("c2"))?,
        })
    }

    /// The residual (data space) for the conditioning image `cond` (data space).
    pub(super) fn forward(&self, cond: &Tensor, noise: &Tensor) -> Result<Tensor> {
        let x = Tensor::cat(&[&cond.affine(2.0, -1.0)?, noise], 1)?;
        let h = self.c0.forward(&x)?.relu()?;
        let h = self.c1.forward(&h)?.relu()?;
        Ok(self.c2.forward(&h)?.tanh()?)
    }
}

/// `D_k(h, l)`: one logit for a (residual, conditioning image) pair, two strided 4x4
/// convolutions with LeakyReLU(0.2) and a linear read-out.
#[derive(Debug, Clone)]
pub(super) struct ResidualDiscriminator {
    c0: Conv2d,
    c1: Conv2d,
    out: Linear,
}

impl ResidualDiscriminator {
    pub(super) fn new(c: usize, ch: usize, side: usize, vb: VarBuilder) -> Result<Self> {
        // Each 4x4 stride-2 convolution with padding 1 maps a side s to s / 2 (floor).
        let q = side / 2 / 2;
        Ok(Self {
            c0: conv2d(2 * c, ch, 4, DOWN, vb.pp("c0"))?,
            c1: conv2d(ch, 2 * ch, 4, DOWN, vb.pp("c1"))?,
            out: linear(2 * ch * q * q, 1, vb.pp("out"))?,
        })
    }

    /// Both inputs in data space; the residual is doubled and the image mapped by `2 l - 1`,
    /// so that the pair lives in the same network space as the generators' outputs.
    pub(super) fn forward(&self, residual: &Tensor, cond: &Tensor) -> Result<Tensor> {
        let x = Tensor::cat(&[&residual.affine(2.0, 0.0)?, &cond.affine(2.0, -1.0)?], 1)?;
        let h = gm_core::nn::leaky_relu(&self.c0.forward(&x)?, 0.2)?;
        let h = gm_core::nn::leaky_relu(&self.c1.forward(&h)?, 0.2)?;
        Ok(self.out.forward(&h.flatten_from(1)?)?)
    }
}
