//! Two unbiased estimators of the gradient of F(mu, logvar) = sum_i E_{q_i} log p(x_i|z)
//! with respect to the encoder outputs (mu, logvar), q_i = N(mu_i, diag exp(logvar_i)), for a
//! fixed decoder and batch, with S samples eps_s ~ N(0, I), z_s = mu + sigma eps_s:
//!
//! - `reparameterize` (pathwise; Kingma and Welling 2014, Rezende et al. 2014):
//!   d/dmu = 1/S sum_s grad_z f(z_s),  d/dlogvar = 1/S sum_s grad_z f(z_s) * eps_s * sigma / 2;
//! - `score_function` (REINFORCE; Williams 1992), with the leave-one-out baseline
//!   b_s = mean_{t != s} f(z_t) as control variate (independent of z_s, so still unbiased):
//!   d/dtheta = 1/S sum_s (f(z_s) - b_s) grad_theta log q(z_s), where
//!   grad_mu log q = eps / sigma and grad_logvar log q = (eps^2 - 1) / 2.
//!
//! [`estimator_variance`] repeats an estimator R times (all repetitions batched as tensor
//! computations) and returns the per-coordinate mean and empirical variance.

use candle_core::{Tensor, Var, D};
use gm_core::GmRng;

use crate::bound::observation_log_likelihood;
use crate::model::Decoder;
use crate::{Error, Result};

/// The gradient estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientEstimator {
    /// The pathwise (reparameterization) gradient.
    Reparameterization,
    /// REINFORCE; with `baseline`, the leave-one-out control variate (needs S >= 2).
    ScoreFunction {
        /// Subtract the leave-one-out baseline b_s = mean_{t != s} f(z_t).
        baseline: bool,
    },
}

/// Mean and empirical variance, per coordinate, of R repetitions of an estimator. The
/// coordinates are the flattened d/dmu `(n, d)` followed by the flattened d/dlogvar.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorStats {
    /// Number R of independent repetitions of the estimator.
    pub repetitions: usize,
    /// Mean over the repetitions, per coordinate.
    pub mean: Vec<f64>,
    /// Unbiased sample variance over the repetitions.
    pub variance: Vec<f64>,
}

impl EstimatorStats {
    /// The variance averaged over coordinates.
    pub fn mean_variance(&self) -> f64 {
        self.variance.iter().sum::<f64>() / self.variance.len().max(1) as f64
    }
}

/// The variance of the score-function and reparameterization estimators side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientComparison {
    /// Statistics of the pathwise (reparameterization) estimator.
    pub reparameterization: EstimatorStats,
    /// Statistics of the score-function estimator with the leave-one-out baseline.
    pub score_function: EstimatorStats,
}

impl GradientComparison {
    /// Mean variance of the score-function estimator over that of the pathwise one.
    pub fn variance_ratio(&self) -> f64 {
        self.score_function.mean_variance() / self.reparameterization.mean_variance()
    }

    /// z statistics (difference of means over its standard error) per coordinate.
    pub fn mean_z_scores(&self) -> Vec<f64> {
        let (a, b) = (&self.reparameterization, &self.score_function);
        (0..a.mean.len())
            .map(|j| {
                let se = (a.variance[j] / a.repetitions as f64
                    + b.variance[j] / b.repetitions as f64)
                    .sqrt();
                (a.mean[j] - b.mean[j]) / se.max(f64::MIN_POSITIVE)
            })
            .collect()
    }
}

/// `c` repetitions of `est` with `samples` draws each; returns `(c, 2 n d)` gradients.
#[allow(clippy::too_many_arguments)]
fn gradients_chunk(
    decoder: &Decoder,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    est: GradientEstimator,
    samples: usize,
    c: usize,
    rng: &mut GmRng,
) -> Result<Tensor> {
    let (n, d) = mu.dims2()?;
    let dim = x.dim(1)?;
    let s = samples;
    let sigma = (logvar * 0.5)?.exp()?;
    let eps = rng.normal((c, s, n, d), 0.0, 1.0, x.device())?;
    let z = eps.broadcast_mul(&sigma)?.broadcast_add(mu)?;
    let zv = Var::from_tensor(&z.reshape((c * s * n, d))?)?;
    let out = decoder.decode(zv.as_tensor())?;
    let xr = x.unsqueeze(0)?.broadcast_as((c * s, n, dim))?;
    let lik = decoder.config().likelihood;
    let f =
        observation_log_likelihood(lik, &xr, &out.reshape((c * s, n, ()))?)?.reshape((c, s, n))?;
    let (dmu, dlv) = match est {
        GradientEstimator::Reparameterization => {
            let grads = f.sum_all()?.backward()?;
            let gz = grads
                .get(zv.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg("no gradient for z".into()))?
                .reshape((c, s, n, d))?;
            let dmu = gz.mean(1)?;
            let dlv = ((&gz * &eps)?.broadcast_mul(&sigma)? * 0.5)?.mean(1)?;
            (dmu, dlv)
        }
        GradientEstimator::ScoreFunction { baseline } => {
            let f = f.detach();
            let a = if baseline {
                let total = f.sum_keepdim(1)?;
                let b = (total.broadcast_sub(&f)? / (s as f64 - 1.0))?;
                (&f - b)?
            } else {
                f
            }
            .unsqueeze(D::Minus1)?;
            let dmu = a.broadcast_mul(&eps.broadcast_div(&sigma)?)?.mean(1)?;
            let dlv = (a.broadcast_mul(&(eps.sqr()? - 1.0)?)? * 0.5)?.mean(1)?;
            (dmu, dlv)
        }
    };
    Ok(Tensor::cat(
        &[dmu.reshape((c, n * d))?, dlv.reshape((c, n * d))?],
        1,
    )?)
}

/// Runs `est` `repetitions` times, each with `samples` draws per data point, on the flat
/// batch `x` `(n, D)` with encoder outputs `mu`, `logvar` `(n, d)`; repetitions are batched
/// in chunks of about `chunk_rows` decoder rows.
#[allow(clippy::too_many_arguments)]
pub fn estimator_variance(
    decoder: &Decoder,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    est: GradientEstimator,
    samples: usize,
    repetitions: usize,
    rng: &mut GmRng,
) -> Result<EstimatorStats> {
    if repetitions < 2 {
        return Err(Error::config(
            "repetitions",
            repetitions,
            "the variance needs at least 2",
        ));
    }
    let min_s = if matches!(est, GradientEstimator::ScoreFunction { baseline: true }) {
        2
    } else {
        1
    };
    if samples < min_s {
        return Err(Error::config(
            "samples",
            samples,
            "the leave-one-out baseline needs at least 2 samples (others at least 1)",
        ));
    }
    let (x, mu, logvar) = (x.detach(), mu.detach(), logvar.detach());
    let n = mu.dim(0)?;
    let per_chunk = (8192 / (samples * n).max(1)).clamp(1, repetitions);
    let mut sum: Vec<f64> = Vec::new();
    let mut sum2: Vec<f64> = Vec::new();
    let mut done = 0;
    while done < repetitions {
        let c = per_chunk.min(repetitions - done);
        let g =
            gradients_chunk(decoder, &x, &mu, &logvar, est, samples, c, rng)?.to_vec2::<f32>()?;
        for row in g {
            if sum.is_empty() {
                sum = vec![0.0; row.len()];
                sum2 = vec![0.0; row.len()];
            }
            for (j, v) in row.into_iter().enumerate() {
                sum[j] += v as f64;
                sum2[j] += (v as f64) * (v as f64);
            }
        }
        done += c;
    }
    let r = repetitions as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / r).collect();
    let variance = sum2
        .iter()
        .zip(&mean)
        .map(|(s2, m)| ((s2 - r * m * m) / (r - 1.0)).max(0.0))
        .collect();
    Ok(EstimatorStats {
        repetitions,
        mean,
        variance,
    })
}

/// Both estimators on the same problem (the score function with the baseline).
#[allow(clippy::too_many_arguments)]
pub fn compare_estimators(
    decoder: &Decoder,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    samples: usize,
    repetitions: usize,
    rng: &mut GmRng,
) -> Result<GradientComparison> {
    Ok(GradientComparison {
        reparameterization: estimator_variance(
            decoder,
            x,
            mu,
            logvar,
            GradientEstimator::Reparameterization,
            samples,
            repetitions,
            rng,
        )?,
        score_function: estimator_variance(
            decoder,
            x,
            mu,
            logvar,
            GradientEstimator::ScoreFunction { baseline: true },
            samples,
            repetitions,
            rng,
        )?,
    })
}
