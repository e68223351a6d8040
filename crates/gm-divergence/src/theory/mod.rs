//! The crate's rows of `cargo xtask reproduce theory`: the optimal discriminator and C(G) of
//! Goodfellow et al. (2014), the omega/rho theorem, the variational bound at the optimal
//! critic (Nguyen et al. 2010), closed forms against quadrature, the Cauchy-Schwarz kernel
//! inequality, and Arora et al. (2017)'s observation that Wasserstein distances to an
//! empirical distribution stay large in high dimension while sliced ones shrink; and the
//! disjoint-support picture of Arjovsky & Bottou (2017): JS saturates at log 2 with zero
//! gradient while W1 keeps gradient 1 and the non-saturating generator loss keeps its own.
//! Monte Carlo tolerances are 4 standard errors; quadrature tolerances 1e-8.

use candle_core::{Device, Tensor};
use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::estimate::{variational_bound_monte_carlo, Estimate, Gaussian1d};
use crate::f_divergence::Divergence;
use crate::transport::{random_directions, sliced_wasserstein_value, wasserstein_exact};
use crate::Result;

mod rows;
mod transport_rows;

use rows::{bound_rows, cauchy_schwarz_rows, closed_form_rows, gan_rows, omega_rho_rows};
use transport_rows::{arora_rows, disjoint_rows};

const AREA: &str = "gm-divergence";

fn failed(statement: &str, e: impl std::fmt::Display) -> TheoryRow {
    TheoryRow::new(
        AREA,
        format!("{statement} (error: {e})"),
        f64::NAN,
        0.0,
        0.0,
    )
}

fn push(rows: &mut Vec<TheoryRow>, statement: &str, r: Result<TheoryRow>) {
    match r {
        Ok(row) => rows.push(row),
        Err(e) => rows.push(failed(statement, e)),
    }
}

/// Draws `n` values of N(mean, std^2) in f64.
pub(crate) fn gaussian_draws(rng: &mut GmRng, n: usize, mean: f64, std: f64) -> Vec<f64> {
    rng.normal_vec(n)
        .into_iter()
        .map(|z| mean + std * z as f64)
        .collect()
}

/// The pair of Gaussians the Monte Carlo rows use: P = N(0.5, 1), Q = N(0, 1) (the log
/// ratio is linear, so every divergence and every critic has finite variance).
pub fn reference_pair() -> (Gaussian1d, Gaussian1d) {
    (
        Gaussian1d {
            mean: 0.5,
            std: 1.0,
        },
        Gaussian1d {
            mean: 0.0,
            std: 1.0,
        },
    )
}

/// Monte Carlo of `E_P T* - E_Q f*(T*)` on the reference pair, with `n` draws from each.
pub fn bound_at_optimal_critic(div: Divergence, n: usize, seed: u64) -> Result<Estimate> {
    let (p, q) = reference_pair();
    let mut rng = GmRng::new(seed);
    let xp = gaussian_draws(&mut rng, n, p.mean, p.std);
    let xq = gaussian_draws(&mut rng, n, q.mean, q.std);
    let critic = |x: f64| div.optimal_critic((p.log_density(x) - q.log_density(x)).exp());
    let tp: Vec<f64> = xp.iter().map(|&x| critic(x)).collect();
    let tq: Vec<f64> = xq.iter().map(|&x| critic(x)).collect();
    variational_bound_monte_carlo(div, &tp, &tq)
}

/// What [`arora_observation`] measures.
#[derive(Debug, Clone, PartialEq)]
pub struct AroraObservation {
    /// The dimension d of `P = N(0, I/2)`.
    pub dim: usize,
    /// (n, exact W1 between two independent n-samples, sliced W1 between them).
    pub points: Vec<(usize, f64, f64)>,
}

/// Arora et al. (2017, "Generalization and equilibrium in GANs"): for P = N(0, I/2) in R^d,
/// the W1 distance between two independent empirical samples of size n (exact, by optimal
/// assignment) stays large for polynomially many samples, while the sliced W1 (128 seeded
/// directions) shrinks like 1/sqrt(n). Two independent n-samples stand in for P and its
/// empirical measure: `W1(P_n, P'_n) <= 2 W1(P, P_n)` in expectation by the triangle
/// inequality, so a large value here means P_n is far from P.
pub fn arora_observation(dim: usize, sizes: &[usize], seed: u64) -> Result<AroraObservation> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let std = 0.5f64.sqrt();
    let dirs = random_directions(dim, 128, &mut rng, &dev)?;
    let mut points = Vec::new();
    for &n in sizes {
        let x = rng.normal((n, dim), 0.0, std, &dev)?;
        let y = rng.normal((n, dim), 0.0, std, &dev)?;
        let w1 = wasserstein_exact(&x, &y, 1.0)?;
        let sw = sliced_wasserstein_value(&x, &y, &dirs, 1.0, false)?;
        points.push((n, w1, sw));
    }
    Ok(AroraObservation { dim, points })
}

/// One row per theorem; runs in a few seconds.
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    gan_rows(&mut rows);
    omega_rho_rows(&mut rows);
    bound_rows(&mut rows);
    closed_form_rows(&mut rows);
    cauchy_schwarz_rows(&mut rows);
    arora_rows(&mut rows);
    disjoint_rows(&mut rows);
    rows
}

/// Builds a `[n, d]` f32 tensor of N(mean, std^2) draws (helper for examples and tests).
pub fn gaussian_cloud(
    rng: &mut GmRng,
    n: usize,
    dim: usize,
    mean: f64,
    std: f64,
) -> Result<Tensor> {
    Ok(rng.normal((n, dim), mean, std, &Device::Cpu)?)
}
