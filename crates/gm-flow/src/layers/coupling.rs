//! Affine coupling (Dinh, Sohl-Dickstein and Bengio 2017, RealNVP). A mask `b` splits the
//! input into a part `x_a = b x` that passes unchanged and conditions, through a network,
//! a scale and shift of the rest:
//!
//! ```text
//! z = b x + (1 - b) (x exp(s(b x)) + t(b x)),     log |det dz/dx| = sum (1 - b) s(b x)
//! x = b z + (1 - b) (z - t(b z)) exp(-s(b z))
//! ```
//!
//! The Jacobian is triangular, so its determinant is the product of the scales, and the
//! inverse never inverts the network. Masks: a spatial checkerboard and a channel split for
//! images, alternating coordinates for vectors. The log-scale is bounded for stability,
//! either `s = a tanh(raw)` with a learned per-channel `a` (RealNVP) or
//! `exp(s) = sigmoid(raw + 2)` (Glow). The network's last layer starts at zero, so every
//! coupling starts as the identity (Glow).

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::nn::conv::{conv2d_op, ConvConfig};
use gm_core::nn::{channel_bias, conv2d, relu, Conv2d};
use serde::{Deserialize, Serialize};

use crate::flow::{log_sigmoid, per_channel, sum_per_item, Flow};
use crate::{Error, Result};

/// Which part of the input passes unchanged (and conditions the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// Images `(n, c, h, w)`: pixels with `(i + j) % 2 == odd as usize` pass unchanged.
    Checkerboard {
        /// Whether the pixels with odd `i + j` (rather than even) pass unchanged.
        odd: bool,
    },
    /// Images: the first `c / 2` channels pass unchanged (the last `c - c / 2` with `flip`).
    Channel {
        /// Whether the last `c - c / 2` channels (rather than the first `c / 2`) pass
        /// unchanged.
        flip: bool,
    },
    /// Vectors `(n, d)`: coordinates with `i % 2 == odd as usize` pass unchanged.
    Alternating {
        /// Whether the odd coordinates (rather than the even) pass unchanged.
        odd: bool,
    },
}

/// How the raw network output becomes a bounded log-scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleFn {
    /// `s = a tanh(raw)`, `a` a learned per-channel factor starting at 1 (RealNVP).
    #[default]
    Tanh,
    /// `exp(s) = sigmoid(raw + 2)`, so `s` in `(-inf, 0)` and `s = -0.127` at `raw = 0` (Glow).
    Sigmoid,
}

/// A 3x3 convolution whose weights and bias start at zero.
#[derive(Debug, Clone)]
struct ZeroConv {
    weight: Tensor,
    bias: Tensor,
}

impl ZeroConv {
    fn new(c_in: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        let zero = candle_nn::Init::Const(0.0);
        Ok(Self {
            weight: vb.get_with_hints((c_out, c_in, 3, 3), "weight", zero)?,
            bias: vb.get_with_hints(c_out, "bias", zero)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(channel_bias(
            &conv2d_op(x, &self.weight, 1, 1)?,
            &self.bias,
        )?)
    }
}

/// The conditioner of an image coupling: 3x3 conv, ReLU, 1x1 conv, ReLU, zero-initialised
/// 3x3 conv (RealNVP's and Glow's shape, shallow enough for a CPU).
#[derive(Debug, Clone)]
struct ConvNet {
    conv_in: Conv2d,
    conv_mid: Conv2d,
    conv_out: ZeroConv,
}

impl ConvNet {
    fn new(c_in: usize, hidden: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        let pad1 = ConvConfig {
            padding: 1,
            ..Default::default()
        };
        Ok(Self {
            conv_in: conv2d(c_in, hidden, 3, pad1, vb.pp("conv_in"))?,
            conv_mid: conv2d(hidden, hidden, 1, ConvConfig::default(), vb.pp("conv_mid"))?,
            conv_out: ZeroConv::new(hidden, c_out, vb.pp("conv_out"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = relu(&self.conv_in.forward(x)?)?;
        let h = relu(&self.conv_mid.forward(&h)?)?;
        self.conv_out.forward(&h)
    }
}

/// The conditioner of a vector coupling: linear, tanh, linear, tanh, zero-initialised linear.
/// tanh keeps the density smooth, which the 2-D quadratures rely on.
#[derive(Debug, Clone)]
struct MlpNet {
    fc_in: candle_nn::Linear,
    fc_mid: candle_nn::Linear,
    out_w: Tensor,
    out_b: Tensor,
}

impl MlpNet {
    fn new(d_in: usize, hidden: usize, d_out: usize, vb: VarBuilder) -> Result<Self> {
        let zero = candle_nn::Init::Const(0.0);
        let out = vb.pp("fc_out");
        Ok(Self {
            fc_in: candle_nn::linear(d_in, hidden, vb.pp("fc_in"))?,
            fc_mid: candle_nn::linear(hidden, hidden, vb.pp("fc_mid"))?,
            out_w: out.get_with_hints((d_out, hidden), "weight", zero)?,
            out_b: out.get_with_hints(d_out, "bias", zero)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc_in.forward(x)?.tanh()?;
        let h = self.fc_mid.forward(&h)?.tanh()?;
        Ok(h.matmul(&self.out_w.t()?)?.broadcast_add(&self.out_b)?)
    }
}

#[derive(Debug, Clone)]
enum Conditioner {
    Conv(ConvNet),
    Mlp(MlpNet),
}

impl Conditioner {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Conditioner::Conv(n) => n.forward(x),
            Conditioner::Mlp(n) => n.forward(x),
        }
    }
}

/// An affine coupling layer; see the module documentation.
#[derive(Debug, Clone)]
pub struct AffineCoupling {
    mask: Mask,
    /// Channels (images) or coordinates (vectors) of the input.
    channels: usize,
    net: Conditioner,
    scale_fn: ScaleFn,
    /// The learned factor `a` of [`ScaleFn::Tanh`], one per transformed channel.
    scale: Option<Tensor>,
}

fn scale_param(scale_fn: ScaleFn, n: usize, vb: &VarBuilder) -> Result<Option<Tensor>> {
    Ok(match scale_fn {
        ScaleFn::Tanh => Some(vb.get_with_hints(n, "scale", candle_nn::Init::Const(1.0))?),
        ScaleFn::Sigmoid => None,
    })
}

/// A checkerboard coupling over images of `channels` channels; the network sees the masked
/// image and the mask itself (one more channel), so it knows which pixels it predicts.
pub fn checkerboard_coupling(
    channels: usize,
    hidden: usize,
    odd: bool,
    scale_fn: ScaleFn,
    vb: VarBuilder,
) -> Result<AffineCoupling> {
    check_sizes(channels, hidden, 1)?;
    Ok(AffineCoupling {
        mask: Mask::Checkerboard { odd },
        channels,
        net: Conditioner::Conv(ConvNet::new(
            channels + 1,
            hidden,
            2 * channels,
            vb.pp("net"),
        )?),
        scale: scale_param(scale_fn, channels, &vb)?,
        scale_fn,
    })
}

/// A channel coupling over images of `channels` (at least 2) channels.
pub fn channel_coupling(
    channels: usize,
    hidden: usize,
    flip: bool,
    scale_fn: ScaleFn,
    vb: VarBuilder,
) -> Result<AffineCoupling> {
    check_sizes(channels, hidden, 2)?;
    let (kept, changed) = channel_split(channels, flip);
    Ok(AffineCoupling {
        mask: Mask::Channel { flip },
        channels,
        net: Conditioner::Conv(ConvNet::new(kept, hidden, 2 * changed, vb.pp("net"))?),
        scale: scale_param(scale_fn, changed, &vb)?,
        scale_fn,
    })
}

/// An alternating-coordinate coupling over vectors of `dim` (at least 2) coordinates, with an
/// MLP conditioner of width `hidden`.
pub fn alternating_coupling(
    dim: usize,
    hidden: usize,
    odd: bool,
    scale_fn: ScaleFn,
    vb: VarBuilder,
) -> Result<AffineCoupling> {
    check_sizes(dim, hidden, 2)?;
    Ok(AffineCoupling {
        mask: Mask::Alternating { odd },
        channels: dim,
        net: Conditioner::Mlp(MlpNet::new(dim, hidden, 2 * dim, vb.pp("net"))?),
        scale: scale_param(scale_fn, dim, &vb)?,
        scale_fn,
    })
}

fn check_sizes(channels: usize, hidden: usize, min: usize) -> Result<()> {
    if channels < min {
        return Err(Error::config(
            "channels",
            channels,
            "a coupling needs a part to keep and a part to change",
        ));
    }
    if hidden == 0 {
        return Err(Error::config("hidden", 0, "must be at least 1"));
    }
    Ok(())
}

/// `(kept, changed)` channel counts of a channel split.
fn channel_split(c: usize, flip: bool) -> (usize, usize) {
    let first = c / 2;
    if flip {
        (c - first, first)
    } else {
        (first, c - first)
    }
}

/// The mask `b` (1 = kept), shaped `(1, 1, h, w)` or `(1, d)`.
fn spatial_mask(mask: Mask, dims: &[usize], dtype: DType, dev: &Device) -> Result<Tensor> {
    Ok(match mask {
        Mask::Checkerboard { odd } => {
            let (h, w) = (dims[2], dims[3]);
            let v: Vec<f32> = (0..h * w)
                .map(|k| f32::from(u8::from((k / w + k % w) % 2 == usize::from(odd))))
                .collect();
            Tensor::from_vec(v, (1, 1, h, w), dev)?.to_dtype(dtype)?
        }
        Mask::Alternating { odd } => {
            let d = dims[1];
            let v: Vec<f32> = (0..d)
                .map(|i| f32::from(u8::from(i % 2 == usize::from(odd))))
                .collect();
            Tensor::from_vec(v, (1, d), dev)?.to_dtype(dtype)?
        }
        Mask::Channel { .. } => unreachable!("channel masks split instead"),
    })
}

impl AffineCoupling {
    /// The layer as the written-out training step sees it; `None` for the MLP conditioner
    /// of vector couplings.
    pub(crate) fn host_layer(&self) -> Option<crate::fused::HostLayer> {
        let Conditioner::Conv(net) = &self.net else {
            return None;
        };
        let conv = |c: &Conv2d| Some((c.weight().clone(), c.bias()?.clone()));
        Some(crate::fused::HostLayer::Coupling {
            mask: self.mask,
            scale_fn: self.scale_fn,
            scale: self.scale.clone(),
            convs: [
                conv(&net.conv_in)?,
                conv(&net.conv_mid)?,
                (net.conv_out.weight.clone(), net.conv_out.bias.clone()),
            ],
        })
    }

    /// Which part of the input this coupling keeps.
    pub fn mask(&self) -> Mask {
        self.mask
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let want_rank = if matches!(self.mask, Mask::Alternating { .. }) {
            2
        } else {
            4
        };
        if x.rank() != want_rank || x.dim(1)? != self.channels {
            let mut expected = vec![x.dims().first().copied().unwrap_or(0), self.channels];
            expected.resize(want_rank, 0);
            return Err(Error::Shape {
                what: "coupling input (0: any size)",
                got: x.dims().to_vec(),
                expected,
            });
        }
        Ok(())
    }

    /// The bounded log-scale and the shift from the raw network output `(n, 2k, ...)`.
    fn scale_shift(&self, out: &Tensor) -> Result<(Tensor, Tensor)> {
        let k = out.dim(1)? / 2;
        let raw = out.narrow(1, 0, k)?;
        let t = out.narrow(1, k, k)?;
        let log_s = match (self.scale_fn, &self.scale) {
            (ScaleFn::Tanh, Some(a)) => raw.tanh()?.broadcast_mul(&per_channel(a, &raw)?)?,
            (ScaleFn::Sigmoid, _) => log_sigmoid(&(raw + 2.0)?)?,
            (ScaleFn::Tanh, None) => unreachable!("tanh couplings are built with their factor"),
        };
        Ok((log_s, t))
    }

    /// `(log_s, t)` for the changed part, from the kept part of `x` (equal in `x` and `z`).
    /// For masks, both are zero on the kept entries.
    fn params(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        match self.mask {
            Mask::Checkerboard { .. } | Mask::Alternating { .. } => {
                let b = spatial_mask(self.mask, x.dims(), x.dtype(), x.device())?;
                let xa = x.broadcast_mul(&b)?;
                let input = match self.mask {
                    Mask::Checkerboard { .. } => {
                        let (n, _, h, w) = x.dims4()?;
                        Tensor::cat(&[&xa, &b.broadcast_as((n, 1, h, w))?], 1)?
                    }
                    _ => xa,
                };
                let (log_s, t) = self.scale_shift(&self.net.forward(&input)?)?;
                let keep = b.affine(-1.0, 1.0)?;
                Ok((log_s.broadcast_mul(&keep)?, t.broadcast_mul(&keep)?))
            }
            Mask::Channel { flip } => {
                let (xa, _) = self.split(x, flip)?;
                self.scale_shift(&self.net.forward(&xa)?)
            }
        }
    }

    /// `(kept, changed)` channels of `x`.
    fn split(&self, x: &Tensor, flip: bool) -> Result<(Tensor, Tensor)> {
        let first = self.channels / 2;
        let (a, b) = (
            x.narrow(1, 0, first)?,
            x.narrow(1, first, self.channels - first)?,
        );
        Ok(if flip { (b, a) } else { (a, b) })
    }

    fn join(&self, kept: &Tensor, changed: &Tensor, flip: bool) -> Result<Tensor> {
        Ok(if flip {
            Tensor::cat(&[changed, kept], 1)?
        } else {
            Tensor::cat(&[kept, changed], 1)?
        })
    }
}

impl Flow for AffineCoupling {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check(x)?;
        let (log_s, t) = self.params(x)?;
        let logdet = sum_per_item(&log_s)?;
        let z = match self.mask {
            Mask::Channel { flip } => {
                let (xa, xb) = self.split(x, flip)?;
                self.join(&xa, &(xb * log_s.exp()?)?.add(&t)?, flip)?
            }
            _ => (x * log_s.exp()?)?.add(&t)?,
        };
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let (log_s, t) = self.params(z)?;
        Ok(match self.mask {
            Mask::Channel { flip } => {
                let (za, zb) = self.split(z, flip)?;
                self.join(&za, &(zb - t)?.mul(&log_s.neg()?.exp()?)?, flip)?
            }
            _ => (z - t)?.mul(&log_s.neg()?.exp()?)?,
        })
    }
}

#[cfg(test)]
mod tests;
