//! A Gaussian mixture with diagonal covariances fitted by expectation-maximisation
//! (Dempster, Laird and Rubin, 1977), in plain f64.
//!
//! p(x) = sum_k pi_k N(x; m_k, diag s_k^2).
//! - E-step: responsibilities r_ik = pi_k N(x_i; m_k, s_k^2) / p(x_i) (computed in log space);
//! - M-step: N_k = sum_i r_ik, pi_k = N_k / N, m_k = sum_i r_ik x_i / N_k,
//!   s_k^2 = sum_i r_ik (x_i - m_k)^2 / N_k (floored at `min_variance`);
//! - ELBO(q, theta) = sum_i sum_k r_ik (log pi_k + log N(x_i; m_k, s_k^2) - log r_ik), which
//!   equals the log-likelihood sum_i log p(x_i) right after the E-step; EM never decreases it.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
use gm_core::GmRng;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// EM settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmConfig {
    /// Number of mixture components K, at least 1.
    pub components: usize,
    /// Maximum number of EM iterations, at least 1.
    pub max_iters: usize,
    /// Stop when the mean log-likelihood improves by less than this.
    pub tol: f64,
    /// Variance floor, against collapse onto one point.
    pub min_variance: f64,
}

impl Default for EmConfig {
    fn default() -> Self {
        Self {
            components: 3,
            max_iters: 200,
            tol: 1e-8,
            min_variance: 1e-6,
        }
    }
}

impl EmConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.components == 0 {
            return Err(Error::config("components", 0, "must be at least 1"));
        }
        if self.max_iters == 0 {
            return Err(Error::config("max_iters", 0, "must be at least 1"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(Error::config(
                "tol",
                self.tol,
                "must be non-negative and finite",
            ));
        }
        if !(self.min_variance > 0.0 && self.min_variance.is_finite()) {
            return Err(Error::config(
                "min_variance",
                self.min_variance,
                "must be positive and finite",
            ));
        }
        Ok(())
    }
}

/// A diagonal Gaussian mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianMixture {
    /// Mixing weights pi_k, one per component, summing to 1.
    pub weights: Vec<f64>,
    /// Means m_k, one vector of the data dimension per component.
    pub means: Vec<Vec<f64>>,
    /// Diagonal variances s_k^2, one vector of the data dimension per component.
    pub variances: Vec<Vec<f64>>,
}

impl GaussianMixture {
    /// log pi_k + log N(x; m_k, s_k^2) for every k.
    fn joint_log(&self, x: &[f64]) -> Vec<f64> {
        self.weights
            .iter()
            .zip(self.means.iter().zip(&self.variances))
            .map(|(w, (m, v))| {
                let q: f64 = x
                    .iter()
                    .zip(m.iter().zip(v))
                    .map(|(xi, (mi, vi))| LN_2PI + vi.ln() + (xi - mi).powi(2) / vi)
                    .sum();
                w.ln() - 0.5 * q
            })
            .collect()
    }

    /// log p(x).
    pub fn log_pdf(&self, x: &[f64]) -> f64 {
        log_sum_exp(&self.joint_log(x))
    }

    /// Mean log-likelihood of the data.
    pub fn mean_log_likelihood(&self, data: &[Vec<f64>]) -> f64 {
        data.iter().map(|x| self.log_pdf(x)).sum::<f64>() / data.len().max(1) as f64
    }

    /// E-step: responsibilities `(N, K)`.
    pub fn responsibilities(&self, data: &[Vec<f64>]) -> Vec<Vec<f64>> {
        data.iter()
            .map(|x| {
                let j = self.joint_log(x);
                let l = log_sum_exp(&j);
                j.iter().map(|v| (v - l).exp()).collect()
            })
            .collect()
    }

    /// The ELBO of responsibilities `r` (mean per point); equals the mean log-likelihood
    /// when `r` are this model's own responsibilities.
    pub fn elbo(&self, data: &[Vec<f64>], r: &[Vec<f64>]) -> f64 {
        let s: f64 = data
            .iter()
            .zip(r)
            .map(|(x, ri)| {
                self.joint_log(x)
                    .iter()
                    .zip(ri)
                    .filter(|(_, &rk)| rk > 0.0)
                    .map(|(j, &rk)| rk * (j - rk.ln()))
                    .sum::<f64>()
            })
            .sum();
        s / data.len().max(1) as f64
    }

    /// M-step from responsibilities.
    fn m_step(data: &[Vec<f64>], r: &[Vec<f64>], min_variance: f64) -> Self {
        let k = r[0].len();
        let dim = data[0].len();
        let n = data.len() as f64;
        let mut weights = vec![0.0; k];
        let mut means = vec![vec![0.0; dim]; k];
        let mut variances = vec![vec![0.0; dim]; k];
        for (x, ri) in data.iter().zip(r) {
            for c in 0..k {
                weights[c] += ri[c];
                for j in 0..dim {
                    means[c][j] += ri[c] * x[j];
                }
            }
        }
        for c in 0..k {
            let nk = weights[c].max(f64::MIN_POSITIVE);
            means[c].iter_mut().for_each(|m| *m /= nk);
        }
        for (x, ri) in data.iter().zip(r) {
            for c in 0..k {
                for j in 0..dim {
                    variances[c][j] += ri[c] * (x[j] - means[c][j]).powi(2);
                }
            }
        }
        for c in 0..k {
            let nk = weights[c].max(f64::MIN_POSITIVE);
            variances[c]
                .iter_mut()
                .for_each(|v| *v = (*v / nk).max(min_variance));
            weights[c] = (weights[c] / n).max(f64::MIN_POSITIVE);
        }
        Self {
            weights,
            means,
            variances,
        }
    }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// A fitted mixture and the mean log-likelihood after each EM iteration (the first entry is
/// that of the initial model).
#[derive(Debug, Clone)]
pub struct EmFit {
    /// The mixture after the last EM iteration.
    pub model: GaussianMixture,
    /// Mean log-likelihood of the data (nats per point): the initial model's, then one per
    /// iteration.
    pub log_likelihood: Vec<f64>,
}

/// Fits a mixture to `data` by EM, initialised at `components` distinct random data points
/// (drawn from `rng`) with the data's per-coordinate variance.
pub fn fit_em(data: &[Vec<f64>], cfg: &EmConfig, rng: &mut GmRng) -> Result<EmFit> {
    cfg.validate()?;
    if data.len() < cfg.components {
        return Err(Error::TooFewPoints {
            what: "EM",
            need: cfg.components,
            got: data.len(),
        });
    }
    let dim = data[0].len();
    if dim == 0 || data.iter().any(|x| x.len() != dim) {
        return Err(Error::Shape {
            what: "EM data points",
            got: vec![data.iter().map(|x| x.len()).min().unwrap_or(0)],
            expected: vec![dim.max(1)],
        });
    }
    let n = data.len() as f64;
    let mean: Vec<f64> = (0..dim)
        .map(|j| data.iter().map(|x| x[j]).sum::<f64>() / n)
        .collect();
    let var: Vec<f64> = (0..dim)
        .map(|j| {
            (data.iter().map(|x| (x[j] - mean[j]).powi(2)).sum::<f64>() / n).max(cfg.min_variance)
        })
        .collect();
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < cfg.components {
        let i = rng.random_range(0..data.len());
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    let k = cfg.components;
    let mut model = GaussianMixture {
        weights: vec![1.0 / k as f64; k],
        means: picked.iter().map(|&i| data[i].clone()).collect(),
        variances: vec![var; k],
    };
    let mut ll = vec![model.mean_log_likelihood(data)];
    for _ in 0..cfg.max_iters {
        let r = model.responsibilities(data);
        model = GaussianMixture::m_step(data, &r, cfg.min_variance);
        let l = model.mean_log_likelihood(data);
        let prev = *ll.last().unwrap_or(&f64::NEG_INFINITY);
        ll.push(l);
        if (l - prev).abs() < cfg.tol {
            break;
        }
    }
    Ok(EmFit {
        model,
        log_likelihood: ll,
    })
}

/// Draws `n` points from `model` with their component labels.
pub fn sample_mixture(
    model: &GaussianMixture,
    n: usize,
    rng: &mut GmRng,
) -> Vec<(Vec<f64>, usize)> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut c = model.weights.len() - 1;
            for (k, w) in model.weights.iter().enumerate() {
                acc += w;
                if u < acc {
                    c = k;
                    break;
                }
            }
            let eps = rng.normal_vec(model.means[c].len());
            let x = model.means[c]
                .iter()
                .zip(&model.variances[c])
                .zip(eps)
                .map(|((m, v), e)| m + v.sqrt() * e as f64)
                .collect();
            (x, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> GaussianMixture {
        GaussianMixture {
            weights: vec![0.5, 0.3, 0.2],
            means: vec![vec![-4.0, 0.0], vec![4.0, 1.0], vec![0.0, 6.0]],
            variances: vec![vec![1.0, 1.0], vec![0.5, 2.0], vec![1.5, 0.7]],
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = EmConfig::default();
        let f = |c: EmConfig| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            f(EmConfig {
                components: 0,
                ..ok
            }),
            "components"
        );
        assert_eq!(f(EmConfig { max_iters: 0, ..ok }), "max_iters");
        assert_eq!(f(EmConfig { tol: -1.0, ..ok }), "tol");
        assert_eq!(
            f(EmConfig {
                min_variance: 0.0,
                ..ok
            }),
            "min_variance"
        );
    }

    #[test]
    fn too_few_points_is_an_error() {
        let r = fit_em(&[vec![0.0]], &EmConfig::default(), &mut GmRng::new(1));
        assert!(matches!(r, Err(Error::TooFewPoints { .. })));
    }

    #[test]
    fn em_is_monotone_and_recovers_the_means() {
        let t = truth();
        let n = 3000;
        let data: Vec<Vec<f64>> = sample_mixture(&t, n, &mut GmRng::new(11))
            .into_iter()
            .map(|(x, _)| x)
            .collect();
        let fit = fit_em(&data, &EmConfig::default(), &mut GmRng::new(2)).unwrap();
        for w in fit.log_likelihood.windows(2) {
            assert!(w[1] >= w[0] - 1e-10, "log-likelihood fell: {w:?}");
        }
        // The ELBO at the model's own responsibilities is the log-likelihood.
        let r = fit.model.responsibilities(&data);
        let gap = fit.model.elbo(&data, &r) - fit.model.mean_log_likelihood(&data);
        assert!(gap.abs() < 1e-9, "{gap}");
        // Each true mean is matched by a fitted one within 5 standard errors sqrt(v / n_k).
        for (k, m) in t.means.iter().enumerate() {
            let nk = t.weights[k] * n as f64;
            let best = fit
                .model
                .means
                .iter()
                .map(|f| {
                    f.iter()
                        .zip(m)
                        .zip(&t.variances[k])
                        .map(|((a, b), v)| ((a - b) / (v / nk).sqrt()).abs())
                        .fold(0.0, f64::max)
                })
                .fold(f64::INFINITY, f64::min);
            assert!(best < 5.0, "component {k}: {best} standard errors away");
        }
    }
}
