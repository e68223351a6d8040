//! [`FlowTrainer`]: maximum likelihood for the multi-scale image flow in gm-core's `fit` loop.
//! Each step dequantizes the batch with fresh uniform noise, `y = (k + u) / 256`, and takes one
//! Adam step on the negative log-likelihood of the discrete pixels in nats per dimension,
//! `-(log p(y) - D ln 256) / D`. The first step initialises every ActNorm from its batch
//! (Glow's data-dependent initialisation), and the learning rate warms up linearly.
//! Metrics: `nll` (nats per image) and `bits_per_dim`; at the end of each epoch
//! `test_bits_per_dim` on held-out images with fixed dequantization noise. On the CPU the
//! steps after the initialisation take the written-out forward and backward pass
//! ([`FlowTrainer::set_fused`]); candle's autograd is the other path and their reference.

use gm_core::ToHostF64;
use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::{Batch, Dataset};
use gm_core::{Adam, AdamConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use super::config::ImageFlowConfig;
use super::model::{ImageFlow, MODEL};
use crate::dequantize::{bits_per_dim, dequantize, LEVELS};
use crate::flow::Flow;
use crate::fused::FusedFlow;
use crate::{Error, Result};

/// Hyperparameters of an image-flow run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowTrainConfig {
    /// The flow's architecture.
    pub model: ImageFlowConfig,
    /// The Adam optimiser's settings (`lr` is the rate after warm-up).
    pub adam: AdamConfig,
    /// Steps over which the learning rate rises linearly to `adam.lr` (0: none).
    pub warmup_steps: u64,
    /// Test images scored at the end of each epoch (0: none).
    pub eval_images: usize,
    /// Batch size of that evaluation.
    pub eval_batch: usize,
    /// Temperature of the periodic sample grids (Glow shows 0.7; 1 is the model itself).
    pub grid_temperature: f64,
}

impl Default for FlowTrainConfig {
    fn default() -> Self {
        Self {
            model: ImageFlowConfig::default(),
            adam: AdamConfig::default(),
            warmup_steps: 100,
            eval_images: 500,
            eval_batch: 250,
            grid_temperature: 0.7,
        }
    }
}

impl FlowTrainConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.adam.validate()?;
        if self.eval_batch == 0 {
            return Err(Error::config("eval_batch", 0, "must be at least 1"));
        }
        if !(self.grid_temperature > 0.0 && self.grid_temperature.is_finite()) {
            return Err(Error::config(
                "grid_temperature",
                self.grid_temperature,
                "must be positive and finite",
            ));
        }
        Ok(())
    }
}

/// Trains an [`ImageFlow`] with Adam.
pub struct FlowTrainer {
    cfg: FlowTrainConfig,
    flow: ImageFlow,
    store: ParamStore,
    opt: Adam,
    /// Whether the ActNorms hold their data-dependent initialisation.
    initialized: bool,
    test: Option<Dataset>,
    seed: u64,
    device: Device,
    /// The written-out step ([`FlowTrainer::set_fused`]).
    fused: Option<FusedFlow>,
}

impl FlowTrainer {
    /// A fresh flow from `seed`; `test` (if any) gives the end-of-epoch evaluation.
    pub fn new(
        cfg: FlowTrainConfig,
        seed: u64,
        test: Option<&Dataset>,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let store = ParamStore::new(seed);
        let flow = ImageFlow::init(cfg.model.clone(), &store, device)?;
        let opt = Adam::new(&store, cfg.adam)?;
        let test = match test {
            Some(d) if cfg.eval_images > 0 => {
                if d.item_shape != cfg.model.image_shape {
                    return Err(Error::Shape {
                        what: "test images",
                        got: d.item_shape.clone(),
                        expected: cfg.model.image_shape.clone(),
                    });
                }
                Some(d.clone())
            }
            _ => None,
        };
        let fused = flow.host_layers().and_then(FusedFlow::new);
        Ok(Self {
            cfg,
            flow,
            store,
            opt,
            initialized: false,
            test,
            seed,
            device: device.clone(),
            fused,
        })
    }

    /// Whether the updates take the written-out step: forward and backward passes on host
    /// memory with the gradients written out layer by layer (`crate::fused`), on by default
    /// where every parameter is an f32 tensor on the CPU. Off, every step goes through
    /// candle's autograd (the reference the written-out step is tested against). Asking for
    /// it where it is not available is an error.
    pub fn set_fused(&mut self, on: bool) -> Result<()> {
        self.fused = if on {
            let fused = self.flow.host_layers().and_then(FusedFlow::new);
            if fused.is_none() {
                return Err(Error::config(
                    "fused",
                    true,
                    "the written-out flow step needs f32 parameters on the CPU",
                ));
            }
            fused
        } else {
            None
        };
        Ok(())
    }

    /// Whether [`FlowTrainer::train_step`] takes the written-out step.
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }

    /// The flow being trained.
    pub fn flow(&self) -> &ImageFlow {
        &self.flow
    }

    /// The flow's trainable weights.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The run's hyperparameters.
    pub fn config(&self) -> &FlowTrainConfig {
        &self.cfg
    }

    /// Initialises the ActNorms from `x` (pixels in `[0, 1]`, dequantized with `rng`);
    /// [`FlowTrainer::train_step`] does it on the first batch unless called before.
    pub fn data_init(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<()> {
        let y = dequantize(x, rng)?;
        self.flow.data_init(&y)?;
        self.initialized = true;
        Ok(())
    }

    /// One Adam step on the batch `x` (pixels in `[0, 1]`); returns `nll` (nats per image)
    /// and `bits_per_dim`, before the update.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        if !self.initialized {
            self.data_init(x, rng)?;
        }
        let t = self.opt.steps() + 1;
        let warm = if self.cfg.warmup_steps == 0 {
            1.0
        } else {
            (t as f64 / self.cfg.warmup_steps as f64).min(1.0)
        };
        self.opt.set_lr(self.cfg.adam.lr * warm);
        let d = self.flow.data_dim();
        let nll = if let Some(fused) = &self.fused {
            self.flow.check(x)?;
            let y = dequantize(x, rng)?;
            let (h, logit_logdet) = self.flow.logit().forward(&y)?;
            let logit_logdet = logit_logdet.sum_all()?.to_host_f64()?.to_scalar::<f64>()?;
            let loss = fused.loss(&h, logit_logdet)?;
            fused.update(&mut self.opt, &loss)?;
            loss.nll + d as f64 * LEVELS.ln()
        } else {
            let nll = self.flow.discrete_nll(x, rng)?.mean_all()?;
            self.opt.backward_step(&(&nll / d as f64)?)?;
            nll.to_host_f64()?.to_scalar::<f64>()?
        };
        Ok(vec![
            ("nll".to_string(), nll),
            ("bits_per_dim".to_string(), bits_per_dim(-nll, d)),
        ])
    }

    /// Mean bits per dimension of the first `eval_images` test images, with dequantization
    /// noise fixed by the run's seed.
    pub fn test_bits_per_dim(&self) -> Result<Option<f64>> {
        let Some(test) = &self.test else {
            return Ok(None);
        };
        self.flow
            .bits_per_dim_of(
                test,
                self.cfg.eval_images,
                self.cfg.eval_batch,
                self.seed ^ 0x7e57,
                &self.device,
            )
            .map(Some)
    }
}

impl Trainer for FlowTrainer {
    fn model_name(&self) -> String {
        MODEL.into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg.model).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        Ok(self.train_step(&batch.x, rng)?)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut state = TrainState::single_network(&self.store, &self.opt)?;
        state
            .scalars
            .insert("initialized".to_string(), self.initialized.to_string());
        Ok(state)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        state.load_single_network(&self.store, &mut self.opt)?;
        self.initialized = state.scalar("initialized")?;
        Ok(())
    }

    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(self.store.tensors())
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        let x = self
            .flow
            .sample_at(64, self.cfg.grid_temperature, rng, &self.device)?;
        Ok(Some((x, false)))
    }

    fn evaluate(&mut self) -> gm_core::Result<Metrics> {
        Ok(match self.test_bits_per_dim()? {
            Some(b) => vec![("test_bits_per_dim".to_string(), b)],
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> FlowTrainConfig {
        FlowTrainConfig {
            model: ImageFlowConfig {
                image_shape: vec![1, 8, 8],
                checkerboard_steps: 1,
                checkerboard_hidden: 8,
                levels: 2,
                steps_per_level: 2,
                hidden: 8,
                ..Default::default()
            },
            adam: AdamConfig {
                lr: 3e-3,
                ..Default::default()
            },
            warmup_steps: 5,
            eval_images: 64,
            eval_batch: 32,
            grid_temperature: 0.7,
        }
    }

    /// 8x8 "digits": a bright bar in a random row on a dark background, quantised to 8 bits.
    fn bars(n: usize, seed: u64) -> Dataset {
        let mut rng = GmRng::new(seed);
        let mut px = vec![0u8; n * 64];
        for i in 0..n {
            let row = rand::Rng::random_range(&mut rng, 1..7usize);
            for j in 0..8 {
                px[i * 64 + row * 8 + j] = 200 + rand::Rng::random_range(&mut rng, 0..56u8);
            }
        }
        Dataset::from_u8("bars", vec![1, 8, 8], px, None).unwrap()
    }

    #[test]
    fn training_lowers_the_test_bits_per_dim() {
        let dev = Device::Cpu;
        let (train, test) = (bars(256, 1), bars(64, 2));
        let mut tr = FlowTrainer::new(tiny(), 0, Some(&test), &dev).unwrap();
        let mut rng = GmRng::new(3);
        tr.data_init(&train.head(64, &dev).unwrap().x, &mut rng)
            .unwrap();
        let before = tr.test_bits_per_dim().unwrap().unwrap();
        for s in 0..60 {
            let idx: Vec<usize> = (0..32).map(|k| (s * 32 + k) % 256).collect();
            let m = tr
                .train_step(&train.batch(&idx, &dev).unwrap().x, &mut rng)
                .unwrap();
            assert!(m[0].1.is_finite());
        }
        let after = tr.test_bits_per_dim().unwrap().unwrap();
        // The uniform density on the pixel cube is 8 bits per dimension; mostly-black images
        // with one bright bar are far more predictable.
        assert!(before > 3.0, "before {before}");
        assert!(after < before - 1.5, "before {before}, after {after}");
    }

    #[test]
    fn state_round_trips_through_a_fresh_trainer() {
        let dev = Device::Cpu;
        let train = bars(64, 1);
        let mut a = FlowTrainer::new(tiny(), 0, None, &dev).unwrap();
        let mut rng = GmRng::new(3);
        for _ in 0..2 {
            a.train_step(&train.head(32, &dev).unwrap().x, &mut rng)
                .unwrap();
        }
        let mut b = FlowTrainer::new(tiny(), 7, None, &dev).unwrap();
        b.load_state(&a.state().unwrap()).unwrap();
        assert!(b.initialized);
        let y = dequantize(&train.head(4, &dev).unwrap().x, &mut GmRng::new(4)).unwrap();
        assert_eq!(
            a.flow().log_prob(&y).unwrap().to_vec1::<f32>().unwrap(),
            b.flow().log_prob(&y).unwrap().to_vec1::<f32>().unwrap()
        );
        // The next steps agree too: same weights, same Adam moments, same noise.
        let (mut ra, mut rb) = (GmRng::new(5), GmRng::new(5));
        let x = train.head(32, &dev).unwrap().x;
        let ma = a.train_step(&x, &mut ra).unwrap();
        let mb = b.train_step(&x, &mut rb).unwrap();
        assert_eq!(ma, mb);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut c = tiny();
        c.eval_batch = 0;
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "eval_batch",
                ..
            })
        ));
        let mut c = tiny();
        c.grid_temperature = 0.0;
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "grid_temperature",
                ..
            })
        ));
        let mut c = tiny();
        c.adam.lr = -1.0;
        assert!(matches!(c.validate(), Err(Error::Core(_))));
        let mut c = tiny();
        c.model.levels = 4;
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "levels",
                ..
            })
        ));
    }

    #[test]
    fn test_images_of_another_shape_are_refused() {
        let test = bars(4, 1);
        let mut c = tiny();
        c.model.image_shape = vec![1, 4, 4];
        assert!(matches!(
            FlowTrainer::new(c, 0, Some(&test), &Device::Cpu),
            Err(Error::Shape { .. })
        ));
    }
}
