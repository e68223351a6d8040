//! The VAE networks (Kingma and Welling, 2014): an encoder giving the diagonal Gaussian
//! q(z|x) = N(mu(x), diag exp(logvar(x))) and a decoder giving the parameters of p(x|z)
//! (Bernoulli logits or Gaussian means). The decoder is a [`gm_core::Generator`] whose
//! `generate` returns probabilities sigmoid(logits) (or the means), shaped like the data.
//!
//! The convolutional body follows the images: stride-2 4x4 convolutions `conv0, conv1, ...`
//! halve the side down to 4x4 (7x7 for 28x28 digits), the decoder's transposed convolutions
//! `deconv0, deconv1, ...` double it back, as in DCGAN (Radford et al. 2016).

use candle_core::{Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use gm_core::nn::conv::{conv2d, conv_transpose2d, Conv2d, ConvConfig, ConvTranspose2d};
use gm_core::nn::{Mlp, MlpInit};
use gm_core::{GmRng, ParamStore};

use crate::config::{Activation, Architecture, ConvLayout, Likelihood, VaeConfig};
use crate::{Error, Result};

fn activate(a: Activation, x: &Tensor) -> Result<Tensor> {
    Ok(a.dense().apply_tensor(x)?)
}

/// The hidden layers `fc0, fc1, ...` through `dims`, each followed by the activation;
/// `None` without hidden layers.
fn hidden_stack(dims: &[usize], a: Activation, vb: &VarBuilder) -> Result<Option<Mlp>> {
    if dims.len() < 2 {
        return Ok(None);
    }
    let m = Mlp::new(dims, a.dense(), MlpInit::Default, vb.clone(), "fc")?;
    Ok(Some(m.with_activated_output()))
}

fn run_mlp(hidden: &Option<Mlp>, h: Tensor) -> Result<Tensor> {
    Ok(match hidden {
        Some(m) => m.forward(&h)?,
        None => h,
    })
}

fn conv_cfg() -> ConvConfig {
    ConvConfig {
        stride: 2,
        padding: 1,
        output_padding: 0,
    }
}

/// The convolutional geometry of a validated config: image channels and side, the layout,
/// and the size of the flattened features between the convolutions and the MLP.
#[derive(Debug, Clone, Copy)]
struct ConvBody {
    base: usize,
    channels: usize,
    side: usize,
    layout: ConvLayout,
}

impl ConvBody {
    fn of(cfg: &VaeConfig) -> Result<Option<Self>> {
        let Architecture::Conv { channels: base } = cfg.architecture else {
            return Ok(None);
        };
        let shape = &cfg.data_shape;
        let layout = match shape.as_slice() {
            [_, s, _] => ConvLayout::of(*s),
            _ => None,
        };
        match layout {
            Some(layout) => Ok(Some(Self {
                base,
                channels: shape[0],
                side: shape[1],
                layout,
            })),
            None => Err(Error::config(
                "data_shape",
                format!("{shape:?}"),
                "the convolutional body needs (c, s, s) images",
            )),
        }
    }

    fn width(&self, level: usize) -> usize {
        ConvLayout::width(self.base, level)
    }

    /// Feature maps at the coarsest resolution.
    fn deepest(&self) -> usize {
        self.width(self.layout.steps - 1)
    }

    /// Values between the convolutions and the MLP.
    fn flat(&self) -> usize {
        self.deepest() * self.layout.end * self.layout.end
    }
}

/// q(z|x): the body, then two linear heads for mu and logvar.
#[derive(Debug, Clone)]
pub struct Encoder {
    activation: Activation,
    body: Option<ConvBody>,
    convs: Vec<Conv2d>,
    hidden: Option<Mlp>,
    mu: Linear,
    logvar: Linear,
}

impl Encoder {
    /// Builds the encoder of `cfg` (validated) under `vb`.
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = ConvBody::of(cfg)?;
        let (convs, flat) = match body {
            None => (Vec::new(), cfg.data_dim()),
            Some(b) => {
                let convs = (0..b.layout.steps)
                    .map(|i| {
                        let c_in = if i == 0 { b.channels } else { b.width(i - 1) };
                        let vb = vb.pp(format!("conv{i}"));
                        Ok(conv2d(c_in, b.width(i), 4, conv_cfg(), vb)?)
                    })
                    .collect::<Result<Vec<_>>>()?;
                (convs, b.flat())
            }
        };
        let mut dims = vec![flat];
        dims.extend(&cfg.encoder_hidden);
        let last = *dims.last().unwrap_or(&flat);
        Ok(Self {
            activation: cfg.activation,
            body,
            convs,
            hidden: hidden_stack(&dims, cfg.activation, &vb)?,
            mu: linear(last, cfg.latent_dim, vb.pp("mu"))?,
            logvar: linear(last, cfg.latent_dim, vb.pp("logvar"))?,
        })
    }

    /// (mu, logvar), each `(n, latent_dim)`, of flat inputs `(n, D)`.
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut h = x.clone();
        if let Some(b) = &self.body {
            let n = x.dim(0)?;
            h = h.reshape((n, b.channels, b.side, b.side))?;
            for c in &self.convs {
                h = activate(self.activation, &c.forward(&h)?)?;
            }
            h = h.flatten_from(1)?;
        }
        let h = run_mlp(&self.hidden, h)?;
        Ok((self.mu.forward(&h)?, self.logvar.forward(&h)?))
    }
}

/// A linear layer's weight and bias.
fn linear_params(l: &Linear) -> Result<[Tensor; 2]> {
    let b = l
        .bias()
        .ok_or_else(|| Error::config("linear", "no bias", "bias expected"))?;
    Ok([l.weight().clone(), b.clone()])
}

/// An MLP encoder's hidden parameters `[w0, b0, ...]`, then mu's and logvar's `[w, b]`.
pub(crate) type DenseEncoder = (Vec<Tensor>, [Tensor; 2], [Tensor; 2]);

impl Encoder {
    /// An MLP encoder's hidden parameters `[w0, b0, ...]` and its two heads (mu, logvar),
    /// each `[w, b]`; `None` for the convolutional body.
    pub(crate) fn dense_parts(&self) -> Result<Option<DenseEncoder>> {
        if self.body.is_some() {
            return Ok(None);
        }
        let hidden = self
            .hidden
            .as_ref()
            .map_or(Vec::new(), |m| m.params().to_vec());
        Ok(Some((
            hidden,
            linear_params(&self.mu)?,
            linear_params(&self.logvar)?,
        )))
    }
}

/// p(x|z): the body, then a linear (or transposed-convolution) output of logits or means.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: VaeConfig,
    body: Option<ConvBody>,
    hidden: Option<Mlp>,
    out: Linear,
    deconvs: Vec<ConvTranspose2d>,
}

impl Decoder {
    /// Builds the decoder of `cfg` (validated) under `vb`.
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = ConvBody::of(cfg)?;
        let mut dims = vec![cfg.latent_dim];
        dims.extend(&cfg.decoder_hidden);
        let last = *dims.last().unwrap_or(&cfg.latent_dim);
        let deconvs = match body {
            None => Vec::new(),
            Some(b) => {
                let steps = b.layout.steps;
                (0..steps)
                    .map(|j| {
                        // deconv j undoes conv (steps - 1 - j).
                        let level = steps - 1 - j;
                        let c_out = if level == 0 {
                            b.channels
                        } else {
                            b.width(level - 1)
                        };
                        let vb = vb.pp(format!("deconv{j}"));
                        Ok(conv_transpose2d(b.width(level), c_out, 4, conv_cfg(), vb)?)
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        // Created after the transposed convolutions, as they always were: the seeded initial
        // weights of the 28x28 layout stay the same.
        let hidden = hidden_stack(&dims, cfg.activation, &vb)?;
        let per_value = cfg.likelihood.outputs_per_value();
        let out_dim = body.map_or(cfg.data_dim() * per_value, |b| b.flat());
        let out = linear(last, out_dim, vb.pp("out"))?;
        Ok(Self {
            cfg: cfg.clone(),
            body,
            hidden,
            out,
            deconvs,
        })
    }

    /// Decoder outputs (logits for Bernoulli, means for Gaussian; means then raw scales for
    /// the learned variance, `(n, 2 D)`), flat `(n, D)`.
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        let h = run_mlp(&self.hidden, z.clone())?;
        let mut y = self.out.forward(&h)?;
        if let Some(b) = &self.body {
            let n = z.dim(0)?;
            let end = b.layout.end;
            y = activate(self.cfg.activation, &y)?.reshape((n, b.deepest(), end, end))?;
            let last = self.deconvs.len().saturating_sub(1);
            for (j, d) in self.deconvs.iter().enumerate() {
                y = d.forward(&y)?;
                // The last transposed convolution gives the logits or means: no activation.
                if j < last {
                    y = activate(self.cfg.activation, &y)?;
                }
            }
            y = y.flatten_from(1)?;
        }
        Ok(y)
    }

    /// Mean of p(x|z): sigmoid(logits) or the Gaussian mean, flat `(n, D)`.
    pub fn mean(&self, z: &Tensor) -> Result<Tensor> {
        let y = self.decode(z)?;
        Ok(match self.cfg.likelihood {
            Likelihood::Bernoulli => candle_nn::ops::sigmoid(&y)?,
            Likelihood::Gaussian { .. } => y,
            Likelihood::GaussianLearned { .. } => y.narrow(1, 0, self.cfg.data_dim())?,
        })
    }

    /// The standard deviations of p(x|z), flat `(n, D)`: the fixed `std` or the learned one;
    /// `None` for Bernoulli pixels.
    pub fn std(&self, z: &Tensor) -> Result<Option<Tensor>> {
        Ok(match self.cfg.likelihood {
            Likelihood::Bernoulli => None,
            Likelihood::Gaussian { std } => Some(
                Tensor::ones((z.dim(0)?, self.cfg.data_dim()), z.dtype(), z.device())?
                    .affine(std, 0.0)?,
            ),
            Likelihood::GaussianLearned { min_std } => {
                let d = self.cfg.data_dim();
                let raw = self.decode(z)?.narrow(1, d, d)?;
                Some((crate::bound::softplus(&raw)? + min_std)?)
            }
        })
    }

    /// The configuration the decoder was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.cfg
    }

    /// An MLP decoder's parameters `[w0, b0, ..., w_out, b_out]`; `None` for the
    /// convolutional body.
    pub(crate) fn dense_parts(&self) -> Result<Option<Vec<Tensor>>> {
        if self.body.is_some() {
            return Ok(None);
        }
        let mut p = self
            .hidden
            .as_ref()
            .map_or(Vec::new(), |m| m.params().to_vec());
        p.extend(linear_params(&self.out)?);
        Ok(Some(p))
    }
}

impl gm_core::Generator for Decoder {
    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn output_shape(&self) -> Vec<usize> {
        self.cfg.data_shape.clone()
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let m = self
            .mean(z)
            .map_err(|e| gm_core::Error::Msg(format!("vae decoder: {e}")))?;
        let mut shape = vec![z.dim(0)?];
        shape.extend(&self.cfg.data_shape);
        Ok(m.reshape(shape)?)
    }

    /// An MLP decoder on the CPU in f32 with Bernoulli pixels (sigmoid of the logits) or a
    /// fixed-variance Gaussian (the means themselves).
    fn dense_form(&self) -> gm_core::Result<Option<gm_core::DenseForm>> {
        use gm_core::nn::{DenseActivation, DenseStack};
        let output = match self.cfg.likelihood {
            Likelihood::Bernoulli => DenseActivation::Sigmoid,
            Likelihood::Gaussian { .. } => DenseActivation::Identity,
            Likelihood::GaussianLearned { .. } => return Ok(None),
        };
        let parts = self
            .dense_parts()
            .map_err(|e| gm_core::Error::Msg(format!("vae decoder: {e}")))?;
        let Some(parts) = parts else {
            return Ok(None);
        };
        if parts
            .iter()
            .any(|p| !p.device().is_cpu() || p.dtype() != candle_core::DType::F32)
        {
            return Ok(None);
        }
        let mut widths = vec![self.cfg.latent_dim];
        widths.extend(&self.cfg.decoder_hidden);
        widths.push(self.cfg.data_dim());
        let stack = DenseStack::new(&widths, self.cfg.activation.dense(), output)?;
        let params = parts
            .iter()
            .map(|p| p.flatten_all()?.to_vec1::<f32>())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Some(gm_core::DenseForm { stack, params }))
    }
}

/// A VAE: encoder under `encoder.*`, decoder under `decoder.*`.
#[derive(Debug, Clone)]
pub struct Vae {
    cfg: VaeConfig,
    encoder: Encoder,
    decoder: Decoder,
}

impl Vae {
    /// Builds the VAE of `cfg` (validated) under `vb`: the encoder under `encoder.*`, the
    /// decoder under `decoder.*`.
    pub fn new(cfg: VaeConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            encoder: Encoder::new(&cfg, vb.pp("encoder"))?,
            decoder: Decoder::new(&cfg, vb.pp("decoder"))?,
            cfg,
        })
    }

    /// A fresh VAE whose weights are drawn into `store` (seeded).
    pub fn init(cfg: VaeConfig, store: &ParamStore, device: &Device) -> Result<Self> {
        Self::new(cfg, store.var_builder(device))
    }

    /// The configuration the VAE was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.cfg
    }
    /// The encoder q(z|x).
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }
    /// The decoder p(x|z).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.encoder.mu.weight().device().clone()
    }

    /// Reshapes a batch `(n, ...)` to `(n, D)`, refusing a wrong item size.
    pub fn flatten_input(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let item: usize = dims.iter().skip(1).product();
        if dims.is_empty() || item != self.cfg.data_dim() {
            let mut expected = vec![dims.first().copied().unwrap_or(0)];
            expected.extend(&self.cfg.data_shape);
            return Err(Error::Shape {
                what: "VAE input",
                got: dims.to_vec(),
                expected,
            });
        }
        Ok(x.reshape((dims[0], item))?)
    }

    /// Mean reconstructions E p(x | z = mu(x)), shaped like `x`.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        let (mu, _) = self.encoder.encode(&self.flatten_input(x)?)?;
        Ok(self.decoder.mean(&mu)?.reshape(x.shape())?)
    }

    /// `n` samples x ~ E p(x|z), z ~ N(0, I), shaped `(n, data_shape...)`.
    pub fn sample(&self, n: usize, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        Ok(gm_core::Generator::sample(&self.decoder, n, rng, device)?)
    }
}

/// A VAE rebuilt from its saved parts (a run's `model.safetensors` or an exported folder):
/// the model plus the named weights it was built from, so that it can be saved again.
/// Its [`gm_core::model::SavedModel::MODEL`] is `vae`, the name the trainer stores.
#[derive(Debug, Clone)]
pub struct LoadedVae {
    /// The rebuilt model.
    pub vae: Vae,
    tensors: std::collections::BTreeMap<String, Tensor>,
}

impl LoadedVae {
    /// Wraps a VAE and the weights it was built from (e.g. `ParamStore::tensors()`).
    pub fn new(vae: Vae, tensors: std::collections::BTreeMap<String, Tensor>) -> Self {
        Self { vae, tensors }
    }
}

impl gm_core::model::SavedModel for LoadedVae {
    const MODEL: &'static str = "vae";

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.vae.cfg).unwrap_or_default()
    }

    fn weights(&self) -> std::collections::BTreeMap<String, Tensor> {
        self.tensors.clone()
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: std::collections::BTreeMap<String, Tensor>,
        device: &Device,
    ) -> gm_core::Result<Self> {
        let cfg: VaeConfig = gm_core::model::parse_config(config, "VAE")?;
        let vb = gm_core::model::var_builder_from(tensors.clone(), device);
        let vae = Vae::new(cfg, vb).map_err(gm_core::Error::model)?;
        Ok(Self { vae, tensors })
    }
}

/// Dynamic binarization: each pixel in [0, 1] becomes 1 with probability equal to its value,
/// drawn from `rng`.
pub fn binarize(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let u = rng.uniform(x.shape(), 0.0, 1.0, x.device())?;
    Ok(u.lt(x)?.to_dtype(x.dtype())?)
}

#[cfg(test)]
mod tests;
