//! [`GanGenerator`]: an MLP or DCGAN generator, in network space.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use gm_core::{Generator, ParamStore};

use super::dcgan::DcganGen;
use super::{Architecture, GanConfig, OutputActivation};
use crate::Result;
use gm_core::nn::{DenseActivation, Mlp};

#[derive(Debug, Clone)]
enum GenBody {
    Mlp(Mlp),
    Dcgan(Box<DcganGen>),
}

/// A GAN generator `x = G(z)`, `z ~ N(0, I)`.
#[derive(Debug, Clone)]
pub struct GanGenerator {
    cfg: GanConfig,
    body: GenBody,
}

impl GanGenerator {
    /// Builds the generator of `cfg` from `vb` (names `fc0.weight`, ... or `ct0.weight`, ...).
    pub fn new(cfg: &GanConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = match &cfg.generator {
            Architecture::Mlp { hidden, activation } => {
                let mut w = vec![cfg.latent_dim];
                w.extend_from_slice(hidden);
                w.push(cfg.data_dim());
                GenBody::Mlp(Mlp::new(&w, activation.dense(), cfg.mlp_init, vb, "fc")?)
            }
            Architecture::Dcgan { channels } => GenBody::Dcgan(Box::new(DcganGen::new(
                cfg.latent_dim,
                &cfg.data_shape,
                *channels,
                vb,
            )?)),
        };
        Ok(Self {
            cfg: cfg.clone(),
            body,
        })
    }

    /// Builds the generator in a fresh store seeded by `seed`.
    pub fn init(cfg: &GanConfig, seed: u64, device: &Device) -> Result<(Self, ParamStore)> {
        let store = ParamStore::new(seed);
        let g = Self::new(cfg, store.var_builder(device))?;
        Ok((g, store))
    }

    /// The configuration the generator was built from.
    pub fn config(&self) -> &GanConfig {
        &self.cfg
    }

    /// An MLP generator's parameters `[w0, b0, ...]` and hidden activation.
    pub(crate) fn mlp_parts(&self) -> Option<(&[Tensor], DenseActivation)> {
        match &self.body {
            GenBody::Mlp(m) => Some((m.params(), m.activation())),
            GenBody::Dcgan(_) => None,
        }
    }

    /// A DCGAN generator's layers (the output activation last), from `z` as a
    /// `latent x 1 x 1` image.
    pub(crate) fn dcgan_layers(&self) -> Option<Vec<super::HostLayer>> {
        let GenBody::Dcgan(d) = &self.body else {
            return None;
        };
        let mut layers = d.host_layers()?;
        if self.cfg.output == OutputActivation::Tanh {
            layers.push(super::HostLayer::Act(DenseActivation::Tanh));
        }
        Some(layers)
    }

    /// The network-space output `(n, data_shape...)`; `train` selects batch statistics (and
    /// updates the running ones) in DCGAN's batch norm.
    pub fn forward_t(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let n = z.dim(0)?;
        let y = match &self.body {
            GenBody::Mlp(m) => m.forward_with(m.params(), z)?.1,
            GenBody::Dcgan(d) => d.forward_t(z, train)?,
        };
        let y = match self.cfg.output {
            OutputActivation::Identity => y,
            OutputActivation::Tanh => y.tanh()?,
        };
        let mut shape = vec![n];
        shape.extend_from_slice(&self.cfg.data_shape);
        Ok(y.reshape(shape)?)
    }

    /// Maps data-space items into network space (`2 x - 1` under a tanh output).
    pub fn to_network_space(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.cfg.output {
            OutputActivation::Identity => x.clone(),
            OutputActivation::Tanh => x.affine(2.0, -1.0)?,
        })
    }

    /// Maps network-space items back to data space (`(y + 1) / 2` under a tanh output).
    pub fn to_data_space(&self, y: &Tensor) -> Result<Tensor> {
        Ok(match self.cfg.output {
            OutputActivation::Identity => y.clone(),
            OutputActivation::Tanh => y.affine(0.5, 0.5)?,
        })
    }
}

impl Generator for GanGenerator {
    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn output_shape(&self) -> Vec<usize> {
        self.cfg.data_shape.clone()
    }

    /// Data-space samples (pixels in `[0, 1]`, every channel), batch norm in inference mode.
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let y = self.forward_t(z, false).map_err(crate::error::to_core)?;
        self.to_data_space(&y).map_err(crate::error::to_core)
    }
}
