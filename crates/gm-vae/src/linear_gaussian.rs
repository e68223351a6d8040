//! A linear-Gaussian latent model with a closed-form posterior, for checking the ELBO
//! identity log p(x) - ELBO(q) = KL(q(z) || p(z|x)) (e.g. Bishop, PRML, sections 2.3.3 and
//! 10.1):
//!
//! z ~ N(0, 1), x | z ~ N(a z + b, s^2 I_D), so x ~ N(b, a a^T + s^2 I) and
//! p(z|x) = N(m_post, v_post), v_post = 1 / (1 + |a|^2 / s^2), m_post = v_post a^T (x - b) / s^2.
//! log p(x) uses the matrix determinant lemma and Sherman-Morrison:
//! log |a a^T + s^2 I| = 2 D log s + log(1 + |a|^2 / s^2),
//! r^T (a a^T + s^2 I)^{-1} r = (|r|^2 - (a^T r)^2 / (s^2 + |a|^2)) / s^2.
//!
//! It also compares two Monte Carlo estimators of p(x) with a proposal q(z) = N(m, v):
//! p(x) ~ (1/k) sum_i w_i, w_i = p(x|z_i) p(z_i) / q(z_i), z_i ~ q. Naive Monte Carlo is
//! the case q = p(z) (w_i = p(x|z_i)); importance sampling takes q close to p(z|x). With
//! r = p(z|x) / q(z), w = p(x) r, so the relative variance of the estimate is
//! (E_q r^2 - 1) / k, by the delta method Var log p_hat ~ (E_q r^2 - 1) / k, and the
//! effective sample size (sum w)^2 / sum w^2 tends to k / E_q r^2. For Gaussians,
//! E_q r^2 = sqrt(v) / (v_post sqrt(P)) exp((B^2 / P - C) / 2) with P = 2 / v_post - 1 / v,
//! B = 2 m_post / v_post - m / v, C = 2 m_post^2 / v_post - m^2 / v (finite when P > 0).

use candle_core::{Device, Tensor};
use gm_core::GmRng;

use crate::bound::{gaussian_log_likelihood, kl_standard_normal, reparameterize};
use crate::{Error, Result};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// x | z ~ N(a z + b, s^2 I), z ~ N(0, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearGaussian {
    /// The loading vector `a`, of the data dimension D.
    pub a: Vec<f64>,
    /// The offset `b`, of the data dimension D.
    pub b: Vec<f64>,
    /// The observation noise standard deviation `s`, positive.
    pub s: f64,
}

fn dot(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(x, y)| x * y).sum()
}

impl LinearGaussian {
    /// Checks that `a` and `b` have one length and `s` is positive.
    pub fn new(a: Vec<f64>, b: Vec<f64>, s: f64) -> Result<Self> {
        if a.is_empty() || a.len() != b.len() {
            return Err(Error::Shape {
                what: "linear-Gaussian offset b",
                got: vec![b.len()],
                expected: vec![a.len()],
            });
        }
        if !(s > 0.0 && s.is_finite()) {
            return Err(Error::config("s", s, "must be positive and finite"));
        }
        Ok(Self { a, b, s })
    }

    fn check(&self, x: &[f64]) -> Result<()> {
        if x.len() != self.a.len() {
            return Err(Error::Shape {
                what: "linear-Gaussian observation",
                got: vec![x.len()],
                expected: vec![self.a.len()],
            });
        }
        Ok(())
    }

    /// The exact log p(x).
    pub fn log_marginal(&self, x: &[f64]) -> Result<f64> {
        self.check(x)?;
        let s2 = self.s * self.s;
        let r: Vec<f64> = x.iter().zip(&self.b).map(|(x, b)| x - b).collect();
        let aa = dot(&self.a, &self.a);
        let ar = dot(&self.a, &r);
        let quad = (dot(&r, &r) - ar * ar / (s2 + aa)) / s2;
        let d = x.len() as f64;
        Ok(-0.5 * (d * LN_2PI + 2.0 * d * self.s.ln() + (1.0 + aa / s2).ln() + quad))
    }

    /// The exact posterior p(z|x) = N(mean, var).
    pub fn posterior(&self, x: &[f64]) -> Result<(f64, f64)> {
        self.check(x)?;
        let s2 = self.s * self.s;
        let var = 1.0 / (1.0 + dot(&self.a, &self.a) / s2);
        let r: Vec<f64> = x.iter().zip(&self.b).map(|(x, b)| x - b).collect();
        Ok((var * dot(&self.a, &r) / s2, var))
    }

    /// KL(N(m, v) || p(z|x)).
    pub fn kl_to_posterior(&self, x: &[f64], m: f64, v: f64) -> Result<f64> {
        let (mp, vp) = self.posterior(x)?;
        Ok(0.5 * ((vp / v).ln() + (v + (m - mp).powi(2)) / vp - 1.0))
    }

    /// Monte Carlo ELBO of q = N(m, e^logvar) with `n` reparameterized samples, through the
    /// crate's own `reparameterize`, `gaussian_log_likelihood` and analytic KL; returns
    /// (estimate, standard error).
    pub fn elbo_monte_carlo(
        &self,
        x: &[f64],
        m: f64,
        logvar: f64,
        n: usize,
        rng: &mut GmRng,
    ) -> Result<(f64, f64)> {
        self.check(x)?;
        let dev = Device::Cpu;
        let d = x.len();
        let f = |v: &[f64]| v.iter().map(|&u| u as f32).collect::<Vec<f32>>();
        let mu = Tensor::new(&[[m as f32]], &dev)?;
        let lv = Tensor::new(&[[logvar as f32]], &dev)?;
        let eps = rng.normal((n, 1), 0.0, 1.0, &dev)?;
        let z = reparameterize(&mu, &lv, &eps)?;
        let a = Tensor::from_vec(f(&self.a), (1, d), &dev)?;
        let b = Tensor::from_vec(f(&self.b), (1, d), &dev)?;
        let mean = z.broadcast_mul(&a)?.broadcast_add(&b)?;
        let xt = Tensor::from_vec(f(x), (1, d), &dev)?.broadcast_as((n, d))?;
        let lpx = gaussian_log_likelihood(&xt, &mean, self.s)?.to_vec1::<f32>()?;
        let kl = kl_standard_normal(&mu, &lv)?.to_vec1::<f32>()?[0] as f64;
        let nf = n as f64;
        let mean_l = lpx.iter().map(|&v| v as f64).sum::<f64>() / nf;
        let var = lpx
            .iter()
            .map(|&v| (v as f64 - mean_l).powi(2))
            .sum::<f64>()
            / (nf - 1.0).max(1.0);
        Ok((mean_l - kl, (var / nf).sqrt()))
    }
}

/// One Monte Carlo estimate of p(x) with proposal q.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginalEstimate {
    /// log (1/k) sum_i w_i.
    pub log_p: f64,
    /// (sum_i w_i)^2 / sum_i w_i^2, between 1 and k.
    pub ess: f64,
}

/// Spread of repeated estimates of log p(x) with one proposal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorSpread {
    /// Mean of the estimates of log p(x) across repetitions.
    pub mean_log_p: f64,
    /// Unbiased sample variance of the estimates of log p(x) across repetitions.
    pub var_log_p: f64,
    /// Mean effective sample size across repetitions.
    pub mean_ess: f64,
    /// Standard error of `mean_ess` across repetitions.
    pub ess_se: f64,
}

impl LinearGaussian {
    /// log p(x|z) = -1/2 (D log 2 pi + 2 D log s + |x - a z - b|^2 / s^2).
    pub fn log_likelihood(&self, x: &[f64], z: f64) -> f64 {
        let s2 = self.s * self.s;
        let d = x.len() as f64;
        let r2: f64 = x
            .iter()
            .zip(self.a.iter().zip(&self.b))
            .map(|(x, (a, b))| (x - a * z - b).powi(2))
            .sum();
        -0.5 * (d * LN_2PI + 2.0 * d * self.s.ln() + r2 / s2)
    }

    /// Estimates p(x) from `k` draws of q = N(m, v): `(m, v) = (0, 1)` is naive Monte Carlo
    /// from the prior, anything else importance sampling.
    pub fn marginal_estimate(
        &self,
        x: &[f64],
        m: f64,
        v: f64,
        k: usize,
        rng: &mut GmRng,
    ) -> Result<MarginalEstimate> {
        self.check(x)?;
        if !(v > 0.0 && v.is_finite()) {
            return Err(Error::config(
                "proposal variance",
                v,
                "must be positive and finite",
            ));
        }
        if k == 0 {
            return Err(Error::config("k", 0, "must be at least 1"));
        }
        let sd = v.sqrt();
        let log_w: Vec<f64> = rng
            .normal_vec(k)
            .into_iter()
            .map(|e| {
                let z = m + sd * e as f64;
                let log_prior = -0.5 * (LN_2PI + z * z);
                let log_q = -0.5 * (LN_2PI + v.ln() + (e as f64).powi(2));
                self.log_likelihood(x, z) + log_prior - log_q
            })
            .collect();
        let top = log_w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (s1, s2) = log_w.iter().fold((0.0, 0.0), |(s1, s2), &l| {
            let w = (l - top).exp();
            (s1 + w, s2 + w * w)
        });
        Ok(MarginalEstimate {
            log_p: top + (s1 / k as f64).ln(),
            ess: s1 * s1 / s2,
        })
    }

    /// E_q r^2 for r = p(z|x) / q(z), q = N(m, v); infinite when 2 / v_post <= 1 / v.
    pub fn second_moment_of_ratio(&self, x: &[f64], m: f64, v: f64) -> Result<f64> {
        let (mp, vp) = self.posterior(x)?;
        let p = 2.0 / vp - 1.0 / v;
        if p <= 0.0 {
            return Ok(f64::INFINITY);
        }
        let b = 2.0 * mp / vp - m / v;
        let c = 2.0 * mp * mp / vp - m * m / v;
        Ok(v.sqrt() / (vp * p.sqrt()) * (0.5 * (b * b / p - c)).exp())
    }

    /// `reps` independent estimates of log p(x) with `k` draws each from q = N(m, v).
    pub fn estimator_spread(
        &self,
        x: &[f64],
        m: f64,
        v: f64,
        k: usize,
        reps: usize,
        rng: &mut GmRng,
    ) -> Result<EstimatorSpread> {
        let est = (0..reps.max(2))
            .map(|_| self.marginal_estimate(x, m, v, k, rng))
            .collect::<Result<Vec<_>>>()?;
        let n = est.len() as f64;
        let mean = |f: &dyn Fn(&MarginalEstimate) -> f64| est.iter().map(f).sum::<f64>() / n;
        let mean_log_p = mean(&|e| e.log_p);
        let mean_ess = mean(&|e| e.ess);
        let var_log_p = est
            .iter()
            .map(|e| (e.log_p - mean_log_p).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        let var_ess = est.iter().map(|e| (e.ess - mean_ess).powi(2)).sum::<f64>() / (n - 1.0);
        Ok(EstimatorSpread {
            mean_log_p,
            var_log_p,
            mean_ess,
            ess_se: (var_ess / n).sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_refused() {
        assert!(LinearGaussian::new(vec![1.0], vec![1.0, 2.0], 1.0).is_err());
        assert!(matches!(
            LinearGaussian::new(vec![1.0], vec![1.0], 0.0),
            Err(Error::Config { field: "s", .. })
        ));
    }

    #[test]
    fn one_dimensional_marginal_matches_closed_form() {
        // D = 1: x ~ N(b, a^2 + s^2).
        let m = LinearGaussian::new(vec![2.0], vec![0.5], 0.3).unwrap();
        let v: f64 = 4.0 + 0.09;
        let want = -0.5 * (LN_2PI + v.ln() + (1.7f64 - 0.5).powi(2) / v);
        assert!((m.log_marginal(&[1.7]).unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn importance_sampling_beats_naive_monte_carlo() {
        let model = LinearGaussian::new(vec![1.0, -0.5, 2.0], vec![0.1, 0.2, -0.3], 0.5).unwrap();
        let x = [1.2, -0.4, 2.5];
        let exact = model.log_marginal(&x).unwrap();
        let (mp, vp) = model.posterior(&x).unwrap();
        let (qm, qv) = (mp + 0.5 * vp.sqrt(), 1.5 * vp);
        let (k, reps) = (500, 200);
        let mut rng = GmRng::new(11);
        let naive = model
            .estimator_spread(&x, 0.0, 1.0, k, reps, &mut rng)
            .unwrap();
        let is = model
            .estimator_spread(&x, qm, qv, k, reps, &mut rng)
            .unwrap();
        for (e, (m, v)) in [(naive, (0.0, 1.0)), (is, (qm, qv))] {
            // Unbiased in p, so log p_hat is low by about Var / 2 (Jensen); 5 s.e. beside.
            let tol = 5.0 * (e.var_log_p / reps as f64).sqrt() + e.var_log_p;
            assert!((e.mean_log_p - exact).abs() < tol, "{e:?} vs {exact}");
            // Delta method: Var log p_hat ~ (E_q r^2 - 1) / k; a sample variance of `reps`
            // near-normal draws has relative s.e. sqrt(2 / (reps - 1)).
            let r2 = model.second_moment_of_ratio(&x, m, v).unwrap();
            let want = (r2 - 1.0) / k as f64;
            let rel = 5.0 * (2.0 / (reps as f64 - 1.0)).sqrt();
            assert!(
                (e.var_log_p - want).abs() < rel * want,
                "{e:?}, want var {want}"
            );
            let ess = k as f64 / r2;
            assert!(
                (e.mean_ess - ess).abs() < 5.0 * e.ess_se + ess * r2 / k as f64,
                "{e:?}, want ess {ess}"
            );
        }
        assert!(naive.var_log_p > 10.0 * is.var_log_p, "{naive:?} {is:?}");
        assert!(is.mean_ess > 3.0 * naive.mean_ess, "{naive:?} {is:?}");
    }

    #[test]
    fn the_exact_posterior_is_a_zero_variance_proposal() {
        let model = LinearGaussian::new(vec![0.8, 1.5], vec![0.0, 0.3], 0.4).unwrap();
        let x = [0.5, 1.9];
        let (mp, vp) = model.posterior(&x).unwrap();
        let e = model
            .marginal_estimate(&x, mp, vp, 50, &mut GmRng::new(3))
            .unwrap();
        assert!(
            (e.log_p - model.log_marginal(&x).unwrap()).abs() < 1e-9,
            "{e:?}"
        );
        assert!((e.ess - 50.0).abs() < 1e-6, "{e:?}");
        assert!((model.second_moment_of_ratio(&x, mp, vp).unwrap() - 1.0).abs() < 1e-12);
    }
}
