//! Helpers shared by gm-gan's examples: the markdown table
//! they print and the MNIST train-then-evaluate step of the f-GAN and omega-cost tables. The
//! command line itself is gm-core's ([`gm_core::cli`]).

#![allow(dead_code)]

use std::path::Path;

use anyhow::Result;
use candle_core::Device;
use gm_core::cli::RunArgs;

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

/// The budget of one MNIST run of [`train_and_evaluate_mnist`].
pub struct MnistBudget {
    pub epochs: usize,
    pub batch_size: usize,
    /// Generated digits the metrics are computed on.
    pub samples: usize,
    /// Stop after [`QUICK_MNIST_STEPS`] steps and evaluate with smaller metric budgets.
    pub quick: bool,
}

/// The flags of the examples that train one MLP GAN on MNIST per table row.
#[derive(clap::Args, Debug, Clone)]
pub struct TableArgs {
    /// Generated digits the MNIST metrics are computed on [default: 2000, 500 with --quick]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    pub samples: Option<usize>,
    /// Smoke run: fewer steps (60 per MNIST run) and smaller metric budgets
    #[arg(long)]
    pub quick: bool,
}

impl MnistBudget {
    /// The budget of each MNIST row: `--epochs` (default 3, 1 with `--quick`),
    /// `--batch-size`, and the samples of `table`.
    pub fn new(run: &RunArgs, table: &TableArgs) -> Result<Self> {
        Ok(Self {
            epochs: run.epochs.unwrap_or(if table.quick { 1 } else { 3 }),
            batch_size: RunArgs::need(run.batch_size, "batch-size")?,
            samples: table
                .samples
                .unwrap_or(if table.quick { 500 } else { 2_000 }),
            quick: table.quick,
        })
    }
}

/// Trains `cfg` on the embedded MNIST training digits with gm-core's `fit` in `dir` (a folder
/// inside the run folder; `--resume` continues its checkpoint), evaluates `budget.samples`
/// generated digits with gm-eval (Parzen included) and writes `eval.json`; returns (steps, wall
/// seconds, metrics).
pub fn train_and_evaluate_mnist(
    cfg: gm_gan::GanTrainConfig,
    run: &RunArgs,
    budget: &MnistBudget,
    dir: &Path,
    device: &Device,
) -> Result<(u64, f64, gm_eval::MnistMetrics)> {
    let mnist = gm_core::data::mnist_embedded()?;
    let seed = run.seed;
    let mut trainer = gm_gan::GanTrainer::new(cfg, seed, device)?;
    let quick_stop = budget.quick.then_some(QUICK_MNIST_STEPS);
    let fc = gm_core::FitConfig {
        // The earlier of --stop-after and the quick budget.
        stop_after: [run.stop_after, quick_stop].into_iter().flatten().min(),
        ..run.fit_config(budget.epochs, budget.batch_size)
    };
    let t = std::time::Instant::now();
    let summary = gm_core::fit(&mut trainer, &mnist.train, &fc, dir, device)?;
    let wall = t.elapsed().as_secs_f64();
    let samples = budget.samples;
    let eval_cfg = gm_eval::EvalConfig {
        n_samples: samples,
        seed,
        kid_subset_size: 1_000.min(samples),
        ..if budget.quick {
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
    let report = gm_eval::evaluate_generator(trainer.generator(), &eval_cfg, device)?;
    gm_eval::write_eval(dir, &report)?;
    let m = report
        .mnist
        .ok_or_else(|| anyhow::anyhow!("no MNIST metrics"))?;
    Ok((summary.steps, wall, m))
}

/// The GAN toolkit's options (Tricks of gm-gan), shared by `cargo xtask run dcgan` and the image models of
/// `cargo xtask run <model>`; each one left out keeps the model's own recipe.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ToolkitArgs {
    /// Adversarial loss: gan (non-saturating), hinge, lsgan, wgan (clipping 0.01) or wgan-gp
    /// [default: the model's]
    #[arg(long, value_name = "LOSS")]
    pub loss: Option<String>,
    /// Decay of the generator's weight average used for sampling and evaluation (e.g. 0.999)
    #[arg(long, value_name = "BETA")]
    pub ema: Option<f64>,
    /// Generator updates before the average starts (a copy until then)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub ema_start: u64,
    /// Weight gamma of the R1 penalty on real images
    #[arg(long, value_name = "GAMMA")]
    pub r1: Option<f64>,
    /// Weight gamma of the R2 penalty on generated images
    #[arg(long, value_name = "GAMMA")]
    pub r2: Option<f64>,
    /// DiffAugment policy, e.g. color,translation,cutout
    #[arg(long, value_name = "POLICY")]
    pub diff_augment: Option<String>,
    /// Spectral normalization of every critic layer
    #[arg(long)]
    pub spectral_norm: bool,
    /// Train through candle's autograd instead of the written-out MLP / DCGAN step (the
    /// path the figures measured before it were made with)
    #[arg(long)]
    pub autograd: bool,
}

impl ToolkitArgs {
    /// A trainer for `cfg`, on candle's autograd when `--autograd` is given.
    pub fn trainer(
        &self,
        cfg: gm_gan::GanTrainConfig,
        seed: u64,
        device: &candle_core::Device,
    ) -> Result<gm_gan::GanTrainer> {
        let mut trainer = gm_gan::GanTrainer::new(cfg, seed, device)?;
        if self.autograd {
            trainer.set_fused(false)?;
        }
        Ok(trainer)
    }

    /// `cfg` with the options given; an unknown loss or policy is an error naming the flag.
    pub fn apply(&self, cfg: &mut gm_gan::GanTrainConfig) -> Result<()> {
        self.apply_game(&mut cfg.objective, &mut cfg.tricks)?;
        Ok(cfg.validate()?)
    }

    /// The objective and tricks of any model's game with the options given (each model's
    /// configuration then refuses what it cannot take, by name).
    pub fn apply_game(
        &self,
        objective: &mut gm_gan::Objective,
        t: &mut gm_gan::Tricks,
    ) -> Result<()> {
        self.toolkit()?.apply(objective, t);
        Ok(())
    }

    /// The options as gm-gan's [`gm_gan::registry::Toolkit`]; an unknown loss or policy is an
    /// error naming the flag.
    pub fn toolkit(&self) -> Result<gm_gan::registry::Toolkit> {
        let diff_augment = match &self.diff_augment {
            None => None,
            Some(p) => Some(
                gm_gan::Augment::parse_policy(p)
                    .map_err(|e| anyhow::anyhow!("--diff-augment {p}: {e}"))?,
            ),
        };
        Ok(gm_gan::registry::Toolkit {
            loss: match &self.loss {
                None => None,
                Some(l) => Some(gm_gan::registry::Toolkit::parse_loss(l)?),
            },
            ema: self.ema.map(|b| (b, self.ema_start)),
            r1: self.r1,
            r2: self.r2,
            diff_augment,
            spectral_norm: self.spectral_norm,
            autograd: self.autograd,
        })
    }
}
