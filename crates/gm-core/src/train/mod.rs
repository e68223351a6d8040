//! The training loop shared by every model. A [`Trainer`] exposes one `step` that returns
//! named scalar metrics; [`fit`] runs it over seeded epochs with a progress bar, a
//! `metrics.jsonl` log, periodic image grids, atomic checkpoints and resume, a guard that
//! stops on a non-finite loss or weight, and writes the run folder a user reads.
//!
//! A run folder holds `config.json`, `metrics.jsonl`, `checkpoint.safetensors`,
//! `model.safetensors`, `loss.svg`, `grids/epoch_NNN.png` and `report.html`.

mod checkpoint;
mod fit_loop;
mod metrics;

use std::collections::BTreeMap;
use std::path::PathBuf;

use candle_core::Tensor;

use crate::optim::Adam;
use crate::rng::{GmRng, ParamStore};
use crate::{Error, Result};

pub use checkpoint::{read_checkpoint, write_checkpoint, Checkpoint, CHECKPOINT_FILE};
pub use fit_loop::{fit, request_stop, stop_requested};
pub use metrics::{read_metrics, MetricsLog, METRICS_FILE};

/// Named scalar metrics, in display order.
pub type Metrics = Vec<(String, f64)>;

/// Everything needed to resume a trainer: named tensors (weights, optimizer moments) and
/// named scalars (optimizer step counts, schedules).
#[derive(Debug, Clone, Default)]
pub struct TrainState {
    /// Weights and optimizer moments, by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// Scalars by name, as text (parse them with [`TrainState::scalar`]).
    pub scalars: BTreeMap<String, String>,
}

impl TrainState {
    /// Adds one network: its weights as `{key}.{name}`, its Adam moments as
    /// `adam_{key}.m.{name}` / `adam_{key}.v.{name}` and its step count as `adam_{key}.t`.
    pub fn insert_network(&mut self, key: &str, store: &ParamStore, opt: &Adam) -> Result<()> {
        for (k, v) in store.tensors() {
            self.tensors.insert(format!("{key}.{k}"), v);
        }
        self.tensors
            .extend(opt.state_tensors(&format!("adam_{key}."))?);
        self.scalars
            .insert(format!("adam_{key}.t"), opt.steps().to_string());
        Ok(())
    }

    /// Restores a network written by [`TrainState::insert_network`] under `key`.
    pub fn load_network(&self, key: &str, store: &ParamStore, opt: &mut Adam) -> Result<()> {
        let prefix = format!("{key}.");
        let weights: BTreeMap<String, Tensor> = self
            .tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|n| (n.to_string(), v.clone())))
            .collect();
        store.load(&weights, &format!("checkpoint ({key})"))?;
        let t = self.scalar(&format!("adam_{key}.t"))?;
        opt.load_state(&self.tensors, &format!("adam_{key}."), t)
    }

    /// The state of a trainer with one network: its weights under their own names, its Adam
    /// moments as `adam.m.{name}` / `adam.v.{name}` and its step count as `adam.t`.
    pub fn single_network(store: &ParamStore, opt: &Adam) -> Result<Self> {
        let mut tensors = store.tensors();
        tensors.extend(opt.state_tensors("adam.")?);
        let mut scalars = BTreeMap::new();
        scalars.insert("adam.t".to_string(), opt.steps().to_string());
        Ok(Self { tensors, scalars })
    }

    /// Restores a network written by [`TrainState::single_network`].
    pub fn load_single_network(&self, store: &ParamStore, opt: &mut Adam) -> Result<()> {
        store.load(&self.tensors, "checkpoint")?;
        opt.load_state(&self.tensors, "adam.", self.scalar("adam.t")?)
    }

    /// The same state with every tensor and scalar name prefixed by `prefix` (to nest one
    /// trainer's state in another's).
    pub fn prefixed(&self, prefix: &str) -> TrainState {
        TrainState {
            tensors: self
                .tensors
                .iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
                .collect(),
            scalars: self
                .scalars
                .iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
                .collect(),
        }
    }

    /// The entries named `{prefix}...`, with the prefix removed: the inverse of
    /// [`TrainState::prefixed`].
    pub fn nested(&self, prefix: &str) -> TrainState {
        TrainState {
            tensors: self
                .tensors
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (n.to_string(), v.clone())))
                .collect(),
            scalars: self
                .scalars
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (n.to_string(), v.clone())))
                .collect(),
        }
    }

    /// Merges `other` into this state.
    pub fn extend(&mut self, other: TrainState) {
        self.tensors.extend(other.tensors);
        self.scalars.extend(other.scalars);
    }

    /// A scalar parsed as `T`, with an error naming it when missing or malformed.
    pub fn scalar<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        let v = self
            .scalars
            .get(key)
            .ok_or_else(|| Error::Msg(format!("training state: scalar `{key}` is missing")))?;
        v.parse().map_err(|_| {
            Error::Msg(format!(
                "training state: scalar `{key}` = `{v}` is malformed"
            ))
        })
    }
}

/// A model with its optimizers, driven one mini-batch at a time by [`fit`].
pub trait Trainer {
    /// The model's identity, stored in checkpoints and checked on resume.
    fn model_name(&self) -> String;
    /// The training configuration, written to `config.json`.
    fn config_json(&self) -> serde_json::Value;
    /// The configuration that rebuilds the model alone, stored in `model.safetensors`.
    fn model_config_json(&self) -> serde_json::Value {
        self.config_json()
    }
    /// One optimisation step on a batch. All randomness must come from `rng`.
    fn step(&mut self, batch: &crate::data::Batch, rng: &mut GmRng) -> Result<Metrics>;
    /// The full training state (weights and optimizer state).
    fn state(&self) -> Result<TrainState>;
    /// Restores a state produced by [`Trainer::state`].
    fn load_state(&mut self, state: &TrainState) -> Result<()>;
    /// The model weights, as exported to `model.safetensors`.
    fn weights(&self) -> Result<BTreeMap<String, Tensor>>;
    /// Images for the periodic grid `(n, c, h, w)` and whether they lie in [-1, 1].
    /// `rng` is a fixed stream (the same noise every epoch) that does not touch training.
    fn grid_images(&mut self, _rng: &mut GmRng) -> Result<Option<(Tensor, bool)>> {
        Ok(None)
    }
    /// Metrics computed at the end of each epoch (e.g. test accuracy); must not change state.
    fn evaluate(&mut self) -> Result<Metrics> {
        Ok(Vec::new())
    }
}

/// How [`fit`] runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitConfig {
    /// Passes over the data set, at least 1.
    pub epochs: usize,
    /// Items per mini-batch, at least 1.
    pub batch_size: usize,
    /// Seeds the batch order and the trainer's random stream.
    pub seed: u64,
    /// Write a checkpoint every this many steps (0: only at the end of each epoch).
    pub checkpoint_every: u64,
    /// Write a sample grid every this many epochs (0: never).
    pub grid_every: usize,
    /// Stop (with a checkpoint) once this many steps are done, as if interrupted.
    pub stop_after: Option<u64>,
    /// Continue from the folder's checkpoint if there is one.
    pub resume: bool,
    /// Drop each epoch's last incomplete batch.
    pub drop_last: bool,
    /// Show progress (a bar on a terminal, plain lines otherwise).
    pub progress: bool,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 64,
            seed: 0,
            checkpoint_every: 0,
            grid_every: 1,
            stop_after: None,
            resume: false,
            drop_last: true,
            progress: true,
        }
    }
}

impl FitConfig {
    /// Checks that `epochs` and `batch_size` are at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config {
                field: "epochs",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        if self.batch_size == 0 {
            return Err(Error::Config {
                field: "batch_size",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// What a finished (or stopped) run did.
#[derive(Debug, Clone)]
pub struct FitSummary {
    /// The run folder written.
    pub run_dir: PathBuf,
    /// Steps completed in total, including those before a resume.
    pub steps: u64,
    /// Steps of the whole run: `epochs` times the batches per epoch.
    pub total_steps: u64,
    /// True when the run stopped early at `stop_after`.
    pub stopped_early: bool,
    /// The last end-of-epoch evaluation.
    pub eval: Metrics,
    /// Seconds spent in this invocation.
    pub wall_seconds: f64,
}

impl FitSummary {
    /// How to continue a run that stopped before its budget (an interrupt, `--stop-after`):
    /// `stopped after step 12/40; continue with --resume --out DIR`; `None` for a finished
    /// run.
    pub fn resume_hint(&self) -> Option<String> {
        self.stopped_early.then(|| {
            format!(
                "stopped after step {}/{}; continue with --resume --out {}",
                self.steps,
                self.total_steps,
                self.run_dir.display()
            )
        })
    }
}

fn check_finite(step: u64, what: &str, t: &Tensor) -> Result<()> {
    let s = t
        .to_dtype(candle_core::DType::F32)?
        .sum_all()?
        .to_scalar::<f32>()?;
    if s.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            step,
            what: what.to_string(),
        })
    }
}

/// Whether every weight is finite, with one read from the device: the sum of the weights'
/// sums is non-finite exactly when some weight is (short of an f32 overflow of the sum, which
/// would then be reported too); only then is each weight read, to name the first bad one.
fn check_weights(step: u64, weights: &BTreeMap<String, Tensor>) -> Result<()> {
    if weights.is_empty() {
        return Ok(());
    }
    let sums = weights
        .values()
        .map(|w| w.to_dtype(candle_core::DType::F32)?.sum_all())
        .collect::<candle_core::Result<Vec<_>>>()?;
    let total = Tensor::stack(&sums, 0)?.sum_all()?.to_scalar::<f32>()?;
    if total.is_finite() {
        return Ok(());
    }
    for (name, w) in weights {
        check_finite(step, &format!("weight `{name}`"), w)?;
    }
    Err(Error::NonFinite {
        step,
        what: "the sum of the weights".into(),
    })
}

#[cfg(test)]
mod tests;
