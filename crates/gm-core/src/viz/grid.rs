//! Image grids: a batch `(n, c, h, w)` with values in [0, 1] (or [-1, 1] with `signed`) tiled
//! into one PNG, and 2-D point clouds drawn as scatter images.

use std::path::Path;

use candle_core::{DType, Tensor};

use crate::{Error, Result};

/// Tiles `images` (n, c, h, w), c in {1, 3}, into rows of `ncol` with a 2-pixel border.
/// Values are clamped to [0, 1]; pass `signed = true` for tanh outputs in [-1, 1].
pub fn save_grid(images: &Tensor, ncol: usize, signed: bool, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (n, c, h, w) = images.dims4()?;
    if c != 1 && c != 3 {
        return Err(Error::Msg(format!(
            "image grid: {c} channels, expected 1 or 3"
        )));
    }
    let ncol = ncol.clamp(1, n.max(1));
    let nrow = n.div_ceil(ncol);
    let pad = 2;
    let (gw, gh) = (ncol * (w + pad) + pad, nrow * (h + pad) + pad);
    let mut x = images
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    if signed {
        x.iter_mut().for_each(|v| *v = (*v + 1.0) / 2.0);
    }
    let mut buf = vec![64u8; gw * gh * 3];
    for k in 0..n {
        let (r, col) = (k / ncol, k % ncol);
        let (oy, ox) = (pad + r * (h + pad), pad + col * (w + pad));
        for y in 0..h {
            for xx in 0..w {
                for ch in 0..3 {
                    let src = if c == 1 { 0 } else { ch };
                    let v = x[((k * c + src) * h + y) * w + xx];
                    let v = if v.is_finite() {
                        v.clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    buf[((oy + y) * gw + ox + xx) * 3 + ch] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    let img = image::RgbImage::from_raw(gw as u32, gh as u32, buf)
        .ok_or_else(|| Error::Msg("image grid: buffer size".into()))?;
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Msg(format!("{}: {e}", path.display())))?;
    crate::io::write_atomic(path, &bytes)
}

/// Draws 2-D points (row-major pairs) as a `size x size` PNG over `[-extent, extent]^2`,
/// optionally with reference points (e.g. mixture means) in red.
pub fn save_scatter(
    points: &[f32],
    reference: &[[f64; 2]],
    extent: f64,
    size: usize,
    path: impl AsRef<Path>,
) -> Result<()> {
    let mut img =
        image::RgbImage::from_pixel(size as u32, size as u32, image::Rgb([255, 255, 255]));
    let to_px = |v: f64| ((v + extent) / (2.0 * extent) * (size as f64 - 1.0)).round() as i64;
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && (x as usize) < size && (y as usize) < size {
            img.put_pixel(x as u32, (size - 1 - y as usize) as u32, image::Rgb(c));
        }
    };
    for p in points.chunks_exact(2) {
        put(to_px(p[0] as f64), to_px(p[1] as f64), [30, 90, 200]);
    }
    for m in reference {
        let (cx, cy) = (to_px(m[0]), to_px(m[1]));
        for d in -3..=3 {
            put(cx + d, cy, [220, 30, 30]);
            put(cx, cy + d, [220, 30, 30]);
        }
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Msg(format!("{}: {e}", path.as_ref().display())))?;
    crate::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn grid_has_the_expected_size_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.png");
        let imgs = Tensor::ones((5, 1, 4, 3), DType::F32, &Device::Cpu).unwrap();
        save_grid(&imgs, 2, false, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        // 2 columns of width 3 + padding 2: 2*5+2 = 12; 3 rows of height 4: 3*6+2 = 20.
        assert_eq!(img.dimensions(), (12, 20));
        assert_eq!(img.get_pixel(2, 2).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [64, 64, 64]);
    }
}
