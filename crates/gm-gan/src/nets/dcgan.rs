//! The DCGAN pair of Radford, Metz and Chintala (2016), sized by the data.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::nn::conv::{conv2d, conv_transpose2d, Conv2d, ConvConfig, ConvTranspose2d};
use gm_core::nn::{batch_norm2d, BatchNorm2d as BatchNorm, BatchNormConfig, DenseActivation};

use super::HostLayer;
use crate::{Error, Result};

/// The base channel count of [`GanConfig::dcgan_mnist`](super::GanConfig::dcgan_mnist) and
/// [`GanConfig::dcgan`](super::GanConfig::dcgan).
pub const DCGAN_BASE_CHANNELS: usize = 32;

/// Whether `side` gets Radford et al.'s layout through 4x4: a power of two from 16 to 128.
pub(super) fn is_dcgan_power_side(side: usize) -> bool {
    side.is_power_of_two() && (16..=128).contains(&side)
}

/// The geometry of a DCGAN pair for square images of one side: G's transposed convolution
/// `ct0` projects z (1x1) to `start x start` with a `start x start` kernel, then `steps`
/// stride-2 up-samplings reach the side; D runs the same way back and reads the logit from
/// `start x start` with one `start x start` convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DcganLayout {
    pub(super) start: usize,
    pub(super) steps: usize,
}

impl DcganLayout {
    /// The layout of `side`, if it has one: powers of two from 16 to 128 through 4x4;
    /// the multiples of 4 up to 28 (28x28 digits) with two up-samplings from `side / 4`, the
    /// layout every DCGAN had before the data chose the size (its weights stay loadable).
    pub(super) fn of(side: usize) -> Option<Self> {
        if is_dcgan_power_side(side) {
            Some(Self {
                start: 4,
                steps: side.trailing_zeros() as usize - 2,
            })
        } else if side.is_multiple_of(4) && (4..=28).contains(&side) {
            Some(Self {
                start: side / 4,
                steps: 2,
            })
        } else {
            None
        }
    }

    /// The feature maps `level` resolutions above the finest hidden one: `base` doubling per
    /// level, capped at `8 base` (Radford et al.'s 1024 over 128).
    pub(super) fn width(base: usize, level: usize) -> usize {
        base << level.min(3)
    }
}

/// The layout of a validated config's image side.
pub(super) fn layout_of(shape: &[usize]) -> Result<DcganLayout> {
    shape
        .get(1)
        .and_then(|&s| DcganLayout::of(s))
        .ok_or_else(|| {
            Error::config(
                "data_shape",
                format!("{shape:?}"),
                "DCGAN image side must be a power of two from 16 to 128, or a multiple of 4 up \
                 to 28",
            )
        })
}

/// G: `ct0` (z to `start x start`), `bn0`, then `ct1, bn1, ...`; the last `ct{steps}` has no
/// batch norm and gives the image channels.
#[derive(Debug, Clone)]
pub(super) struct DcganGen {
    latent: usize,
    start: usize,
    /// `steps + 1` transposed convolutions.
    ups: Vec<ConvTranspose2d>,
    /// One batch norm after each but the last.
    norms: Vec<BatchNorm>,
}

pub(super) const UP: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

impl DcganGen {
    pub(super) fn new(latent: usize, shape: &[usize], ch: usize, vb: VarBuilder) -> Result<Self> {
        let DcganLayout { start, steps } = layout_of(shape)?;
        let width = |i: usize| DcganLayout::width(ch, steps - 1 - i);
        let mut ups = Vec::with_capacity(steps + 1);
        let mut norms = Vec::with_capacity(steps);
        // Creation order ct0, bn0, ct1, bn1, ... keeps the seeded initial weights of the
        // 28x28 layout.
        for i in 0..steps {
            let ct = if i == 0 {
                conv_transpose2d(latent, width(0), start, ConvConfig::default(), vb.pp("ct0"))?
            } else {
                conv_transpose2d(width(i - 1), width(i), 4, UP, vb.pp(format!("ct{i}")))?
            };
            ups.push(ct);
            let bn = batch_norm2d(
                width(i),
                BatchNormConfig::default(),
                vb.pp(format!("bn{i}")),
            )?;
            norms.push(bn);
        }
        let last = conv_transpose2d(
            width(steps - 1),
            shape[0],
            4,
            UP,
            vb.pp(format!("ct{steps}")),
        )?;
        ups.push(last);
        Ok(Self {
            latent,
            start,
            ups,
            norms,
        })
    }

    /// The layers in order, from `z` as a `latent x 1 x 1` image to the raw output.
    pub(super) fn host_layers(&self) -> Option<Vec<HostLayer>> {
        let (last, hidden) = self.ups.split_last()?;
        let mut layers = Vec::with_capacity(3 * self.ups.len());
        for (ct, bn) in hidden.iter().zip(&self.norms) {
            layers.push(transposed(ct)?);
            layers.push(HostLayer::Norm(bn.clone()));
            layers.push(HostLayer::Act(DenseActivation::Relu));
        }
        layers.push(transposed(last)?);
        Some(layers)
    }

    pub(super) fn forward_t(&self, z: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let n = z.dim(0)?;
        let Some((last, hidden)) = self.ups.split_last() else {
            candle_core::bail!("DCGAN generator without layers")
        };
        let mut x = z.reshape((n, self.latent, 1, 1))?;
        for (i, (ct, bn)) in hidden.iter().zip(&self.norms).enumerate() {
            x = gm_core::nn::relu(&bn.forward_t(&ct.forward(&x)?, train)?)?;
            debug_assert!(i > 0 || x.dim(2)? == self.start);
        }
        last.forward(&x)
    }
}

/// A transposed convolution with bias and no output padding as a host layer.
fn transposed(ct: &ConvTranspose2d) -> Option<HostLayer> {
    let cfg = ct.config();
    (cfg.output_padding == 0).then_some(())?;
    Some(HostLayer::Conv {
        weight: ct.weight().clone(),
        bias: ct.bias()?.clone(),
        stride: cfg.stride,
        pad: cfg.padding,
        transposed: true,
    })
}

/// D: `c0` (no batch norm), `c1, bn1, ...` stride-2 convolutions down to `start x start`,
/// then `c{steps}` (a `start x start` kernel) to one logit.
#[derive(Debug, Clone)]
pub(super) struct DcganDisc {
    /// `steps + 1` convolutions.
    downs: Vec<Conv2d>,
    /// Their kernels, biases and configurations, for spectral normalization.
    kernels: Vec<(Tensor, Tensor, ConvConfig)>,
    /// The batch norms after `c1 .. c{steps - 1}`.
    norms: Vec<BatchNorm>,
}

impl DcganDisc {
    pub(super) fn new(shape: &[usize], ch: usize, vb: VarBuilder) -> Result<Self> {
        let DcganLayout { start, steps } = layout_of(shape)?;
        let width = |i: usize| DcganLayout::width(ch, i);
        let mut downs = Vec::with_capacity(steps + 1);
        let mut norms = Vec::with_capacity(steps);
        downs.push(conv2d(shape[0], width(0), 4, UP, vb.pp("c0"))?);
        for i in 1..steps {
            downs.push(conv2d(
                width(i - 1),
                width(i),
                4,
                UP,
                vb.pp(format!("c{i}")),
            )?);
            let bn = batch_norm2d(
                width(i),
                BatchNormConfig::default(),
                vb.pp(format!("bn{i}")),
            )?;
            norms.push(bn);
        }
        let last = conv2d(
            width(steps - 1),
            1,
            start,
            ConvConfig::default(),
            vb.pp(format!("c{steps}")),
        )?;
        downs.push(last);
        // The store hands back the same variables by name.
        let mut kernels = Vec::with_capacity(steps + 1);
        for i in 0..=steps {
            let (c_in, c_out, k, cfg) = match i {
                0 => (shape[0], width(0), 4, UP),
                i if i == steps => (width(i - 1), 1, start, ConvConfig::default()),
                i => (width(i - 1), width(i), 4, UP),
            };
            let vb = vb.pp(format!("c{i}"));
            kernels.push((
                vb.get((c_out, c_in, k, k), "weight")?,
                vb.get(c_out, "bias")?,
                cfg,
            ));
        }
        Ok(Self {
            downs,
            kernels,
            norms,
        })
    }

    /// The layers in order, from the image to the logit (a `1 x 1` map).
    pub(super) fn host_layers(&self) -> Vec<HostLayer> {
        let last = self.kernels.len().saturating_sub(1);
        let mut layers = Vec::with_capacity(3 * self.kernels.len());
        for (i, (w, b, cfg)) in self.kernels.iter().enumerate() {
            layers.push(HostLayer::Conv {
                weight: w.clone(),
                bias: b.clone(),
                stride: cfg.stride,
                pad: cfg.padding,
                transposed: false,
            });
            if i == last {
                break;
            }
            if i > 0 {
                layers.push(HostLayer::Norm(self.norms[i - 1].clone()));
            }
            layers.push(HostLayer::Act(DenseActivation::LeakyRelu(0.2)));
        }
        layers
    }

    /// The layers' store names and kernels.
    pub(super) fn layer_weights(&self) -> Vec<(String, Tensor)> {
        self.kernels
            .iter()
            .enumerate()
            .map(|(i, (w, _, _))| (format!("c{i}"), w.clone()))
            .collect()
    }

    /// The features and scores, with `kernels` (one per layer) in place of the stored
    /// kernels when given.
    pub(super) fn forward(
        &self,
        x: &Tensor,
        kernels: Option<&[Tensor]>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let n = x.dim(0)?;
        let Some((last, hidden)) = self.downs.split_last() else {
            candle_core::bail!("DCGAN discriminator without layers")
        };
        let layer = |i: usize, c: &Conv2d, h: &Tensor| -> candle_core::Result<Tensor> {
            match kernels {
                None => c.forward(h),
                Some(k) => {
                    let (_, b, cfg) = &self.kernels[i];
                    let y = gm_core::nn::conv::conv2d_op(h, &k[i], cfg.stride, cfg.padding)?;
                    gm_core::nn::channel::channel_bias(&y, b)
                }
            }
        };
        // No batch norm on D's input layer.
        let norms = std::iter::once(None).chain(self.norms.iter().map(Some));
        let mut h = x.clone();
        for (i, (c, bn)) in hidden.iter().zip(norms).enumerate() {
            h = layer(i, c, &h)?;
            if let Some(bn) = bn {
                h = bn.forward_t(&h, true)?;
            }
            h = gm_core::nn::leaky_relu(&h, 0.2)?;
        }
        let out = layer(hidden.len(), last, &h)?.reshape((n, 1))?;
        Ok((h.flatten_from(1)?, out))
    }
}
