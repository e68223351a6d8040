//! Mode coverage on 2-D Gaussian mixtures, with the definitions of VEEGAN (Srivastava et al.
//! 2017) and PacGAN (Lin et al. 2018): a sample is *high quality* when it lies within
//! `3 std` of its nearest mixture mean; a mode is *captured* when it is the nearest mode of
//! at least one high-quality sample. Also the reverse KL divergence between the histogram of
//! high-quality samples over the modes and the uniform mixture weights,
//!
//! `KL(q || u) = sum_k q_k log(q_k K)`,
//!
//! 0 for a balanced generator, `log K` for one that has collapsed to one mode. The papers
//! draw 2,500 samples.

use candle_core::Tensor;
use gm_core::data::Mixture2d;
use gm_core::ToHostF64;
use serde::{Deserialize, Serialize};

use crate::classifier_score::kl_to_uniform;
use crate::{Error, Result};

/// The samples the protocol draws.
pub const MODE_SAMPLES: usize = 2_500;

/// Mode coverage of samples against a 2-D mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeCoverage {
    /// Modes nearest to at least one high-quality sample.
    pub modes_captured: usize,
    /// Number of modes of the mixture.
    pub modes: usize,
    /// Fraction of samples within `3 std` of their nearest mode.
    pub high_quality: f64,
    /// High-quality samples per mode.
    pub counts: Vec<usize>,
    /// `KL(q || uniform)` of the high-quality histogram; `None` when no sample is high quality.
    pub reverse_kl: Option<f64>,
    /// Number of samples scored.
    pub n_samples: usize,
}

/// Mode coverage of `samples: (n, 2)` against `mixture`.
pub fn mode_coverage(samples: &Tensor, mixture: &Mixture2d) -> Result<ModeCoverage> {
    let dims = samples.dims();
    if dims.len() != 2 || dims[1] != 2 || dims[0] == 0 {
        return Err(Error::Shape {
            what: "2-D samples",
            expected: "(n, 2) with n >= 1",
            found: dims.to_vec(),
        });
    }
    if mixture.means.is_empty() {
        return Err(Error::InvalidInput {
            what: "mixture",
            reason: "has no components".into(),
        });
    }
    let v = samples.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidInput {
            what: "2-D samples",
            reason: "hold non-finite values".into(),
        });
    }
    let limit2 = (3.0 * mixture.std).powi(2);
    let mut counts = vec![0usize; mixture.means.len()];
    let mut hq = 0usize;
    for p in v.chunks(2) {
        let (k, d2) = mixture
            .means
            .iter()
            .map(|m| (p[0] - m[0]).powi(2) + (p[1] - m[1]).powi(2))
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |b, (k, d)| if d < b.1 { (k, d) } else { b },
            );
        if d2 <= limit2 {
            hq += 1;
            counts[k] += 1;
        }
    }
    let n = v.len() / 2;
    Ok(ModeCoverage {
        modes_captured: counts.iter().filter(|&&c| c > 0).count(),
        modes: counts.len(),
        high_quality: hq as f64 / n as f64,
        reverse_kl: (hq > 0).then(|| kl_to_uniform(&counts)),
        counts,
        n_samples: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::Device;
    use gm_core::GmRng;

    fn tensor(v: Vec<f32>) -> Tensor {
        let n = v.len() / 2;
        Tensor::from_vec(v, (n, 2), &Device::Cpu).unwrap()
    }

    #[test]
    fn true_ring_sampler_covers_all_modes() {
        let ring = Mixture2d::ring8();
        let (x, _) = ring.sample(MODE_SAMPLES, &mut GmRng::new(1));
        let m = mode_coverage(&tensor(x), &ring).unwrap();
        assert_eq!(m.modes_captured, 8);
        // P(chi^2_2 > 9) = exp(-4.5) = 1.11 %: the high-quality fraction of the true
        // distribution is 0.9889, standard error sqrt(0.9889 * 0.0111 / 2500) = 0.0021.
        assert!((m.high_quality - 0.98889).abs() < 5.0 * 0.0021, "{m:?}");
        // Counts ~ multinomial(2500 * 0.989, 1/8): KL to uniform ~ chi^2_7 / (2 n) ~ 0.0014.
        assert!(m.reverse_kl.unwrap() < 0.01, "{m:?}");
    }

    #[test]
    fn grid_sampler_covers_25() {
        let grid = Mixture2d::grid25();
        let (x, _) = grid.sample(MODE_SAMPLES, &mut GmRng::new(2));
        assert_eq!(mode_coverage(&tensor(x), &grid).unwrap().modes_captured, 25);
    }

    #[test]
    fn collapsed_sampler_covers_one() {
        let ring = Mixture2d::ring8();
        let mut rng = GmRng::new(3);
        let x: Vec<f32> = (0..MODE_SAMPLES)
            .flat_map(|_| {
                let z = rng.normal_vec(2);
                [2.0 + 0.02 * z[0], 0.02 * z[1]]
            })
            .collect();
        let m = mode_coverage(&tensor(x), &ring).unwrap();
        assert_eq!(m.modes_captured, 1);
        assert!((m.reverse_kl.unwrap() - 8f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn off_mode_samples_are_low_quality() {
        let ring = Mixture2d::ring8();
        // The origin is 2 = 100 std from every mode.
        let m = mode_coverage(&tensor(vec![0.0; 20]), &ring).unwrap();
        assert_eq!(
            (m.modes_captured, m.high_quality, m.reverse_kl),
            (0, 0.0, None)
        );
        assert!(mode_coverage(
            &Tensor::zeros((3, 3), DType::F32, &Device::Cpu).unwrap(),
            &ring
        )
        .is_err());
    }
}
