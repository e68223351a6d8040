//! f-GAN (Nowozin, Cseke and Tomioka 2016) on the embedded MNIST digits: the MLP GAN trained
//! once per divergence of gm-divergence's catalogue, the critic's output passed through the
//! divergence's activation `g_f` and the generator on the non-saturating loss
//! `-E g_f(V(G(z)))`. One markdown table: Parzen-window log-likelihood (the paper's Table 3
//! protocol on gm-eval) and MNIST Frechet distance.
//!
//! ```text
//! cargo xtask reproduce fgan [--quick] [--epochs 3] [--samples 2000] [--seed 0] [--out DIR]
//!     [--until-plateau [--patience 3] [--max-epochs 30]] [--divergences gan,jensen-shannon]
//!     [--resume | --overwrite]
//!     (--help lists every flag)
//! ```
//!
//! With `--until-plateau` each divergence trains in rounds of `--epochs` epochs, evaluated
//! after each, until its Parzen estimate has not beaten its best by more than a standard
//! error for `--patience` rounds (or `--max-epochs` are done); the table
//! gives the best round's figures.
//!
//! Without `--out` each run gets a new folder `runs/fgan/<n>`, with one sub-folder per
//! divergence.

mod common;

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_divergence::Divergence;
use gm_gan::{GanConfig, GanTrainConfig, Objective};

/// f-GAN on the embedded MNIST digits, once per f-divergence: Parzen log-likelihood and FD.
///
/// --epochs defaults to 3 (1 with --quick, which also stops each run after 60 steps). --lr sets
/// both Adam rates (default: the MLP GAN's own).
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    table: common::TableArgs,
    /// Train each divergence in rounds of --epochs epochs until its Parzen estimate stops
    /// improving
    #[arg(long)]
    until_plateau: bool,
    /// Rounds in a row whose Parzen estimate does not beat the best by more than its standard
    /// error before a divergence stops (--until-plateau)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = gm_core::cli::positive_usize)]
    patience: usize,
    /// Epochs at most for each divergence (--until-plateau)
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = gm_core::cli::positive_usize)]
    max_epochs: usize,
    /// Only these divergences, in this order: comma-separated slugs of gm-divergence's
    /// catalogue (gan, jensen-shannon, alpha-alpha-2, ...) [default: the whole catalogue]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    divergences: Vec<String>,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "fgan";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(
        NAME,
        &[("epochs", None), ("batch-size", Some("64")), ("lr", None)],
    );
    let chosen: Vec<Divergence> = if cli.divergences.is_empty() {
        Divergence::catalogue()
    } else {
        cli.divergences
            .iter()
            .map(|slug| gm_gan::registry::divergence(slug))
            .collect::<std::result::Result<_, _>>()?
    };
    let args = &cli.run;
    let device = args.device()?;
    let plan = common::MnistBudget::new(args, &cli.table)?;
    let out = args.run_dir(NAME)?;
    let mut rows = Vec::new();
    for d in chosen {
        let mut cfg = GanTrainConfig {
            model: GanConfig::mlp_mnist(),
            objective: Objective::FGan {
                divergence: d,
                non_saturating: true,
            },
            ..GanTrainConfig::default()
        };
        if let Some(lr) = args.lr {
            cfg.adam_g.lr = lr;
            cfg.adam_d.lr = lr;
        }
        let dir = out.join(d.name().replace([' ', '(', ')', '=', ','], "-"));
        if cli.until_plateau {
            let p = common::train_until_plateau(
                cfg,
                args,
                &plan,
                &dir,
                &device,
                cli.patience,
                cli.max_epochs,
            )?;
            eprintln!("{}: {} steps in {:.1} s", d.name(), p.steps, p.wall);
            let best = |f: &dyn Fn(usize, &gm_eval::MnistMetrics) -> String| {
                p.best.as_ref().map_or("-".into(), |(e, m)| f(*e, m))
            };
            rows.push(vec![
                d.name(),
                best(&|_, m| {
                    m.parzen
                        .as_ref()
                        .map_or("n/a".into(), |b| format!("{:.1} ± {:.1}", b.mean, b.stderr))
                }),
                best(&|e, _| e.to_string()),
                match p.diverged {
                    Some(step) => format!("{} (diverged at step {step})", p.epochs),
                    None => p.epochs.to_string(),
                },
                best(&|_, m| format!("{:.2}", m.frechet_distance)),
                best(&|_, m| format!("{:.2}", m.classifier_score.mean)),
                format!("{:.0}", p.wall),
                p.history
                    .iter()
                    .map(|v| format!("{v:.0}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
            continue;
        }
        let (steps, wall, m) = common::train_and_evaluate_mnist(cfg, args, &plan, &dir, &device)?;
        eprintln!("{}: {steps} steps in {wall:.1} s", d.name());
        rows.push(vec![
            d.name(),
            m.parzen
                .as_ref()
                .map_or("n/a".into(), |p| format!("{:.1} ± {:.1}", p.mean, p.stderr)),
            format!("{:.2}", m.frechet_distance),
            format!("{:.2}", m.classifier_score.mean),
            format!("{wall:.0}"),
        ]);
    }
    if cli.until_plateau {
        println!(
            "\nrounds of {} epoch(s) of the 8,000 embedded digits until the Parzen estimate \
             stops improving ({} rounds), at most {} epochs; {} samples\n",
            plan.epochs, cli.patience, cli.max_epochs, plan.samples
        );
        let header = [
            "divergence",
            "best Parzen LL (nats)",
            "at epoch",
            "epochs trained",
            "MNIST FD (at best)",
            "classifier score (at best)",
            "training s",
            "Parzen by round",
        ];
        println!("{}", common::markdown(&header, &rows));
        return Ok(());
    }
    let budget = if cli.table.quick {
        format!("{} steps (--quick)", common::QUICK_MNIST_STEPS)
    } else {
        format!("{} epoch(s) of the 8,000 embedded digits", plan.epochs)
    };
    println!("\n{budget} per divergence, {} samples\n", plan.samples);
    println!(
        "{}",
        common::markdown(
            &[
                "divergence",
                "Parzen LL (nats)",
                "MNIST FD",
                "classifier score",
                "wall s"
            ],
            &rows
        )
    );
    Ok(())
}
