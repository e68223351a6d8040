//! Command-line options shared by the reference examples: a tiny parser with errors that
//! name the flag and the value, so `--batch-size 0` or `--lr -1` fail before any work starts.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

/// Runs an example's body and turns an error into a one-paragraph message and exit code 1.
/// Large freed buffers stay in the heap (see `gm_core::alloc`) unless `GM_DEFAULT_MALLOC` is set.
pub fn main_with(body: impl FnOnce() -> Result<()>) -> std::process::ExitCode {
    gm_core::runtime::init();
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Options every training example understands.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArgs {
    /// Output folder of the run.
    pub out: PathBuf,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub seed: u64,
    /// Force the CPU even when a GPU is available.
    pub cpu: bool,
    /// Continue from the output folder's checkpoint.
    pub resume: bool,
    /// Stop after this many steps (with a checkpoint), as if interrupted.
    pub stop_after: Option<u64>,
    pub checkpoint_every: Option<u64>,
    /// No progress output.
    pub quiet: bool,
    /// Flags the example handles itself (`--name value` pairs), in order.
    pub extra: Vec<(String, String)>,
}

const HELP: &str = "options:
  --out DIR             output folder (default runs/<name>)
  --epochs N            training epochs
  --batch-size N        mini-batch size
  --lr X                learning rate
  --seed N              random seed (default 0)
  --cpu                 force the CPU
  --resume              continue from the folder's checkpoint
  --stop-after N        stop after N steps with a checkpoint
  --checkpoint-every N  write a checkpoint every N steps
  --quiet               no progress output";

impl RunArgs {
    /// Parses `args` (without the program name). `known_extra` lists example-specific flags
    /// that take a value.
    pub fn parse<I: IntoIterator<Item = String>>(
        name: &str,
        args: I,
        known_extra: &[&str],
    ) -> Result<Self> {
        let mut a = RunArgs {
            out: PathBuf::from("runs").join(name),
            epochs: None,
            batch_size: None,
            lr: None,
            seed: 0,
            cpu: false,
            resume: false,
            stop_after: None,
            checkpoint_every: None,
            quiet: false,
            extra: Vec::new(),
        };
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let mut value = |f: &str| -> Result<String> {
                it.next()
                    .ok_or_else(|| anyhow!("{f} needs a value\n{HELP}"))
            };
            match flag.as_str() {
                "--out" => a.out = PathBuf::from(value("--out")?),
                "--epochs" => a.epochs = Some(positive("--epochs", &value("--epochs")?)?),
                "--batch-size" => {
                    a.batch_size = Some(positive("--batch-size", &value("--batch-size")?)?)
                }
                "--lr" => {
                    let v = value("--lr")?;
                    let lr: f64 = v
                        .parse()
                        .with_context(|| format!("--lr {v}: not a number"))?;
                    if !(lr > 0.0 && lr.is_finite()) {
                        bail!("--lr {v}: the learning rate must be positive and finite");
                    }
                    a.lr = Some(lr);
                }
                "--seed" => {
                    let v = value("--seed")?;
                    a.seed = v
                        .parse()
                        .with_context(|| format!("--seed {v}: not a non-negative integer"))?;
                }
                "--stop-after" => {
                    a.stop_after = Some(positive("--stop-after", &value("--stop-after")?)? as u64)
                }
                "--checkpoint-every" => {
                    a.checkpoint_every =
                        Some(positive("--checkpoint-every", &value("--checkpoint-every")?)? as u64)
                }
                "--cpu" => a.cpu = true,
                "--resume" => a.resume = true,
                "--quiet" => a.quiet = true,
                "-h" | "--help" => bail!("usage: {name} [options]\n{HELP}"),
                f if known_extra.contains(&f) => {
                    let v = value(f)?;
                    a.extra.push((f.to_string(), v));
                }
                other => bail!("unknown option `{other}`\n{HELP}"),
            }
        }
        Ok(a)
    }

    /// The value of an example-specific flag.
    pub fn extra(&self, flag: &str) -> Option<&str> {
        self.extra
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
    }
}

fn positive(flag: &str, v: &str) -> Result<usize> {
    let n: usize = v
        .parse()
        .with_context(|| format!("{flag} {v}: not a positive integer"))?;
    if n == 0 {
        bail!("{flag} {v}: must be at least 1");
    }
    Ok(n)
}

/// What a finished run's `model.safetensors` holds: the model name (metadata `gm.model`), the
/// config that rebuilds it (metadata `gm.config`) and the weights.
pub struct RunModel {
    pub model: String,
    pub config: serde_json::Value,
    pub tensors: std::collections::BTreeMap<String, candle_core::Tensor>,
}

/// Reads `run_dir/model.safetensors`; a missing `gm.model` or a `gm.config` that is not JSON is
/// an error naming the file.
pub fn read_run_model(run_dir: &std::path::Path, device: &candle_core::Device) -> Result<RunModel> {
    let file = run_dir.join("model.safetensors");
    let (tensors, meta) = gm_core::io::load_safetensors(&file, device)?;
    let Some(model) = meta.get("gm.model").cloned() else {
        bail!("{}: no `gm.model` metadata", file.display());
    };
    let config = serde_json::from_str(meta.get("gm.config").map(String::as_str).unwrap_or("null"))
        .with_context(|| format!("{}: metadata `gm.config` is not JSON", file.display()))?;
    Ok(RunModel {
        model,
        config,
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs> {
        RunArgs::parse("t", args.iter().map(|s| s.to_string()), &["--model"])
    }

    #[test]
    fn parses_the_common_flags() {
        let a = parse(&[
            "--epochs", "3", "--lr", "0.01", "--cpu", "--model", "x", "--out", "o",
        ])
        .unwrap();
        assert_eq!(a.epochs, Some(3));
        assert_eq!(a.lr, Some(0.01));
        assert!(a.cpu);
        assert_eq!(a.extra("--model"), Some("x"));
        assert_eq!(a.out, PathBuf::from("o"));
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (args, needle) in [
            (vec!["--batch-size", "0"], "--batch-size 0"),
            (vec!["--lr", "-1"], "--lr -1"),
            (vec!["--lr", "abc"], "--lr abc"),
            (vec!["--epochs"], "--epochs needs a value"),
            (vec!["--bogus"], "unknown option `--bogus`"),
        ] {
            let e = parse(&args).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
