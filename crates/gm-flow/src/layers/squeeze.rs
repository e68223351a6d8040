//! Squeeze (Dinh et al. 2017): each 2x2 block of pixels becomes four channels,
//! `(n, c, h, w) -> (n, 4c, h/2, w/2)`, a permutation of the entries, so `log |det| = 0`.
//! It trades space for channels between the scales of a multi-scale flow.

use candle_core::Tensor;

use crate::flow::Flow;
use crate::{Error, Result};

/// The squeeze permutation; channel `4 c + 2 a + b` of the output holds pixel `(2 i + a,
/// 2 j + b)` of input channel `c`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Squeeze;

/// `(n, c, h, w) -> (n, 4c, h/2, w/2)`; `h` and `w` must be even.
pub fn squeeze(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        return Err(Error::Shape {
            what: "squeeze input (n, c, h, w) needs even h and w",
            got: x.dims().to_vec(),
            expected: vec![n, c, h + h % 2, w + w % 2],
        });
    }
    Ok(x.reshape((n, c, h / 2, 2, w / 2, 2))?
        .permute((0, 1, 3, 5, 2, 4))?
        .reshape((n, 4 * c, h / 2, w / 2))?)
}

/// The inverse of [`squeeze`]: `(n, 4c, h, w) -> (n, c, 2h, 2w)`.
pub fn unsqueeze(z: &Tensor) -> Result<Tensor> {
    let (n, c4, h, w) = z.dims4()?;
    if c4 % 4 != 0 {
        return Err(Error::Shape {
            what: "unsqueeze input (n, 4c, h, w)",
            got: z.dims().to_vec(),
            expected: vec![n, c4 + 4 - c4 % 4, h, w],
        });
    }
    Ok(z.reshape((n, c4 / 4, 2, 2, h, w))?
        .permute((0, 1, 4, 2, 5, 3))?
        .reshape((n, c4 / 4, 2 * h, 2 * w))?)
}

impl Flow for Squeeze {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let z = squeeze(x)?;
        let logdet = Tensor::zeros(x.dim(0)?, x.dtype(), x.device())?;
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        unsqueeze(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip};
    use candle_core::Device;

    #[test]
    fn squeeze_moves_each_block_into_channels() {
        // One 4x4 channel holding 0..16: block (0, 0) is [[0, 1], [4, 5]].
        let x = Tensor::arange(0f32, 16.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 4, 4))
            .unwrap();
        let z = squeeze(&x).unwrap();
        assert_eq!(z.dims(), &[1, 4, 2, 2]);
        let v = z.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // Channel 2a + b holds the pixels (2i + a, 2j + b).
        assert_eq!(&v[0..4], &[0.0, 2.0, 8.0, 10.0]);
        assert_eq!(&v[4..8], &[1.0, 3.0, 9.0, 11.0]);
        assert_eq!(&v[8..12], &[4.0, 6.0, 12.0, 14.0]);
        assert_eq!(&v[12..16], &[5.0, 7.0, 13.0, 15.0]);
        assert_round_trip(&Squeeze, &x, 0.0);
        assert_log_det_matches(&Squeeze, &x, 1e-6);
        let odd = Tensor::zeros((1, 1, 3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(squeeze(&odd).is_err());
    }
}
