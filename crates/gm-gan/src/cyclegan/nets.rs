//! The ResNet generator and the PatchGAN discriminator, with instance normalisation.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::nn::conv::{conv2d, conv_transpose2d, Conv2d, ConvConfig, ConvTranspose2d};

use super::CycleGanConfig;
use crate::Result;

/// Instance normalisation without affine parameters (the reference code's
/// `InstanceNorm2d(affine=False)`): each image's channel to zero mean and unit variance.
fn instance_norm(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let f = x.reshape((n, c, h * w))?;
    let centred = f.broadcast_sub(&f.mean_keepdim(2)?)?;
    let std = (centred.sqr()?.mean_keepdim(2)? + 1e-5)?.sqrt()?;
    Ok(centred.broadcast_div(&std)?.reshape((n, c, h, w))?)
}

const SAME3: ConvConfig = ConvConfig {
    stride: 1,
    padding: 1,
    output_padding: 0,
};
const DOWN3: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};
const UP3: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 1,
};
const DOWN4: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

/// `x + IN(conv(ReLU(IN(conv(x)))))`, the paper's R block.
#[derive(Debug, Clone)]
struct ResidualBlock {
    c0: Conv2d,
    c1: Conv2d,
}

impl ResidualBlock {
    fn new(ch: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            c0: conv2d(ch, ch, 3, SAME3, vb.pp("c0"))?,
            c1: conv2d(ch, ch, 3, SAME3, vb.pp("c1"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = instance_norm(&self.c0.forward(x)?)?.relu()?;
        let h = instance_norm(&self.c1.forward(&h)?)?;
        Ok((x + h)?)
    }
}

/// A translator between one-channel image domains, network space `[-1, 1]` in and out:
/// c3s1-k, d2k, `residual_blocks` x R2k, u k, c3s1-1 + tanh (the paper's 7x7 outer
/// convolutions, sized for 256x256 images, become 3x3 at 28x28: the same layout at a tenth of
/// the cost).
#[derive(Debug, Clone)]
pub struct ResnetGenerator {
    input: Conv2d,
    down: Conv2d,
    blocks: Vec<ResidualBlock>,
    up: ConvTranspose2d,
    output: Conv2d,
}

impl ResnetGenerator {
    /// Builds the generator of `cfg` (`cfg.channels` and `cfg.residual_blocks`) under `vb`.
    pub fn new(cfg: &CycleGanConfig, vb: VarBuilder) -> Result<Self> {
        let k = cfg.channels;
        Ok(Self {
            input: conv2d(1, k, 3, SAME3, vb.pp("input"))?,
            down: conv2d(k, 2 * k, 3, DOWN3, vb.pp("down"))?,
            blocks: (0..cfg.residual_blocks)
                .map(|i| ResidualBlock::new(2 * k, vb.pp(format!("res{i}"))))
                .collect::<Result<_>>()?,
            up: conv_transpose2d(2 * k, k, 3, UP3, vb.pp("up"))?,
            output: conv2d(k, 1, 3, SAME3, vb.pp("output"))?,
        })
    }

    /// Translated images `(n, 1, s, s)` in `[-1, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = instance_norm(&self.input.forward(x)?)?.relu()?;
        h = instance_norm(&self.down.forward(&h)?)?.relu()?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        h = instance_norm(&self.up.forward(&h)?)?.relu()?;
        Ok(self.output.forward(&h)?.tanh()?)
    }
}

/// A PatchGAN discriminator: C k (no norm), C 2k, then one raw score per patch,
/// `(n, 1, s / 4, s / 4)`.
#[derive(Debug, Clone)]
pub struct PatchDiscriminator {
    c0: Conv2d,
    c1: Conv2d,
    score: Conv2d,
}

impl PatchDiscriminator {
    /// Builds the discriminator of `cfg` (`cfg.channels`) under `vb`.
    pub fn new(cfg: &CycleGanConfig, vb: VarBuilder) -> Result<Self> {
        let k = cfg.channels;
        Ok(Self {
            c0: conv2d(1, k, 4, DOWN4, vb.pp("c0"))?,
            c1: conv2d(k, 2 * k, 4, DOWN4, vb.pp("c1"))?,
            score: conv2d(2 * k, 1, 3, SAME3, vb.pp("score"))?,
        })
    }

    /// Raw patch scores of network-space images.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = gm_core::nn::leaky_relu(&self.c0.forward(x)?, 0.2)?;
        let h = gm_core::nn::leaky_relu(&instance_norm(&self.c1.forward(&h)?)?, 0.2)?;
        Ok(self.score.forward(&h)?)
    }
}
