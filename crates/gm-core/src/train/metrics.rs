//! `metrics.jsonl`: one JSON object per line, `{"kind": "train"|"eval", "step", "epoch", ...}`.
//! On resume, lines past the checkpoint's step are dropped so the log matches the weights.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Metrics;
use crate::viz::Series;
use crate::{Error, Result};

/// File name of the metrics log inside a run folder.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// An append-only metrics log.
pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
}

impl MetricsLog {
    /// Opens the log, keeping only the lines up to `step` (all lines when `step` is 0 and the
    /// file is new; none when starting from scratch).
    pub fn open(path: &Path, step: u64) -> Result<Self> {
        let mut keep = String::new();
        if step > 0 && path.exists() {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(|e| Error::io(path, e))?;
                let v: serde_json::Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if v["step"].as_u64().is_some_and(|s| s <= step) {
                    keep.push_str(&line);
                    keep.push('\n');
                }
            }
        }
        crate::io::write_atomic(path, keep.as_bytes())?;
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
        })
    }

    fn write(&mut self, kind: &str, step: u64, epoch: u64, m: &Metrics) -> Result<()> {
        let mut obj = serde_json::Map::new();
        obj.insert("kind".into(), kind.into());
        obj.insert("step".into(), step.into());
        obj.insert("epoch".into(), epoch.into());
        for (k, v) in m {
            obj.insert(k.clone(), serde_json::json!(v));
        }
        crate::io::injected_fault(&self.path)
            .and_then(|()| writeln!(self.out, "{}", serde_json::Value::Object(obj)))
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Appends a `train` line with the metrics of `step`, taken in `epoch`.
    pub fn train(&mut self, step: u64, epoch: u64, m: &Metrics) -> Result<()> {
        self.write("train", step, epoch, m)
    }

    /// Appends an `eval` line with the metrics of the evaluation after `step`, at the end of
    /// `epoch`.
    pub fn eval(&mut self, step: u64, epoch: u64, m: &Metrics) -> Result<()> {
        self.write("eval", step, epoch, m)
    }

    /// Writes the buffered lines to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// A parsed log line: step and metrics.
pub type LogRow = (u64, Metrics);

/// Reads the train and eval rows of a metrics log.
pub fn read_metrics(path: &Path) -> Result<(Vec<LogRow>, Vec<LogRow>)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::Msg(format!("{}:{}: {e}", path.display(), i + 1)))?;
        let Some(obj) = v.as_object() else { continue };
        let step = obj.get("step").and_then(|s| s.as_u64()).unwrap_or(0);
        let m: Metrics = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "kind" | "step" | "epoch"))
            .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
            .collect();
        match obj.get("kind").and_then(|k| k.as_str()) {
            Some("eval") => eval.push((step, m)),
            _ => train.push((step, m)),
        }
    }
    Ok((train, eval))
}

/// Turns rows into one series per metric, averaged over windows to at most `max_points`.
pub fn to_series(rows: &[LogRow], max_points: usize) -> Vec<Series> {
    let mut names: Vec<String> = Vec::new();
    for (_, m) in rows {
        for (k, _) in m {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let w = rows.len().div_ceil(max_points.max(1)).max(1);
    names
        .into_iter()
        .map(|name| {
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|(s, m)| {
                    m.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| (*s as f64, *v))
                })
                .collect();
            let points = pts
                .chunks(w)
                .map(|c| {
                    let n = c.len() as f64;
                    (
                        c.iter().map(|p| p.0).sum::<f64>() / n,
                        c.iter().map(|p| p.1).sum::<f64>() / n,
                    )
                })
                .collect();
            Series { name, points }
        })
        .collect()
}
