//! The Laplacian pyramid: `d` (2x2 average pooling), `u` (nearest neighbour), the bands
//! `h_k = I_k - u(I_{k+1})` and their exact inverse (Denton et al. 2015, equations 3 and 4).

use candle_core::Tensor;

use crate::{Error, Result};

/// The pyramid's downsampling `d`: 2x2 average pooling, `(n, c, h, w) -> (n, c, h/2, w/2)`.
pub fn downsample(x: &Tensor) -> Result<Tensor> {
    Ok(x.avg_pool2d(2)?)
}

/// The pyramid's upsampling `u`: nearest neighbour, `(n, c, h, w) -> (n, c, 2h, 2w)`
/// ([`gm_core::nn::upsample2`], whose backward pass is a 2x2 block sum).
pub fn upsample(x: &Tensor) -> Result<Tensor> {
    Ok(gm_core::nn::upsample2(x)?)
}

/// The Laplacian pyramid of a batch `(n, c, H, W)`: band-pass residuals `h_0, ..., h_{K-1}`
/// (finest first) and the low-pass images `I_0 = x, ..., I_K` of `K + 1 = levels` levels.
#[derive(Debug, Clone)]
pub struct LaplacianPyramid {
    images: Vec<Tensor>,
    bands: Vec<Tensor>,
}

impl LaplacianPyramid {
    /// Decomposes `x` into `levels` levels (`levels - 1` residuals and the coarse image);
    /// the sides must be divisible by `2^(levels - 1)`.
    pub fn build(x: &Tensor, levels: usize) -> Result<Self> {
        if levels == 0 {
            return Err(Error::config("levels", levels, "must be at least 1"));
        }
        let (_, _, h, w) = x.dims4()?;
        let f = 1usize
            .checked_shl((levels - 1) as u32)
            .filter(|f| *f <= h.max(w))
            .ok_or_else(|| Error::config("levels", levels, "too many levels for the image"))?;
        if h % f != 0 || w % f != 0 {
            return Err(Error::Shape {
                what: "pyramid images (sides must be divisible by 2^(levels - 1))",
                got: x.dims().to_vec(),
                expected: vec![x.dim(0)?, x.dim(1)?, h / f * f, w / f * f],
            });
        }
        let mut images = vec![x.clone()];
        let mut bands = Vec::with_capacity(levels - 1);
        for k in 0..levels - 1 {
            let coarse = downsample(&images[k])?;
            bands.push((&images[k] - upsample(&coarse)?)?);
            images.push(coarse);
        }
        Ok(Self { images, bands })
    }

    /// Number of levels (`bands().len() + 1`).
    pub fn levels(&self) -> usize {
        self.images.len()
    }

    /// The band-pass residuals `h_k = I_k - u(I_{k+1})`, finest first.
    pub fn bands(&self) -> &[Tensor] {
        &self.bands
    }

    /// The low-pass images `I_k`, finest (the input) first.
    pub fn images(&self) -> &[Tensor] {
        &self.images
    }

    /// The coarsest image `I_K`.
    pub fn coarse(&self) -> &Tensor {
        // `build` always keeps the input, so the list is never empty.
        &self.images[self.images.len() - 1]
    }

    /// `I_0` rebuilt from the coarse image and the residuals alone: `I_k = u(I_{k+1}) + h_k`.
    pub fn reconstruct(&self) -> Result<Tensor> {
        let mut img = self.coarse().clone();
        for h in self.bands.iter().rev() {
            img = (upsample(&img)? + h)?;
        }
        Ok(img)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};

    #[test]
    fn downsample_then_upsample_keeps_block_means() {
        let x = Tensor::arange(0f32, 16.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 4, 4))
            .unwrap();
        let d = downsample(&x).unwrap();
        assert_eq!(
            d.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![2.5, 4.5, 10.5, 12.5]
        );
        let u = upsample(&d).unwrap();
        assert_eq!(u.dims(), &[1, 1, 4, 4]);
        let row0 = u.get(0).unwrap().get(0).unwrap().get(0).unwrap();
        assert_eq!(row0.to_vec1::<f32>().unwrap(), vec![2.5, 2.5, 4.5, 4.5]);
        // Each band of the pyramid has zero mean over every 2x2 block.
        let h = (&x - &u).unwrap();
        let m = downsample(&h)
            .unwrap()
            .abs()
            .unwrap()
            .max_keepdim(D::Minus1)
            .unwrap();
        assert_eq!(m.max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
