//! Density estimation on the plane: a vector RealNVP, a planar flow and a radial flow
//! (Rezende and Mohamed 2015), each fitted by maximum likelihood to the ring of 8 Gaussians,
//! the grid of 25 (gm-core's mixtures) and two moons. Writes a heat map of every model's
//! density next to the data's and the training curves, and prints a table of
//!
//! - `KL(data || model)` in nats for the mixtures, exact up to quadrature: Gauss-Hermite
//!   with 32 x 32 nodes per component (and 48 x 48 to show the rule has converged);
//! - for two moons (no closed-form density), `KL = E[log p - log q]` by Monte Carlo over
//!   20,000 fresh points with `log p` by quadrature along the arcs, and its standard error;
//! - for every data set, the test NLL `E[-log q]` over those 20,000 fresh points.
//!
//! ```text
//! cargo run --release -p gm-flow --example flow_2d -- [--steps 3000] [--couplings 16]
//!     [--hidden 32] [--layers 32] [--sets ring8,grid25,moons] [--flows realnvp,planar,radial]
//!     [--seed 0] [--out DIR]
//! ```

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::Mixture2d;
use gm_core::{GmRng, ParamStore};
use gm_flow::density2d::heatmap::save_density_png;
use gm_flow::density2d::{fit_2d, kl_mixture, Train2dConfig};
use gm_flow::{Flow2d, Flow2dConfig, TwoMoons};

/// Planar, radial and RealNVP flows on the ring of 8, the grid of 25 and two moons: density
/// heat maps and KL(data || model).
#[derive(Parser)]
struct Cli {
    /// Coupling layers of the RealNVP
    #[arg(long, value_name = "N", default_value_t = 16)]
    couplings: usize,
    /// Conditioner width of the RealNVP
    #[arg(long, value_name = "H", default_value_t = 32)]
    hidden: usize,
    /// Layers of the planar and of the radial flow
    #[arg(long, value_name = "N", default_value_t = 32)]
    layers: usize,
    /// Data sets to fit, comma-separated
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "ring8,grid25,moons"
    )]
    sets: Vec<String>,
    /// Flows to fit, comma-separated
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "realnvp,planar,radial"
    )]
    flows: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "flow-2d";

/// A data set of the table: how to sample it, its density (when known in closed form) and
/// the square its pictures show.
struct Target {
    name: &'static str,
    mixture: Option<Mixture2d>,
    moons: Option<TwoMoons>,
    extent: f64,
}

impl Target {
    fn sample(&self, n: usize, rng: &mut GmRng) -> Vec<f32> {
        match (&self.mixture, &self.moons) {
            (Some(m), _) => m.sample(n, rng).0,
            (_, Some(m)) => m.sample(n, rng).0,
            _ => Vec::new(),
        }
    }

    fn log_pdf(&self, p: [f64; 2]) -> f64 {
        match (&self.mixture, &self.moons) {
            (Some(m), _) => m.log_pdf(p),
            (_, Some(m)) => m.log_pdf(p),
            _ => f64::NAN,
        }
    }
}

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(
        NAME,
        &[
            ("steps", Some("3000")),
            ("batch-size", Some("512")),
            ("lr", Some("2e-3")),
        ],
    );
    let args = &cli.run;
    let device = args.device()?;
    let out = args.run_dir(NAME)?;
    let train = Train2dConfig {
        steps: RunArgs::need(args.steps, "steps")?,
        batch_size: RunArgs::need(args.batch_size, "batch-size")?,
        adam: gm_core::AdamConfig {
            lr: RunArgs::need(args.lr, "lr")?,
            ..Default::default()
        },
        ..Default::default()
    };
    let targets = [
        Target {
            name: "ring8",
            mixture: Some(Mixture2d::ring8()),
            moons: None,
            extent: 3.0,
        },
        Target {
            name: "grid25",
            mixture: Some(Mixture2d::grid25()),
            moons: None,
            extent: 5.5,
        },
        Target {
            name: "moons",
            mixture: None,
            moons: Some(TwoMoons::default()),
            extent: 3.5,
        },
    ];
    let models = [
        Flow2dConfig::realnvp(cli.couplings, cli.hidden),
        Flow2dConfig::planar(cli.layers),
        Flow2dConfig::radial(cli.layers),
    ];
    for name in &cli.sets {
        if !targets.iter().any(|t| t.name == name) {
            anyhow::bail!("--sets: unknown data set `{name}` (ring8, grid25, moons)");
        }
    }
    for name in &cli.flows {
        if !models.iter().any(|m| m.kind.name() == name) {
            anyhow::bail!("--flows: unknown flow `{name}` (realnvp, planar, radial)");
        }
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    println!(
        "{:<8} {:<8} {:>10} {:>12} {:>12} {:>12} {:>8}",
        "data", "flow", "params", "KL (nats)", "+-/check", "NLL (nats)", "time s"
    );
    for (ti, target) in targets.iter().enumerate() {
        if !cli.sets.iter().any(|s| s == target.name) {
            continue;
        }
        let mut curves = Vec::new();
        save_density_png(
            &mut |pts| Ok(pts.iter().map(|p| target.log_pdf(*p)).collect()),
            target.extent,
            256,
            out.join(format!("{}_data.png", target.name)),
        )?;
        for (mi, cfg) in models.iter().enumerate() {
            if !cli.flows.iter().any(|f| f == cfg.kind.name()) {
                continue;
            }
            let started = std::time::Instant::now();
            let seed = args.seed.wrapping_add(100 * ti as u64 + mi as u64);
            let store = ParamStore::new(seed);
            let flow = Flow2d::new(*cfg, store.var_builder(&device))?;
            let mut rng = GmRng::derive(seed, 1);
            let losses = fit_2d(
                &flow,
                &store,
                &train,
                &mut |n, r| target.sample(n, r),
                &mut rng,
                &device,
            )?;
            let mut log_q = |pts: &[[f64; 2]]| flow.log_prob_points(pts, &device);
            // Held-out points: a stream training never drew from.
            let n_test = 20_000;
            let test: Vec<[f64; 2]> = target
                .sample(n_test, &mut GmRng::derive(seed, 2))
                .chunks_exact(2)
                .map(|p| [p[0] as f64, p[1] as f64])
                .collect();
            let lq = log_q(&test)?;
            let nll = -lq.iter().sum::<f64>() / n_test as f64;
            let (kl, check) = match &target.mixture {
                Some(m) => {
                    let a = kl_mixture(m, &mut log_q, 32)?.kl;
                    let b = kl_mixture(m, &mut log_q, 48)?.kl;
                    (a, format!("{:.4}", b))
                }
                None => {
                    let d: Vec<f64> = test
                        .iter()
                        .zip(&lq)
                        .map(|(p, q)| target.log_pdf(*p) - q)
                        .collect();
                    let mean = d.iter().sum::<f64>() / n_test as f64;
                    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n_test as f64;
                    (mean, format!("+-{:.4}", (var / n_test as f64).sqrt()))
                }
            };
            let secs = started.elapsed().as_secs_f64();
            let name = cfg.kind.name();
            println!(
                "{:<8} {:<8} {:>10} {:>12.4} {:>12} {:>12.4} {:>8.1}",
                target.name,
                name,
                store.num_params(),
                kl,
                check,
                nll,
                secs
            );
            rows.push((
                format!("{} / {name}: KL(data || model), nats", target.name),
                format!("{kl:.4}"),
            ));
            rows.push((
                format!("{} / {name}: test NLL, nats", target.name),
                format!("{nll:.4}"),
            ));
            save_density_png(
                &mut log_q,
                target.extent,
                256,
                out.join(format!("{}_{name}.png", target.name)),
            )?;
            // Training NLL, averaged over windows of 50 steps.
            let points = losses
                .chunks(50)
                .enumerate()
                .map(|(k, c)| {
                    (
                        (k * 50 + c.len()) as f64,
                        c.iter().sum::<f64>() / c.len() as f64,
                    )
                })
                .collect();
            curves.push(gm_core::viz::Series {
                name: format!("{name} training NLL"),
                points,
            });
        }
        gm_core::viz::plot_curves(
            &format!("{}: training NLL (nats)", target.name),
            &curves,
            out.join(format!("{}_training.svg", target.name)),
        )?;
    }
    gm_core::viz::update_report(&out, NAME, &rows)?;
    println!(
        "KL column: Gauss-Hermite 32x32 per component (mixtures; the next column is 48x48) or \
         Monte Carlo over 20,000 test points (moons; the next column is its standard error)."
    );
    println!(
        "run folder: {} (heat maps <data>_<flow>.png, training curves <data>_training.svg, \
         report.html)",
        out.display()
    );
    Ok(())
}
