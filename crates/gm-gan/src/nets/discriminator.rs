//! [`Discriminator`]: an MLP or DCGAN critic, functional for MLPs, with optional spectral
//! normalization.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use gm_core::ToHostF64;

use super::dcgan::DcganDisc;
use super::{Architecture, GanConfig};
use crate::{Error, Result};
use gm_core::nn::{DenseActivation, Mlp};

#[derive(Debug, Clone)]
enum DiscBody {
    Mlp(Mlp),
    Dcgan(Box<DcganDisc>),
}

/// A discriminator (or critic): network-space items to one raw score per item, `(n, 1)`.
#[derive(Debug, Clone)]
pub struct Discriminator {
    body: DiscBody,
    /// One power-iteration vector per layer when spectral normalization is on.
    spectral: Vec<candle_core::Var>,
}

impl Discriminator {
    /// Builds the discriminator of `cfg` from `vb`.
    pub fn new(cfg: &GanConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = match &cfg.discriminator {
            Architecture::Mlp { hidden, activation } => {
                let mut w = vec![cfg.data_dim()];
                w.extend_from_slice(hidden);
                w.push(1);
                DiscBody::Mlp(Mlp::new(&w, activation.dense(), cfg.mlp_init, vb, "fc")?)
            }
            Architecture::Dcgan { channels } => {
                DiscBody::Dcgan(Box::new(DcganDisc::new(&cfg.data_shape, *channels, vb)?))
            }
        };
        Ok(Self {
            body,
            spectral: Vec::new(),
        })
    }

    /// The layers' store names and weights (MLP: `fc{i}`, DCGAN: `c{i}`).
    fn layer_weights(&self) -> Vec<(String, Tensor)> {
        match &self.body {
            DiscBody::Mlp(m) => m
                .params()
                .iter()
                .step_by(2)
                .enumerate()
                .map(|(i, w)| (format!("fc{i}"), w.clone()))
                .collect(),
            DiscBody::Dcgan(d) => d.layer_weights(),
        }
    }

    /// Turns on spectral normalization ([`crate::spectral`]): one vector `u` per layer,
    /// `<layer>.running_sn_u` in the store behind `vb` (the one the discriminator was built
    /// from), drawn from its seeded generator and normalized. Every forward pass then uses
    /// `W / sigma(W)`; [`Discriminator::power_iteration`] refines `sigma`.
    pub fn enable_spectral_norm(&mut self, vb: VarBuilder) -> Result<()> {
        if !self.spectral.is_empty() {
            return Ok(());
        }
        let normal = candle_nn::init::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        for (name, w) in self.layer_weights() {
            let u = vb
                .pp(&name)
                .get_with_hints(w.dim(0)?, crate::spectral::SN_U, normal)?;
            let u = candle_core::Var::from_tensor(&u)?;
            let norm = u.as_tensor().sqr()?.sum_all()?.sqrt()?;
            u.set(&u.as_tensor().broadcast_div(&norm)?)?;
            self.spectral.push(u);
        }
        Ok(())
    }

    /// A DCGAN critic's layers, from the image to the logit.
    pub(crate) fn dcgan_layers(&self) -> Option<Vec<super::HostLayer>> {
        match &self.body {
            DiscBody::Dcgan(d) => Some(d.host_layers()),
            DiscBody::Mlp(_) => None,
        }
    }

    /// An MLP critic's parameters `[w0, b0, ...]` and hidden activation.
    pub(crate) fn mlp_parts(&self) -> Option<(&[Tensor], DenseActivation)> {
        match &self.body {
            DiscBody::Mlp(m) => Some((m.params(), m.activation())),
            DiscBody::Dcgan(_) => None,
        }
    }

    /// Whether spectral normalization is on.
    pub fn has_spectral_norm(&self) -> bool {
        !self.spectral.is_empty()
    }

    /// One power iteration per layer (spectral normalization only; a no-op otherwise).
    pub fn power_iteration(&self) -> Result<()> {
        for ((_, w), u) in self.layer_weights().iter().zip(&self.spectral) {
            crate::spectral::iterate(w, u)?;
        }
        Ok(())
    }

    /// The current estimates `sigma` of each layer's largest singular value (spectral
    /// normalization only).
    pub fn spectral_sigmas(&self) -> Result<Vec<f64>> {
        self.layer_weights()
            .iter()
            .zip(&self.spectral)
            .map(|((_, w), u)| {
                let s = crate::spectral::sigma(w, u.as_tensor())?;
                Ok(s.to_host_f64()?.to_scalar::<f64>()?)
            })
            .collect()
    }

    /// The layers' weights divided by their `sigma`, differentiable in the weights.
    fn normalized_weights(&self) -> Result<Vec<Tensor>> {
        self.layer_weights()
            .iter()
            .zip(&self.spectral)
            .map(|((_, w), u)| crate::spectral::spectral_normalize(w, u.as_tensor()))
            .collect()
    }

    /// Raw scores `(n, 1)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.features_and_output(x)?.1)
    }

    /// The last hidden layer, flattened `(n, f)`, and the raw scores `(n, 1)`.
    pub fn features_and_output(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.has_spectral_norm() {
            let w = self.normalized_weights()?;
            return Ok(match &self.body {
                DiscBody::Mlp(m) => {
                    let p: Vec<Tensor> = m
                        .params()
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            if i % 2 == 0 {
                                w[i / 2].clone()
                            } else {
                                t.clone()
                            }
                        })
                        .collect();
                    m.forward_with(&p, &x.flatten_from(1)?)?
                }
                DiscBody::Dcgan(d) => d.forward(x, Some(&w))?,
            });
        }
        Ok(match &self.body {
            DiscBody::Mlp(m) => m.forward_with(m.params(), &x.flatten_from(1)?)?,
            DiscBody::Dcgan(d) => d.forward(x, None)?,
        })
    }

    /// Whether [`Discriminator::forward_with`] is available (MLP discriminators).
    pub fn is_functional(&self) -> bool {
        matches!(self.body, DiscBody::Mlp(_))
    }

    /// The parameters in the order [`Discriminator::forward_with`] takes them (MLP only:
    /// `[w0, b0, w1, b1, ...]`); these are the store's variables themselves.
    pub fn params(&self) -> Result<Vec<Tensor>> {
        Ok(self.functional()?.params().to_vec())
    }

    /// The MLP body, for functional evaluation; a DCGAN critic has none.
    fn functional(&self) -> Result<&Mlp> {
        match &self.body {
            DiscBody::Mlp(m) => Ok(m),
            DiscBody::Dcgan(_) => Err(Error::config(
                "discriminator",
                "dcgan",
                "functional evaluation (unrolling) needs an MLP discriminator",
            )),
        }
    }

    /// The MLP body, checking that `params` has one tensor per stored parameter.
    fn functional_with(&self, params: &[Tensor]) -> Result<&Mlp> {
        let m = self.functional()?;
        if params.len() != m.params().len() {
            return Err(Error::Shape {
                what: "discriminator parameter list",
                got: vec![params.len()],
                expected: vec![m.params().len()],
            });
        }
        Ok(m)
    }

    /// The store's names of [`Discriminator::params`], in the same order (MLP only).
    pub fn param_names(&self) -> Result<Vec<String>> {
        let n = self.params()?.len() / 2;
        Ok((0..n)
            .flat_map(|i| [format!("fc{i}.weight"), format!("fc{i}.bias")])
            .collect())
    }

    /// The gradient, with respect to `params` (in place of the stored weights, MLP only), of
    /// a loss of the raw scores on `x`; `dscore` maps the scores `(n, 1)` to the loss's
    /// gradient with respect to them. The result is a differentiable function of `params`
    /// and `x`, built without a `backward` pass: what the unrolled look-ahead needs.
    pub fn param_gradient_with(
        &self,
        params: &[Tensor],
        x: &Tensor,
        dscore: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        self.functional_with(params)?
            .param_gradient(params, &x.flatten_from(1)?, dscore)
    }

    /// Raw scores with `params` in place of the stored weights (MLP only).
    pub fn forward_with(&self, params: &[Tensor], x: &Tensor) -> Result<Tensor> {
        Ok(self
            .functional_with(params)?
            .forward_with(params, &x.flatten_from(1)?)?
            .1)
    }
}
