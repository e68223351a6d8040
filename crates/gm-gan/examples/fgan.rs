//! f-GAN (Nowozin, Cseke and Tomioka 2016) on the embedded MNIST digits: the MLP GAN trained
//! once per divergence of gm-divergence's catalogue, the critic's output passed through the
//! divergence's activation `g_f` and the generator on the non-saturating loss
//! `-E g_f(V(G(z)))`. One markdown table: Parzen-window log-likelihood (the paper's Table 3
//! protocol on gm-eval) and MNIST Frechet distance.
//!
//! ```text
//! cargo run --release -p gm-gan --example fgan -- [--quick] [--epochs 3] [--samples 2000]
//! ```

mod common;

use anyhow::Result;
use gm_divergence::Divergence;
use gm_gan::{GanConfig, GanTrainConfig, Objective};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let args = common::Args::parse("fgan", &["samples"], &[])?;
    let epochs = args.epochs.unwrap_or(if args.quick { 1 } else { 3 });
    let samples: usize = args.get("samples", if args.quick { 500 } else { 2_000 })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| "runs/gm-gan/fgan".into());
    let mut rows = Vec::new();
    for d in Divergence::catalogue() {
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
        let (steps, wall, m) = common::train_and_evaluate_mnist(cfg, &args, epochs, samples, &dir)?;
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
    let budget = if args.quick {
        format!("{} steps (--quick)", common::QUICK_MNIST_STEPS)
    } else {
        format!("{epochs} epoch(s) of the 8,000 embedded digits")
    };
    println!("\n{budget} per divergence, {samples} samples\n");
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
