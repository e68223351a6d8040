//! The rows on divergences and discriminators: the optimal discriminator and C(G) of
//! Goodfellow et al. (2014), the omega/rho theorem, the variational bound at the optimal
//! critic (Nguyen et al. 2010), closed forms against quadrature (and the multivariate KL
//! against Monte Carlo), and the Cauchy-Schwarz kernel inequality.

use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use super::{bound_at_optimal_critic, push, reference_pair, AREA};
use crate::estimate::{
    f_divergence_gaussians_closed_form, f_divergence_gaussians_quadrature,
    kl_multivariate_gaussian, Estimate, Gaussian1d,
};
use crate::f_divergence::Divergence;
use crate::kernel::gaussian_kernel_expectation;
use crate::omega_rho::DiscriminatorCost;
use crate::optimize::maximize;
use crate::quadrature::{integrate_real_line, QuadratureConfig};
use crate::Result;

/// Monte Carlo rows accept 4 standard errors.
const Z: f64 = 4.0;

pub(super) fn gan_rows(rows: &mut Vec<TheoryRow>) {
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

pub(super) fn omega_rho_rows(rows: &mut Vec<TheoryRow>) {
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

pub(super) fn bound_rows(rows: &mut Vec<TheoryRow>) {
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

pub(super) fn closed_form_rows(rows: &mut Vec<TheoryRow>) {
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

pub(super) fn cauchy_schwarz_rows(rows: &mut Vec<TheoryRow>) {
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
