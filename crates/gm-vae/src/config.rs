//! VAE architectures and likelihoods, validated once, with the presets of the literature:
//!
//! - [`VaeConfig::pytorch_example`]: 784-400-20 with ReLU (the PyTorch `examples/vae` model);
//! - [`VaeConfig::bora2017`]: decoder 20-500-500-784 with softplus, the generative prior of
//!   Bora, Jalal, Price and Dimakis, "Compressed Sensing using Generative Models" (2017);
//! - [`VaeConfig::iwae_1layer`]: latent 50, two tanh layers of 200 units, the one-stochastic-
//!   layer architecture of Burda, Grosse and Salakhutdinov, "Importance Weighted
//!   Autoencoders" (2016);
//! - [`VaeConfig::conv`]: a convolutional body sized by the images (grey or RGB, 16 to 128
//!   pixels, or 28x28 digits), stride-2 4x4 convolutions as in DCGAN (Radford et al. 2016).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// relu(x) = max(x, 0).
    Relu,
    /// The hyperbolic tangent.
    Tanh,
    /// softplus(x) = log(1 + e^x).
    Softplus,
}

impl Activation {
    /// The nonlinearity of gm-core's MLP layers (and of their host-memory counterpart).
    pub fn dense(self) -> gm_core::nn::DenseActivation {
        use gm_core::nn::DenseActivation;
        match self {
            Activation::Relu => DenseActivation::Relu,
            Activation::Tanh => DenseActivation::Tanh,
            Activation::Softplus => DenseActivation::Softplus,
        }
    }
}

/// The observation model p(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Independent Bernoulli pixels; the decoder outputs logits.
    Bernoulli,
    /// Independent Gaussian pixels N(mean, std^2) with a fixed `std`; the decoder outputs
    /// the mean.
    Gaussian {
        /// The fixed standard deviation of every pixel, positive and finite.
        std: f64,
    },
    /// Independent Gaussian pixels N(mu(z), diag sigma^2(z)) with a learned standard
    /// deviation per pixel: the decoder outputs the means, then raw scores `s` with
    /// `sigma = min_std + softplus(s)` (the floor keeps the density bounded on pixels that
    /// never vary, such as the digits' background). MLP decoders only.
    GaussianLearned {
        /// The floor added to every learned standard deviation, positive and finite.
        min_std: f64,
    },
}

impl Likelihood {
    /// Decoder outputs per data value: 2 for the learned variance (mean and scale), else 1.
    pub fn outputs_per_value(&self) -> usize {
        match self {
            Likelihood::GaussianLearned { .. } => 2,
            _ => 1,
        }
    }
}

/// Encoder and decoder body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Fully connected layers of widths `encoder_hidden` / `decoder_hidden`.
    Mlp,
    /// For `(c, s, s)` images, `c` 1 or 3: stride-2 4x4 convolutions (`channels`,
    /// `2 channels`, ... doubling up to `8 channels`) down to 4x4 when `s` is a power of two
    /// from 16 to 128, or two of them down to 7x7 when `s` is 28; then the MLP layers. The
    /// decoder mirrors it with transposed convolutions.
    Conv {
        /// Feature maps of the first convolution (the base width), at least 1.
        channels: usize,
    },
}

/// The default base width of [`VaeConfig::conv`].
pub const CONV_BASE_CHANNELS: usize = 32;

/// The geometry of the convolutional body for one image side: `steps` stride-2 convolutions
/// take the side down to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvLayout {
    pub(crate) steps: usize,
    pub(crate) end: usize,
}

impl ConvLayout {
    /// The layout of `side`: 28 (digits) down to 7x7 in two steps; a power of two from 16 to
    /// 128 down to 4x4.
    pub(crate) fn of(side: usize) -> Option<Self> {
        if side == 28 {
            Some(Self { steps: 2, end: 7 })
        } else if side.is_power_of_two() && (16..=128).contains(&side) {
            Some(Self {
                steps: side.trailing_zeros() as usize - 2,
                end: 4,
            })
        } else {
            None
        }
    }

    /// Feature maps after the encoder's convolution `level` (0: the first): `base` doubling
    /// per level up to `8 base`.
    pub(crate) fn width(base: usize, level: usize) -> usize {
        base << level.min(3)
    }
}

/// A VAE: q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I), p(x|z) per [`Likelihood`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Shape of one data item, e.g. `[1, 28, 28]`.
    pub data_shape: Vec<usize>,
    /// Dimension of the latent code z, at least 1.
    pub latent_dim: usize,
    /// Widths of the encoder's fully connected hidden layers (after the convolutions of the
    /// convolutional body), each at least 1.
    pub encoder_hidden: Vec<usize>,
    /// Widths of the decoder's fully connected hidden layers (before the transposed
    /// convolutions of the convolutional body), each at least 1.
    pub decoder_hidden: Vec<usize>,
    /// Non-linearity of the hidden layers and of the convolutional body.
    pub activation: Activation,
    /// The observation model p(x|z) the decoder parameterizes.
    pub likelihood: Likelihood,
    /// The encoder and decoder body: MLP or convolutional.
    pub architecture: Architecture,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self::pytorch_example()
    }
}

impl VaeConfig {
    /// 784-400-20 (ReLU), decoder 20-400-784, Bernoulli logits.
    pub fn pytorch_example() -> Self {
        Self {
            data_shape: vec![1, 28, 28],
            latent_dim: 20,
            encoder_hidden: vec![400],
            decoder_hidden: vec![400],
            activation: Activation::Relu,
            likelihood: Likelihood::Bernoulli,
            architecture: Architecture::Mlp,
        }
    }

    /// Encoder 784-500-500-20, decoder 20-500-500-784, softplus, Bernoulli logits.
    pub fn bora2017() -> Self {
        Self {
            encoder_hidden: vec![500, 500],
            decoder_hidden: vec![500, 500],
            activation: Activation::Softplus,
            ..Self::pytorch_example()
        }
    }

    /// Latent 50, 784-200-200-50 and 50-200-200-784 with tanh, Bernoulli logits.
    pub fn iwae_1layer() -> Self {
        Self {
            latent_dim: 50,
            encoder_hidden: vec![200, 200],
            decoder_hidden: vec![200, 200],
            activation: Activation::Tanh,
            ..Self::pytorch_example()
        }
    }

    /// A convolutional VAE for `(channels, image_size, image_size)` images: `image_size` a
    /// power of two from 16 to 128 or 28, `channels` 1 (grey) or 3 (RGB);
    /// [`CONV_BASE_CHANNELS`] base channels, one hidden layer of 256 ReLU units on each side,
    /// latent 32, Bernoulli logits. An unsupported shape is a `data_shape` error.
    ///
    /// ```
    /// let cfg = gm_vae::VaeConfig::conv(64, 3).unwrap();
    /// assert_eq!(cfg.data_shape, [3, 64, 64]);
    /// assert!(gm_vae::VaeConfig::conv(30, 3).is_err());
    /// ```
    pub fn conv(image_size: usize, channels: usize) -> Result<Self> {
        let cfg = Self {
            data_shape: vec![channels, image_size, image_size],
            latent_dim: 32,
            encoder_hidden: vec![256],
            decoder_hidden: vec![256],
            activation: Activation::Relu,
            likelihood: Likelihood::Bernoulli,
            architecture: Architecture::Conv {
                channels: CONV_BASE_CHANNELS,
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Number of scalars in one data item.
    pub fn data_dim(&self) -> usize {
        self.data_shape.iter().product()
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.data_shape.is_empty() || self.data_shape.contains(&0) {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "needs at least one dimension, none of them zero",
            ));
        }
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.encoder_hidden.contains(&0) {
            return Err(Error::config(
                "encoder_hidden",
                format!("{:?}", self.encoder_hidden),
                "layer widths must be at least 1",
            ));
        }
        if self.decoder_hidden.contains(&0) {
            return Err(Error::config(
                "decoder_hidden",
                format!("{:?}", self.decoder_hidden),
                "layer widths must be at least 1",
            ));
        }
        if let Likelihood::Gaussian { std } = self.likelihood {
            if !(std > 0.0 && std.is_finite()) {
                return Err(Error::config(
                    "likelihood.std",
                    std,
                    "must be positive and finite",
                ));
            }
        }
        if let Likelihood::GaussianLearned { min_std } = self.likelihood {
            if !(min_std > 0.0 && min_std.is_finite()) {
                return Err(Error::config(
                    "likelihood.min_std",
                    min_std,
                    "must be positive and finite",
                ));
            }
            if matches!(self.architecture, Architecture::Conv { .. }) {
                return Err(Error::config(
                    "likelihood",
                    "gaussian_learned",
                    "the learned variance needs the MLP decoder",
                ));
            }
        }
        if let Architecture::Conv { channels } = self.architecture {
            let shape = &self.data_shape;
            let ok = shape.len() == 3
                && (shape[0] == 1 || shape[0] == 3)
                && shape[1] == shape[2]
                && ConvLayout::of(shape[1]).is_some();
            if !ok {
                return Err(Error::config(
                    "data_shape",
                    format!("{shape:?}"),
                    "the convolutional body needs (c, s, s) images, c 1 or 3, s a power of two \
                     from 16 to 128 or 28",
                ));
            }
            if channels == 0 {
                return Err(Error::config(
                    "architecture.channels",
                    0,
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(cfg: VaeConfig) -> &'static str {
        match cfg.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn presets_are_valid_and_round_trip() {
        for cfg in [
            VaeConfig::pytorch_example(),
            VaeConfig::bora2017(),
            VaeConfig::iwae_1layer(),
        ] {
            cfg.validate().unwrap();
            let s = serde_json::to_string(&cfg).unwrap();
            assert_eq!(serde_json::from_str::<VaeConfig>(&s).unwrap(), cfg);
        }
        assert_eq!(VaeConfig::bora2017().decoder_hidden, vec![500, 500]);
        assert_eq!(VaeConfig::iwae_1layer().latent_dim, 50);
    }

    #[test]
    fn data_shape_cannot_be_empty_or_zero() {
        for data_shape in [vec![], vec![1, 0, 28]] {
            let c = VaeConfig {
                data_shape,
                ..Default::default()
            };
            assert_eq!(field_of(c), "data_shape");
        }
    }

    #[test]
    fn latent_dim_cannot_be_zero() {
        let c = VaeConfig {
            latent_dim: 0,
            ..Default::default()
        };
        assert_eq!(field_of(c), "latent_dim");
    }

    #[test]
    fn encoder_widths_cannot_be_zero() {
        let c = VaeConfig {
            encoder_hidden: vec![10, 0],
            ..Default::default()
        };
        assert_eq!(field_of(c), "encoder_hidden");
    }

    #[test]
    fn decoder_widths_cannot_be_zero() {
        let c = VaeConfig {
            decoder_hidden: vec![0],
            ..Default::default()
        };
        assert_eq!(field_of(c), "decoder_hidden");
    }

    #[test]
    fn gaussian_std_must_be_positive() {
        for std in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let c = VaeConfig {
                likelihood: Likelihood::Gaussian { std },
                ..Default::default()
            };
            assert_eq!(field_of(c), "likelihood.std");
        }
    }

    #[test]
    fn conv_needs_a_supported_image_shape_and_channels() {
        for data_shape in [
            vec![1, 30, 30],
            vec![3, 256, 256],
            vec![3, 8, 8],
            vec![2, 32, 32],
            vec![3, 32, 16],
            vec![784],
        ] {
            let c = VaeConfig {
                architecture: Architecture::Conv { channels: 8 },
                data_shape: data_shape.clone(),
                ..Default::default()
            };
            assert_eq!(field_of(c), "data_shape", "{data_shape:?}");
        }
        for (size, channels) in [(16, 1), (28, 1), (28, 3), (32, 3), (64, 3), (128, 1)] {
            let c = VaeConfig::conv(size, channels).unwrap();
            assert_eq!(c.data_shape, [channels, size, size]);
        }
        assert!(matches!(
            VaeConfig::conv(256, 3),
            Err(Error::Config {
                field: "data_shape",
                ..
            })
        ));
        let c = VaeConfig {
            architecture: Architecture::Conv { channels: 0 },
            ..Default::default()
        };
        assert_eq!(field_of(c), "architecture.channels");
    }
}
