//! Unpaired domains: two data sets stacked channel by channel under a permutation, and the
//! known translation `T` the zoo asks CycleGAN to discover.

use candle_core::{Device, Tensor};
use gm_core::data::Dataset;
use gm_core::GmRng;

use crate::{Error, Result};

/// `T`, the translation the zoo asks CycleGAN to discover: a 3x3 max filter (stroke
/// dilation, zero padding) followed by inversion `1 - x`, on images `(n, c, h, w)` in
/// `[0, 1]`.
pub fn thicken_and_invert(x: &Tensor) -> Result<Tensor> {
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let dilated = padded.max_pool2d_with_stride(3, 1)?;
    Ok(dilated.affine(-1.0, 1.0)?)
}

/// Unpaired training items `(2, s, s)`: item `i` holds `x_i` in channel 0 and `y_{p(i)}` in
/// channel 1, for a permutation `p` drawn from `seed`; `min(|X|, |Y|)` items. The two
/// channels are independent samples (no loss couples them), so the pairing carries no
/// correspondence.
pub fn unpaired_domains(x: &Dataset, y: &Dataset, seed: u64) -> Result<Dataset> {
    if x.item_shape != y.item_shape || x.item_shape.first() != Some(&1) {
        return Err(Error::Shape {
            what: "domain items (X vs Y, one channel)",
            got: y.item_shape.clone(),
            expected: x.item_shape.clone(),
        });
    }
    let d = x.item_size();
    let perm = GmRng::new(seed).permutation(y.len());
    let n = x.len().min(y.len());
    let mut v = Vec::with_capacity(2 * n * d);
    for (i, &j) in perm.iter().enumerate().take(n) {
        v.extend(x.item(i)?);
        v.extend(y.item(j)?);
    }
    let mut shape = x.item_shape.clone();
    shape[0] = 2;
    Ok(Dataset::new(
        format!("unpaired({}, {})", x.name, y.name),
        shape,
        v,
        None,
    )?)
}

/// Two domains from one data set of one-channel images in `[0, 1]`: X its first half, Y = `T` of the second
/// half, so no digit appears in both.
pub fn transformed_halves(train: &Dataset, seed: u64) -> Result<Dataset> {
    let half = train.len() / 2;
    let (first, second) = train.split_off(train.len() - half)?;
    let second = second.head(second.len(), &Device::Cpu)?.x;
    let t = thicken_and_invert(&second)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let y = Dataset::new(
        format!("T({} second half)", train.name),
        train.item_shape.clone(),
        t,
        None,
    )?;
    unpaired_domains(&first, &y, seed)
}
