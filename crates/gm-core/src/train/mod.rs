//! The training loop shared by every model. A [`Trainer`] exposes one `step` that returns
//! named scalar metrics; [`fit`] runs it over seeded epochs with a progress bar, a
//! `metrics.jsonl` log, periodic image grids, atomic checkpoints and resume, a guard that
//! stops on a non-finite loss or weight, and writes the run folder a user reads.
//!
//! A run folder holds `config.json`, `metrics.jsonl`, `checkpoint.safetensors`,
//! `model.safetensors`, `loss.svg`, `grids/epoch_NNN.png` and `report.html`.

mod checkpoint;
mod metrics;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::data::{BatchPlan, Dataset};
use crate::optim::Adam;
use crate::rng::{GmRng, ParamStore};
use crate::{Error, Result};

pub use checkpoint::{read_checkpoint, write_checkpoint, Checkpoint, CHECKPOINT_FILE};
pub use metrics::{read_metrics, MetricsLog, METRICS_FILE};

/// Named scalar metrics, in display order.
pub type Metrics = Vec<(String, f64)>;

/// Everything needed to resume a trainer: named tensors (weights, optimizer moments) and
/// named scalars (optimizer step counts, schedules).
#[derive(Debug, Clone, Default)]
pub struct TrainState {
    pub tensors: BTreeMap<String, Tensor>,
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
    pub epochs: usize,
    pub batch_size: usize,
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
    pub run_dir: PathBuf,
    /// Steps completed in total, including those before a resume.
    pub steps: u64,
    pub total_steps: u64,
    /// True when the run stopped early at `stop_after`.
    pub stopped_early: bool,
    /// The last end-of-epoch evaluation.
    pub eval: Metrics,
    /// Seconds spent in this invocation.
    pub wall_seconds: f64,
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

/// Set by [`request_stop`]: every running [`fit`] stops at its next step boundary.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks every running [`fit`] of this process to stop after its current step, with a
/// checkpoint, as `--stop-after` would (the run resumes bit-identically). Called by the Ctrl-C
/// handler of [`crate::cli::main_with`]; safe from any thread.
pub fn request_stop() {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// Runs `trainer` on `data` for `cfg.epochs` epochs, writing everything to `run_dir`.
pub fn fit<T: Trainer + ?Sized>(
    trainer: &mut T,
    data: &Dataset,
    cfg: &FitConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<FitSummary> {
    cfg.validate()?;
    let started = Instant::now();
    // A run folder, a folder inside one, or a new or empty folder: never a user's files.
    crate::run::ensure_run_dir(run_dir, &trainer.model_name())?;
    let ckpt_path = run_dir.join(CHECKPOINT_FILE);
    let existing = ckpt_path.exists();
    if existing && !cfg.resume {
        return Err(Error::Msg(format!(
            "{} already holds a checkpoint: pass --resume to continue that run, or choose another output folder",
            run_dir.display()
        )));
    }
    let plan = BatchPlan::new(data.len(), cfg.batch_size, cfg.seed, cfg.drop_last)?;
    let per_epoch = plan.batches_per_epoch() as u64;
    let total = per_epoch * cfg.epochs as u64;

    let mut rng = GmRng::derive(cfg.seed, 0);
    let mut step = 0u64;
    let mut last_eval: Metrics = Vec::new();
    let mut last_metrics: Metrics = Vec::new();
    if existing {
        let mut ck = read_checkpoint(&ckpt_path, device)?;
        let want = trainer.model_name();
        if ck.model != want {
            return Err(Error::CheckpointModel {
                path: ckpt_path,
                found: ck.model,
                expected: want,
            });
        }
        last_metrics = take_metrics(&mut ck.state, LAST_STEP_SCALAR, &ckpt_path)?;
        last_eval = take_metrics(&mut ck.state, LAST_EVAL_SCALAR, &ckpt_path)?;
        trainer
            .load_state(&ck.state)
            .map_err(|e| Error::Checkpoint {
                path: ckpt_path.clone(),
                message: e.to_string(),
            })?;
        rng = GmRng::from_state(ck.rng);
        step = ck.step;
    }
    let config = serde_json::json!({
        "model": trainer.model_name(),
        "model_config": trainer.config_json(),
        "fit": cfg,
        "device": crate::device::device_name(device),
        "dataset": data.name,
    });
    crate::io::write_atomic(
        run_dir.join("config.json"),
        serde_json::to_string_pretty(&config)
            .map_err(|e| Error::Msg(e.to_string()))?
            .as_bytes(),
    )?;
    let mut log = MetricsLog::open(&run_dir.join(METRICS_FILE), step)?;

    let show = cfg.progress;
    let tty = std::io::stderr().is_terminal();
    let bar = if show && tty {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps {per_sec} ETA {eta} {msg}",
            )
            .map_err(|e| Error::Msg(e.to_string()))?,
        );
        b.set_position(step);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let line_every = (total / 20).max(1);
    let stop_at = cfg.stop_after.unwrap_or(u64::MAX).min(total);
    let mut order_epoch = u64::MAX;
    let mut order: Vec<Vec<usize>> = Vec::new();
    let run_started = Instant::now();
    let first_step = step;

    let mut interrupted = false;
    while step < stop_at && !interrupted {
        let epoch = step / per_epoch;
        let k = (step % per_epoch) as usize;
        if order_epoch != epoch {
            order = plan.epoch(epoch);
            order_epoch = epoch;
        }
        let batch = data.batch(&order[k], device)?;
        let metrics = trainer.step(&batch, &mut rng)?;
        for (name, v) in &metrics {
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    step: step + 1,
                    what: format!("metric `{name}` = {v}"),
                });
            }
        }
        check_weights(step + 1, &trainer.weights()?)?;
        step += 1;
        log.train(step, epoch + 1, &metrics)?;
        let msg: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        bar.set_position(step);
        bar.set_message(msg.join("  "));
        if show && !tty && (step.is_multiple_of(line_every) || step == total) {
            let el = run_started.elapsed().as_secs_f64();
            let rate = (step - first_step) as f64 / el.max(1e-9);
            eprintln!(
                "step {step}/{total} epoch {}/{} {:.1} steps/s ETA {:.0}s  {}",
                epoch + 1,
                cfg.epochs,
                rate,
                (total - step) as f64 / rate.max(1e-9),
                msg.join("  ")
            );
        }
        last_metrics = metrics;
        let epoch_end = step.is_multiple_of(per_epoch);
        if epoch_end {
            let e = step / per_epoch;
            last_eval = trainer.evaluate()?;
            if !last_eval.is_empty() {
                log.eval(step, e, &last_eval)?;
                if show {
                    let m: Vec<String> = last_eval
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.4}"))
                        .collect();
                    bar.suspend(|| eprintln!("epoch {e}: {}", m.join("  ")));
                }
            }
            if cfg.grid_every > 0 && ((e as usize).is_multiple_of(cfg.grid_every) || step == total)
            {
                write_grid(trainer, cfg.seed, run_dir, e)?;
            }
        }
        interrupted = stop_requested();
        let due =
            epoch_end || (cfg.checkpoint_every > 0 && step.is_multiple_of(cfg.checkpoint_every));
        if due || step == stop_at || interrupted {
            log.flush()?;
            let mut state = trainer.state()?;
            state
                .scalars
                .insert(LAST_STEP_SCALAR.into(), encode_metrics(&last_metrics)?);
            state
                .scalars
                .insert(LAST_EVAL_SCALAR.into(), encode_metrics(&last_eval)?);
            write_checkpoint(&ckpt_path, &trainer.model_name(), step, rng.state(), &state)?;
        }
    }
    bar.finish_and_clear();
    log.flush()?;
    if interrupted && step < total {
        eprintln!(
            "interrupted at step {step}/{total}: checkpoint written in {}; continue with --resume",
            run_dir.display()
        );
    }
    let stopped_early = step < total;
    if !stopped_early {
        finish_run(trainer, run_dir, &last_eval, &last_metrics)?;
    }
    Ok(FitSummary {
        run_dir: run_dir.to_path_buf(),
        steps: step,
        total_steps: total,
        stopped_early,
        eval: last_eval,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The scalars [`fit`] adds to a trainer's state in its checkpoints: the metrics of the last
/// step and of the last evaluation, so that a run resumed at its end (killed while writing its
/// final files) reports them as the uninterrupted run does.
const LAST_STEP_SCALAR: &str = "fit.last_step_metrics";
const LAST_EVAL_SCALAR: &str = "fit.last_eval_metrics";

/// `[[name, bits], ...]`: the values' bits, so that they come back exactly.
fn encode_metrics(m: &Metrics) -> Result<String> {
    let bits: Vec<(&str, u64)> = m.iter().map(|(k, v)| (k.as_str(), v.to_bits())).collect();
    serde_json::to_string(&bits).map_err(|e| Error::Msg(e.to_string()))
}

/// Removes the scalar `key` (written by [`encode_metrics`]) from a checkpoint's state and
/// decodes it; a checkpoint without it yields no metrics.
fn take_metrics(state: &mut TrainState, key: &str, path: &Path) -> Result<Metrics> {
    let Some(text) = state.scalars.remove(key) else {
        return Ok(Vec::new());
    };
    let bits: Vec<(String, u64)> = serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        message: format!("scalar `{key}`: {e}"),
    })?;
    Ok(bits
        .into_iter()
        .map(|(k, b)| (k, f64::from_bits(b)))
        .collect())
}

fn write_grid<T: Trainer + ?Sized>(
    trainer: &mut T,
    seed: u64,
    run_dir: &Path,
    epoch: u64,
) -> Result<()> {
    let mut grid_rng = GmRng::derive(seed, u64::MAX);
    if let Some((imgs, signed)) = trainer.grid_images(&mut grid_rng)? {
        let dir = run_dir.join("grids");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let n = imgs.dim(0)?;
        let ncol = (n as f64).sqrt().ceil() as usize;
        crate::viz::save_grid(
            &imgs,
            ncol,
            signed,
            dir.join(format!("epoch_{epoch:03}.png")),
        )?;
    }
    Ok(())
}

/// Writes `model.safetensors`, `loss.svg` and `report.html` for a finished run.
fn finish_run<T: Trainer + ?Sized>(
    trainer: &mut T,
    run_dir: &Path,
    eval: &Metrics,
    last: &Metrics,
) -> Result<()> {
    let mut meta = BTreeMap::new();
    meta.insert("gm.model".to_string(), trainer.model_name());
    meta.insert(
        "gm.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    meta.insert(
        "gm.config".to_string(),
        trainer.model_config_json().to_string(),
    );
    crate::io::save_safetensors(
        run_dir.join("model.safetensors"),
        &trainer.weights()?,
        &meta,
    )?;
    let (train, evals) = read_metrics(&run_dir.join(METRICS_FILE))?;
    let mut series = metrics::to_series(&train, 400);
    series.extend(metrics::to_series(&evals, 400).into_iter().map(|mut s| {
        s.name = format!("{} (eval)", s.name);
        s
    }));
    crate::viz::plot_curves(&trainer.model_name(), &series, run_dir.join("loss.svg"))?;
    let mut table: Vec<(String, String)> = eval
        .iter()
        .map(|(k, v)| (format!("eval: {k}"), format!("{v:.6}")))
        .collect();
    table.extend(
        last.iter()
            .map(|(k, v)| (format!("last step: {k}"), format!("{v:.6}"))),
    );
    crate::viz::write_report(run_dir, &trainer.model_name(), &table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::AdamConfig;

    /// One read decides; a non-finite weight is named, whichever sign its infinity has and
    /// whatever the others hold.
    #[test]
    fn weight_check_names_the_non_finite_weight() {
        let t = |v: &[f32]| Tensor::new(v, &Device::Cpu).unwrap();
        let mut w: BTreeMap<String, Tensor> = [
            ("a".to_string(), t(&[3.0e38])),
            ("b".to_string(), t(&[3.0e38])),
        ]
        .into_iter()
        .collect();
        // The f32 sum of the sums overflows: each weight is then read, and all are finite
        // but their sum, which is reported.
        let e = check_weights(4, &w).unwrap_err();
        assert!(e.to_string().contains("sum of the weights"), "{e}");
        w.insert("b".into(), t(&[0.5, 0.5]));
        check_weights(4, &w).unwrap();
        w.insert("c".into(), t(&[f32::INFINITY]));
        w.insert("d".into(), t(&[f32::NEG_INFINITY]));
        let e = check_weights(5, &w).unwrap_err();
        assert!(
            matches!(&e, Error::NonFinite { step: 5, what } if what.contains("`c`")),
            "{e}"
        );
        check_weights(1, &BTreeMap::new()).unwrap();
    }

    #[test]
    fn networks_round_trip_through_a_nested_state() {
        let dev = Device::Cpu;
        let store = ParamStore::new(3);
        let w = store
            .var_builder(&dev)
            .get_with_hints(4, "w", candle_nn::Init::Const(0.5))
            .unwrap();
        let mut opt = Adam::new(&store, AdamConfig::default()).unwrap();
        let grads = (&w * 3.0).unwrap().sum_all().unwrap().backward().unwrap();
        opt.step(&grads).unwrap();
        let mut inner = TrainState::default();
        inner.insert_network("g", &store, &opt).unwrap();
        let outer = inner.prefixed("level16.");
        assert!(outer.tensors.contains_key("level16.g.w"));
        assert!(outer.tensors.contains_key("level16.adam_g.m.w"));
        assert_eq!(outer.scalars["level16.adam_g.t"], "1");

        let fresh = ParamStore::new(4);
        fresh
            .var_builder(&dev)
            .get_with_hints(4, "w", candle_nn::Init::Const(0.0))
            .unwrap();
        let mut fresh_opt = Adam::new(&fresh, AdamConfig::default()).unwrap();
        outer
            .nested("level16.")
            .load_network("g", &fresh, &mut fresh_opt)
            .unwrap();
        assert_eq!(
            fresh.tensors()["w"].to_vec1::<f32>().unwrap(),
            store.tensors()["w"].to_vec1::<f32>().unwrap()
        );
        assert_eq!(fresh_opt.steps(), 1);
        // Outside its prefix the network is missing: an error, not a silent partial load.
        let e = outer.load_network("g", &fresh, &mut fresh_opt).unwrap_err();
        assert!(e.to_string().contains("checkpoint (g)"), "{e}");
    }
}
