//! VAE architectures and likelihoods, validated once, with the presets of the literature:
//!
//! - [`VaeConfig::pytorch_example`]: 784-400-20 with ReLU (the PyTorch `examples/vae` model);
//! - [`VaeConfig::bora2017`]: decoder 20-500-500-784 with softplus, the generative prior of
//!   Bora, Jalal, Price and Dimakis, "Compressed Sensing using Generative Models" (2017);
//! - [`VaeConfig::iwae_1layer`]: latent 50, two tanh layers of 200 units, the one-stochastic-
//!   layer architecture of Burda, Grosse and Salakhutdinov, "Importance Weighted
//!   Autoencoders" (2016).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Tanh,
    /// softplus(x) = log(1 + e^x).
    Softplus,
}

/// The observation model p(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Independent Bernoulli pixels; the decoder outputs logits.
    Bernoulli,
    /// Independent Gaussian pixels N(mean, std^2) with a fixed `std`; the decoder outputs
    /// the mean.
    Gaussian { std: f64 },
}

/// Encoder and decoder body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Fully connected layers of widths `encoder_hidden` / `decoder_hidden`.
    Mlp,
    /// For 1x28x28 images: two stride-2 4x4 convolutions (`channels`, `2 channels`), then
    /// the MLP layers; the decoder mirrors it with transposed convolutions.
    Conv { channels: usize },
}

/// A VAE: q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I), p(x|z) per [`Likelihood`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Shape of one data item, e.g. `[1, 28, 28]`.
    pub data_shape: Vec<usize>,
    pub latent_dim: usize,
    pub encoder_hidden: Vec<usize>,
    pub decoder_hidden: Vec<usize>,
    pub activation: Activation,
    pub likelihood: Likelihood,
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
        if let Architecture::Conv { channels } = self.architecture {
            if self.data_shape != [1, 28, 28] {
                return Err(Error::config(
                    "architecture",
                    format!("{:?}", self.data_shape),
                    "the convolutional body needs data_shape [1, 28, 28]",
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
    fn conv_needs_mnist_shape_and_channels() {
        let c = VaeConfig {
            architecture: Architecture::Conv { channels: 8 },
            data_shape: vec![1, 32, 32],
            ..Default::default()
        };
        assert_eq!(field_of(c), "architecture");
        let c = VaeConfig {
            architecture: Architecture::Conv { channels: 0 },
            ..Default::default()
        };
        assert_eq!(field_of(c), "architecture.channels");
    }
}
