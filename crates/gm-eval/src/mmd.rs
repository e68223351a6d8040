//! Squared maximum mean discrepancy with a Gaussian kernel (Gretton et al. 2012, "A kernel
//! two-sample test", JMLR), the unbiased estimator for sets of any sizes `n`, `m`:
//!
//! `MMD^2_u = sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
//!            - 2 sum_{i, j} k(x_i, y_j) / (n m)`,   `k(x, y) = exp(-||x - y||^2 / (2 s^2))`,
//!
//! with the bandwidth `s` from the median heuristic of the same paper's experiments (the
//! median distance between points of the pooled sample). Unbiased, so it can be slightly
//! negative when the sets agree; the kernel is bounded by 1, so under equal distributions its
//! standard deviation is at most `sqrt(8 / (n (n-1)))` for `n = m`.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::distances::{for_each_distance_row, Points};
use crate::{Error, Result};

/// Rows per matrix product.
const BLOCK: usize = 256;
/// Points of each set used by the median heuristic.
pub const MEDIAN_POINTS: usize = 500;

/// The Gaussian-kernel MMD of two sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianMmd {
    /// The unbiased `MMD^2`.
    pub mmd2: f64,
    /// The kernel bandwidth `s`.
    pub bandwidth: f64,
    /// Number of points in `x`.
    pub n_x: usize,
    /// Number of points in `y`.
    pub n_y: usize,
}

/// Sum of `exp(-||a_i - b_j||^2 / (2 s^2))` over all pairs, without the diagonal when
/// `skip_diagonal` (for `a = b`).
fn kernel_sum(a: &Points, b: &Points, s: f64, skip_diagonal: bool) -> Result<f64> {
    let g = -0.5 / (s * s);
    let mut total = 0.0;
    for_each_distance_row(a, b, BLOCK, |i, row| {
        total += row
            .iter()
            .enumerate()
            .filter(|(j, _)| !(skip_diagonal && *j == i))
            .map(|(_, d)| (g * d).exp())
            .sum::<f64>();
        Ok(())
    })?;
    Ok(total)
}

/// The unbiased Gaussian-kernel `MMD^2` of `x: (n, d)` and `y: (m, d)`, `n, m >= 2`, for a
/// given bandwidth `s > 0`.
pub fn gaussian_mmd2_unbiased(x: &Tensor, y: &Tensor, s: f64) -> Result<f64> {
    if !(s.is_finite() && s > 0.0) {
        return Err(Error::InvalidInput {
            what: "gaussian_mmd2_unbiased",
            reason: format!("bandwidth {s} is not positive and finite"),
        });
    }
    let px = Points::new(x, "generated features")?;
    let py = Points::new(y, "reference features")?;
    let (n, m) = (px.len(), py.len());
    if n < 2 || m < 2 {
        return Err(Error::TooFew {
            what: "unbiased MMD (each set)",
            needed: 2,
            found: n.min(m),
        });
    }
    let (nf, mf) = (n as f64, m as f64);
    let kxx = kernel_sum(&px, &px, s, true)? / (nf * (nf - 1.0));
    let kyy = kernel_sum(&py, &py, s, true)? / (mf * (mf - 1.0));
    let kxy = kernel_sum(&px, &py, s, false)? / (nf * mf);
    Ok(kxx + kyy - 2.0 * kxy)
}

/// The median heuristic: the median distance between distinct points of the first
/// [`MEDIAN_POINTS`] of each set, pooled; 1 when that median is 0 (mostly repeated points).
pub fn median_bandwidth(x: &Tensor, y: &Tensor) -> Result<f64> {
    let take = |t: &Tensor| -> Result<Tensor> {
        let n = t.dim(0)?;
        Ok(t.narrow(0, 0, n.min(MEDIAN_POINTS))?.flatten_from(1)?)
    };
    let pooled = Tensor::cat(&[take(x)?, take(y)?], 0)?;
    let p = Points::new(&pooled, "pooled features")?;
    let mut d2 = Vec::with_capacity(p.len() * p.len() / 2);
    for_each_distance_row(&p, &p, BLOCK, |i, row| {
        d2.extend_from_slice(&row[i + 1..]);
        Ok(())
    })?;
    if d2.is_empty() {
        return Err(Error::TooFew {
            what: "median heuristic (pooled points)",
            needed: 2,
            found: p.len(),
        });
    }
    let mid = d2.len() / 2;
    let (_, med, _) = d2.select_nth_unstable_by(mid, f64::total_cmp);
    let s = med.sqrt();
    Ok(if s > 0.0 { s } else { 1.0 })
}

/// [`gaussian_mmd2_unbiased`] with the [`median_bandwidth`].
pub fn gaussian_mmd(x: &Tensor, y: &Tensor) -> Result<GaussianMmd> {
    let s = median_bandwidth(x, y)?;
    Ok(GaussianMmd {
        mmd2: gaussian_mmd2_unbiased(x, y, s)?,
        bandwidth: s,
        n_x: x.dim(0)?,
        n_y: y.dim(0)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn hand_computed_mmd() {
        // d = 1, s = 1, x = {0, 1}, y = {0, 2}; e = exp(-1/2), k(0, 2) = exp(-2) = f.
        // Kxx: 2 e / 2 = e. Kyy: 2 f / 2 = f. Kxy: (1 + f + e + e) / 4.
        // MMD^2 = e + f - (1 + f + 2 e) / 2 = (f - 1) / 2.
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0f32], [1.0]], &dev).unwrap();
        let y = Tensor::new(&[[0f32], [2.0]], &dev).unwrap();
        let want = ((-2f64).exp() - 1.0) / 2.0;
        let got = gaussian_mmd2_unbiased(&x, &y, 1.0).unwrap();
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        assert!(gaussian_mmd2_unbiased(&x, &y, 0.0).is_err());
        assert!(gaussian_mmd2_unbiased(&x.narrow(0, 0, 1).unwrap(), &y, 1.0).is_err());
    }

    #[test]
    fn median_of_a_line() {
        // Points 0, 1, 2, 3: distances 1, 2, 3, 1, 2, 1; sorted 1 1 1 2 2 3, index 3 is 2.
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0f32], [1.0]], &dev).unwrap();
        let y = Tensor::new(&[[2f32], [3.0]], &dev).unwrap();
        assert_eq!(median_bandwidth(&x, &y).unwrap(), 2.0);
    }
}
