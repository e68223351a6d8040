//! MADE, the masked autoencoder for distribution estimation (Germain, Gregor, Murray and
//! Larochelle, 2015): a fully connected network whose weight matrices are multiplied by the
//! 0/1 masks of a [`MaskSet`], so that output d is the logit of p(x_d = 1 | x_<d) in the
//! mask's ordering and
//!
//! log p(x) = sum_d log Bernoulli(x_d; sigmoid(l_d(x_<d)))
//!
//! is exact. With a pool of K connectivities (orderings and hidden degrees) the model is
//! their uniform mixture, log p(x) = log (1/K) sum_k p_k(x) ([`log_mean_exp`]).
//!
//! Sampling is sequential inverse-CDF sampling: D forward passes, one per variable in the
//! ordering, x_d = 1 if u_d < p(x_d = 1 | x_<d) for uniforms u_d.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use gm_core::{GmRng, ParamStore};

use super::config::MadeConfig;
use super::masks::{mask_pool, MaskSet};
use crate::likelihood::{bernoulli_log_likelihood, log_mean_exp, ExactLikelihood};
use crate::{Error, Result};

/// A linear layer y = x (W * M)^T + b whose 0/1 mask M (same shape as W) is given per call.
/// Parameter names are candle-nn's (`weight`, `bias`).
#[derive(Debug, Clone)]
pub struct MaskedLinear {
    weight: Tensor,
    bias: Tensor,
}

/// A [`MaskedLinear`] from `in_dim` to `out_dim`, initialised as `candle_nn::linear`.
pub fn masked_linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<MaskedLinear> {
    let l = candle_nn::linear(in_dim, out_dim, vb)?;
    let bias = l
        .bias()
        .cloned()
        .ok_or_else(|| candle_core::Error::Msg("candle_nn::linear without bias".into()))?;
    Ok(MaskedLinear {
        weight: l.weight().clone(),
        bias,
    })
}

impl MaskedLinear {
    /// `x (n, in)` -> `(n, out)` through the weights masked by `mask (out, in)`.
    pub fn forward_masked(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let w = (&self.weight * mask)?;
        Ok(x.matmul(&w.t()?)?.broadcast_add(&self.bias)?)
    }

    /// Output `row` alone: `x (n, in)` -> `(n, 1)`.
    fn forward_row(&self, x: &Tensor, mask: &Tensor, row: usize) -> Result<Tensor> {
        let w = (self.weight.narrow(0, row, 1)? * mask.narrow(0, row, 1)?)?;
        Ok(x.matmul(&w.t()?)?
            .broadcast_add(&self.bias.narrow(0, row, 1)?)?)
    }

    /// The unmasked weight matrix, `(out, in)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(out,)`.
    pub fn bias(&self) -> &Tensor {
        &self.bias
    }
}

/// A MADE with its pool of connectivities. Tensors are named `layers.{i}.weight` and
/// `layers.{i}.bias`, i = 0 for the first hidden layer and L for the output layer.
pub struct Made {
    cfg: MadeConfig,
    layers: Vec<MaskedLinear>,
    masks: Vec<MaskSet>,
    /// The mask tensors of the connectivity used last (training draws one per batch).
    cache: Mutex<Option<(usize, Arc<Vec<Tensor>>)>>,
    device: Device,
}

impl std::fmt::Debug for Made {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Made")
            .field("cfg", &self.cfg)
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl Clone for Made {
    fn clone(&self) -> Self {
        Self {
            cfg: self.cfg.clone(),
            layers: self.layers.clone(),
            masks: self.masks.clone(),
            cache: Mutex::new(None),
            device: self.device.clone(),
        }
    }
}

impl MadeConfig {
    /// A fresh MADE whose weights are drawn into `store` (seeded).
    pub fn init(&self, store: &ParamStore, device: &Device) -> Result<Made> {
        Made::new(self.clone(), store.var_builder(device))
    }
}

impl Made {
    /// A MADE with the config's mask pool ([`mask_pool`] of `mask_seed`), weights from `vb`.
    pub fn new(cfg: MadeConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let masks = mask_pool(
            cfg.data_dim(),
            &cfg.hidden,
            cfg.num_masks,
            cfg.order_agnostic,
            cfg.mask_seed,
        );
        Self::with_masks(cfg, masks, vb)
    }

    /// A MADE with explicit connectivities (`num_masks` of them, for D inputs and the
    /// config's hidden sizes). Such a model cannot be saved unless the masks are the config's
    /// own pool, since a saved model keeps only its config.
    pub fn with_masks(cfg: MadeConfig, masks: Vec<MaskSet>, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.data_dim();
        if masks.len() != cfg.num_masks {
            return Err(Error::config(
                "num_masks",
                cfg.num_masks,
                "differs from the number of masks given",
            ));
        }
        for m in &masks {
            let sizes: Vec<usize> = m.hidden_degrees().iter().map(Vec::len).collect();
            if m.dim() != d || sizes != cfg.hidden {
                let mut got = vec![m.dim()];
                got.extend(sizes);
                let mut expected = vec![d];
                expected.extend(&cfg.hidden);
                return Err(Error::Shape {
                    what: "MADE mask (inputs, hidden sizes)",
                    got,
                    expected,
                });
            }
        }
        let mut sizes = vec![d];
        sizes.extend(&cfg.hidden);
        sizes.push(d);
        let vb = vb.pp("layers");
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| masked_linear(w[0], w[1], vb.pp(i.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let device = vb.device().clone();
        Ok(Self {
            cfg,
            layers,
            masks,
            cache: Mutex::new(None),
            device,
        })
    }

    /// The architecture this model was built with.
    pub fn config(&self) -> &MadeConfig {
        &self.cfg
    }

    /// The pool of connectivities.
    pub fn masks(&self) -> &[MaskSet] {
        &self.masks
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The weights by name (`layers.{i}.weight`, `layers.{i}.bias`).
    pub fn weights(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.insert(format!("layers.{i}.weight"), l.weight.clone());
            out.insert(format!("layers.{i}.bias"), l.bias.clone());
        }
        out
    }

    /// The mask tensors of connectivity `k`, one per layer.
    fn mask_tensors(&self, k: usize) -> Result<Arc<Vec<Tensor>>> {
        let set = self.masks.get(k).ok_or(Error::NoSuchMask {
            index: k,
            pool: self.masks.len(),
        })?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((i, t)) = cache.as_ref() {
            if *i == k {
                return Ok(t.clone());
            }
        }
        let t = set
            .layer_masks()
            .into_iter()
            .map(|(m, shape)| Tensor::from_vec(m, shape, &self.device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let t = Arc::new(t);
        *cache = Some((k, t.clone()));
        Ok(t)
    }

    /// Reshapes a batch `(n, ...)` of D values per item to `(n, D)`, refusing other sizes.
    pub fn flatten_input(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let d = self.cfg.data_dim();
        let item: usize = dims.iter().skip(1).product();
        if dims.len() < 2 || item != d {
            let mut expected = vec![dims.first().copied().unwrap_or(0)];
            expected.extend(&self.cfg.data_shape);
            return Err(Error::Shape {
                what: "MADE input",
                got: dims.to_vec(),
                expected,
            });
        }
        Ok(x.reshape((dims[0], d))?)
    }

    /// The hidden activations of `x (n, D)` under connectivity `k` and its mask tensors.
    fn hidden(&self, x: &Tensor, masks: &[Tensor]) -> Result<Tensor> {
        let mut h = x.clone();
        for (layer, m) in self.layers.iter().zip(masks).take(self.layers.len() - 1) {
            h = gm_core::nn::relu(&layer.forward_masked(&h, m)?)?;
        }
        Ok(h)
    }

    /// The logits `(n, D)` of p(x_d = 1 | x_<d) under connectivity `k`, for `x (n, ...)`.
    pub fn logits(&self, x: &Tensor, k: usize) -> Result<Tensor> {
        let x = self.flatten_input(x)?;
        let masks = self.mask_tensors(k)?;
        let h = self.hidden(&x, &masks)?;
        let (last, m) = (&self.layers[self.layers.len() - 1], &masks[masks.len() - 1]);
        last.forward_masked(&h, m)
    }

    /// log p_k(x) in nats `(n,)` under connectivity `k` alone.
    pub fn log_prob_mask(&self, x: &Tensor, k: usize) -> Result<Tensor> {
        let x2 = self.flatten_input(x)?;
        bernoulli_log_likelihood(&x2, &self.logits(&x2, k)?)
    }

    /// log p(x) of the mixture of the first `k` connectivities,
    /// log (1/k) sum_{j<k} p_j(x), `(n,)`.
    pub fn log_prob_ensemble(&self, x: &Tensor, k: usize) -> Result<Tensor> {
        if k == 0 || k > self.masks.len() {
            return Err(Error::NoSuchMask {
                index: k.saturating_sub(1),
                pool: self.masks.len(),
            });
        }
        let per_mask = (0..k)
            .map(|j| self.log_prob_mask(x, j))
            .collect::<Result<Vec<_>>>()?;
        log_mean_exp(&Tensor::stack(&per_mask, 0)?)
    }

    /// Sequential sampling under connectivity `k` for `n` items from uniforms `u` (row-major
    /// `(n, D)`, u[i, d] for variable d): D forward passes in the mask's ordering, each
    /// setting x_d = 1 if u_d < sigmoid(l_d(x_<d)). Returns the items row-major.
    pub fn sample_with_mask(&self, u: &[f32], n: usize, k: usize) -> Result<Vec<f32>> {
        let d = self.cfg.data_dim();
        if u.len() != n * d {
            return Err(Error::Shape {
                what: "MADE sampling uniforms",
                got: vec![u.len()],
                expected: vec![n * d],
            });
        }
        let masks = self.mask_tensors(k)?;
        let order = self.masks[k].ordering();
        let mut x = vec![0f32; n * d];
        let (last, m) = (&self.layers[self.layers.len() - 1], &masks[masks.len() - 1]);
        for &var in &order {
            let xt = Tensor::from_slice(&x, (n, d), &self.device)?;
            let h = self.hidden(&xt, &masks)?;
            let l = last
                .forward_row(&h, m, var)?
                .flatten_all()?
                .to_dtype(DType::F32)?
                .to_vec1::<f32>()?;
            for (i, &li) in l.iter().enumerate() {
                let p = 1.0 / (1.0 + (-(li as f64)).exp());
                x[i * d + var] = if (u[i * d + var] as f64) < p {
                    1.0
                } else {
                    0.0
                };
            }
        }
        Ok(x)
    }

    /// Draws `n` items `(n, data_shape...)` from the model's distribution with `rng`.
    pub fn sample(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        let z = rng.uniform((n, self.latent_size()), 0.0, 1.0, &self.device)?;
        self.generate_from(&z)
    }

    /// The size of z (see the [`gm_core::Generator`] impl).
    fn latent_size(&self) -> usize {
        self.cfg.data_dim() + usize::from(self.cfg.ensemble > 1)
    }

    fn generate_from(&self, z: &Tensor) -> Result<Tensor> {
        let (n, zd) = z.dims2()?;
        if zd != self.latent_size() {
            return Err(Error::Shape {
                what: "MADE latent",
                got: z.dims().to_vec(),
                expected: vec![n, self.latent_size()],
            });
        }
        let d = self.cfg.data_dim();
        let zv = z.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let ens = self.cfg.ensemble;
        // Rows grouped by their mixture component k = floor(v K), v the last coordinate.
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); ens];
        for i in 0..n {
            let k = if ens > 1 {
                ((zv[i * zd + d] as f64 * ens as f64).floor().max(0.0) as usize).min(ens - 1)
            } else {
                0
            };
            groups[k].push(i);
        }
        let mut out = vec![0f32; n * d];
        for (k, rows) in groups.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let u: Vec<f32> = rows
                .iter()
                .flat_map(|&i| zv[i * zd..i * zd + d].iter().copied())
                .collect();
            let x = self.sample_with_mask(&u, rows.len(), k)?;
            for (j, &i) in rows.iter().enumerate() {
                out[i * d..(i + 1) * d].copy_from_slice(&x[j * d..(j + 1) * d]);
            }
        }
        let mut shape = vec![n];
        shape.extend(&self.cfg.data_shape);
        Ok(Tensor::from_vec(out, shape, &self.device)?)
    }
}

impl ExactLikelihood for Made {
    fn data_dim(&self) -> usize {
        self.cfg.data_dim()
    }

    /// log p(x) of the model's distribution: the ensemble of its first `ensemble` masks.
    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        if self.cfg.ensemble == 1 {
            self.log_prob_mask(x, 0)
        } else {
            self.log_prob_ensemble(x, self.cfg.ensemble)
        }
    }
}

/// An autoregressive model has no latent code; its latent is the randomness of sequential
/// inverse-CDF sampling. Here z = (u_1, ..., u_D[, v]) with u, v uniform on [0, 1):
/// variable d (in raster order, whatever the ordering) is 1 if u_d < p(x_d = 1 | x_<d), and
/// when the model is an ensemble of K > 1 masks, v picks the mixture component
/// k = floor(v K). So `latent_dim` is D (D + 1 for an ensemble), `sample_latent` draws
/// uniforms, and `generate(z)` is deterministic given z, with values in {0, 1} (gm's [0, 1]
/// image range). `generate` is a step function of z and so **not differentiable**: it has no
/// gradient for latent-space optimisation (gm-inverse), only for sampling and evaluation.
impl gm_core::Generator for Made {
    fn latent_dim(&self) -> usize {
        self.latent_size()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.cfg.data_shape.clone()
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        self.generate_from(z).map_err(Error::into_core)
    }

    fn sample_latent(&self, n: usize, rng: &mut GmRng, device: &Device) -> gm_core::Result<Tensor> {
        rng.uniform((n, self.latent_size()), 0.0, 1.0, device)
    }
}

impl gm_core::model::SavedModel for Made {
    const MODEL: &'static str = "made";

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn weights(&self) -> BTreeMap<String, Tensor> {
        Made::weights(self)
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> gm_core::Result<Self> {
        let cfg: MadeConfig = gm_core::model::parse_config(config, "MADE")?;
        Made::new(cfg, gm_core::model::var_builder_from(tensors, device)).map_err(Error::into_core)
    }
}
