//! The networks: MLP generators and discriminators (2-D mixtures, flattened MNIST) and the
//! DCGAN pair of Radford, Metz and Chintala (2016): strided convolutions in D, transposed
//! convolutions in G, batch norm in both (not on G's output nor D's input), ReLU in G,
//! LeakyReLU(0.2) in D, no pooling and no hidden fully connected layers. The DCGAN layers are
//! gm-core's im2col convolutions.
//!
//! The DCGAN stack is sized by the data ([`GanConfig::dcgan`]): for a side `s` that is a power
//! of two from 16 to 128, G projects z to 4x4 and doubles the side `log2(s / 4)` times with
//! 4x4 stride-2 transposed convolutions, halving the feature maps each time (`channels` at
//! `s / 2`, at most `8 channels` at 4x4), and D mirrors it down to 4x4 and one 4x4 convolution
//! to the logit: the paper's 64x64 layout. 28x28 digits (and the small multiples of 4 below)
//! keep the original layout: z projected to `s / 4` by an `s / 4` kernel, then two
//! up-samplings.
//!
//! Generators work in *network space*: a `tanh` output lies in `[-1, 1]`, and the trainer maps
//! data in `[0, 1]` there by `2 x - 1`. [`GanGenerator`]'s [`Generator::generate`](gm_core::Generator::generate) maps back to
//! data space, so every consumer (gm-eval, inverse problems) sees digits in `[0, 1]`.
//!
//! MLP discriminators also run *functionally*, on an explicit parameter list
//! ([`Discriminator::forward_with`]): the unrolled GAN differentiates through look-ahead
//! updates of those parameters.

mod dcgan;
mod discriminator;
mod generator;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};
use dcgan::{is_dcgan_power_side, DcganLayout};

pub use dcgan::DCGAN_BASE_CHANNELS;
pub use discriminator::Discriminator;
pub use generator::GanGenerator;

/// A layer of a DCGAN network as the written-out training step sees it.
#[derive(Debug, Clone)]
pub(crate) enum HostLayer {
    /// A square convolution (or, `transposed`, a transposed one) with bias.
    Conv {
        weight: candle_core::Tensor,
        bias: candle_core::Tensor,
        stride: usize,
        pad: usize,
        transposed: bool,
    },
    /// Batch norm in training mode (batch statistics, the running ones updated).
    Norm(gm_core::nn::BatchNorm2d),
    /// An element-wise activation.
    Act(gm_core::nn::DenseActivation),
}

/// Hidden-layer nonlinearity of an MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// ReLU, `max(x, 0)`.
    Relu,
    /// LeakyReLU with slope 0.2.
    LeakyRelu,
    /// The hyperbolic tangent.
    Tanh,
}

impl Activation {
    /// The nonlinearity of gm-core's MLP layers (and of their host-memory counterpart).
    pub fn dense(self) -> gm_core::nn::DenseActivation {
        use gm_core::nn::DenseActivation;
        match self {
            Activation::Relu => DenseActivation::Relu,
            Activation::LeakyRelu => DenseActivation::LeakyRelu(0.2),
            Activation::Tanh => DenseActivation::Tanh,
        }
    }
}

/// The generator's output nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputActivation {
    /// Unbounded output, data space = network space (2-D mixtures).
    Identity,
    /// `tanh` in network space `[-1, 1]`; data space is `[0, 1]` (images).
    Tanh,
}

pub use gm_core::nn::MlpInit;

/// One network's architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Architecture {
    /// Fully connected layers of the given widths, each followed by `activation`.
    Mlp {
        /// Widths of the hidden layers, each at least 1.
        hidden: Vec<usize>,
        /// Nonlinearity after each hidden layer.
        activation: Activation,
    },
    /// The DCGAN layout for `(c, s, s)` images, `c` 1 or 3, `s` a power of two from 16 to
    /// 128 or a multiple of 4 up to 28: `channels` feature maps at the finest hidden
    /// resolution, twice as many at each coarser one (at most 8 times as many).
    Dcgan {
        /// Feature maps at the finest hidden resolution, at least 1.
        channels: usize,
    },
}

/// The generator/discriminator pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    /// Dimension of the latent code z, at least 1.
    pub latent_dim: usize,
    /// Shape of one data item: `[2]`, `[1, 28, 28]`, `[3, 64, 64]`, ...
    pub data_shape: Vec<usize>,
    /// The generator's architecture.
    pub generator: Architecture,
    /// The discriminator's (critic's) architecture.
    pub discriminator: Architecture,
    /// The generator's output nonlinearity, which fixes the network space.
    pub output: OutputActivation,
    /// Initial weights of the MLP layers (DCGAN layers keep their own initialiser).
    #[serde(default)]
    pub mlp_init: MlpInit,
}

impl Default for GanConfig {
    fn default() -> Self {
        Self::mlp_2d()
    }
}

impl GanConfig {
    /// 2-D mixtures after Metz et al. (2017): z of 256 dimensions, G with two hidden layers of
    /// 128 ReLU units, D with two hidden layers of 128 ReLU units, linear output (their
    /// reference notebook has tanh units and orthogonal weights, [`MlpInit::Orthogonal`]).
    pub fn mlp_2d() -> Self {
        Self::mlp_pair(
            256,
            vec![2],
            (vec![128, 128], Activation::Relu),
            (vec![128, 128], Activation::Relu),
            OutputActivation::Identity,
        )
    }

    /// An MLP pair with default initial weights: latents of `latent_dim`, items of
    /// `data_shape`, each network's hidden sizes and activation, and G's output activation.
    pub fn mlp_pair(
        latent_dim: usize,
        data_shape: Vec<usize>,
        (g_hidden, g_activation): (Vec<usize>, Activation),
        (d_hidden, d_activation): (Vec<usize>, Activation),
        output: OutputActivation,
    ) -> Self {
        Self {
            latent_dim,
            data_shape,
            generator: Architecture::Mlp {
                hidden: g_hidden,
                activation: g_activation,
            },
            discriminator: Architecture::Mlp {
                hidden: d_hidden,
                activation: d_activation,
            },
            output,
            mlp_init: MlpInit::Default,
        }
    }

    /// An MLP pair for flattened 28x28 digits: G 100-256-512-784 (ReLU, tanh output), D
    /// 784-512-256-1 (LeakyReLU).
    pub fn mlp_mnist() -> Self {
        Self::mlp_pair(
            100,
            vec![1, 28, 28],
            (vec![256, 512], Activation::Relu),
            (vec![512, 256], Activation::LeakyRelu),
            OutputActivation::Tanh,
        )
    }

    /// DCGAN for 28x28 digits with [`DCGAN_BASE_CHANNELS`] base channels (sized for two CPU
    /// cores).
    pub fn dcgan_mnist() -> Self {
        Self {
            latent_dim: 100,
            data_shape: vec![1, 28, 28],
            generator: Architecture::Dcgan {
                channels: DCGAN_BASE_CHANNELS,
            },
            discriminator: Architecture::Dcgan {
                channels: DCGAN_BASE_CHANNELS,
            },
            output: OutputActivation::Tanh,
            mlp_init: MlpInit::Default,
        }
    }

    /// DCGAN for `(channels, image_size, image_size)` images: `image_size` a power of two
    /// from 16 to 128 (Radford et al.'s layout through 4x4) or 28 ([`GanConfig::dcgan_mnist`]
    /// with `channels` image channels), `channels` 1 (grey) or 3 (RGB). An unsupported shape
    /// is a `data_shape` error.
    ///
    /// ```
    /// let cfg = gm_gan::GanConfig::dcgan(64, 3).unwrap();
    /// assert_eq!(cfg.data_shape, [3, 64, 64]);
    /// assert!(gm_gan::GanConfig::dcgan(30, 3).is_err());
    /// ```
    pub fn dcgan(image_size: usize, channels: usize) -> Result<Self> {
        let cfg = Self {
            data_shape: vec![channels, image_size, image_size],
            ..Self::dcgan_mnist()
        };
        if image_size != 28 && !is_dcgan_power_side(image_size) {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", cfg.data_shape),
                "DCGAN image size must be a power of two from 16 to 128, or 28",
            ));
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Values per data item.
    pub fn data_dim(&self) -> usize {
        self.data_shape.iter().product()
    }

    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.data_shape.is_empty() || self.data_dim() == 0 {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "must be non-empty with no zero dimension",
            ));
        }
        for (field, arch) in [
            ("generator", &self.generator),
            ("discriminator", &self.discriminator),
        ] {
            match arch {
                Architecture::Mlp { hidden, .. } => {
                    if hidden.contains(&0) {
                        return Err(Error::config(
                            if field == "generator" {
                                "generator.hidden"
                            } else {
                                "discriminator.hidden"
                            },
                            format!("{hidden:?}"),
                            "hidden layers must have at least one unit",
                        ));
                    }
                }
                Architecture::Dcgan { channels } => {
                    let shape = &self.data_shape;
                    if shape.len() != 3 || shape[1] != shape[2] {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN needs square images (c, s, s)",
                        ));
                    }
                    if shape[0] != 1 && shape[0] != 3 {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN images have 1 (grey) or 3 (RGB) channels",
                        ));
                    }
                    if DcganLayout::of(shape[1]).is_none() {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN image side must be a power of two from 16 to 128, or a \
                             multiple of 4 up to 28",
                        ));
                    }
                    if *channels == 0 {
                        return Err(Error::config(
                            if field == "generator" {
                                "generator.channels"
                            } else {
                                "discriminator.channels"
                            },
                            0,
                            "must be at least 1",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
