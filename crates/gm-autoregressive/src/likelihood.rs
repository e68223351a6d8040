//! Exact likelihoods of binary data: the Bernoulli log-likelihood of logits, the log-mean-exp
//! of an ensemble, dynamic binarization, and the mean negative log-likelihood of a data set.
//!
//! An autoregressive model factorises p(x) = prod_d p(x_d | x_<d) with Bernoulli conditionals
//! of logits l_d = f_d(x_<d), so
//!
//! log p(x) = sum_d x_d log sigmoid(l_d) + (1 - x_d) log sigmoid(-l_d)
//!          = -sum_d [log(1 + e^{-|l_d|}) + max(l_d, 0) - l_d x_d],
//!
//! the second form being the numerically stable binary cross-entropy with logits (no
//! overflow of e^{-l} for large |l|, no log of 0).

use candle_core::{Tensor, D};
use gm_core::GmRng;
use gm_core::ToHostF64;

use crate::Result;

/// log p(x) = -sum_d [log(1 + e^{-|l_d|}) + max(l_d, 0) - l_d x_d] over the last dimension:
/// `x` and `logits` of shape `(n, D)` give `(n,)`, in nats.
pub fn bernoulli_log_likelihood(x: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let bce = ((softplus_neg_abs + logits.relu()?)? - (logits * x)?)?;
    Ok(bce.sum(D::Minus1)?.neg()?)
}

/// log (1/K) sum_k exp(t_k) over dimension 0, computed as m + log mean exp(t - m) with
/// m = max_k t_k: `(K, n)` gives `(n,)`. The log-likelihood of the uniform mixture of K
/// models from their K log-likelihoods.
pub fn log_mean_exp(t: &Tensor) -> Result<Tensor> {
    let m = t.max_keepdim(0)?;
    let s = t.broadcast_sub(&m)?.exp()?.mean_keepdim(0)?.log()?;
    Ok((m + s)?.squeeze(0)?)
}

/// Dynamic binarization: each value in [0, 1] becomes 1 with probability equal to it, from
/// uniforms u drawn from `rng` in row-major order (x_bin = 1 if u < x). This is the
/// binarization of gm-vae (`gm_vae::model::binarize`), draw for draw, so that the same seed
/// and stream give the same binary digits and the likelihoods of the two crates compare.
pub fn binarize(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let u = rng.uniform(x.shape(), 0.0, 1.0, x.device())?;
    Ok(u.lt(x)?.to_dtype(x.dtype())?)
}

/// Bits per dimension of a negative log-likelihood in nats: nll / (D ln 2).
pub fn bits_per_dim(nll_nats: f64, dim: usize) -> f64 {
    nll_nats / (dim as f64 * std::f64::consts::LN_2)
}

/// A model of binary vectors with an exact (normalised, not bounded) log-likelihood.
pub trait ExactLikelihood {
    /// Number of binary variables D.
    fn data_dim(&self) -> usize;

    /// log p(x) in nats for a batch `(n, ...)` of binary items with D values each: `(n,)`.
    fn log_prob(&self, x: &Tensor) -> Result<Tensor>;
}

/// The mean of -log p(x) in nats over the items of `x` `(n, ...)`, `batch` items at a time.
pub fn mean_nll<M: ExactLikelihood + ?Sized>(model: &M, x: &Tensor, batch: usize) -> Result<f64> {
    let n = x.dim(0)?;
    let batch = batch.max(1);
    let mut total = 0f64;
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        let lp = model.log_prob(&x.narrow(0, start, len)?)?;
        total += lp.to_host_f64()?.sum_all()?.to_scalar::<f64>()?;
        start += len;
    }
    Ok(-total / n.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap().unsqueeze(0).unwrap()
    }

    #[test]
    fn bernoulli_matches_the_direct_formula_and_stays_finite() {
        let (l, x) = ([-3.0f32, 0.5, 2.0, 0.0], [0.0f32, 1.0, 1.0, 0.0]);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let want: f64 = l
            .iter()
            .zip(&x)
            .map(|(&l, &x)| {
                let p = sig(l as f64);
                x as f64 * p.ln() + (1.0 - x as f64) * (1.0 - p).ln()
            })
            .sum();
        let got = bernoulli_log_likelihood(&t(&x), &t(&l)).unwrap();
        let got = got.to_vec1::<f32>().unwrap()[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // Large logits: the naive log(sigmoid) underflows to log 0; the stable form gives
        // -200 for the wrong label and 0 for the right one.
        let got = bernoulli_log_likelihood(&t(&[1.0, 0.0]), &t(&[200.0, 200.0])).unwrap();
        assert_eq!(got.to_vec1::<f32>().unwrap(), vec![-200.0]);
    }

    #[test]
    fn log_mean_exp_is_the_log_of_the_mean_probability() {
        let v = [[-1.0f32, -700.0], [-3.0, -702.0], [-0.5, -699.0]];
        let x = Tensor::new(&v, &Device::Cpu).unwrap();
        let got = log_mean_exp(&x).unwrap().to_vec1::<f32>().unwrap();
        // Column 0 directly; column 1 shifted by 700, where exp would underflow in f64 too.
        let c0 = ((-1f64).exp() + (-3f64).exp() + (-0.5f64).exp()) / 3.0;
        let c1 = ((0f64).exp() + (-2f64).exp() + (1f64).exp()) / 3.0;
        assert!((got[0] as f64 - c0.ln()).abs() < 1e-6);
        assert!((got[1] as f64 - (c1.ln() - 700.0)).abs() < 1e-3);
    }

    #[test]
    fn binarize_is_u_below_x_and_keeps_the_mean() {
        let dev = Device::Cpu;
        let x = Tensor::full(0.3f32, (1, 20_000), &dev).unwrap();
        let b = binarize(&x, &mut GmRng::new(4)).unwrap();
        let u = GmRng::new(4).uniform_vec(20_000, 0.0, 1.0);
        let bv = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(bv
            .iter()
            .zip(&u)
            .all(|(&b, &u)| b == if u < 0.3 { 1.0 } else { 0.0 }));
        // Mean of 20,000 Bernoulli(0.3): standard error sqrt(0.21 / 20000) = 0.0032; 5 sigma.
        let m = bv.iter().sum::<f32>() as f64 / 20_000.0;
        assert!((m - 0.3).abs() < 5.0 * (0.21f64 / 20_000.0).sqrt(), "{m}");
    }

    #[test]
    fn bits_per_dim_divides_by_d_ln_2() {
        assert!((bits_per_dim(784.0 * std::f64::consts::LN_2, 784) - 1.0).abs() < 1e-12);
    }
}
