//! [`VaeTrainer`]: one Adam step on the negative ELBO (Kingma and Welling, 2014) or the
//! negative importance-weighted bound L_k (Burda et al., 2016) of a dynamically binarized
//! batch, for gm-core's `fit` loop. Metrics are batch means of per-image sums (nats per
//! image) and bits per dimension.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::{Batch, Dataset};
use gm_core::{Adam, AdamConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use crate::bound::{bits_per_dim, elbo_terms, iwae_bound, KlEstimator};
use crate::config::{Likelihood, VaeConfig};
use crate::fused::FusedVae;
use crate::model::{binarize, Vae};
use crate::{Error, Result};

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// The one-sample reparameterized ELBO.
    Elbo {
        /// How the KL term is computed: analytically or by Monte Carlo.
        kl: KlEstimator,
    },
    /// The importance-weighted bound with `k` samples.
    Iwae {
        /// Importance samples per data point, at least 1 (`k = 1` is the ELBO).
        k: usize,
    },
}

/// Hyperparameters of a VAE run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeTrainConfig {
    /// The VAE architecture and likelihood.
    pub model: VaeConfig,
    /// The Adam optimiser's settings.
    pub adam: AdamConfig,
    /// The bound maximised at each step.
    pub objective: Objective,
    /// Dynamic binarization of each batch (Bernoulli likelihood only).
    pub binarize: bool,
    /// Number of test images evaluated (one-sample ELBO) at the end of each epoch; 0: none.
    pub eval_images: usize,
}

impl Default for VaeTrainConfig {
    fn default() -> Self {
        Self {
            model: VaeConfig::default(),
            adam: AdamConfig::default(),
            objective: Objective::Elbo {
                kl: KlEstimator::Analytic,
            },
            binarize: true,
            eval_images: 500,
        }
    }
}

impl VaeTrainConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.adam.validate()?;
        if let Objective::Iwae { k: 0 } = self.objective {
            return Err(Error::config("objective.k", 0, "needs at least one sample"));
        }
        if self.binarize && self.model.likelihood != Likelihood::Bernoulli {
            return Err(Error::config(
                "binarize",
                true,
                "binarization only fits the Bernoulli likelihood",
            ));
        }
        Ok(())
    }
}

/// Trains a [`Vae`] with Adam.
///
/// One step on a small random batch of 4x5 grey images, then samples from the model:
///
/// ```
/// use candle_core::Device;
/// use gm_core::GmRng;
/// use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dev = Device::Cpu;
/// let cfg = VaeTrainConfig {
///     model: VaeConfig {
///         data_shape: vec![1, 4, 5],
///         latent_dim: 3,
///         encoder_hidden: vec![16],
///         decoder_hidden: vec![16],
///         ..VaeConfig::pytorch_example()
///     },
///     eval_images: 0,
///     ..Default::default()
/// };
/// let mut trainer = VaeTrainer::new(cfg, 0, None, &dev)?;
/// // Pixels in [0, 1], binarized by the step (the default for Bernoulli pixels).
/// let x = GmRng::new(1).uniform((8, 1, 4, 5), 0.0, 1.0, &dev)?;
/// let metrics = trainer.train_step(&x, &mut GmRng::new(2))?;
/// assert!(metrics.iter().any(|(name, _)| name == "elbo"));
/// assert!(metrics.iter().all(|(_, v)| v.is_finite()));
/// let samples = trainer.vae().sample(2, &mut GmRng::new(3), &dev)?;
/// assert_eq!(samples.dims(), &[2, 1, 4, 5]);
/// # Ok(())
/// # }
/// ```
pub struct VaeTrainer {
    cfg: VaeTrainConfig,
    vae: Vae,
    store: ParamStore,
    opt: Adam,
    test: Option<Tensor>,
    /// The written-out MLP step where the configuration allows it ([`crate::fused`]).
    fused: Option<FusedVae>,
    device: Device,
}

impl VaeTrainer {
    /// A fresh model from `seed`; `test` (if any) is binarized once with `seed` and used for
    /// the end-of-epoch evaluation.
    pub fn new(
        cfg: VaeTrainConfig,
        seed: u64,
        test: Option<&Dataset>,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let store = ParamStore::new(seed);
        let vae = Vae::init(cfg.model.clone(), &store, device)?;
        let opt = Adam::new(&store, cfg.adam)?;
        let test = match test {
            Some(d) if cfg.eval_images > 0 => {
                let x = d.head(cfg.eval_images.min(d.len()), device)?.x;
                Some(if cfg.binarize {
                    binarize(&x, &mut GmRng::derive(seed, 1))?
                } else {
                    x
                })
            }
            _ => None,
        };
        let fused = FusedVae::new(&vae, cfg.objective, device)?;
        Ok(Self {
            cfg,
            vae,
            store,
            opt,
            test,
            fused,
            device: device.clone(),
        })
    }

    /// The VAE being trained.
    pub fn vae(&self) -> &Vae {
        &self.vae
    }
    /// The VAE's parameters, which the optimiser updates.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }
    /// The configuration of the run.
    pub fn config(&self) -> &VaeTrainConfig {
        &self.cfg
    }

    /// Whether the updates take the written-out MLP step ([`VaeTrainer::set_fused`]).
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }

    /// Turns the written-out step on (where allowed: an MLP VAE with Bernoulli pixels and
    /// the analytic KL, on the CPU in f32) or off (candle's autograd, the general path). On
    /// by default where allowed.
    pub fn set_fused(&mut self, on: bool) -> Result<()> {
        self.fused = if on {
            FusedVae::new(&self.vae, self.cfg.objective, &self.device)?
        } else {
            None
        };
        Ok(())
    }

    /// One Adam step on the batch `x` `(n, data_shape...)` (binarized first when
    /// configured), all randomness from `rng`. Returns batch means: `elbo` and `kl` in nats
    /// per image and the bound's `bits_per_dim`, plus `iwae_bound` (nats per image) for the
    /// IWAE objective, whose `elbo` and `kl` are those of the updated model.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let x = if self.cfg.binarize {
            binarize(x, rng)?
        } else {
            x.clone()
        };
        let dim = self.cfg.model.data_dim();
        let mut m = Vec::new();
        // Only built for the analytic-KL ELBO (see `set_fused`).
        if let Some(f) = &self.fused {
            let g = f.elbo_grads(&self.vae.flatten_input(&x)?, rng)?;
            f.update(&mut self.opt, &g)?;
            m.push(("elbo".to_string(), g.elbo));
            m.push(("bits_per_dim".to_string(), bits_per_dim(g.elbo, dim)));
            m.push(("kl".to_string(), g.kl));
            return Ok(m);
        }
        match self.cfg.objective {
            Objective::Elbo { kl } => {
                let t = elbo_terms(&self.vae, &x, kl, rng)?;
                let loss = t.elbo.mean_all()?.neg()?;
                self.opt.backward_step(&loss)?;
                let (elbo, _, kl) = t.means()?;
                m.push(("elbo".to_string(), elbo));
                m.push(("bits_per_dim".to_string(), bits_per_dim(elbo, dim)));
                m.push(("kl".to_string(), kl));
            }
            Objective::Iwae { k } => {
                let b = iwae_bound(&self.vae, &x, k, rng)?.mean_all()?;
                self.opt.backward_step(&b.neg()?)?;
                let b = b.to_scalar::<f32>()? as f64;
                m.push(("iwae_bound".to_string(), b));
                m.push(("bits_per_dim".to_string(), bits_per_dim(b, dim)));
                // The ELBO and KL of the updated model on the same batch, for comparison.
                let t = elbo_terms(&self.vae, &x, KlEstimator::Analytic, rng)?;
                let (elbo, _, kl) = t.means()?;
                m.push(("elbo".to_string(), elbo));
                m.push(("kl".to_string(), kl));
            }
        }
        Ok(m)
    }
}

impl Trainer for VaeTrainer {
    fn model_name(&self) -> String {
        "vae".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg.model).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng)
            .map_err(gm_core::Error::model)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        TrainState::single_network(&self.store, &self.opt)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        state.load_single_network(&self.store, &mut self.opt)
    }

    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(self.store.tensors())
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        // Vectors have no picture.
        if self.vae.config().data_shape.len() != 3 {
            return Ok(None);
        }
        let s = self
            .vae
            .sample(64, rng, &self.device)
            .map_err(gm_core::Error::model)?;
        Ok(Some((s, false)))
    }

    fn evaluate(&mut self) -> gm_core::Result<Metrics> {
        let Some(x) = &self.test else {
            return Ok(Vec::new());
        };
        let eval = || -> Result<Metrics> {
            let t = elbo_terms(&self.vae, x, KlEstimator::Analytic, &mut GmRng::new(0))?;
            let (elbo, _, kl) = t.means()?;
            Ok(vec![
                ("test_elbo".into(), elbo),
                (
                    "test_bits_per_dim".into(),
                    bits_per_dim(elbo, self.cfg.model.data_dim()),
                ),
                ("test_kl".into(), kl),
            ])
        };
        eval().map_err(gm_core::Error::model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iwae_k_cannot_be_zero() {
        let c = VaeTrainConfig {
            objective: Objective::Iwae { k: 0 },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "objective.k",
                ..
            })
        ));
    }

    #[test]
    fn binarize_needs_bernoulli() {
        let mut c = VaeTrainConfig::default();
        c.model.likelihood = Likelihood::Gaussian { std: 0.1 };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "binarize",
                ..
            })
        ));
        c.binarize = false;
        c.validate().unwrap();
    }

    #[test]
    fn bad_adam_is_refused() {
        let mut c = VaeTrainConfig::default();
        c.adam.lr = -1.0;
        assert!(matches!(c.validate(), Err(Error::Core(_))));
    }
}
