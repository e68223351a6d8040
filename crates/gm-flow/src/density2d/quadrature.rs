//! Quadrature in two dimensions, to compare a flow's density with a known one exactly
//! rather than by sampling:
//!
//! - Gauss-Hermite rules (Golub and Welsch's nodes by Newton's method, as in Numerical
//!   Recipes' `gauher`): `int e^{-t^2} f(t) dt ~ sum_i w_i f(t_i)`, exact for polynomials of
//!   degree below `2n`;
//! - expectations under a 2-D Gaussian, `E f(X) = (1/pi) sum_ij w_i w_j f(m + sqrt 2 L t_ij)`
//!   for `X ~ N(m, L L^T)`, and so under a Gaussian mixture component by component;
//! - `KL(p || q) = E_p[log p - log q]` for a Gaussian mixture `p` (gm-core's ring and grid)
//!   and a model `q`;
//! - the midpoint rule on a square grid, to check that a density integrates to one.

use gm_core::data::Mixture2d;

use crate::Result;

/// A batched function of points of the plane, e.g. a model's log-density: all points in,
/// one value per point out.
pub type PointFn<'a> = dyn FnMut(&[[f64; 2]]) -> Result<Vec<f64>> + 'a;

/// Nodes `t_i` and weights `w_i` of the `n`-point Gauss-Hermite rule for the weight
/// `e^{-t^2}` on the real line, nodes in decreasing order.
pub fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    const PIM4: f64 = 0.751_125_544_464_942_5; // pi^(-1/4)
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    let mut z = 0.0f64;
    for i in 0..n.div_ceil(2) {
        z = match i {
            0 => (2.0 * nf + 1.0).sqrt() - 1.855_75 * (2.0 * nf + 1.0).powf(-0.166_67),
            1 => z - 1.14 * nf.powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut pp = 1.0;
        for _ in 0..100 {
            // The orthonormal Hermite recurrence up to degree n at z.
            let (mut p1, mut p2) = (PIM4, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                let jf = j as f64;
                p1 = z * (2.0 / (jf + 1.0)).sqrt() * p2 - (jf / (jf + 1.0)).sqrt() * p3;
            }
            pp = (2.0 * nf).sqrt() * p2;
            let step = p1 / pp;
            z -= step;
            if step.abs() <= 1e-15 * z.abs().max(1.0) {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// `E f(X)`, `X ~ N(mean, L L^T)` with `L` lower triangular (`[[l00, 0], [l10, l11]]`), by
/// the tensor-product `n x n` Gauss-Hermite rule. `f` takes all `n^2` points at once (so a
/// model can score them as one batch) and returns their values.
pub fn expect_normal_2d(
    mean: [f64; 2],
    chol: [[f64; 2]; 2],
    n: usize,
    f: &mut PointFn<'_>,
) -> Result<f64> {
    let (t, w) = gauss_hermite(n);
    let s = std::f64::consts::SQRT_2;
    let mut pts = Vec::with_capacity(n * n);
    let mut wts = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let (a, b) = (s * t[i], s * t[j]);
            pts.push([
                mean[0] + chol[0][0] * a,
                mean[1] + chol[1][0] * a + chol[1][1] * b,
            ]);
            wts.push(w[i] * w[j] / std::f64::consts::PI);
        }
    }
    let v = f(&pts)?;
    Ok(v.iter().zip(&wts).map(|(a, b)| a * b).sum())
}

/// `KL(p || q)` and its parts, in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kl {
    /// `E_p[log p - log q]`.
    pub kl: f64,
    /// `E_p[-log q]`, the model's expected negative log-likelihood.
    pub cross_entropy: f64,
    /// `E_p[-log p]`.
    pub entropy: f64,
}

/// `KL(p || q)` for the mixture `p` and a model with log-density `log_q` (batched), by the
/// `n x n` Gauss-Hermite rule on each component: `sum_k (1/K) E_{N(m_k, s^2 I)}[...]`.
pub fn kl_mixture(p: &Mixture2d, log_q: &mut PointFn<'_>, n: usize) -> Result<Kl> {
    let k = p.means.len() as f64;
    let chol = [[p.std, 0.0], [0.0, p.std]];
    let (mut cross, mut ent) = (0.0, 0.0);
    for m in &p.means {
        cross -= expect_normal_2d(*m, chol, n, log_q)? / k;
        ent -= expect_normal_2d(*m, chol, n, &mut |pts| {
            Ok(pts.iter().map(|q| p.log_pdf(*q)).collect())
        })? / k;
    }
    Ok(Kl {
        kl: cross - ent,
        cross_entropy: cross,
        entropy: ent,
    })
}

/// `int_{[-extent, extent]^2} exp(log_q)` by the midpoint rule on `m x m` cells.
pub fn grid_mass(log_q: &mut PointFn<'_>, extent: f64, m: usize) -> Result<f64> {
    let h = 2.0 * extent / m as f64;
    let mut total = 0.0;
    // Row by row, so that a model scores m points at a time.
    for i in 0..m {
        let x = -extent + (i as f64 + 0.5) * h;
        let pts: Vec<[f64; 2]> = (0..m)
            .map(|j| [x, -extent + (j as f64 + 0.5) * h])
            .collect();
        total += log_q(&pts)?.iter().map(|l| l.exp()).sum::<f64>();
    }
    Ok(total * h * h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_hermite_integrates_the_gaussian_moments() {
        let sp = std::f64::consts::PI.sqrt();
        for n in [1, 2, 5, 20, 64] {
            let (x, w) = gauss_hermite(n);
            let m = |k: i32| x.iter().zip(&w).map(|(a, b)| b * a.powi(k)).sum::<f64>();
            // int e^{-t^2} t^{2j} dt = sqrt(pi) (2j - 1)!! / 2^j, exact for 2j < 2n.
            assert!((m(0) - sp).abs() < 1e-12 * sp, "n {n}: {}", m(0));
            if n >= 2 {
                assert!((m(2) - sp / 2.0).abs() < 1e-12, "n {n}");
            }
            if n >= 3 {
                assert!((m(4) - 0.75 * sp).abs() < 1e-11, "n {n}");
            }
            assert!(m(1).abs() < 1e-12);
        }
        // The two-point rule by hand: nodes +-1/sqrt 2, weights sqrt(pi)/2.
        let (x, w) = gauss_hermite(2);
        assert!((x[0] - 0.5f64.sqrt()).abs() < 1e-14 && (w[0] - 0.5 * sp).abs() < 1e-14);
    }

    /// `log N(x; m, diag(s^2))`.
    fn log_normal(x: [f64; 2], m: [f64; 2], s: [f64; 2]) -> f64 {
        let mut v = 0.0;
        for k in 0..2 {
            v += -0.5 * ((x[k] - m[k]) / s[k]).powi(2)
                - (s[k] * (2.0 * std::f64::consts::PI).sqrt()).ln();
        }
        v
    }

    #[test]
    fn kl_of_one_gaussian_to_another_matches_the_closed_form() {
        // p = N((1, -1), 0.3^2 I), q = N((0.5, 0), diag(0.4^2, 0.9^2)):
        // KL = sum_k ln(q_k / p_k) + (p_k^2 + (m_k - n_k)^2) / (2 q_k^2) - 1/2.
        let p = Mixture2d {
            means: vec![[1.0, -1.0]],
            std: 0.3,
        };
        let (mq, sq) = ([0.5, 0.0], [0.4, 0.9]);
        let mut want = 0.0;
        for k in 0..2 {
            let d = p.means[0][k] - mq[k];
            want += (sq[k] / 0.3f64).ln() + (0.09 + d * d) / (2.0 * sq[k] * sq[k]) - 0.5;
        }
        let kl = kl_mixture(
            &p,
            &mut |pts| Ok(pts.iter().map(|x| log_normal(*x, mq, sq)).collect()),
            8,
        )
        .unwrap();
        assert!((kl.kl - want).abs() < 1e-10, "{} vs {want}", kl.kl);
        // The entropy of N(., s^2 I) is ln(2 pi e s^2).
        let h = (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.09).ln();
        assert!((kl.entropy - h).abs() < 1e-10);
    }

    #[test]
    fn entropy_of_a_separated_mixture_and_grid_mass() {
        // Four components 21 standard deviations apart: the entropy is ln 4 + ln(2 pi e s^2)
        // up to overlaps of order exp(-21^2 / 8).
        let p = Mixture2d::ring(4, 1.5, 0.1).unwrap();
        let kl = kl_mixture(
            &p,
            &mut |pts| {
                Ok(pts
                    .iter()
                    .map(|x| log_normal(*x, [0.0, 0.0], [1.0, 1.0]))
                    .collect())
            },
            16,
        )
        .unwrap();
        let h = 4f64.ln() + (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.01).ln();
        assert!((kl.entropy - h).abs() < 1e-9, "{} vs {h}", kl.entropy);
        // Cross-entropy against N(0, I): E|x|^2 / 2 + ln(2 pi) = (1.5^2 + 2 0.01) / 2 + ln 2pi.
        let ce = (2.25 + 0.02) / 2.0 + (2.0 * std::f64::consts::PI).ln();
        assert!(
            (kl.cross_entropy - ce).abs() < 1e-12,
            "{}",
            kl.cross_entropy
        );
        let mass = grid_mass(
            &mut |pts| Ok(pts.iter().map(|x| p.log_pdf(*x)).collect()),
            3.0,
            300,
        )
        .unwrap();
        assert!((mass - 1.0).abs() < 1e-6, "{mass}");
    }
}
