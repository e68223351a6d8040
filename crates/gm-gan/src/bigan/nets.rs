//! The encoder `E: x -> z` and the discriminator of joint pairs `(x, z)`.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use gm_core::nn::{DenseActivation, Mlp, MlpInit};
use gm_core::GmRng;

use crate::Result;

/// The hidden nonlinearity of both networks.
const LEAKY: DenseActivation = DenseActivation::LeakyRelu(0.2);

/// The encoder `E: x -> z`, an MLP with LeakyReLU(0.2) hidden layers and a linear output
/// (the latent space is unbounded, like `z ~ N(0, I)`).
#[derive(Debug, Clone)]
pub struct Encoder {
    mlp: Mlp,
}

impl Encoder {
    /// Layers `fc0, fc1, ...` from `data_dim` through `hidden` to `latent_dim`.
    pub fn new(
        data_dim: usize,
        hidden: &[usize],
        latent_dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let mut widths = vec![data_dim];
        widths.extend_from_slice(hidden);
        widths.push(latent_dim);
        let mlp = Mlp::new(&widths, LEAKY, MlpInit::Default, vb, "fc")?;
        Ok(Self { mlp })
    }

    /// `E(x)` `(n, latent)` of network-space items `(n, ...)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.mlp.forward(&x.flatten_from(1)?)?)
    }

    /// The last hidden layer's activations `(n, hidden.last())` of network-space items: the
    /// features just before `E`'s output layer, where Donahue et al.'s code measures its
    /// nearest-neighbour accuracy (the flat input when `E` has no hidden layer).
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self
            .mlp
            .forward_with(self.mlp.params(), &x.flatten_from(1)?)?
            .0)
    }
}

/// The joint discriminator `D(x, z)`: an MLP on the concatenation `[x, z]`, LeakyReLU(0.2)
/// hidden layers, one raw score per pair, with optional dropout after each hidden layer.
#[derive(Debug, Clone)]
pub struct JointDiscriminator {
    mlp: Mlp,
    dropout: f64,
}

impl JointDiscriminator {
    /// Layers `fc0, fc1, ...` from `joint_dim` through `hidden` to one score.
    pub fn new(joint_dim: usize, hidden: &[usize], dropout: f64, vb: VarBuilder) -> Result<Self> {
        let mut widths = vec![joint_dim];
        widths.extend_from_slice(hidden);
        widths.push(1);
        let mlp = Mlp::new(&widths, LEAKY, MlpInit::Default, vb, "fc")?;
        Ok(Self { mlp, dropout })
    }

    /// Raw scores `(n, 1)` of network-space items `x` and latents `z`; with `rng`, each
    /// hidden unit is dropped with the configured probability (inverted dropout).
    pub fn forward(&self, x: &Tensor, z: &Tensor, rng: Option<&mut GmRng>) -> Result<Tensor> {
        let h = Tensor::cat(&[&x.flatten_from(1)?, z], 1)?;
        Ok(match rng {
            Some(r) => self.mlp.forward_dropout(&h, self.dropout, r)?,
            None => self.mlp.forward(&h)?,
        })
    }
}
