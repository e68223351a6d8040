//! How recoveries are scored, as in Bora et al. (2017), Figure 1: the per-pixel squared error
//! ||x_hat - x||^2 / n of each image, averaged over images with a 95% interval of 1.96
//! standard errors; and the factor by which one method saves measurements over another at
//! equal error, read off the two error-vs-m curves by interpolation in (log m, log error).

use candle_core::Tensor;

use crate::operator::flatten_items;
use crate::{Error, Result};

/// ||x_hat_i - x_i||^2 / n for each image of two batches of the same shape.
pub fn per_image_mse(x_hat: &Tensor, x: &Tensor) -> Result<Vec<f64>> {
    let n: usize = x.dims().iter().skip(1).product();
    let a = flatten_items(x_hat, n, "estimate")?;
    let b = flatten_items(x, n, "ground truth")?;
    if a.dims() != b.dims() {
        return Err(Error::shape("estimate vs ground truth", a.dims(), b.dims()));
    }
    let d = (a.to_dtype(candle_core::DType::F32)? - b.to_dtype(candle_core::DType::F32)?)?;
    Ok(d.sqr()?
        .mean(1)?
        .to_vec1::<f32>()?
        .into_iter()
        .map(f64::from)
        .collect())
}

/// A mean with the half-width of its 95% normal interval, 1.96 s / sqrt(N).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MeanCi {
    /// The mean (NaN for no values).
    pub mean: f64,
    /// Half-width of the 95% interval, 1.96 s / sqrt(N) (NaN for fewer than two values).
    pub ci95: f64,
    /// N, the number of values.
    pub n: usize,
}

/// The mean of `v` and 1.96 times its standard error (sample standard deviation, N - 1).
pub fn mean_with_ci(v: &[f64]) -> MeanCi {
    let n = v.len();
    if n == 0 {
        return MeanCi {
            mean: f64::NAN,
            ci95: f64::NAN,
            n,
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let ci95 = if n > 1 {
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        1.96 * (var / n as f64).sqrt()
    } else {
        f64::NAN
    };
    MeanCi { mean, ci95, n }
}

/// The measurements a baseline needs to match a method's error at one m.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Saving {
    /// m used by the method.
    pub m_method: f64,
    /// Its error there.
    pub error: f64,
    /// The smallest m at which the baseline's curve falls to that error (interpolated in
    /// log-log), or `None` when it stays above it over the measured range.
    pub m_baseline: Option<f64>,
}

impl Saving {
    /// m_baseline / m_method, when the baseline reaches the error.
    pub fn factor(&self) -> Option<f64> {
        self.m_baseline.map(|b| b / self.m_method)
    }

    /// A lower bound on the factor when the baseline never reaches the error: the largest
    /// measured m over m_method.
    pub fn factor_lower_bound(&self, m_max: f64) -> f64 {
        self.factor().unwrap_or(m_max / self.m_method)
    }
}

/// For each point (m_k, method_error_k), where the baseline curve (m_k, baseline_error_k)
/// first reaches that error. Curves share the sorted grid `ms`.
pub fn saving_factors(
    ms: &[f64],
    method_error: &[f64],
    baseline_error: &[f64],
) -> Result<Vec<Saving>> {
    if method_error.len() != ms.len() || baseline_error.len() != ms.len() {
        return Err(Error::shape(
            "error curves",
            &[method_error.len(), baseline_error.len()],
            &[ms.len(), ms.len()],
        ));
    }
    if ms.windows(2).any(|w| w[1] <= w[0]) || ms.iter().any(|&m| m <= 0.0) {
        return Err(Error::config(
            "ms",
            format!("{ms:?}"),
            "must be positive and increasing",
        ));
    }
    let mut out = Vec::with_capacity(ms.len());
    for (&m, &e) in ms.iter().zip(method_error) {
        let mut found = None;
        for k in 0..ms.len() {
            if baseline_error[k] <= e {
                found = Some(if k == 0 {
                    ms[0]
                } else {
                    // Interpolate log error linearly in log m between k - 1 and k.
                    let (e0, e1) = (baseline_error[k - 1].ln(), baseline_error[k].ln());
                    let (l0, l1) = (ms[k - 1].ln(), ms[k].ln());
                    let t = if e0 > e1 {
                        (e0 - e.ln()) / (e0 - e1)
                    } else {
                        1.0
                    };
                    (l0 + t.clamp(0.0, 1.0) * (l1 - l0)).exp()
                });
                break;
            }
        }
        out.push(Saving {
            m_method: m,
            error: e,
            m_baseline: found,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn mse_per_image() {
        let a = Tensor::new(&[[0f32, 0., 0., 0.], [1., 1., 1., 1.]], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[1f32, 0., 0., 0.], [1., 1., 1., 1.]], &Device::Cpu).unwrap();
        assert_eq!(per_image_mse(&a, &b).unwrap(), vec![0.25, 0.0]);
    }

    #[test]
    fn mean_and_interval() {
        let r = mean_with_ci(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(r.mean, 2.5);
        // s^2 = 5/3, se = sqrt(5/12).
        assert!((r.ci95 - 1.96 * (5.0f64 / 12.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn saving_factor_of_a_shifted_power_law() {
        // Baseline error 1/m, method error 1/(5 m): the baseline needs 5x the measurements.
        let ms = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0];
        let base: Vec<f64> = ms.iter().map(|m| 1.0 / m).collect();
        let method: Vec<f64> = ms.iter().map(|m| 0.2 / m).collect();
        let s = saving_factors(&ms, &method, &base).unwrap();
        // 10 and 20 need 50 and 100 (inside the grid); from 80 on, more than 320.
        assert!((s[0].factor().unwrap() - 5.0).abs() < 1e-9, "{:?}", s[0]);
        assert!((s[1].factor().unwrap() - 5.0).abs() < 1e-9);
        assert!(s[4].factor().is_none());
        assert_eq!(s[4].factor_lower_bound(320.0), 2.0);
        assert!(saving_factors(&[2.0, 1.0], &[1.0, 1.0], &[1.0, 1.0]).is_err());
    }
}
