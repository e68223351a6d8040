//! Prints the f-divergence table in markdown: f, f*, dom f*, g_f, T*, and the value between
//! P = N(0.5, 1) and Q = N(0, 1) by closed form (where one exists) or quadrature, and by Monte
//! Carlo (E_Q f(p/q) from 100,000 draws of Q, with its standard error).
//!
//! `cargo run --release -p gm-divergence --example divergence_table`

use gm_core::GmRng;
use gm_divergence::theory::reference_pair;
use gm_divergence::*;

fn main() -> anyhow::Result<()> {
    gm_core::runtime::init();
    let (p, q) = reference_pair();
    let n = 100_000;
    let mut rng = GmRng::new(2016);
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
