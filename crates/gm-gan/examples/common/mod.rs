//! Command-line flags shared by gm-gan's examples: `--out DIR --epochs N --batch-size N --lr X
//! --seed N --cpu --resume --quiet --quick`, plus the flags an example declares itself.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// Parsed flags.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub out: Option<PathBuf>,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub seed: Option<u64>,
    pub cpu: bool,
    pub resume: bool,
    pub quiet: bool,
    pub quick: bool,
    /// Example-specific flags with a value.
    pub extra: BTreeMap<String, String>,
    /// Example-specific switches that were given.
    pub switches: Vec<String>,
}

impl Args {
    /// Parses the process arguments; `extra` names the example's own flags with values,
    /// `switches` its own flags without.
    pub fn parse(example: &str, extra: &[&str], switches: &[&str]) -> Result<Self> {
        let mut a = Args::default();
        let mut it = std::env::args().skip(1);
        let usage = format!(
            "usage: {example} [--out DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] \
             [--cpu] [--resume] [--quiet] [--quick]{}",
            extra
                .iter()
                .map(|e| format!(" [--{e} V]"))
                .collect::<String>()
                + &switches
                    .iter()
                    .map(|e| format!(" [--{e}]"))
                    .collect::<String>()
        );
        while let Some(flag) = it.next() {
            let mut val = |name: &str| {
                it.next()
                    .with_context(|| format!("{name} needs a value; {usage}"))
            };
            match flag.as_str() {
                "--out" => a.out = Some(PathBuf::from(val("--out")?)),
                "--epochs" => a.epochs = Some(val("--epochs")?.parse().context("--epochs")?),
                "--batch-size" => {
                    a.batch_size = Some(val("--batch-size")?.parse().context("--batch-size")?)
                }
                "--lr" => a.lr = Some(val("--lr")?.parse().context("--lr")?),
                "--seed" => a.seed = Some(val("--seed")?.parse().context("--seed")?),
                "--cpu" => a.cpu = true,
                "--resume" => a.resume = true,
                "--quiet" => a.quiet = true,
                "--quick" => a.quick = true,
                "--help" | "-h" => {
                    println!("{usage}");
                    std::process::exit(0);
                }
                f if f.starts_with("--") && switches.contains(&&f[2..]) => {
                    a.switches.push(f[2..].to_string());
                }
                f if f.starts_with("--") && extra.contains(&&f[2..]) => {
                    let v = val(f)?;
                    a.extra.insert(f[2..].to_string(), v);
                }
                f => bail!("unknown argument `{f}`; {usage}"),
            }
        }
        Ok(a)
    }

    /// Whether an example-specific switch was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// An example-specific value parsed as `T`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.opt(name)?.unwrap_or(default))
    }

    /// An example-specific value parsed as `T`, `None` when not given.
    pub fn opt<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.extra
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| anyhow::anyhow!("--{name} {v}: cannot parse the value"))
            })
            .transpose()
    }

    /// The value of `--name` among named `options` (`None` when not given); any other value
    /// is an error that lists them.
    pub fn choice<T: Copy>(&self, name: &str, options: &[(&str, T)]) -> Result<Option<T>> {
        let Some(v) = self.extra.get(name) else {
            return Ok(None);
        };
        if let Some((_, t)) = options.iter().find(|(key, _)| key == v) {
            return Ok(Some(*t));
        }
        let names: Vec<String> = options.iter().map(|(key, _)| format!("`{key}`")).collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        };
        bail!("--{name} takes {list}, got `{v}`")
    }
}

/// A markdown table from a header and rows.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// Generator steps of a `--quick` MNIST run: a smoke test of the whole pipeline.
pub const QUICK_MNIST_STEPS: u64 = 60;

/// Trains `cfg` on the embedded MNIST training digits with gm-core's `fit` in `dir` (replaced
/// unless resuming), evaluates `samples` generated digits with gm-eval (Parzen included) and
/// writes `eval.json`; returns (steps, wall seconds, metrics).
pub fn train_and_evaluate_mnist(
    cfg: gm_gan::GanTrainConfig,
    args: &Args,
    epochs: usize,
    samples: usize,
    dir: &std::path::Path,
) -> Result<(u64, f64, gm_eval::MnistMetrics)> {
    let device = gm_core::select_device(args.cpu)?;
    let mnist = gm_core::data::mnist_embedded()?;
    let seed = args.seed.unwrap_or(0);
    if dir.exists() && !args.resume {
        std::fs::remove_dir_all(dir)?;
    }
    let mut trainer = gm_gan::GanTrainer::new(cfg, seed, &device)?;
    let fc = gm_core::FitConfig {
        epochs,
        batch_size: args.batch_size.unwrap_or(64),
        seed,
        resume: args.resume,
        progress: !args.quiet,
        stop_after: args.quick.then_some(QUICK_MNIST_STEPS),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let summary = gm_core::fit(&mut trainer, &mnist.train, &fc, dir, &device)?;
    let wall = t.elapsed().as_secs_f64();
    let eval_cfg = gm_eval::EvalConfig {
        n_samples: samples,
        seed,
        kid_subset_size: 1_000.min(samples),
        ..if args.quick {
            // Fewer KID subsets, neighbour points and Parzen validation digits.
            gm_eval::EvalConfig {
                kid_subsets: 10,
                max_neighbour_points: 500,
                parzen_validation: 300,
                ..gm_eval::EvalConfig::default()
            }
        } else {
            gm_eval::EvalConfig::default()
        }
    };
    let report = gm_eval::evaluate_generator(trainer.generator(), &eval_cfg, &device)?;
    gm_eval::write_eval(dir, &report)?;
    let m = report
        .mnist
        .ok_or_else(|| anyhow::anyhow!("no MNIST metrics"))?;
    Ok((summary.steps, wall, m))
}
