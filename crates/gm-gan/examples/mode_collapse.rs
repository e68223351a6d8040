//! Mode collapse on the ring of 8 (radius 2, std 0.02) and the grid of 25 (spacing 2, std
//! 0.05): every method trains with gm-core's `fit` loop, then 2,500 samples are scored with
//! the VEEGAN definitions of gm-eval (a sample is high quality within 3 std of its nearest
//! mode; a mode is captured when one high-quality sample is nearest to it). One markdown
//! table: modes captured (mean, its standard error and range over seeds), high-quality
//! share, reverse KL of the mode histogram to uniform.
//!
//! ```text
//! cargo xtask reproduce mode-collapse [--quick] [--seeds 5] [--steps 3000]
//!     [--rows gan,unrolled5,...] [--out DIR] [--resume | --overwrite]
//!     (--help lists every flag)
//! ```
//!
//! Without `--out` each run gets a new folder `runs/mode-collapse/<n>`, with one sub-folder per
//! row, data set and seed.
//!
//! `--quick`: one seed and 60 steps, a smoke test of every row (`--rows` picks a subset).
//! `--steps` counts generator steps (the WGAN-GP row takes 5 critic batches for each).
//! The unrolled rows follow Metz et al.'s reference settings (tanh networks with orthogonal
//! weights of gain 1.4 and zero biases, a 256-d latent, minimax loss, generator Adam at 1e-3,
//! look-ahead steps of the critic's own Adam, batch 512), with the critic's Adam at 1e-3
//! instead of their 1e-4 (`--lr-d 1e-4` for theirs); `unrolled0` is that GAN without
//! look-ahead. The other rows train ReLU networks with a 64-d latent at batch 128 with both
//! rates at 1e-3. `--look-ahead sgd` unrolls with plain gradient steps of rate `--unroll-lr`
//! instead; `--batch-size` sets every row's batch; `--lr-d`, `--g-loss
//! minimax|non-saturating`, `--latent`, `--activation relu|leaky-relu|tanh` and `--init
//! default|orthogonal` override the rows' critic rate, generator loss, latent size, MLP
//! nonlinearity and initial weights; `--report-every N` prints each run's coverage every `N`
//! steps.

mod common;

use std::time::Instant;

use std::path::Path;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::{Dataset, Mixture2d};
use gm_core::{fit, AdamConfig, FitConfig, Trainer};
use gm_eval::{mode_coverage, sample_generator, MODE_SAMPLES};
use gm_gan::{
    Activation, Architecture, GanConfig, GanGeneratorLoss, GanTrainConfig, GanTrainer, LookAhead,
    MixGanConfig, MixGanTrainer, MlpInit, Objective, Tricks, Unrolled,
};

/// Mode collapse on the ring of 8 and the grid of 25: modes captured and high-quality samples
/// per GAN variant.
///
/// --steps (generator steps) defaults to 3000 (60 with --quick); --batch-size to each row's own
/// (128, or 512 for the unrolled rows; at most 128 with --quick); --lr sets every row's
/// generator Adam rate (default: each row's own).
#[derive(Parser)]
struct Cli {
    /// Seeds per row and data set, counting up from --seed [default: 5, 1 with --quick]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    seeds: Option<usize>,
    /// The rows to train, comma-separated keys (mix, gan, unrolled0, unrolled5, unrolled10,
    /// wgan-gp, kernel, feature-matching, historical-averaging, instance-noise,
    /// label-smoothing, n-critic, tricks) [default: all]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    rows: Vec<String>,
    /// Only this data set [default: both]
    #[arg(long, value_name = "DATA", value_parser = ["ring8", "grid25"])]
    data: Option<String>,
    /// How the unrolled rows look ahead [default: adam]
    #[arg(long, value_enum, value_name = "OPTIMIZER")]
    look_ahead: Option<LookAheadArg>,
    /// Rate of the unrolled rows' look-ahead steps [default: the rows' own]
    #[arg(long, value_name = "X", value_parser = gm_core::cli::positive_f64)]
    unroll_lr: Option<f64>,
    /// Critic's Adam rate of every row [default: each row's own]
    #[arg(long, value_name = "X", value_parser = gm_core::cli::positive_f64)]
    lr_d: Option<f64>,
    /// Generator loss of the rows with the GAN objective [default: each row's own]
    #[arg(long, value_enum, value_name = "LOSS")]
    g_loss: Option<GLossArg>,
    /// Latent size of every row [default: 64; 256 for the unrolled rows]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    latent: Option<usize>,
    /// MLP nonlinearity of every row [default: relu; tanh for the unrolled rows]
    #[arg(long, value_enum, value_name = "F")]
    activation: Option<ActivationArg>,
    /// Initial MLP weights of every row [default: default; orthogonal for the unrolled rows]
    #[arg(long, value_enum, value_name = "INIT")]
    init: Option<InitArg>,
    /// Print each run's coverage every N generator steps (0: only at the end)
    #[arg(long, value_name = "N", default_value_t = 0)]
    report_every: usize,
    /// Smoke run: one seed, 60 steps, batches of at most 128
    #[arg(long)]
    quick: bool,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

/// `--look-ahead`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LookAheadArg {
    /// Steps of the critic's own Adam
    Adam,
    /// Plain gradient steps of rate --unroll-lr
    Sgd,
}

/// `--g-loss`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum GLossArg {
    /// Minimise log(1 - D(G(z)))
    Minimax,
    /// Maximise log D(G(z))
    NonSaturating,
}

/// `--activation`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ActivationArg {
    Relu,
    LeakyRelu,
    Tanh,
}

/// `--init`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum InitArg {
    /// The layers' default initialisation
    Default,
    /// Orthogonal weights of gain 1.4 and zero biases
    Orthogonal,
}

const NAME: &str = "mode-collapse";

/// One method of the table.
struct Method {
    key: &'static str,
    label: &'static str,
    cfg: GanTrainConfig,
    /// MIX+GAN components (0: a single GAN).
    mix: usize,
    /// Batch size (`--batch-size` overrides every row's).
    batch: usize,
}

fn adam(lr: f64) -> AdamConfig {
    AdamConfig {
        lr,
        beta1: 0.5,
        ..AdamConfig::default()
    }
}

fn methods() -> Vec<Method> {
    // The other rows: two hidden layers of 128 ReLU units and a 64-d latent.
    let model = GanConfig {
        latent_dim: 64,
        ..GanConfig::mlp_2d()
    };
    let gan = GanTrainConfig {
        model: model.clone(),
        objective: Objective::Gan {
            generator_loss: GanGeneratorLoss::NonSaturating,
        },
        adam_g: adam(1e-3),
        adam_d: adam(1e-3),
        ..GanTrainConfig::default()
    };
    // Metz et al.'s reference settings: tanh networks with orthogonal weights (gain 1.4) and
    // zero biases, a 256-d latent, minimax loss (the unrolled objective is the value function
    // itself), generator Adam at 1e-3 (beta1 0.5), look-ahead steps of the critic's own Adam,
    // batch 512; but the critic's Adam at 1e-3, not 1e-4: at 1e-4 the grid's samples stay spread
    // over its square after 10,000 steps. `k = 0` is the same GAN without look-ahead.
    let tanh = Architecture::Mlp {
        hidden: vec![128, 128],
        activation: Activation::Tanh,
    };
    let unrolled = |k: usize| GanTrainConfig {
        model: GanConfig {
            generator: tanh.clone(),
            discriminator: tanh.clone(),
            mlp_init: MlpInit::Orthogonal { gain: 1.4 },
            latent_dim: 256,
            ..model.clone()
        },
        objective: Objective::Gan {
            generator_loss: GanGeneratorLoss::Minimax,
        },
        unrolled: (k > 0).then(|| Unrolled::adam(k)),
        ..gan.clone()
    };
    // One row per stabilisation trick: the GAN row's settings with that trick alone.
    let trick = |key: &'static str, label: &'static str, tricks: Tricks| Method {
        key,
        label,
        cfg: GanTrainConfig {
            tricks,
            ..gan.clone()
        },
        mix: 0,
        batch: 128,
    };
    vec![
        Method {
            key: "mix",
            label: "MIX+GAN (3 + 3 components, entropy 0.1)",
            cfg: gan.clone(),
            mix: 3,
            batch: 128,
        },
        Method {
            key: "gan",
            label: "GAN (non-saturating)",
            cfg: gan.clone(),
            mix: 0,
            batch: 128,
        },
        Method {
            key: "unrolled0",
            label: "GAN with the unrolled rows' settings (k = 0)",
            cfg: unrolled(0),
            mix: 0,
            batch: 512,
        },
        Method {
            key: "unrolled5",
            label: "unrolled GAN, k = 5",
            cfg: unrolled(5),
            mix: 0,
            batch: 512,
        },
        Method {
            key: "unrolled10",
            label: "unrolled GAN, k = 10",
            cfg: unrolled(10),
            mix: 0,
            batch: 512,
        },
        Method {
            key: "wgan-gp",
            label: "WGAN-GP (lambda 10, 5 critic steps)",
            cfg: GanTrainConfig {
                objective: Objective::WganGp { penalty: 10.0 },
                adam_g: AdamConfig {
                    lr: 1e-4,
                    beta1: 0.5,
                    beta2: 0.9,
                    ..AdamConfig::default()
                },
                adam_d: AdamConfig {
                    lr: 1e-4,
                    beta1: 0.5,
                    beta2: 0.9,
                    ..AdamConfig::default()
                },
                tricks: Tricks {
                    n_critic: 5,
                    ..Tricks::default()
                },
                ..gan.clone()
            },
            mix: 0,
            batch: 128,
        },
        Method {
            key: "kernel",
            label: "kernel generator (Cauchy-Schwarz)",
            cfg: GanTrainConfig {
                objective: Objective::CauchySchwarz {
                    bandwidths: vec![0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
                },
                adam_g: adam(1e-3),
                ..gan.clone()
            },
            mix: 0,
            batch: 128,
        },
        trick(
            "feature-matching",
            "GAN + feature matching",
            Tricks {
                feature_matching: true,
                ..Tricks::default()
            },
        ),
        trick(
            "historical-averaging",
            "GAN + historical averaging (lambda 1)",
            Tricks {
                historical_averaging: 1.0,
                ..Tricks::default()
            },
        ),
        trick(
            "instance-noise",
            "GAN + instance noise (0.3, annealed over 1,000 steps)",
            Tricks {
                instance_noise: 0.3,
                instance_noise_anneal_steps: 1_000,
                ..Tricks::default()
            },
        ),
        trick(
            "label-smoothing",
            "GAN + one-sided label smoothing (0.1)",
            Tricks {
                label_smoothing: 0.1,
                ..Tricks::default()
            },
        ),
        trick(
            "n-critic",
            "GAN + 5 critic steps per generator step",
            Tricks {
                n_critic: 5,
                ..Tricks::default()
            },
        ),
        Method {
            key: "tricks",
            label: "GAN + instance noise + label smoothing",
            cfg: GanTrainConfig {
                tricks: Tricks {
                    instance_noise: 0.3,
                    instance_noise_anneal_steps: 1_000,
                    label_smoothing: 0.1,
                    ..Tricks::default()
                },
                ..gan.clone()
            },
            mix: 0,
            batch: 128,
        },
    ]
}

/// One training run of the table.
struct RunCtx<'a> {
    data: &'a Dataset,
    fit: &'a FitConfig,
    dir: &'a Path,
    device: &'a Device,
    mix: &'a Mixture2d,
    /// Generator steps.
    steps: usize,
    /// Batches `fit` takes per generator step (the critic steps of WGAN-GP).
    per_step: usize,
    /// Print the coverage every this many generator steps (0: only at the end).
    report_every: usize,
    what: String,
}

impl RunCtx<'_> {
    /// Trains to the end, stopping every `report_every` steps (a checkpoint, then resumed:
    /// the run is the same as without stops) to print the coverage so far; returns the final
    /// samples.
    fn train<T: Trainer>(
        &self,
        trainer: &mut T,
        sample: impl Fn(&T) -> Result<Tensor>,
    ) -> Result<Tensor> {
        // --stop-after (in batches) ends the run early, report stops included.
        let cap = self.fit.stop_after.unwrap_or(u64::MAX);
        let mut done = 0;
        while self.report_every > 0
            && done + self.report_every < self.steps
            && (((done + self.report_every) * self.per_step) as u64) < cap
        {
            done += self.report_every;
            let stop = FitConfig {
                stop_after: Some((done * self.per_step) as u64),
                resume: true,
                ..self.fit.clone()
            };
            fit(trainer, self.data, &stop, self.dir, self.device)?;
            let c = mode_coverage(&sample(trainer)?, self.mix)?;
            eprintln!(
                "{}, step {done}: {} modes, {:.1} % high quality",
                self.what,
                c.modes_captured,
                100.0 * c.high_quality
            );
        }
        let last = FitConfig {
            resume: true,
            ..self.fit.clone()
        };
        fit(trainer, self.data, &last, self.dir, self.device)?;
        sample(trainer)
    }
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli =
        gm_core::cli::parse(NAME, &[("steps", None), ("batch-size", None), ("lr", None)]);
    let args = &cli.run;
    let keys: Vec<&str> = methods().iter().map(|m| m.key).collect();
    if let Some(r) = cli.rows.iter().find(|r| !keys.contains(&r.as_str())) {
        bail!("--rows: unknown row `{r}`; one of {}", keys.join(", "));
    }
    // candle reads CANDLE_GRAD_DO_NOT_DETACH once per thread, at the first backward pass:
    // set it before the first method trains so that the second-order ones (unrolled,
    // WGAN-GP) can follow.
    gm_gan::enable_second_order("mode-collapse")?;
    let device = args.device()?;
    let seeds = cli.seeds.unwrap_or(if cli.quick { 1 } else { 5 }) as u64;
    let steps = args.steps.unwrap_or(if cli.quick { 60 } else { 3_000 });
    let first_seed = args.seed;
    let only = cli.data.clone().unwrap_or_default();
    let unroll_lr = cli.unroll_lr;
    let look_ahead = cli.look_ahead.map(|o| match o {
        LookAheadArg::Adam => LookAhead::Adam,
        LookAheadArg::Sgd => LookAhead::Sgd,
    });
    let lr_d = cli.lr_d;
    let latent = cli.latent;
    let g_loss = cli.g_loss.map(|l| match l {
        GLossArg::Minimax => GanGeneratorLoss::Minimax,
        GLossArg::NonSaturating => GanGeneratorLoss::NonSaturating,
    });
    let activation = cli.activation.map(|a| match a {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::LeakyRelu => Activation::LeakyRelu,
        ActivationArg::Tanh => Activation::Tanh,
    });
    let init = cli.init.map(|i| match i {
        InitArg::Default => MlpInit::Default,
        InitArg::Orthogonal => MlpInit::Orthogonal { gain: 1.4 },
    });
    let report_every = cli.report_every;
    let out = args.run_dir(NAME)?;
    let data_sets = [
        ("ring of 8", "ring8", Mixture2d::ring8()),
        ("grid of 25", "grid25", Mixture2d::grid25()),
    ];
    let mut table = Vec::new();
    let started = Instant::now();
    for m in methods() {
        if !cli.rows.is_empty() && !cli.rows.iter().any(|r| r == m.key) {
            continue;
        }
        // The smoke test keeps every row at batch 128 at most.
        let batch = args
            .batch_size
            .unwrap_or(if cli.quick { m.batch.min(128) } else { m.batch });
        let mut row = vec![m.label.to_string(), batch.to_string()];
        for (_, dkey, mix) in &data_sets {
            if !only.is_empty() && only != *dkey {
                // Keeps the other data set's columns in place.
                row.extend(["-".to_string(), "-".into(), "-".into()]);
                continue;
            }
            let (mut captured, mut hq, mut kl) = (Vec::new(), Vec::new(), Vec::new());
            let mut diverged = 0usize;
            let t = Instant::now();
            for seed in first_seed..first_seed + seeds {
                let mut cfg = m.cfg.clone();
                if let Some(lr) = args.lr {
                    cfg.adam_g.lr = lr;
                }
                if let Some(lr) = lr_d {
                    cfg.adam_d.lr = lr;
                }
                if let Some(l) = latent {
                    cfg.model.latent_dim = l;
                }
                if let Some(i) = init {
                    cfg.model.mlp_init = i;
                }
                if let Some(a) = activation {
                    for net in [&mut cfg.model.generator, &mut cfg.model.discriminator] {
                        if let Architecture::Mlp { activation, .. } = net {
                            *activation = a;
                        }
                    }
                }
                if let (Objective::Gan { generator_loss }, Some(gl)) = (&mut cfg.objective, g_loss)
                {
                    *generator_loss = gl;
                }
                if let (Some(u), Some(lr)) = (cfg.unrolled.as_mut(), unroll_lr) {
                    u.lr = lr;
                }
                if let (Some(u), Some(o)) = (cfg.unrolled.as_mut(), look_ahead) {
                    u.optimizer = o;
                }
                // `--steps` counts generator steps: rows with several critic steps per
                // generator step take that many batches per step.
                let per_step = cfg.tricks.n_critic.max(1);
                let data = mix.dataset(steps * per_step * batch, 1_000 + seed)?;
                let dir = out.join(format!("{}-{dkey}-seed{seed}", m.key));
                let fc = FitConfig {
                    seed,
                    ..args.fit_config(1, batch)
                };
                let ctx = RunCtx {
                    data: &data,
                    fit: &fc,
                    dir: &dir,
                    device: &device,
                    mix,
                    steps,
                    per_step,
                    report_every,
                    what: format!("{} on {dkey}, seed {seed}", m.label),
                };
                let run = || -> Result<candle_core::Tensor> {
                    if m.mix > 0 {
                        let mc = MixGanConfig {
                            base: cfg.clone(),
                            components: m.mix,
                            entropy_weight: 0.1,
                        };
                        let mut trainer = MixGanTrainer::new(mc, seed, &device)?;
                        ctx.train(&mut trainer, |t| {
                            Ok(sample_generator(
                                t.generator(),
                                MODE_SAMPLES,
                                500,
                                seed,
                                &device,
                            )?)
                        })
                    } else {
                        let mut trainer = GanTrainer::new(cfg.clone(), seed, &device)?;
                        ctx.train(&mut trainer, |t| {
                            Ok(sample_generator(
                                t.generator(),
                                MODE_SAMPLES,
                                500,
                                seed,
                                &device,
                            )?)
                        })
                    }
                };
                // A run that diverges is a result too: the table says so and goes on.
                let s = match run() {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{} on {dkey}, seed {seed}: {e}", m.label);
                        diverged += 1;
                        continue;
                    }
                };
                let c = mode_coverage(&s, mix)?;
                eprintln!(
                    "{} on {dkey}, seed {seed}, step {steps}: {} modes, {:.1} % high quality",
                    m.label,
                    c.modes_captured,
                    100.0 * c.high_quality
                );
                captured.push(c.modes_captured as f64);
                hq.push(c.high_quality);
                kl.push(c.reverse_kl.unwrap_or(f64::NAN));
            }
            if captured.is_empty() {
                row.extend([
                    format!("diverged ({diverged} of {seeds} seeds)"),
                    "-".into(),
                    "-".into(),
                ]);
                continue;
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let lo = captured.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = captured.iter().cloned().fold(0.0, f64::max);
            let note = if diverged > 0 {
                format!(", {diverged} diverged")
            } else {
                String::new()
            };
            // The standard error of the mean over seeds (sample standard deviation / sqrt n).
            let n = captured.len() as f64;
            let se = if captured.len() > 1 {
                let m = mean(&captured);
                let var = captured.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (n - 1.0);
                format!(" ± {:.1}", (var / n).sqrt())
            } else {
                String::new()
            };
            row.push(format!(
                "{:.1}{se} / {} ({lo:.0}-{hi:.0}{note})",
                mean(&captured),
                mix.means.len()
            ));
            row.push(format!("{:.1} %", 100.0 * mean(&hq)));
            // The reverse KL is undefined for a seed without high-quality samples.
            let kl_mean = mean(&kl);
            row.push(if kl_mean.is_finite() {
                format!("{kl_mean:.2}")
            } else {
                "n/a".into()
            });
            eprintln!(
                "{}: {dkey} done in {:.1} s",
                m.label,
                t.elapsed().as_secs_f64()
            );
        }
        table.push(row);
    }
    println!(
        "\n{} seed(s) from {first_seed}, {steps} steps each, {MODE_SAMPLES} samples, {:.0} s in all on {}\n",
        seeds,
        started.elapsed().as_secs_f64(),
        gm_core::device::device_name(&device)
    );
    println!(
        "{}",
        common::markdown(
            &[
                "method",
                "batch",
                "ring: modes",
                "ring: high quality",
                "ring: reverse KL",
                "grid: modes",
                "grid: high quality",
                "grid: reverse KL"
            ],
            &table
        )
    );
    Ok(())
}
