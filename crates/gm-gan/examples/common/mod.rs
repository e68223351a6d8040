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
    let m = evaluate_mnist(&trainer, run.seed, budget, dir, device)?;
    Ok((summary.steps, wall, m))
}

/// What [`train_until_plateau`] saw.
pub struct Plateau {
    /// Generator steps and seconds of training, over every round.
    pub steps: u64,
    pub wall: f64,
    /// Epochs trained in all.
    pub epochs: usize,
    /// The Parzen estimate (nats) after each round.
    pub history: Vec<f64>,
    /// The round with the best Parzen estimate: its epoch and its metrics (none when the
    /// first round diverged).
    pub best: Option<(usize, gm_eval::MnistMetrics)>,
    /// The step where a loss or weight stopped being finite, ending the run there.
    pub diverged: Option<u64>,
}

/// Trains `cfg` as [`train_and_evaluate_mnist`] does, in rounds of `budget.epochs` epochs
/// (each round resumes the run's own checkpoint, so the rounds are one run), evaluating after
/// each round, until the Parzen estimate has not risen above the best one by more than that
/// one's standard error for `patience` rounds, `max_epochs` are done, or training diverges
/// (which ends that run, not the caller's).
pub fn train_until_plateau(
    cfg: gm_gan::GanTrainConfig,
    run: &RunArgs,
    budget: &MnistBudget,
    dir: &Path,
    device: &Device,
    patience: usize,
    max_epochs: usize,
) -> Result<Plateau> {
    let mnist = gm_core::data::mnist_embedded()?;
    let mut trainer = gm_gan::GanTrainer::new(cfg, run.seed, device)?;
    let mut wall = 0.0;
    let mut history = Vec::new();
    let mut best: Option<(usize, f64, f64, gm_eval::MnistMetrics)> = None;
    let (mut since, mut epochs, mut steps, mut diverged) = (0, 0, 0, None);
    for round in 1.. {
        epochs = (round * budget.epochs).min(max_epochs);
        let fc = gm_core::FitConfig {
            resume: run.resume || round > 1,
            ..run.fit_config(epochs, budget.batch_size)
        };
        let t = std::time::Instant::now();
        let fitted = gm_core::fit(&mut trainer, &mnist.train, &fc, dir, device);
        wall += t.elapsed().as_secs_f64();
        match fitted {
            Ok(summary) => steps = summary.steps,
            Err(gm_core::Error::NonFinite { step, .. }) => {
                eprintln!("diverged at step {step}");
                diverged = Some(step);
                break;
            }
            Err(e) => return Err(e.into()),
        }
        let m = evaluate_mnist(&trainer, run.seed, budget, dir, device)?;
        let (parzen, stderr) = m
            .parzen
            .as_ref()
            .map(|p| (p.mean, p.stderr))
            .ok_or_else(|| anyhow::anyhow!("no Parzen estimate to follow"))?;
        eprintln!(
            "epoch {epochs}: Parzen {parzen:.1} nats, FD {:.2}",
            m.frechet_distance
        );
        history.push(parzen);
        // The best round is kept; a round counts as progress only when it beats the best
        // by more than the best one's standard error.
        if best.as_ref().is_none_or(|b| parzen > b.1) {
            let clear = best.as_ref().is_none_or(|b| parzen > b.1 + b.2);
            best = Some((epochs, parzen, stderr, m));
            since = if clear { 0 } else { since + 1 };
        } else {
            since += 1;
        }
        if since >= patience || epochs >= max_epochs {
            break;
        }
    }
    Ok(Plateau {
        steps,
        wall,
        epochs,
        history,
        best: best.map(|(epoch, _, _, m)| (epoch, m)),
        diverged,
    })
}

/// Evaluates `budget.samples` digits of `trainer`'s generator with gm-eval (Parzen included)
/// and writes `eval.json` in `dir`.
fn evaluate_mnist(
    trainer: &gm_gan::GanTrainer,
    seed: u64,
    budget: &MnistBudget,
    dir: &Path,
    device: &Device,
) -> Result<gm_eval::MnistMetrics> {
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
    report
        .mnist
        .ok_or_else(|| anyhow::anyhow!("no MNIST metrics"))
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
