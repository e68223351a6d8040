//! Computing `D_f(P || Q) = \int q f(p / q)`: exactly for discrete distributions, by adaptive
//! quadrature for densities on R, in closed form between Gaussians (KL with full covariance
//! through Cholesky factors; the alpha family through the Chernoff coefficient
//! `\int p^a q^(1-a)`), and by Monte Carlo with a standard error when the ratio is known.

use crate::f_divergence::Divergence;
use crate::quadrature::{integrate_real_line, Quadrature, QuadratureConfig};
use crate::{Error, Result};

/// A Monte Carlo estimate: the sample mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The sample mean.
    pub mean: f64,
    /// The standard error of the mean, `sd / sqrt(n)`.
    pub std_error: f64,
    /// The number of values.
    pub n: usize,
}

impl Estimate {
    /// Mean and standard error (`sd / sqrt(n)`, with the n - 1 variance) of `values`.
    pub fn from_values(values: &[f64]) -> Result<Self> {
        let n = values.len();
        if n < 2 {
            return Err(Error::TooFewSamples {
                what: "Monte Carlo estimate",
                needed: 2,
                got: n,
            });
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Ok(Self {
            mean,
            std_error: (var / n as f64).sqrt(),
            n,
        })
    }

    /// The difference of two independent estimates.
    pub fn minus(&self, other: &Estimate) -> Estimate {
        Estimate {
            mean: self.mean - other.mean,
            std_error: self.std_error.hypot(other.std_error),
            n: self.n.min(other.n),
        }
    }
}

fn check_distribution(p: &[f64], what: &str) -> Result<()> {
    let mut sum = 0.0;
    for (i, &x) in p.iter().enumerate() {
        if !(x.is_finite() && x >= 0.0) {
            return Err(Error::NotADistribution(format!("{what}[{i}] = {x}")));
        }
        sum += x;
    }
    if (sum - 1.0).abs() > 1e-9 {
        return Err(Error::NotADistribution(format!("{what} sums to {sum}")));
    }
    Ok(())
}

/// `D_f(P || Q) = sum_i q_i f(p_i / q_i)` for probability vectors, exactly (may be `+inf`
/// when P puts mass where Q has none and `f(u)/u` is unbounded).
pub fn f_divergence_discrete(div: Divergence, p: &[f64], q: &[f64]) -> Result<f64> {
    div.validate()?;
    if p.len() != q.len() {
        return Err(Error::LengthMismatch {
            what: "probability vectors",
            left: p.len(),
            right: q.len(),
        });
    }
    check_distribution(p, "p")?;
    check_distribution(q, "q")?;
    Ok(p.iter().zip(q).map(|(&a, &b)| div.perspective(a, b)).sum())
}

/// `D_f(P || Q)` for densities on R given by their logarithms, by adaptive Gauss-Kronrod
/// quadrature over the real line mapped around `center` with `scale`.
pub fn f_divergence_quadrature<LP, LQ>(
    div: Divergence,
    log_p: LP,
    log_q: LQ,
    center: f64,
    scale: f64,
) -> Result<Quadrature>
where
    LP: Fn(f64) -> f64,
    LQ: Fn(f64) -> f64,
{
    div.validate()?;
    integrate_real_line(
        |x| div.perspective_log(log_p(x), log_q(x)),
        center,
        scale,
        QuadratureConfig::default(),
    )
}

/// A univariate Gaussian `N(mean, std^2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian1d {
    /// The mean.
    pub mean: f64,
    /// The standard deviation, > 0.
    pub std: f64,
}

impl Gaussian1d {
    /// `N(mean, std^2)` with `mean` finite and `std` finite and > 0.
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        if !mean.is_finite() {
            return Err(Error::NonFinite {
                what: "mean",
                at: 0.0,
                value: mean,
            });
        }
        if !(std.is_finite() && std > 0.0) {
            return Err(Error::NotPositive {
                name: "std",
                value: std,
            });
        }
        Ok(Self { mean, std })
    }

    /// `log N(x; mean, std^2)`.
    pub fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        -0.5 * z * z - self.std.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    }
}

/// `D_f(P || Q)` between two univariate Gaussians by quadrature.
pub fn f_divergence_gaussians_quadrature(
    div: Divergence,
    p: Gaussian1d,
    q: Gaussian1d,
) -> Result<Quadrature> {
    f_divergence_quadrature(
        div,
        |x| p.log_density(x),
        |x| q.log_density(x),
        0.5 * (p.mean + q.mean),
        p.std.max(q.std),
    )
}

/// `KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2`.
pub fn kl_gaussian(p: Gaussian1d, q: Gaussian1d) -> f64 {
    (q.std / p.std).ln() + (p.std.powi(2) + (p.mean - q.mean).powi(2)) / (2.0 * q.std.powi(2)) - 0.5
}

/// The Chernoff coefficient `\int p^a q^(1-a) dx` between univariate Gaussians:
/// `s1^(1-a) s2^a / s_a * exp(-a (1-a) (m1 - m2)^2 / (2 s_a^2))`, `s_a^2 = a s2^2 + (1-a) s1^2`;
/// an error where the integral diverges (`s_a^2 <= 0`).
pub fn chernoff_coefficient_gaussian(p: Gaussian1d, q: Gaussian1d, a: f64) -> Result<f64> {
    let sa2 = a * q.std.powi(2) + (1.0 - a) * p.std.powi(2);
    if sa2 <= 0.0 {
        return Err(Error::NoClosedForm(format!(
            "int p^a q^(1-a) diverges for a = {a} (a s_q^2 + (1-a) s_p^2 = {sa2})"
        )));
    }
    Ok(p.std.powf(1.0 - a) * q.std.powf(a) / sa2.sqrt()
        * (-a * (1.0 - a) * (p.mean - q.mean).powi(2) / (2.0 * sa2)).exp())
}

/// `D_f(P || Q)` between univariate Gaussians in closed form, where one exists: KL, reverse
/// KL, Jeffrey, and the alpha family (Pearson = 2 D_2, Neyman = 2 D_-1, squared
/// Hellinger = D_(1/2) / 2). Total variation, the Jensen-Shannon family and GAN have none:
/// use [`f_divergence_gaussians_quadrature`].
pub fn f_divergence_gaussians_closed_form(
    div: Divergence,
    p: Gaussian1d,
    q: Gaussian1d,
) -> Result<f64> {
    div.validate()?;
    let alpha_div = |a: f64| -> Result<f64> {
        Ok((chernoff_coefficient_gaussian(p, q, a)? - 1.0) / (a * (a - 1.0)))
    };
    match div {
        Divergence::KullbackLeibler => Ok(kl_gaussian(p, q)),
        Divergence::ReverseKullbackLeibler => Ok(kl_gaussian(q, p)),
        Divergence::Jeffrey => Ok(kl_gaussian(p, q) + kl_gaussian(q, p)),
        Divergence::PearsonChiSquared => Ok(2.0 * alpha_div(2.0)?),
        Divergence::NeymanChiSquared => Ok(2.0 * alpha_div(-1.0)?),
        Divergence::SquaredHellinger => Ok(0.5 * alpha_div(0.5)?),
        Divergence::Alpha { alpha } => alpha_div(alpha),
        other => Err(Error::NoClosedForm(format!(
            "{other} between Gaussians has no closed form here"
        ))),
    }
}

/// Lower Cholesky factor of a symmetric positive definite `d x d` matrix (row-major).
pub fn cholesky(a: &[f64], d: usize) -> Result<Vec<f64>> {
    if a.len() != d * d {
        return Err(Error::LengthMismatch {
            what: "matrix entries vs d^2",
            left: a.len(),
            right: d * d,
        });
    }
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return Err(Error::NotPositiveDefinite { row: i, pivot: s });
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Ok(l)
}

/// Solves `L x = b` for lower-triangular `L` (forward substitution).
fn forward_solve(l: &[f64], d: usize, b: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; d];
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    x
}

/// `KL(N(m1, S1) || N(m2, S2)) = [tr(S2^-1 S1) + (m2 - m1)^T S2^-1 (m2 - m1) - d
/// + log det S2 - log det S1] / 2`, with full covariances (row-major), through the Cholesky
/// factors `S = L L^T`: `tr(S2^-1 S1) = ||L2^-1 L1||_F^2`, `log det S = 2 sum log L_ii`.
pub fn kl_multivariate_gaussian(
    mean_p: &[f64],
    cov_p: &[f64],
    mean_q: &[f64],
    cov_q: &[f64],
) -> Result<f64> {
    let d = mean_p.len();
    if mean_q.len() != d {
        return Err(Error::LengthMismatch {
            what: "means",
            left: d,
            right: mean_q.len(),
        });
    }
    let l1 = cholesky(cov_p, d)?;
    let l2 = cholesky(cov_q, d)?;
    let mut trace = 0.0;
    for j in 0..d {
        let col: Vec<f64> = (0..d).map(|i| l1[i * d + j]).collect();
        let x = forward_solve(&l2, d, &col);
        trace += x.iter().map(|v| v * v).sum::<f64>();
    }
    let diff: Vec<f64> = (0..d).map(|i| mean_q[i] - mean_p[i]).collect();
    let z = forward_solve(&l2, d, &diff);
    let maha: f64 = z.iter().map(|v| v * v).sum();
    let logdet = |l: &[f64]| 2.0 * (0..d).map(|i| l[i * d + i].ln()).sum::<f64>();
    Ok(0.5 * (trace + maha - d as f64 + logdet(&l2) - logdet(&l1)))
}

/// Monte Carlo `D_f(P || Q) ~ mean_i f(u_i)` from `x_i ~ Q` with known `log u_i = log p/q`.
pub fn f_divergence_monte_carlo(div: Divergence, log_ratio_on_q: &[f64]) -> Result<Estimate> {
    div.validate()?;
    let vals: Vec<f64> = log_ratio_on_q
        .iter()
        .map(|&r| div.generator(r.exp()))
        .collect();
    Estimate::from_values(&vals)
}

/// Monte Carlo of the variational bound `E_P[T] - E_Q[f*(T)]` from critic values on
/// independent samples of P and of Q; at `T = T*` it estimates `D_f(P || Q)`.
pub fn variational_bound_monte_carlo(
    div: Divergence,
    critic_on_p: &[f64],
    critic_on_q: &[f64],
) -> Result<Estimate> {
    div.validate()?;
    let ep = Estimate::from_values(critic_on_p)?;
    let conj: Vec<f64> = critic_on_q
        .iter()
        .map(|&t| div.fenchel_conjugate(t))
        .collect();
    let eq = Estimate::from_values(&conj)?;
    Ok(ep.minus(&eq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_kl_matches_hand_computation() {
        let p = [0.5, 0.5, 0.0];
        let q = [0.25, 0.25, 0.5];
        let kl = f_divergence_discrete(Divergence::KullbackLeibler, &p, &q).unwrap();
        assert!((kl - 2f64.ln()).abs() < 1e-15);
        // Support mismatch: KL(Q || P) is infinite; TV is 1/2 sum |p - q| = 0.5.
        let rkl = f_divergence_discrete(Divergence::KullbackLeibler, &q, &p).unwrap();
        assert!(rkl.is_infinite());
        let tv = f_divergence_discrete(Divergence::TotalVariation, &q, &p).unwrap();
        assert!((tv - 0.5).abs() < 1e-15);
    }

    #[test]
    fn discrete_rejects_non_distributions() {
        let d = Divergence::KullbackLeibler;
        assert!(matches!(
            f_divergence_discrete(d, &[0.5, 0.6], &[0.5, 0.5]),
            Err(Error::NotADistribution(_))
        ));
        assert!(matches!(
            f_divergence_discrete(d, &[1.5, -0.5], &[0.5, 0.5]),
            Err(Error::NotADistribution(_))
        ));
        assert!(matches!(
            f_divergence_discrete(d, &[1.0], &[0.5, 0.5]),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(matches!(
            cholesky(&[1.0, 2.0, 2.0, 1.0], 2),
            Err(Error::NotPositiveDefinite { .. })
        ));
    }

    #[test]
    fn multivariate_kl_reduces_to_univariate_and_is_zero_on_itself() {
        let p = Gaussian1d::new(0.3, 1.2).unwrap();
        let q = Gaussian1d::new(-0.5, 0.7).unwrap();
        let kl1 = kl_gaussian(p, q);
        let klm = kl_multivariate_gaussian(&[0.3], &[1.44], &[-0.5], &[0.49]).unwrap();
        assert!((kl1 - klm).abs() < 1e-14);
        let s = [2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.5];
        let m = [1.0, 2.0, 3.0];
        assert!(kl_multivariate_gaussian(&m, &s, &m, &s).unwrap().abs() < 1e-14);
        // Independent coordinates: KL adds up.
        let klsum = kl_gaussian(p, q)
            + kl_gaussian(
                Gaussian1d::new(1.0, 1.0).unwrap(),
                Gaussian1d::new(0.0, 2.0).unwrap(),
            );
        let kld = kl_multivariate_gaussian(
            &[0.3, 1.0],
            &[1.44, 0.0, 0.0, 1.0],
            &[-0.5, 0.0],
            &[0.49, 0.0, 0.0, 4.0],
        )
        .unwrap();
        assert!((klsum - kld).abs() < 1e-14);
    }

    #[test]
    fn gaussian1d_validates() {
        assert!(matches!(
            Gaussian1d::new(0.0, 0.0),
            Err(Error::NotPositive { .. })
        ));
        assert!(Gaussian1d::new(f64::NAN, 1.0).is_err());
    }
}
