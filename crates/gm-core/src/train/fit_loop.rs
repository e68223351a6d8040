//! [`fit`] itself: the loop over seeded epochs with its progress display, the stop request
//! honoured at a step boundary, the checkpoints (carrying the last step's and the last
//! evaluation's metrics, so that a resumed run reports them), the periodic grids and the
//! files a finished run leaves: `model.safetensors`, `loss.svg` and `report.html`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use candle_core::Device;

use super::{
    check_weights, metrics, read_checkpoint, read_metrics, write_checkpoint, FitConfig, FitSummary,
    Metrics, MetricsLog, TrainState, Trainer, CHECKPOINT_FILE, METRICS_FILE,
};
use crate::data::{BatchPlan, Dataset};
use crate::rng::GmRng;
use crate::{Error, Result};

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
