//! Prints the f-divergence table in markdown: f, f*, dom f*, g_f, T*, and the value between
//! P = N(0.5, 1) and Q = N(0, 1) by closed form (where one exists) or quadrature, and by Monte
//! Carlo (E_Q f(p/q) from 100,000 draws of Q, with its standard error). Writes no files.
//!
//! ```text
//! cargo xtask run divergence-table [--samples 100000] [--seed 2016] [--help]
//! ```

use clap::Parser;
use gm_core::GmRng;
use gm_divergence::theory::reference_pair;
use gm_divergence::*;

/// Every f-divergence: f, f*, dom f*, g_f, T*, and D_f(N(0.5, 1) || N(0, 1)) in closed form
/// (or by quadrature) against Monte Carlo.
#[derive(Parser)]
struct Cli {
    /// Draws of Q for the Monte Carlo column
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100_000,
        value_parser = clap::value_parser!(u64).range(2..)
    )]
    samples: u64,
    /// Seed of the draws
    #[arg(long, value_name = "N", default_value_t = 2016)]
    seed: u64,
}

const NAME: &str = "divergence-table";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> anyhow::Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[]);
    let (p, q) = reference_pair();
    let n = cli.samples as usize;
    let mut rng = GmRng::new(cli.seed);
    let xq: Vec<f64> = rng
        .normal_vec(n)
        .into_iter()
        .map(|z| q.mean + q.std * z as f64)
        .collect();
    let log_ratio: Vec<f64> = xq
        .iter()
        .map(|&x| p.log_density(x) - q.log_density(x))
        .collect();

    println!(
        "D_f(P || Q) = E_Q f(p/q), P = N({}, {}^2), Q = N({}, {}^2)\n",
        p.mean, p.std, q.mean, q.std
    );
    println!("| divergence | f(u) | f*(t) | dom f* | g_f(v) | T*(u) = f'(u) | exact | method | Monte Carlo (n = {n}) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for div in Divergence::catalogue() {
        let (exact, method) = match f_divergence_gaussians_closed_form(div, p, q) {
            Ok(v) => (v, "closed form"),
            Err(_) => (
                f_divergence_gaussians_quadrature(div, p, q)?.value,
                "quadrature",
            ),
        };
        let mc = f_divergence_monte_carlo(div, &log_ratio)?;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.6} | {} | {:.6} +- {:.6} |",
            div,
            div.generator_formula(),
            div.conjugate_formula(),
            div.conjugate_domain(),
            div.activation_formula(),
            div.critic_formula(),
            exact,
            method,
            mc.mean,
            mc.std_error
        );
    }
    Ok(())
}
