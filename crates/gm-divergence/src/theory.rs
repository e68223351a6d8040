//! The crate's rows of `cargo xtask reproduce theory`: the optimal discriminator and C(G) of
//! Goodfellow et al. (2014), the omega/rho theorem, the variational bound at the optimal
//! critic (Nguyen et al. 2010), closed forms against quadrature, the Cauchy-Schwarz kernel
//! inequality, and Arora et al. (2017)'s observation that Wasserstein distances to an
//! empirical distribution stay large in high dimension while sliced ones shrink; and the
//! disjoint-support picture of Arjovsky & Bottou (2017): JS saturates at log 2 with zero
//! gradient while W1 keeps gradient 1 and the non-saturating generator loss keeps its own.
//! Monte Carlo tolerances are 4 standard errors; quadrature tolerances 1e-8.

use std::f64::consts::LN_2;

use candle_core::{Device, Tensor};
use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::disjoint::{
    central_difference, disjoint_support_curves, js_shifted_uniforms_closed_form,
    js_shifted_uniforms_quadrature, w1_shifted_uniforms_quadrature, DisjointSupportConfig,
    SigmoidDiscriminator,
};
use crate::estimate::{
    f_divergence_gaussians_closed_form, f_divergence_gaussians_quadrature,
    kl_multivariate_gaussian, variational_bound_monte_carlo, Estimate, Gaussian1d,
};
use crate::f_divergence::Divergence;
use crate::kernel::gaussian_kernel_expectation;
use crate::omega_rho::DiscriminatorCost;
use crate::optimize::maximize;
use crate::quadrature::{integrate_real_line, QuadratureConfig};
use crate::transport::{random_directions, sliced_wasserstein_value, wasserstein_exact};
use crate::Result;

const AREA: &str = "gm-divergence";
/// Monte Carlo rows accept 4 standard errors.
const Z: f64 = 4.0;

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

fn gan_rows(rows: &mut Vec<TheoryRow>) {
    let p = Gaussian1d {
        mean: 0.0,
        std: 1.0,
    };
    let q = Gaussian1d {
        mean: 1.0,
        std: 1.5,
    };
    let s = "optimal GAN discriminator: argmax_D p log D + q log(1 - D) = p / (p + q) \
             (max |error| over 37 points, P = N(0,1), Q = N(1,1.5^2))";
    let mut worst: f64 = 0.0;
    for i in 0..=36 {
        let x = -4.0 + 0.25 * i as f64;
        let (pd, qd) = (p.log_density(x).exp(), q.log_density(x).exp());
        let (d, _) = maximize(|d| pd * d.ln() + qd * (-d).ln_1p(), 1e-9, 1.0 - 1e-9, 1000);
        worst = worst.max((d - pd / (pd + qd)).abs());
    }
    rows.push(TheoryRow::new(AREA, s, worst, 0.0, 1e-6));

    let s = "C(G) = max_D V(G, D) = -log 4 + 2 JS(P || Q) (quadrature, same Gaussians)";
    let r = (|| -> Result<TheoryRow> {
        let c = integrate_real_line(
            |x| {
                let (lp, lq) = (p.log_density(x), q.log_density(x));
                let (pd, qd) = (lp.exp(), lq.exp());
                if pd == 0.0 && qd == 0.0 {
                    return 0.0;
                }
                // log D* = -log(1 + q/p), log(1 - D*) = -log(1 + p/q), in log form.
                let ld = -crate::f_divergence::softplus(lq - lp);
                let l1d = -crate::f_divergence::softplus(lp - lq);
                pd * ld + qd * l1d
            },
            0.5,
            1.5,
            QuadratureConfig::default(),
        )?
        .value;
        let js = f_divergence_gaussians_quadrature(Divergence::JensenShannon, p, q)?.value;
        Ok(TheoryRow::new(AREA, s, c, -4f64.ln() + 2.0 * js, 1e-8))
    })();
    push(rows, s, r);
}

fn omega_rho_rows(rows: &mut Vec<TheoryRow>) {
    let f = Gaussian1d {
        mean: 0.0,
        std: 1.0,
    };
    let g = Gaussian1d {
        mean: 1.0,
        std: 1.5,
    };
    for cost in DiscriminatorCost::builtins() {
        let (lo, hi) = match cost.domain() {
            (a, b) if a.is_finite() && b.is_finite() => (a + 1e-9, b - 1e-9),
            // A's D* = g / f stays below 100 on the grid.
            (a, _) if a.is_finite() => (a + 1e-9, 100.0),
            _ => (-20.0, 20.0),
        };
        let mut worst: f64 = 0.0;
        for i in 0..=24 {
            let x = -3.0 + 0.25 * i as f64;
            let (fd, gd) = (f.log_density(x).exp(), g.log_density(x).exp());
            let (d, _) = maximize(|d| cost.pointwise_value(fd, gd, d), lo, hi, 2000);
            worst = worst.max((d - cost.optimal_discriminator(fd, gd)).abs());
        }
        rows.push(TheoryRow::new(
            AREA,
            format!(
                "omega/rho {}: argmax_D f phi(D) + g psi(D) = omega(g/f) (max |error|, 25 points)",
                cost.name()
            ),
            worst,
            0.0,
            1e-6,
        ));
        let (_, best) = maximize(|d| cost.phi(d) + cost.psi(d), lo, hi, 2000);
        rows.push(TheoryRow::new(
            AREA,
            format!(
                "omega/rho {}: f = g gives max J = phi(omega(1)) + psi(omega(1))",
                cost.name()
            ),
            best,
            cost.value_at_equality(),
            1e-9,
        ));
    }
}

fn bound_rows(rows: &mut Vec<TheoryRow>) {
    let (p, q) = reference_pair();
    for (k, div) in Divergence::catalogue().into_iter().enumerate() {
        let s = format!(
            "variational bound E_P T* - E_Q f*(T*) = D_f, {div} (Monte Carlo n = 20000 vs quadrature, 4 s.e.)"
        );
        let r = (|| -> Result<TheoryRow> {
            let exact = f_divergence_gaussians_quadrature(div, p, q)?.value;
            let est = bound_at_optimal_critic(div, 20_000, 100 + k as u64)?;
            Ok(TheoryRow::new(
                AREA,
                s.clone(),
                est.mean,
                exact,
                Z * est.std_error,
            ))
        })();
        push(rows, &s, r);
    }
}

fn closed_form_rows(rows: &mut Vec<TheoryRow>) {
    let p = Gaussian1d {
        mean: 0.3,
        std: 1.2,
    };
    let q = Gaussian1d {
        mean: -0.5,
        std: 0.9,
    };
    for div in [
        Divergence::KullbackLeibler,
        Divergence::ReverseKullbackLeibler,
        Divergence::Jeffrey,
        Divergence::PearsonChiSquared,
        Divergence::NeymanChiSquared,
        Divergence::SquaredHellinger,
        Divergence::Alpha { alpha: 0.5 },
    ] {
        let s = format!("closed form = quadrature, {div}, N(0.3,1.2^2) vs N(-0.5,0.9^2)");
        let r = (|| -> Result<TheoryRow> {
            let c = f_divergence_gaussians_closed_form(div, p, q)?;
            let num = f_divergence_gaussians_quadrature(div, p, q)?.value;
            Ok(TheoryRow::new(
                AREA,
                s.clone(),
                num,
                c,
                1e-8 * (1.0 + c.abs()),
            ))
        })();
        push(rows, &s, r);
    }

    let s = "multivariate KL closed form (Cholesky) = Monte Carlo E_P log p/q, d = 3, n = 20000";
    let r = (|| -> Result<TheoryRow> {
        let mp = [0.5, -0.2, 0.1];
        let lp = [1.0, 0.0, 0.0, 0.4, 0.8, 0.0, -0.3, 0.2, 0.6];
        let mq = [0.0, 0.3, -0.4];
        let lq = [1.2, 0.0, 0.0, -0.2, 0.9, 0.0, 0.1, 0.3, 1.1];
        let cov = |l: &[f64; 9]| {
            let mut c = [0.0; 9];
            for i in 0..3 {
                for j in 0..3 {
                    c[i * 3 + j] = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                }
            }
            c
        };
        let kl = kl_multivariate_gaussian(&mp, &cov(&lp), &mq, &cov(&lq))?;
        let lqc = crate::estimate::cholesky(&cov(&lq), 3)?;
        let log_density = |x: &[f64; 3], m: &[f64; 3], l: &[f64]| {
            let mut z = [0.0; 3];
            for i in 0..3 {
                let mut s = x[i] - m[i];
                for k in 0..i {
                    s -= l[i * 3 + k] * z[k];
                }
                z[i] = s / l[i * 3 + i];
            }
            let logdet: f64 = (0..3).map(|i| l[i * 3 + i].ln()).sum();
            -0.5 * z.iter().map(|v| v * v).sum::<f64>() - logdet
        };
        let mut rng = GmRng::new(7);
        let mut vals = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let e: Vec<f64> = rng.normal_vec(3).into_iter().map(|v| v as f64).collect();
            let mut x = [0.0; 3];
            for i in 0..3 {
                x[i] = mp[i] + (0..3).map(|k| lp[i * 3 + k] * e[k]).sum::<f64>();
            }
            vals.push(log_density(&x, &mp, &lp) - log_density(&x, &mq, &lqc));
        }
        let est = Estimate::from_values(&vals)?;
        Ok(TheoryRow::new(AREA, s, est.mean, kl, Z * est.std_error))
    })();
    push(rows, s, r);
}

fn cauchy_schwarz_rows(rows: &mut Vec<TheoryRow>) {
    // X ~ N(0, I_2), Y ~ N(mu, s^2 I_2), Gaussian kernel of bandwidth 1, exact expectations.
    let ratio = |mu2: f64, s: f64| {
        let exy = gaussian_kernel_expectation(1.0, mu2, 1.0, s * s, 2);
        let eyy = gaussian_kernel_expectation(1.0, 0.0, s * s, s * s, 2);
        let exx = gaussian_kernel_expectation(1.0, 0.0, 1.0, 1.0, 2);
        exy * exy / eyy / exx
    };
    rows.push(TheoryRow::new(
        AREA,
        "Cauchy-Schwarz: J / E k(X,X') = 1 when f = g (Gaussians, Gaussian kernel, exact)",
        ratio(0.0, 1.0),
        1.0,
        1e-12,
    ));
    let mut worst: f64 = 0.0;
    for &mu2 in &[0.0, 0.01, 0.25, 1.0, 4.0] {
        for &s in &[0.5, 0.9, 1.0, 1.1, 2.0] {
            if mu2 == 0.0 && s == 1.0 {
                continue;
            }
            worst = worst.max(ratio(mu2, s));
        }
    }
    rows.push(TheoryRow::new(
        AREA,
        "Cauchy-Schwarz: J / E k(X,X') < 1 when f != g (max over 24 Gaussian pairs; the row \
         checks it lies in [0, 1) as 0.5 +- 0.5)",
        worst,
        0.5,
        0.5 - 1e-12,
    ));
}

fn arora_rows(rows: &mut Vec<TheoryRow>) {
    let s = "Arora et al. 2017";
    match arora_observation(64, &[64, 256], 2017) {
        Ok(obs) => {
            let (n0, w0, s0) = obs.points[0];
            let (n1, w1, s1) = obs.points[1];
            let min_w = w0.min(w1);
            rows.push(TheoryRow::new(
                AREA,
                format!(
                    "Arora: W1 between two n-samples of N(0, I/2), d = 64, stays >= 1.1 \
                     (n = {n0}: {w0:.3}, n = {n1}: {w1:.3}; measured = shortfall below 1.1)"
                ),
                (1.1 - min_w).max(0.0),
                0.0,
                0.0,
            ));
            rows.push(TheoryRow::new(
                AREA,
                format!(
                    "Arora: sliced W1 shrinks like 1/sqrt(n) (n = {n0}: {s0:.4}, n = {n1}: \
                     {s1:.4}); ratio vs sqrt({n0}/{n1})"
                ),
                s1 / s0,
                (n0 as f64 / n1 as f64).sqrt(),
                0.1,
            ));
        }
        Err(e) => rows.push(failed(s, e)),
    }
}

/// The largest `|f(theta) - g(theta)|` over `thetas`.
fn max_gap(
    thetas: &[f64],
    f: impl Fn(f64) -> Result<f64>,
    g: impl Fn(f64) -> Result<f64>,
) -> Result<f64> {
    let mut worst: f64 = 0.0;
    for &t in thetas {
        worst = worst.max((f(t)? - g(t)?).abs());
    }
    Ok(worst)
}

/// P = U[0,1] against Q_theta = U[theta, theta+1] (see [`crate::disjoint`]).
fn disjoint_rows(rows: &mut Vec<TheoryRow>) {
    let h = DisjointSupportConfig::default().step;
    // theta = 1, 1.25, ..., 3 (disjoint, touching at theta = 1) and -0.9, ..., 0.9 (overlap).
    let disjoint: Vec<f64> = (0..=8).map(|i| 1.0 + 0.25 * i as f64).collect();
    let overlap: Vec<f64> = (-9..=9).map(|i| 0.1 * i as f64).collect();

    let s = "disjoint supports: JS(U[0,1], U[theta,theta+1]) = log 2 for theta >= 1 \
             (quadrature, max |error| over theta = 1, 1.25, ..., 3)";
    let r = max_gap(&disjoint, js_shifted_uniforms_quadrature, |_| Ok(LN_2))
        .map(|e| TheoryRow::new(AREA, s, e, 0.0, 1e-9));
    push(rows, s, r);

    let s = "disjoint supports: dJS/dtheta = 0 for theta > 1 (central differences h = 1e-4 of \
             the quadrature, max |.| over theta = 1.25, ..., 3)";
    let r = (|| -> Result<TheoryRow> {
        let mut worst: f64 = 0.0;
        for &t in &disjoint[1..] {
            worst = worst.max(central_difference(js_shifted_uniforms_quadrature, t, h)?.abs());
        }
        Ok(TheoryRow::new(AREA, s, worst, 0.0, 1e-9))
    })();
    push(rows, s, r);

    let s = "overlapping supports: JS(U[0,1], U[theta,theta+1]) = |theta| log 2 (closed form \
             vs quadrature, max |error| over theta = -0.9, -0.8, ..., 0.9)";
    let r = max_gap(
        &overlap,
        js_shifted_uniforms_quadrature,
        js_shifted_uniforms_closed_form,
    )
    .map(|e| TheoryRow::new(AREA, s, e, 0.0, 1e-9));
    push(rows, s, r);

    let s = "W1(U[0,1], U[theta,theta+1]) = int |F_P - F_Q| has gradient 1 for theta > 0 \
             (central differences of the quadrature, max |dW1/dtheta - 1| over theta = 0.25, \
             ..., 3)";
    let r = (|| -> Result<TheoryRow> {
        let mut worst: f64 = 0.0;
        for t in (1..=12).map(|i| 0.25 * i as f64) {
            let g = central_difference(w1_shifted_uniforms_quadrature, t, h)?;
            worst = worst.max((g - 1.0).abs());
        }
        Ok(TheoryRow::new(AREA, s, worst, 0.0, 1e-8))
    })();
    push(rows, s, r);

    // A confident sigmoid discriminator at theta = 2, midway threshold c = 1.5, k = 40.
    let (theta, k) = (2.0, 40.0);
    let config = DisjointSupportConfig {
        step: h,
        discriminator_slope: k,
    };
    let st = "vanishing gradients";
    match (
        disjoint_support_curves(&[theta], config),
        SigmoidDiscriminator::for_shift(theta, k),
    ) {
        (Ok(pts), Ok(d)) if pts.len() == 1 => {
            let p = pts[0];
            rows.push(TheoryRow::new(
                AREA,
                "near-optimal sigmoid D = sigma(40 (1.5 - x)) at theta = 2: V(D) = E_P log D \
                 + E_Q log(1 - D) -> sup_D V = -log 4 + 2 JS = 0",
                p.sigmoid_value,
                p.optimal_gan_value,
                1e-8,
            ));
            rows.push(TheoryRow::new(
                AREA,
                "saturating generator loss E log(1 - D(theta + z)) has vanishing gradient at \
                 theta = 2 (central differences; closed form ~ e^-20)",
                p.saturating_gradient,
                0.0,
                1e-8,
            ));
            rows.push(TheoryRow::new(
                AREA,
                "non-saturating loss -E log D(theta + z): gradient = softplus(k(theta+1-c)) - \
                 softplus(k(theta-c)) ~ k = 40 at theta = 2 (central differences vs closed form)",
                p.non_saturating_gradient,
                d.non_saturating_gradient_closed_form(theta),
                1e-6 * k,
            ));
        }
        (Err(e), _) | (_, Err(e)) => rows.push(failed(st, e)),
        (Ok(_), Ok(_)) => rows.push(failed(st, "expected one point")),
    }
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
