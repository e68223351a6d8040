//! The evidence lower bound and its importance-weighted relatives (Kingma and Welling,
//! "Auto-Encoding Variational Bayes", 2014; Burda, Grosse and Salakhutdinov, "Importance
//! Weighted Autoencoders", 2016).
//!
//! With q(z|x) = N(mu, diag sigma^2), sigma^2 = exp(logvar), and p(z) = N(0, I):
//!
//! - `reparameterize`: z = mu + exp(logvar / 2) * eps, eps ~ N(0, I);
//! - ELBO(x) = E_q log p(x|z) - KL(q(z|x) || p(z)), with the analytic
//!   KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2) or the one-sample Monte Carlo
//!   KL ~ log q(z|x) - log p(z);
//! - `iwae_bound`: L_k(x) = E log (1/k) sum_i w_i, w_i = p(x, z_i) / q(z_i|x), which
//!   satisfies ELBO = L_1 <= L_k <= L_{k+1} <= log p(x);
//! - `log_likelihood`: the estimate log p(x) ~ logsumexp_i log w_i - log k (k = 5000 in the
//!   IWAE paper), computed in chunks of samples.
//!
//! Reduction: every per-image quantity is a **sum over pixels and latent coordinates**;
//! reported losses are the **mean over the batch** of these sums, in nats per image, and
//! bits per dimension = -(nats per image) / (D ln 2) with D the number of pixels.

use candle_core::{DType, Tensor, D};
use rayon::prelude::*;

use crate::config::Likelihood;
use crate::model::Vae;
use crate::Result;
use gm_core::GmRng;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// How the KL term of the ELBO is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlEstimator {
    /// Closed form for two diagonal Gaussians.
    #[default]
    Analytic,
    /// log q(z|x) - log p(z) at the reparameterized sample.
    MonteCarlo,
}

/// Converts nats per image to bits per dimension: -nats / (D ln 2).
///
/// ```
/// // An ELBO of -784 ln 2 nats on a 28 x 28 image is one bit per pixel.
/// let b = gm_vae::bound::bits_per_dim(-784.0 * std::f64::consts::LN_2, 784);
/// assert!((b - 1.0).abs() < 1e-12);
/// ```
pub fn bits_per_dim(elbo_nats: f64, data_dim: usize) -> f64 {
    -elbo_nats / (data_dim as f64 * std::f64::consts::LN_2)
}

/// softplus(x) = log(1 + e^x), computed as max(x, 0) + log(1 + e^{-|x|})
/// ([`gm_core::nn::softplus`]).
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    Ok(gm_core::nn::softplus(x)?)
}

/// z = mu + exp(logvar / 2) * eps; `eps` may carry leading sample dimensions over `mu`.
pub fn reparameterize(mu: &Tensor, logvar: &Tensor, eps: &Tensor) -> Result<Tensor> {
    let std = (logvar * 0.5)?.exp()?;
    Ok(eps.broadcast_mul(&std)?.broadcast_add(mu)?)
}

/// KL(N(mu, diag e^logvar) || N(0, I)) = 1/2 sum (mu^2 + e^logvar - 1 - logvar), summed over
/// the last dimension.
pub fn kl_standard_normal(mu: &Tensor, logvar: &Tensor) -> Result<Tensor> {
    let t = ((mu.sqr()? + logvar.exp()?)? - logvar)?;
    Ok(((t - 1.0)? * 0.5)?.sum(D::Minus1)?)
}

/// log N(z; mu, diag e^logvar), summed over the last dimension (broadcasting `mu`, `logvar`).
pub fn log_normal_diag(z: &Tensor, mu: &Tensor, logvar: &Tensor) -> Result<Tensor> {
    let d2 = z.broadcast_sub(mu)?.sqr()?;
    let t = d2.broadcast_div(&logvar.exp()?)?.broadcast_add(logvar)?;
    Ok(((t + LN_2PI)? * -0.5)?.sum(D::Minus1)?)
}

/// log N(z; 0, I), summed over the last dimension.
pub fn log_standard_normal(z: &Tensor) -> Result<Tensor> {
    Ok(((z.sqr()? + LN_2PI)? * -0.5)?.sum(D::Minus1)?)
}

/// Stable Bernoulli log-likelihood with logits l, summed over the last dimension:
/// log p(x|l) = -(max(l, 0) - l x + log(1 + e^{-|l|})).
pub fn bernoulli_log_likelihood(x: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let t = ((logits.relu()? - (logits * x)?)? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    Ok(t.sum(D::Minus1)?.neg()?)
}

/// Gaussian log-likelihood log N(x; mean, std^2 I), summed over the last dimension.
pub fn gaussian_log_likelihood(x: &Tensor, mean: &Tensor, std: f64) -> Result<Tensor> {
    let t = ((x - mean)?.sqr()? / (std * std))?;
    Ok(((t + (LN_2PI + 2.0 * std.ln()))? * -0.5)?.sum(D::Minus1)?)
}

/// Gaussian log-likelihood log N(x; mean, diag sigma^2) with `sigma = min_std +
/// softplus(raw)`, where `out` holds the means then the raw scales along its last dimension
/// (twice `x`'s), summed over the last dimension.
pub fn gaussian_learned_log_likelihood(x: &Tensor, out: &Tensor, min_std: f64) -> Result<Tensor> {
    let d = x.dim(D::Minus1)?;
    let mean = out.narrow(D::Minus1, 0, d)?;
    let std = (softplus(&out.narrow(D::Minus1, d, d)?)? + min_std)?;
    let t = ((x - mean)? / &std)?.sqr()?;
    let t = ((t + LN_2PI)? + std.log()?.affine(2.0, 0.0)?)?;
    Ok((t * -0.5)?.sum(D::Minus1)?)
}

/// log p(x|z) for the decoder output `out` (logits, means, or means and raw scales), summed
/// over pixels.
pub fn observation_log_likelihood(lik: Likelihood, x: &Tensor, out: &Tensor) -> Result<Tensor> {
    match lik {
        Likelihood::Bernoulli => bernoulli_log_likelihood(x, out),
        Likelihood::Gaussian { std } => gaussian_log_likelihood(x, out, std),
        Likelihood::GaussianLearned { min_std } => gaussian_learned_log_likelihood(x, out, min_std),
    }
}

/// The per-image terms of a one-sample ELBO estimate, each of shape `(n,)`.
#[derive(Debug, Clone)]
pub struct ElboTerms {
    /// log p(x|z) - KL.
    pub elbo: Tensor,
    /// log p(x|z) at the reparameterized sample.
    pub log_px_given_z: Tensor,
    /// The KL term (analytic or one-sample).
    pub kl: Tensor,
}

impl ElboTerms {
    /// Batch means (nats per image) of (elbo, log p(x|z), kl).
    pub fn means(&self) -> Result<(f64, f64, f64)> {
        let m = |t: &Tensor| -> Result<f64> { Ok(t.mean_all()?.to_scalar::<f32>()? as f64) };
        Ok((m(&self.elbo)?, m(&self.log_px_given_z)?, m(&self.kl)?))
    }
}

/// One-sample reparameterized ELBO of each image in `x` (`(n, ...)`), differentiable in the
/// encoder and decoder parameters.
pub fn elbo_terms(vae: &Vae, x: &Tensor, kl: KlEstimator, rng: &mut GmRng) -> Result<ElboTerms> {
    let x = vae.flatten_input(x)?;
    let (mu, logvar) = vae.encoder().encode(&x)?;
    let eps = rng.normal(mu.shape(), 0.0, 1.0, x.device())?;
    let z = reparameterize(&mu, &logvar, &eps)?;
    let out = vae.decoder().decode(&z)?;
    let log_px_given_z = observation_log_likelihood(vae.config().likelihood, &x, &out)?;
    let kl = match kl {
        KlEstimator::Analytic => kl_standard_normal(&mu, &logvar)?,
        KlEstimator::MonteCarlo => (log_q_from_eps(&logvar, &eps)? - log_standard_normal(&z)?)?,
    };
    Ok(ElboTerms {
        elbo: (&log_px_given_z - &kl)?,
        log_px_given_z,
        kl,
    })
}

/// log q(z|x) at z = mu + sigma eps: -1/2 sum (log 2 pi + logvar + eps^2).
fn log_q_from_eps(logvar: &Tensor, eps: &Tensor) -> Result<Tensor> {
    let t = eps.sqr()?.broadcast_add(logvar)?;
    Ok(((t + LN_2PI)? * -0.5)?.sum(D::Minus1)?)
}

/// log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for `k` samples per image, as a
/// `(k, n)` tensor; `x` is flat `(n, D)`, `mu` and `logvar` are `(n, d)`.
fn log_weights(
    vae: &Vae,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    k: usize,
    rng: &mut GmRng,
) -> Result<Tensor> {
    let (n, d) = mu.dims2()?;
    let dim = x.dim(1)?;
    let eps = rng.normal((k, n, d), 0.0, 1.0, x.device())?;
    let z = reparameterize(mu, logvar, &eps)?;
    let out = vae.decoder().decode(&z.reshape((k * n, d))?)?;
    let xr = x.unsqueeze(0)?.broadcast_as((k, n, dim))?;
    let out = out.reshape((k, n, ()))?;
    let lpx = observation_log_likelihood(vae.config().likelihood, &xr, &out)?;
    let lpz = log_standard_normal(&z)?;
    let lq = log_q_from_eps(logvar, &eps)?;
    Ok(((lpx + lpz)? - lq)?)
}

/// As [`log_weights`] for a Bernoulli decoder on the CPU, without gradients: the
/// pixel sum of log p(x|z) = x l - softplus(l) runs as one fused pass over the logits
/// (in parallel over rows) instead of a chain of tensor operations.
fn log_weights_fused_bernoulli(
    vae: &Vae,
    x: &[f32],
    mu: &Tensor,
    logvar: &Tensor,
    k: usize,
    rng: &mut GmRng,
) -> Result<Vec<Vec<f32>>> {
    let (n, d) = mu.dims2()?;
    let dim = x.len() / n.max(1);
    let eps = rng.normal((k, n, d), 0.0, 1.0, mu.device())?;
    let z = reparameterize(mu, logvar, &eps)?;
    let logits = vae
        .decoder()
        .decode(&z.reshape((k * n, d))?)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let prior_minus_q = (log_standard_normal(&z)? - log_q_from_eps(logvar, &eps)?)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let mut lw: Vec<f32> = Vec::with_capacity(k * n);
    logits
        .par_chunks(dim)
        .enumerate()
        .map(|(r, l)| {
            let xi = &x[(r % n) * dim..(r % n + 1) * dim];
            let mut acc = 0f32;
            for (&l, &x) in l.iter().zip(xi) {
                acc += x * l - (l.max(0.0) + (-l.abs()).exp().ln_1p());
            }
            acc + prior_minus_q[r]
        })
        .collect_into_vec(&mut lw);
    Ok(lw.chunks(n).map(|c| c.to_vec()).collect())
}

/// The importance-weighted bound L_k(x) = log (1/k) sum_i w_i of each image, `(n,)`,
/// differentiable (the IWAE training objective; k = 1 is the ELBO with Monte Carlo KL).
pub fn iwae_bound(vae: &Vae, x: &Tensor, k: usize, rng: &mut GmRng) -> Result<Tensor> {
    let k = k.max(1);
    let x = vae.flatten_input(x)?;
    let (mu, logvar) = vae.encoder().encode(&x)?;
    let lw = log_weights(vae, &x, &mu, &logvar, k, rng)?;
    Ok((lw.log_sum_exp(0)? - (k as f64).ln())?)
}

/// The importance-sampled estimate log p(x) ~ logsumexp_i log w_i - log k of each image in
/// `x`, with `k` samples drawn in chunks of about `chunk_rows` decoder rows (samples x
/// images) per tensor computation. No gradients are kept.
pub fn log_likelihood(
    vae: &Vae,
    x: &Tensor,
    k: usize,
    chunk_rows: usize,
    rng: &mut GmRng,
) -> Result<Vec<f64>> {
    let k = k.max(1);
    let x = vae.flatten_input(x)?.detach();
    let n = x.dim(0)?;
    let (mu, logvar) = vae.encoder().encode(&x)?;
    let (mu, logvar) = (mu.detach(), logvar.detach());
    let per_chunk = (chunk_rows / n.max(1)).clamp(1, k);
    let fused = vae.config().likelihood == Likelihood::Bernoulli && x.device().is_cpu();
    let x_host = if fused {
        x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?
    } else {
        Vec::new()
    };
    // Running log-sum-exp per image, in f64.
    let mut max = vec![f64::NEG_INFINITY; n];
    let mut sum = vec![0f64; n];
    let mut done = 0;
    while done < k {
        let c = per_chunk.min(k - done);
        let lw = if fused {
            log_weights_fused_bernoulli(vae, &x_host, &mu, &logvar, c, rng)?
        } else {
            log_weights(vae, &x, &mu, &logvar, c, rng)?
                .to_dtype(DType::F32)?
                .to_vec2::<f32>()?
        };
        for row in &lw {
            for (i, &v) in row.iter().enumerate() {
                let v = v as f64;
                if v > max[i] {
                    sum[i] = sum[i] * (max[i] - v).exp() + 1.0;
                    max[i] = v;
                } else {
                    sum[i] += (v - max[i]).exp();
                }
            }
        }
        done += c;
    }
    let ln_k = (k as f64).ln();
    Ok(max
        .iter()
        .zip(&sum)
        .map(|(m, s)| m + s.ln() - ln_k)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v, (1, v.len()), &Device::Cpu).unwrap()
    }
    fn s(t: Tensor) -> f64 {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0] as f64
    }

    #[test]
    fn bernoulli_matches_direct_formula_and_is_stable() {
        // log p = x log sigmoid(l) + (1 - x) log(1 - sigmoid(l)), by hand in f64.
        let (l, x) = ([-3.0f32, 0.5, 2.0], [0.0f32, 1.0, 1.0]);
        let want: f64 = l
            .iter()
            .zip(&x)
            .map(|(&l, &x)| {
                let p = 1.0 / (1.0 + (-(l as f64)).exp());
                x as f64 * p.ln() + (1.0 - x as f64) * (1.0 - p).ln()
            })
            .sum();
        let got = s(bernoulli_log_likelihood(&t(&x), &t(&l)).unwrap());
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // Saturated logits: finite, close to 0 when right and to -|l| when wrong.
        let got = s(bernoulli_log_likelihood(&t(&[1.0, 0.0]), &t(&[200.0, 200.0])).unwrap());
        assert!((got + 200.0).abs() < 1e-3, "{got}");
    }

    #[test]
    fn kl_and_log_densities_match_closed_forms() {
        let (mu, lv) = (t(&[0.5, -1.0]), t(&[0.2, -0.7]));
        let want: f64 = [(0.5f64, 0.2f64), (-1.0, -0.7)]
            .iter()
            .map(|&(m, l)| 0.5 * (m * m + l.exp() - 1.0 - l))
            .sum();
        assert!((s(kl_standard_normal(&mu, &lv).unwrap()) - want).abs() < 1e-6);
        let z = t(&[0.3, 0.1]);
        let want: f64 = [(0.3f64, 0.5f64, 0.2f64), (0.1, -1.0, -0.7)]
            .iter()
            .map(|&(z, m, l)| -0.5 * (LN_2PI + l + (z - m).powi(2) / l.exp()))
            .sum();
        assert!((s(log_normal_diag(&z, &mu, &lv).unwrap()) - want).abs() < 1e-5);
        let g = s(gaussian_log_likelihood(&z, &mu, 0.5f64).unwrap());
        let lv = (0.25f64).ln() as f32;
        let want = s(log_normal_diag(&z, &mu, &t(&[lv, lv])).unwrap());
        assert!((g - want).abs() < 1e-5);
    }

    #[test]
    fn softplus_is_stable() {
        let v = softplus(&t(&[-100.0, 0.0, 100.0]))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(v[0] >= 0.0 && v[0] < 1e-30);
        assert!((v[1] - 2f32.ln()).abs() < 1e-6);
        assert!((v[2] - 100.0).abs() < 1e-4);
    }

    #[test]
    fn fused_log_weights_match_the_tensor_path() {
        let dev = Device::Cpu;
        let store = gm_core::ParamStore::new(1);
        let cfg = crate::VaeConfig {
            latent_dim: 3,
            encoder_hidden: vec![8],
            decoder_hidden: vec![8],
            ..Default::default()
        };
        let vae = Vae::init(cfg, &store, &dev).unwrap();
        let half = Tensor::full(0.5f32, (4, 784), &dev).unwrap();
        let x = crate::model::binarize(&half, &mut GmRng::new(1)).unwrap();
        let (mu, lv) = vae.encoder().encode(&x).unwrap();
        let a = log_weights(&vae, &x, &mu, &lv, 6, &mut GmRng::new(2))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let xh = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = log_weights_fused_bernoulli(&vae, &xh, &mu, &lv, 6, &mut GmRng::new(2)).unwrap();
        assert_eq!((a.len(), a[0].len()), (b.len(), b[0].len()));
        for (ra, rb) in a.iter().zip(&b) {
            for (u, v) in ra.iter().zip(rb) {
                assert!((u - v).abs() < 1e-3 * u.abs().max(1.0), "{u} vs {v}");
            }
        }
    }

    #[test]
    fn bits_per_dim_converts() {
        let b = bits_per_dim(-784.0 * std::f64::consts::LN_2, 784);
        assert!((b - 1.0).abs() < 1e-12);
    }
}
