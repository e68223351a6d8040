//! The growing generator and discriminator, with the fade-in of each new block.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::layers::lrelu;
use super::{
    equalized_conv2d, equalized_linear, minibatch_stddev, pixel_norm, EqualizedConv2d,
    EqualizedLinear, ProgressiveConfig,
};
use crate::lapgan::upsample;
use crate::{Error, Result};

/// Two 3x3 equalised convolutions, each followed by LeakyReLU(0.2) (and, in G, the pixel
/// norm).
#[derive(Debug, Clone)]
struct ConvPair {
    a: EqualizedConv2d,
    b: EqualizedConv2d,
}

impl ConvPair {
    fn new(c_in: usize, c_mid: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            a: equalized_conv2d(c_in, c_mid, 3, vb.pp("conv0"))?,
            b: equalized_conv2d(c_mid, c_out, 3, vb.pp("conv1"))?,
        })
    }

    fn forward(&self, x: &Tensor, norm: bool) -> Result<Tensor> {
        let step = |c: &EqualizedConv2d, x: &Tensor| -> Result<Tensor> {
            let y = lrelu(&c.forward(x)?)?;
            if norm {
                pixel_norm(&y)
            } else {
                Ok(y)
            }
        };
        step(&self.b, &step(&self.a, x)?)
    }
}

/// `(1 - alpha) old + alpha new`; exact at both ends (`1 * a + 0 * b = a`).
pub(super) fn fade(old: &Tensor, new: &Tensor, alpha: f64) -> Result<Tensor> {
    Ok((old.affine(1.0 - alpha, 0.0)? + new.affine(alpha, 0.0)?)?)
}

/// The generator of every stage: a dense layer from the (pixel-normalised) latent to a
/// `start x start` map and a 3x3 convolution, then per stage an upsampling block, and a 1x1
/// toRGB per stage (linear output, network space ~[-1, 1]).
#[derive(Debug, Clone)]
pub struct ProgressiveGenerator {
    start: usize,
    channels: Vec<usize>,
    dense: EqualizedLinear,
    conv0: EqualizedConv2d,
    blocks: Vec<ConvPair>,
    to_rgb: Vec<EqualizedConv2d>,
}

impl ProgressiveGenerator {
    /// Builds all stages' layers (`dense`, `conv0`, `block<s>.conv<i>`, `to_rgb<s>`).
    pub fn new(cfg: &ProgressiveConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let ch = &cfg.channels;
        let s = cfg.start_size;
        let blocks = (1..ch.len())
            .map(|k| ConvPair::new(ch[k - 1], ch[k], ch[k], vb.pp(format!("block{k}"))))
            .collect::<Result<_>>()?;
        let to_rgb = (0..ch.len())
            .map(|k| equalized_conv2d(ch[k], cfg.image_channels, 1, vb.pp(format!("to_rgb{k}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            start: s,
            channels: ch.clone(),
            dense: equalized_linear(cfg.latent_dim, ch[0] * s * s, vb.pp("dense"))?,
            conv0: equalized_conv2d(ch[0], ch[0], 3, vb.pp("conv0"))?,
            blocks,
            to_rgb,
        })
    }

    fn check_stage(&self, stage: usize) -> Result<()> {
        if stage >= self.channels.len() {
            return Err(Error::config(
                "stage",
                stage,
                "beyond the last stage of the configuration",
            ));
        }
        Ok(())
    }

    /// The feature maps at stage `stage`'s resolution (every block at full strength).
    fn features(&self, z: &Tensor, stage: usize) -> Result<Tensor> {
        let n = z.dim(0)?;
        let s = self.start;
        let h = self
            .dense
            .forward(&pixel_norm(&z.reshape((n, (), 1, 1))?)?.flatten_from(1)?)?;
        let h = pixel_norm(&lrelu(&h.reshape((n, self.channels[0], s, s))?)?)?;
        let mut h = pixel_norm(&lrelu(&self.conv0.forward(&h)?)?)?;
        for block in &self.blocks[..stage] {
            h = block.forward(&upsample(&h)?, true)?;
        }
        Ok(h)
    }

    /// The two paths of stage `stage >= 1`'s fade-in: the previous stage's image upsampled,
    /// and the new block's image.
    pub fn branches(&self, z: &Tensor, stage: usize) -> Result<(Tensor, Tensor)> {
        self.check_stage(stage)?;
        if stage == 0 {
            return Err(Error::config(
                "stage",
                0,
                "the first stage fades nothing in",
            ));
        }
        let h = self.features(z, stage - 1)?;
        let old = upsample(&self.to_rgb[stage - 1].forward(&h)?)?;
        let new =
            self.to_rgb[stage].forward(&self.blocks[stage - 1].forward(&upsample(&h)?, true)?)?;
        Ok((old, new))
    }

    /// Images `(n, c, r, r)` in network space at stage `stage` with fade-in weight `alpha`.
    pub fn forward(&self, z: &Tensor, stage: usize, alpha: f64) -> Result<Tensor> {
        self.check_stage(stage)?;
        if stage == 0 {
            return Ok(self.to_rgb[0].forward(&self.features(z, 0)?)?);
        }
        if alpha >= 1.0 {
            let h = self.features(z, stage)?;
            return Ok(self.to_rgb[stage].forward(&h)?);
        }
        let (old, new) = self.branches(z, stage)?;
        fade(&old, &new, alpha)
    }
}

/// The discriminator of every stage: a 1x1 fromRGB per stage, per stage a downsampling block
/// (two 3x3 convolutions, 2x2 average pooling), and the last block: minibatch std, a 3x3
/// convolution, a dense layer and the linear score.
#[derive(Debug, Clone)]
pub struct ProgressiveDiscriminator {
    from_rgb: Vec<EqualizedConv2d>,
    blocks: Vec<ConvPair>,
    last_conv: EqualizedConv2d,
    dense: EqualizedLinear,
    out: EqualizedLinear,
}

impl ProgressiveDiscriminator {
    /// Builds all stages' layers (`from_rgb<s>`, `block<s>.conv<i>`, `last_conv`, `dense`,
    /// `out`).
    pub fn new(cfg: &ProgressiveConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let ch = &cfg.channels;
        let s = cfg.start_size;
        let from_rgb = (0..ch.len())
            .map(|k| equalized_conv2d(cfg.image_channels, ch[k], 1, vb.pp(format!("from_rgb{k}"))))
            .collect::<Result<_>>()?;
        let blocks = (1..ch.len())
            .map(|k| ConvPair::new(ch[k], ch[k], ch[k - 1], vb.pp(format!("block{k}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            from_rgb,
            blocks,
            last_conv: equalized_conv2d(ch[0] + 1, ch[0], 3, vb.pp("last_conv"))?,
            dense: equalized_linear(ch[0] * s * s, ch[0], vb.pp("dense"))?,
            out: equalized_linear(ch[0], 1, vb.pp("out"))?,
        })
    }

    fn block(&self, k: usize, h: &Tensor) -> Result<Tensor> {
        Ok(self.blocks[k - 1].forward(h, false)?.avg_pool2d(2)?)
    }

    /// Scores `(n, 1)` of network-space images `(n, c, r, r)` at stage `stage` with fade-in
    /// weight `alpha`.
    pub fn forward(&self, x: &Tensor, stage: usize, alpha: f64) -> Result<Tensor> {
        if stage >= self.from_rgb.len() {
            return Err(Error::config(
                "stage",
                stage,
                "beyond the last stage of the configuration",
            ));
        }
        let mut h = lrelu(&self.from_rgb[stage].forward(x)?)?;
        if stage > 0 {
            h = self.block(stage, &h)?;
            if alpha < 1.0 {
                let old = lrelu(&self.from_rgb[stage - 1].forward(&x.avg_pool2d(2)?)?)?;
                h = fade(&old, &h, alpha)?;
            }
            for k in (1..stage).rev() {
                h = self.block(k, &h)?;
            }
        }
        let h = lrelu(&self.last_conv.forward(&minibatch_stddev(&h)?)?)?;
        let h = lrelu(&self.dense.forward(&h.flatten_from(1)?)?)?;
        Ok(self.out.forward(&h)?)
    }
}
