//! A linear-Gaussian latent model with a closed-form posterior, for checking the ELBO
//! identity log p(x) - ELBO(q) = KL(q(z) || p(z|x)) (e.g. Bishop, PRML, sections 2.3.3 and
//! 10.1):
//!
//! z ~ N(0, 1), x | z ~ N(a z + b, s^2 I_D), so x ~ N(b, a a^T + s^2 I) and
//! p(z|x) = N(m_post, v_post), v_post = 1 / (1 + |a|^2 / s^2), m_post = v_post a^T (x - b) / s^2.
//! log p(x) uses the matrix determinant lemma and Sherman-Morrison:
//! log |a a^T + s^2 I| = 2 D log s + log(1 + |a|^2 / s^2),
//! r^T (a a^T + s^2 I)^{-1} r = (|r|^2 - (a^T r)^2 / (s^2 + |a|^2)) / s^2.

use candle_core::{Device, Tensor};
use gm_core::GmRng;

use crate::bound::{gaussian_log_likelihood, kl_standard_normal, reparameterize};
use crate::{Error, Result};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// x | z ~ N(a z + b, s^2 I), z ~ N(0, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearGaussian {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
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
}
