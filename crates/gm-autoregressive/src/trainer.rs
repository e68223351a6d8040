//! [`ArTrainer`]: one Adam step on the exact negative log-likelihood of a dynamically
//! binarized batch, for gm-core's `fit` loop (progress, `metrics.jsonl`, checkpoints,
//! resume, sample grids). The same trainer fits MADE ([`MadeTrainer`], one connectivity
//! drawn from the pool per mini-batch) and PixelCNN ([`PixelCnnTrainer`]).
//!
//! Metrics are batch means of per-image sums, in nats per image (`nll`) and bits per
//! dimension; the end-of-epoch evaluation is the exact test NLL of the model's distribution
//! (for MADE, the ensemble of its `ensemble` masks).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::{Batch, Dataset};
use gm_core::model::SavedModel;
use gm_core::{Adam, AdamConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::likelihood::{binarize, bits_per_dim, mean_nll, ExactLikelihood};
use crate::{Error, Made, MadeConfig, PixelCnn, PixelCnnConfig, Result};

/// An autoregressive model the [`ArTrainer`] can fit.
pub trait ArModel: ExactLikelihood + gm_core::Generator + SavedModel {
    /// The model's architecture (serde, validated).
    type Config: Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned;

    /// Checks every field of `cfg`.
    fn validate_config(cfg: &Self::Config) -> Result<()>;

    /// A fresh model whose weights are drawn into `store`.
    fn build(cfg: &Self::Config, store: &ParamStore, device: &Device) -> Result<Self>;

    /// The log-likelihood `(n,)` the training step maximises for binary `x`; draws from
    /// `rng` what the objective samples (MADE: the connectivity of this mini-batch).
    fn training_log_prob(&self, x: &Tensor, rng: &mut GmRng) -> Result<Tensor>;

    /// Whether `save_model` can write the model so that it loads back the same.
    fn check_saveable(&self) -> Result<()> {
        Ok(())
    }
}

impl ArModel for Made {
    type Config = MadeConfig;

    fn validate_config(cfg: &MadeConfig) -> Result<()> {
        cfg.validate()
    }

    fn build(cfg: &MadeConfig, store: &ParamStore, device: &Device) -> Result<Self> {
        cfg.init(store, device)
    }

    /// Connectivity-agnostic training: log p_k(x) for k drawn uniformly from the pool.
    fn training_log_prob(&self, x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let pool = self.masks().len();
        let k = if pool > 1 {
            rng.random_range(0..pool)
        } else {
            0
        };
        self.log_prob_mask(x, k)
    }

    /// A saved MADE keeps only its config: its masks must be the config's own pool.
    fn check_saveable(&self) -> Result<()> {
        let c = self.config();
        let pool = crate::made::mask_pool(
            c.data_dim(),
            &c.hidden,
            c.num_masks,
            c.order_agnostic,
            c.mask_seed,
        );
        if pool.as_slice() != self.masks() {
            return Err(Error::config(
                "mask_seed",
                c.mask_seed,
                "the model's masks are not the pool of its config, which is all a saved model keeps",
            ));
        }
        Ok(())
    }
}

impl ArModel for PixelCnn {
    type Config = PixelCnnConfig;

    fn validate_config(cfg: &PixelCnnConfig) -> Result<()> {
        cfg.validate()
    }

    fn build(cfg: &PixelCnnConfig, store: &ParamStore, device: &Device) -> Result<Self> {
        cfg.init(store, device)
    }

    fn training_log_prob(&self, x: &Tensor, _rng: &mut GmRng) -> Result<Tensor> {
        self.log_prob(x)
    }
}

/// Hyperparameters of a run (serde, with defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArTrainConfig<C> {
    /// The model's architecture.
    pub model: C,
    /// The Adam optimiser's settings.
    pub adam: AdamConfig,
    /// Dynamic binarization of each batch (x_bin = 1 if u < x, as gm-vae); off for data
    /// that is binary already.
    pub binarize: bool,
    /// Test images whose exact NLL is evaluated at the end of each epoch; 0: none.
    pub eval_images: usize,
    /// Samples in the periodic grid; 0: none (sequential sampling costs D forward passes).
    pub grid_samples: usize,
}

impl<C: Default> Default for ArTrainConfig<C> {
    fn default() -> Self {
        Self {
            model: C::default(),
            adam: AdamConfig::default(),
            binarize: true,
            eval_images: 500,
            grid_samples: 64,
        }
    }
}

/// The run of a MADE.
pub type MadeTrainConfig = ArTrainConfig<MadeConfig>;
/// The run of a PixelCNN.
pub type PixelCnnTrainConfig = ArTrainConfig<PixelCnnConfig>;
/// Trains a [`Made`].
pub type MadeTrainer = ArTrainer<Made>;
/// Trains a [`PixelCnn`].
pub type PixelCnnTrainer = ArTrainer<PixelCnn>;

/// Trains an [`ArModel`] with Adam on its exact negative log-likelihood.
pub struct ArTrainer<M: ArModel> {
    cfg: ArTrainConfig<M::Config>,
    model: M,
    store: ParamStore,
    opt: Adam,
    test: Option<Tensor>,
}

impl<M: ArModel> ArTrainer<M> {
    /// A fresh model from `seed`. `test` (if any) gives the first `eval_images` images,
    /// binarized once with `GmRng::derive(seed, 1)` (as gm-vae's trainer does, so the two
    /// evaluate on the same binary digits), for the end-of-epoch evaluation.
    pub fn new(
        cfg: ArTrainConfig<M::Config>,
        seed: u64,
        test: Option<&Dataset>,
        device: &Device,
    ) -> Result<Self> {
        M::validate_config(&cfg.model)?;
        cfg.adam.validate()?;
        let store = ParamStore::new(seed);
        let model = M::build(&cfg.model, &store, device)?;
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
        Ok(Self {
            cfg,
            model,
            store,
            opt,
            test,
        })
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model's trainable weights.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The run's hyperparameters.
    pub fn config(&self) -> &ArTrainConfig<M::Config> {
        &self.cfg
    }

    /// One Adam step on the mean NLL of `x` (binarized first if so configured); returns the
    /// batch's `nll` (nats per image) and `bits_per_dim` before the step.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let x = if self.cfg.binarize {
            binarize(x, rng)?
        } else {
            x.clone()
        };
        let nll = self.model.training_log_prob(&x, rng)?.mean_all()?.neg()?;
        self.opt.backward_step(&nll)?;
        let nll = nll.to_scalar::<f32>()? as f64;
        Ok(vec![
            ("nll".to_string(), nll),
            (
                "bits_per_dim".to_string(),
                bits_per_dim(nll, self.model.data_dim()),
            ),
        ])
    }
}

impl<M: ArModel> Trainer for ArTrainer<M> {
    fn model_name(&self) -> String {
        M::MODEL.to_string()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg.model).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(Error::into_core)
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
        if self.cfg.grid_samples == 0 {
            return Ok(None);
        }
        let device = self.store_device()?;
        let z = self
            .model
            .sample_latent(self.cfg.grid_samples, rng, &device)?;
        let x = self.model.generate(&z)?;
        let n = x.dim(0)?;
        let shape = self.model.output_shape();
        let img = match shape.as_slice() {
            [c, h, w] => x.reshape((n, *c, *h, *w))?,
            [h, w] => x.reshape((n, 1, *h, *w))?,
            _ => return Ok(None),
        };
        Ok(Some((img, false)))
    }

    fn evaluate(&mut self) -> gm_core::Result<Metrics> {
        let Some(x) = &self.test else {
            return Ok(Vec::new());
        };
        let nll = mean_nll(&self.model, x, 500).map_err(Error::into_core)?;
        Ok(vec![
            ("test_nll".into(), nll),
            (
                "test_bits_per_dim".into(),
                bits_per_dim(nll, self.model.data_dim()),
            ),
        ])
    }
}

impl<M: ArModel> ArTrainer<M> {
    fn store_device(&self) -> gm_core::Result<Device> {
        self.store
            .vars()
            .first()
            .map(|(_, v)| v.device().clone())
            .ok_or_else(|| gm_core::Error::Msg("the model has no parameters".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_adam_is_refused() {
        let mut c = MadeTrainConfig::default();
        c.adam.lr = -1.0;
        assert!(matches!(
            MadeTrainer::new(c, 0, None, &Device::Cpu),
            Err(Error::Core(gm_core::Error::Config { field: "lr", .. }))
        ));
    }

    #[test]
    fn bad_model_is_refused_by_field() {
        let mut c = PixelCnnTrainConfig::default();
        c.model.kernel = 4;
        assert!(matches!(
            PixelCnnTrainer::new(c, 0, None, &Device::Cpu),
            Err(Error::Config {
                field: "kernel",
                ..
            })
        ));
    }
}
