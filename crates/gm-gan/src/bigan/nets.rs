//! The encoder `E: x -> z` and the discriminator of joint pairs `(x, z)`.

use candle_core::{Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use gm_core::GmRng;

use crate::Result;

/// The encoder `E: x -> z`, an MLP with LeakyReLU(0.2) hidden layers and a linear output
/// (the latent space is unbounded, like `z ~ N(0, I)`).
#[derive(Debug, Clone)]
pub struct Encoder {
    layers: Vec<Linear>,
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
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(format!("fc{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// `E(x)` `(n, latent)` of network-space items `(n, ...)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.flatten_from(1)?;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = gm_core::nn::leaky_relu(&h, 0.2)?;
            }
        }
        Ok(h)
    }
}

/// The joint discriminator `D(x, z)`: an MLP on the concatenation `[x, z]`, LeakyReLU(0.2)
/// hidden layers, one raw score per pair, with optional dropout after each hidden layer.
#[derive(Debug, Clone)]
pub struct JointDiscriminator {
    layers: Vec<Linear>,
    dropout: f64,
}

impl JointDiscriminator {
    /// Layers `fc0, fc1, ...` from `joint_dim` through `hidden` to one score.
    pub fn new(joint_dim: usize, hidden: &[usize], dropout: f64, vb: VarBuilder) -> Result<Self> {
        let mut widths = vec![joint_dim];
        widths.extend_from_slice(hidden);
        widths.push(1);
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(format!("fc{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers, dropout })
    }

    /// Raw scores `(n, 1)` of network-space items `x` and latents `z`; with `rng`, each
    /// hidden unit is dropped with the configured probability (inverted dropout).
    pub fn forward(&self, x: &Tensor, z: &Tensor, mut rng: Option<&mut GmRng>) -> Result<Tensor> {
        let mut h = Tensor::cat(&[&x.flatten_from(1)?, z], 1)?;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = gm_core::nn::leaky_relu(&h, 0.2)?;
                if let Some(r) = rng.as_deref_mut() {
                    if self.dropout > 0.0 {
                        let keep = r
                            .uniform(h.shape(), 0.0, 1.0, h.device())?
                            .ge(self.dropout)?
                            .to_dtype(h.dtype())?;
                        h = (h * keep.affine(1.0 / (1.0 - self.dropout), 0.0)?)?;
                    }
                }
            }
        }
        Ok(h)
    }
}
