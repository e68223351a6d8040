//! Numerical checks of variational-inference facts, as rows of `cargo xtask reproduce
//! theory`:
//!
//! - the ELBO gap: log p(x) - ELBO(q) = KL(q || p(z|x)) on a linear-Gaussian model;
//! - Theis, van den Oord and Bethge, "A note on the evaluation of generative models" (2016):
//!   the mixture q = 0.01 p + 0.99 noise has E_p log q >= E_p log p - log 100, so average
//!   log-likelihood can stay within log 100 nats of the truth while 99% of samples are noise;
//! - EM never decreases the log-likelihood;
//! - naive Monte Carlo for p(x) (z from the prior) against importance sampling with a q
//!   near p(z|x): the variance of log p_hat and the effective sample size
//!   (sum w)^2 / sum w^2 against their closed forms (E_q r^2 - 1) / k and k / E_q r^2.

use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::gmm::{fit_em, sample_mixture, EmConfig, GaussianMixture};
use crate::linear_gaussian::{EstimatorSpread, LinearGaussian};
use crate::Result;

const AREA: &str = "gm-vae";

/// log p(x) - ELBO(q) and KL(q || posterior) for an arbitrary q on a fixed model; returns
/// (gap, kl, standard error of the gap).
pub fn elbo_gap_check(samples: usize, seed: u64) -> Result<(f64, f64, f64)> {
    let model = LinearGaussian::new(vec![1.0, -0.5, 2.0], vec![0.1, 0.2, -0.3], 0.7)?;
    let x = [1.2, -0.4, 2.5];
    let (m, logvar) = (0.3, -0.5f64);
    let (elbo, se) = model.elbo_monte_carlo(&x, m, logvar, samples, &mut GmRng::new(seed))?;
    let gap = model.log_marginal(&x)? - elbo;
    let kl = model.kl_to_posterior(&x, m, logvar.exp())?;
    Ok((gap, kl, se))
}

/// E_p[log p(x)] - E_p[log q(x)] for p = N(0, I_d), q = 0.01 p + 0.99 N(0, noise_std^2 I_d),
/// by Monte Carlo over `n` draws from p. Theory: in [0, log 100].
pub fn theis_mixture_gap(d: usize, noise_std: f64, n: usize, seed: u64) -> f64 {
    let mut rng = GmRng::new(seed);
    let ln_2pi = (2.0 * std::f64::consts::PI).ln();
    let mut acc = 0.0;
    for _ in 0..n {
        let x = rng.normal_vec(d);
        let r2: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        let log_p = -0.5 * (d as f64 * ln_2pi + r2);
        let log_noise =
            -0.5 * (d as f64 * (ln_2pi + 2.0 * noise_std.ln()) + r2 / (noise_std * noise_std));
        let (a, b) = (0.01f64.ln() + log_p, 0.99f64.ln() + log_noise);
        let m = a.max(b);
        let log_q = m + ((a - m).exp() + (b - m).exp()).ln();
        acc += log_p - log_q;
    }
    acc / n as f64
}

/// The largest fall of the log-likelihood over an EM run on a known 3-component mixture
/// (0 in theory), and the number of iterations.
pub fn em_largest_fall(seed: u64) -> Result<(f64, usize)> {
    let truth = GaussianMixture {
        weights: vec![0.4, 0.35, 0.25],
        means: vec![vec![-2.0, 0.0], vec![2.0, 0.5], vec![0.0, 3.0]],
        variances: vec![vec![1.0, 1.0], vec![0.8, 1.5], vec![1.2, 0.6]],
    };
    let data: Vec<Vec<f64>> = sample_mixture(&truth, 2000, &mut GmRng::new(seed))
        .into_iter()
        .map(|(x, _)| x)
        .collect();
    let fit = fit_em(&data, &EmConfig::default(), &mut GmRng::new(seed + 1))?;
    let fall = fit
        .log_likelihood
        .windows(2)
        .map(|w| w[0] - w[1])
        .fold(0.0, f64::max);
    Ok((fall, fit.log_likelihood.len() - 1))
}

/// Naive Monte Carlo (q = p(z)) and importance sampling (q = N(m_post + sd_post / 2,
/// 1.5 v_post)) for log p(x) on a linear-Gaussian model: for each, the spread of `reps`
/// estimates with `k` draws, the proposal's E_q r^2, and the exact log p(x).
pub fn naive_vs_importance(
    k: usize,
    reps: usize,
    seed: u64,
) -> Result<[(EstimatorSpread, f64); 2]> {
    let model = LinearGaussian::new(vec![1.0, -0.5, 2.0], vec![0.1, 0.2, -0.3], 0.5)?;
    let x = [1.2, -0.4, 2.5];
    let (mp, vp) = model.posterior(&x)?;
    let mut rng = GmRng::new(seed);
    let mut out = Vec::with_capacity(2);
    for (m, v) in [(0.0, 1.0), (mp + 0.5 * vp.sqrt(), 1.5 * vp)] {
        let spread = model.estimator_spread(&x, m, v, k, reps, &mut rng)?;
        out.push((spread, model.second_moment_of_ratio(&x, m, v)?));
    }
    Ok([out[0], out[1]])
}

/// The rows of this crate (a few seconds).
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    match elbo_gap_check(200_000, 7) {
        Ok((gap, kl, se)) => rows.push(TheoryRow::new(
            AREA,
            "log p(x) - ELBO(q) = KL(q || p(z|x)) (linear-Gaussian, 200k samples, tol 5 s.e.)",
            gap,
            kl,
            5.0 * se,
        )),
        Err(e) => rows.push(TheoryRow::new(
            AREA,
            format!("ELBO gap: {e}"),
            f64::NAN,
            0.0,
            0.0,
        )),
    }
    let gap = theis_mixture_gap(100, 10.0, 20_000, 8);
    rows.push(TheoryRow::new(
        AREA,
        "Theis et al.: E_p log p - E_p log(0.01 p + 0.99 noise) <= log 100 (d = 100)",
        gap,
        100f64.ln(),
        1e-6,
    ));
    match em_largest_fall(9) {
        Ok((fall, iters)) => rows.push(TheoryRow::new(
            AREA,
            format!("EM: largest fall of the log-likelihood over {iters} iterations"),
            fall,
            0.0,
            1e-10,
        )),
        Err(e) => rows.push(TheoryRow::new(AREA, format!("EM: {e}"), f64::NAN, 0.0, 0.0)),
    }
    let (k, reps) = (1000, 400);
    match naive_vs_importance(k, reps, 10) {
        Ok(pair) => {
            for ((e, r2), name) in pair
                .iter()
                .zip(["naive MC (q = prior)", "IS (q ~ posterior)"])
            {
                let want_var = (r2 - 1.0) / k as f64;
                rows.push(TheoryRow::new(
                    AREA,
                    format!(
                        "{name}: Var log p_hat = (E_q r^2 - 1) / k (k = {k}, {reps} reps, tol 5 s.e.)"
                    ),
                    e.var_log_p,
                    want_var,
                    5.0 * (2.0 / (reps as f64 - 1.0)).sqrt() * want_var,
                ));
                let want_ess = k as f64 / r2;
                rows.push(TheoryRow::new(
                    AREA,
                    format!("{name}: ESS = (sum w)^2 / sum w^2 -> k / E_q r^2 (tol 5 s.e. + bias)"),
                    e.mean_ess,
                    want_ess,
                    5.0 * e.ess_se + want_ess * r2 / k as f64,
                ));
            }
        }
        Err(e) => rows.push(TheoryRow::new(
            AREA,
            format!("naive MC vs IS: {e}"),
            f64::NAN,
            0.0,
            0.0,
        )),
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elbo_gap_is_the_kl_to_the_posterior() {
        let (gap, kl, se) = elbo_gap_check(200_000, 1).unwrap();
        assert!(kl > 0.1, "choose a q far from the posterior: kl {kl}");
        assert!((gap - kl).abs() < 5.0 * se, "gap {gap}, kl {kl}, se {se}");
    }

    #[test]
    fn theis_gap_lies_in_zero_log_100() {
        let g = theis_mixture_gap(100, 10.0, 5_000, 2);
        assert!(g >= 0.0 && g <= 100f64.ln() + 1e-12, "{g}");
        assert!((g - 100f64.ln()).abs() < 1e-6, "{g}");
    }

    #[test]
    fn all_rows_pass() {
        for r in theory_rows() {
            assert!(r.pass(), "{r:?}");
        }
    }
}
