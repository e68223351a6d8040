//! Kernel distance, the KID of Binkowski et al. 2018 ("Demystifying MMD GANs") on the
//! classifier's features: the unbiased estimator of the squared maximum mean discrepancy
//!
//! `MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
//!            - 2 sum_{i, j} k(x_i, y_j) / m^2`
//!
//! with the cubic polynomial kernel `k(x, y) = (x . y / d + 1)^3`, averaged over random
//! subsets of `m` items drawn without replacement from each set (100 subsets of 1,000 in
//! the paper). Unbiased, so it can be slightly negative when the two sets agree.

use candle_core::{Tensor, D};
use gm_core::GmRng;
use gm_core::ToHostF64;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// KID over subsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelDistance {
    /// Mean of the subset estimates.
    pub mean: f64,
    /// Standard deviation of the subset estimates (what the paper reports).
    pub std: f64,
    /// `std / sqrt(subsets)`: the standard error of the mean if the subsets were independent;
    /// they overlap when `subset_size` is a large part of the sets, so it is a lower bound.
    pub stderr: f64,
    /// Number of random subsets averaged.
    pub subsets: usize,
    /// Items per subset actually used: `min(subset_size, n, n')`.
    pub subset_size: usize,
}

/// Sum of all kernel values and of the diagonal of `k(a, b)`, `a: (m, d)`, `b: (m, d)`.
fn kernel_sums(a: &Tensor, b: &Tensor, d: f64) -> Result<f64> {
    let k = ((a.matmul(&b.t()?)? / d)? + 1.0)?.powf(3.0)?;
    Ok(k.sum_all()?.to_scalar::<f64>()?)
}

fn diag_sum(a: &Tensor, d: f64) -> Result<f64> {
    let k = ((a.sqr()?.sum(D::Minus1)? / d)? + 1.0)?.powf(3.0)?;
    Ok(k.sum_all()?.to_scalar::<f64>()?)
}

/// The unbiased `MMD^2` with the cubic kernel between two equally sized sets `(m, d)`.
pub fn mmd2_unbiased(x: &Tensor, y: &Tensor) -> Result<f64> {
    let (m, d) = x.dims2()?;
    if y.dims2()? != (m, d) {
        return Err(Error::InvalidInput {
            what: "mmd2_unbiased",
            reason: format!("sets differ in shape: {:?} vs {:?}", x.dims(), y.dims()),
        });
    }
    if m < 2 {
        return Err(Error::TooFew {
            what: "mmd2_unbiased",
            needed: 2,
            found: m,
        });
    }
    let (x, y) = (x.to_host_f64()?, y.to_host_f64()?);
    let df = d as f64;
    let mf = m as f64;
    let kxx = (kernel_sums(&x, &x, df)? - diag_sum(&x, df)?) / (mf * (mf - 1.0));
    let kyy = (kernel_sums(&y, &y, df)? - diag_sum(&y, df)?) / (mf * (mf - 1.0));
    let kxy = kernel_sums(&x, &y, df)? / (mf * mf);
    Ok(kxx + kyy - 2.0 * kxy)
}

/// KID between feature sets `x: (n, d)` and `y: (n', d)`: the mean, spread and standard
/// error of [`mmd2_unbiased`] over `subsets` random subsets of `min(subset_size, n, n')`
/// items of each, drawn with `GmRng::new(seed)`.
pub fn kernel_distance(
    x: &Tensor,
    y: &Tensor,
    subsets: usize,
    subset_size: usize,
    seed: u64,
) -> Result<KernelDistance> {
    if subsets == 0 {
        return Err(Error::Config {
            field: "kid_subsets",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    let (nx, dx) = x.dims2()?;
    let (ny, dy) = y.dims2()?;
    if dx != dy {
        return Err(Error::InvalidInput {
            what: "kernel_distance",
            reason: format!("feature dimensions differ: {dx} vs {dy}"),
        });
    }
    let m = subset_size.min(nx).min(ny);
    if m < 2 {
        return Err(Error::TooFew {
            what: "kernel distance subsets",
            needed: 2,
            found: m,
        });
    }
    let (x, y) = (x.to_host_f64()?, y.to_host_f64()?);
    let mut rng = GmRng::new(seed);
    let mut pick = |t: &Tensor, n: usize| -> Result<Tensor> {
        let idx: Vec<u32> = rng.permutation(n)[..m].iter().map(|&i| i as u32).collect();
        let idx = Tensor::from_vec(idx, m, t.device())?;
        Ok(t.index_select(&idx, 0)?)
    };
    let mut vals = Vec::with_capacity(subsets);
    for _ in 0..subsets {
        let xs = pick(&x, nx)?;
        let ys = pick(&y, ny)?;
        vals.push(mmd2_unbiased(&xs, &ys)?);
    }
    let s = subsets as f64;
    let mean = vals.iter().sum::<f64>() / s;
    let var = if subsets > 1 {
        vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (s - 1.0)
    } else {
        0.0
    };
    Ok(KernelDistance {
        mean,
        std: var.sqrt(),
        stderr: (var / s).sqrt(),
        subsets,
        subset_size: m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::Device;

    #[test]
    fn hand_computed_mmd() {
        // d = 1, x = {0, 1}, y = {1, 2}: k(a, b) = (a b + 1)^3.
        // Kxx off-diagonal: 2 k(0,1) = 2; / (2 * 1) = 1.
        // Kyy off-diagonal: 2 k(1,2) = 2 * 27 = 54; / 2 = 27.
        // Kxy: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37; / 4 = 9.25.
        // MMD^2_u = 1 + 27 - 18.5 = 9.5.
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0f32], [1.0]], &dev).unwrap();
        let y = Tensor::new(&[[1f32], [2.0]], &dev).unwrap();
        assert!((mmd2_unbiased(&x, &y).unwrap() - 9.5).abs() < 1e-12);
    }

    #[test]
    fn same_distribution_is_near_zero_and_shift_is_positive() {
        // Two independent samples of N(0, I_8): the estimator is unbiased for 0; its subset
        // mean must lie within a few standard errors of 0 (the stderr under-states the error
        // of overlapping subsets, hence the wide factor), while a shifted set is far away.
        let dev = Device::Cpu;
        let x = GmRng::new(1).normal((400, 8), 0.0, 1.0, &dev).unwrap();
        let y = GmRng::new(2).normal((400, 8), 0.0, 1.0, &dev).unwrap();
        let k = kernel_distance(&x, &y, 20, 200, 0).unwrap();
        assert!(k.mean.abs() < 6.0 * k.std / (2.0f64).sqrt(), "{k:?}");
        let z = (y + 1.0).unwrap();
        let kz = kernel_distance(&x, &z, 20, 200, 0).unwrap();
        assert!(kz.mean > 10.0 * k.std, "{kz:?}");
        assert_eq!(
            k,
            kernel_distance(
                &x,
                &GmRng::new(2).normal((400, 8), 0.0, 1.0, &dev).unwrap(),
                20,
                200,
                0
            )
            .unwrap()
        );
    }

    #[test]
    fn zero_subsets_is_refused() {
        let x = Tensor::zeros((4, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(
            kernel_distance(&x, &x, 0, 2, 0).unwrap_err(),
            Error::Config {
                field: "kid_subsets",
                ..
            }
        ));
    }
}
