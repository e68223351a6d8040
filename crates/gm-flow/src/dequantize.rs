//! From 8-bit pixels to a continuous density and back to bits per dimension.
//!
//! **Uniform dequantization** (Theis et al. 2016; RealNVP; Glow). A pixel `k` in
//! `{0, ..., 255}` becomes `y = (k + u) / 256`, `u ~ U[0, 1)`, a point of the cell
//! `[k/256, (k+1)/256)`. For any density `p` on `[0, 1]^D`, `P(k) = int_cell p(y) dy`, and by
//! Jensen `log P(k) >= E_u[log p(y)] - D ln 256`: the continuous log-density, minus
//! `D ln 256` for the cell volume, bounds the discrete log-likelihood from below.
//!
//! **Logit transform** (RealNVP, section 4.1). `s = alpha + (1 - 2 alpha) y`,
//! `w = ln s - ln(1 - s)`, so the flow sees unbounded values away from the boundary; its
//! log-determinant `sum_i [ln(1 - 2 alpha) - ln s_i - ln(1 - s_i)]` enters the likelihood
//! exactly. RealNVP uses `alpha = 0.05` on MNIST-like data.
//!
//! **Bits per dimension** of the discrete data: `bpd = -log P(k) / (D ln 2)`, with
//! `log P(k)` in nats, as RealNVP and Glow report.

use candle_core::Tensor;

use crate::flow::{sum_per_item, Flow};
use crate::{Error, Result};
use gm_core::GmRng;

/// Pixel levels of 8-bit data.
pub const LEVELS: f64 = 256.0;

/// `y = (k + u) / 256` for pixels stored as `x = k / 255` in `[0, 1]` (gm's data range),
/// `u ~ U[0, 1)` from `rng`.
pub fn dequantize(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let k = (x * 255.0)?.round()?.clamp(0.0, 255.0)?;
    let u = rng
        .uniform(x.shape(), 0.0, 1.0, x.device())?
        .to_dtype(x.dtype())?;
    Ok(((k + u)? / LEVELS)?)
}

/// `log P(k) = log p(y) - D ln 256`: the log-likelihood (nats) of the discrete data, from
/// the continuous log-density of its dequantized values `y = (k + u) / 256` (a lower bound
/// in expectation over `u`).
pub fn discrete_log_likelihood(log_p_dequantized: f64, dim: usize) -> f64 {
    log_p_dequantized - dim as f64 * LEVELS.ln()
}

/// `-log P / (D ln 2)`: bits per dimension of a log-likelihood in nats over `dim`
/// dimensions.
///
/// ```
/// // log P = -784 ln 2 nats over 784 pixels is one bit per pixel.
/// let b = gm_flow::dequantize::bits_per_dim(-784.0 * std::f64::consts::LN_2, 784);
/// assert!((b - 1.0).abs() < 1e-12);
/// ```
pub fn bits_per_dim(log_likelihood_nats: f64, dim: usize) -> f64 {
    -log_likelihood_nats / (dim as f64 * std::f64::consts::LN_2)
}

/// RealNVP's logit transform of `y` in `[0, 1]` (any shape `(n, ...)`), as a flow layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogitTransform {
    alpha: f64,
}

impl LogitTransform {
    /// `alpha` in `[0, 0.5)`; 0 is the plain logit.
    pub fn new(alpha: f64) -> Result<Self> {
        if !(0.0..0.5).contains(&alpha) {
            return Err(Error::config("alpha", alpha, "must lie in [0, 0.5)"));
        }
        Ok(Self { alpha })
    }

    /// The boundary margin `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Flow for LogitTransform {
    fn forward(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let a = self.alpha;
        let s = y.affine(1.0 - 2.0 * a, a)?;
        let ls = s.log()?;
        let l1s = s.affine(-1.0, 1.0)?.log()?;
        let w = (&ls - &l1s)?;
        let d: usize = y.dims()[1..].iter().product();
        let logdet = sum_per_item(&(ls + l1s)?)?.affine(-1.0, d as f64 * (1.0 - 2.0 * a).ln())?;
        Ok((w, logdet))
    }

    fn inverse(&self, w: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        let s = candle_nn::ops::sigmoid(w)?;
        Ok(s.affine(1.0 / (1.0 - 2.0 * a), -a / (1.0 - 2.0 * a))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip};
    use candle_core::Device;

    #[test]
    fn bits_per_dim_by_hand() {
        // A density of 1 on [0, 1]^D (the uniform) gives P(k) = 256^-D: 8 bits per pixel.
        assert!((bits_per_dim(discrete_log_likelihood(0.0, 784), 784) - 8.0).abs() < 1e-12);
        // log p(y) = 784 ln 128 nats: P(k) = 2^-784, one bit per pixel.
        let lp = 784.0 * 128f64.ln();
        assert!((bits_per_dim(discrete_log_likelihood(lp, 784), 784) - 1.0).abs() < 1e-12);
        // -1000 nats over 784 pixels: 1000 / (784 ln 2) = 1.840_171_...
        assert!((bits_per_dim(-1000.0, 784) - 1.840_171_3).abs() < 1e-6);
    }

    #[test]
    fn logit_log_det_by_hand_and_by_jacobian() {
        let dev = Device::Cpu;
        let t = LogitTransform::new(0.05).unwrap();
        // y = 0.5: s = 0.5, w = 0, d w / d y = 0.9 / 0.25 = 3.6 per coordinate.
        let y = Tensor::new(&[[0.5f32, 0.5]], &dev).unwrap();
        let (w, ld) = t.forward(&y).unwrap();
        assert_eq!(w.to_vec2::<f32>().unwrap(), vec![vec![0.0, 0.0]]);
        let want = 2.0 * 3.6f64.ln();
        assert!((ld.to_vec1::<f32>().unwrap()[0] as f64 - want).abs() < 1e-5);
        let y = Tensor::new(&[[[[0.01f32, 0.3], [0.77, 0.999]]]], &dev).unwrap();
        assert_round_trip(&t, &y, 1e-5);
        assert_log_det_matches(&t, &y, 1e-5);
        assert!(LogitTransform::new(0.5).is_err() && LogitTransform::new(-0.1).is_err());
    }

    #[test]
    fn dequantized_pixels_stay_in_their_cells() {
        let dev = Device::Cpu;
        let k: Vec<f32> = (0..=255).map(|v| v as f32).collect();
        let x = (Tensor::new(k.as_slice(), &dev).unwrap() / 255.0).unwrap();
        let y = dequantize(&x, &mut GmRng::new(1))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (i, v) in y.iter().enumerate() {
            let cell = (v * 256.0).floor() as usize;
            assert_eq!(cell, i, "pixel {i} dequantized to {v}");
        }
    }
}
