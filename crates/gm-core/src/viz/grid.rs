//! Image grids: a batch `(n, c, h, w)` with values in [0, 1] (or [-1, 1] with `signed`) tiled
//! into one 8-bit RGB PNG (3 channels in colour, 1 channel as grey), and 2-D point clouds
//! drawn as scatter images.

use std::path::Path;

use candle_core::{DType, Tensor};

use crate::{Error, Result};

/// Tiles `images` (n, c, h, w), c in {1, 3}, into rows of `ncol` with a 2-pixel border, as an
/// RGB PNG: channels 0, 1, 2 are red, green and blue; a single channel is grey (R = G = B).
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

    /// A batch whose item `k` has value `(k + 1) / 10 * (ch + 1) / 3` in channel `ch`.
    fn coloured(n: usize, c: usize, h: usize, w: usize) -> Tensor {
        let v: Vec<f32> = (0..n * c * h * w)
            .map(|i| {
                let (k, ch) = (i / (c * h * w), i / (h * w) % c);
                (k + 1) as f32 / 10.0 * (ch + 1) as f32 / 3.0
            })
            .collect();
        Tensor::from_vec(v, (n, c, h, w), &Device::Cpu).unwrap()
    }

    #[test]
    fn rgb_batches_give_rgb_pngs_with_each_channel_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rgb.png");
        // 3 RGB items of 5x4 in 2 columns: 2*(4+2)+2 = 14 wide, 2*(5+2)+2 = 16 high.
        save_grid(&coloured(3, 3, 5, 4), 2, false, &p).unwrap();
        let img = image::open(&p).unwrap();
        assert_eq!(img.color(), image::ColorType::Rgb8);
        let img = img.to_rgb8();
        assert_eq!(img.dimensions(), (14, 16));
        let px = |v: f32| (v * 255.0).round() as u8;
        let rgb = |k: usize| {
            let base = (k + 1) as f32 / 10.0;
            [px(base / 3.0), px(base * 2.0 / 3.0), px(base)]
        };
        // Item 0 at (2, 2), item 1 right of it at (2 + 6, 2), item 2 below at (2, 2 + 7).
        assert_eq!(img.get_pixel(2, 2).0, rgb(0));
        assert_eq!(img.get_pixel(8, 4).0, rgb(1));
        assert_eq!(img.get_pixel(5, 13).0, rgb(2));
        // The empty fourth cell is border grey.
        assert_eq!(img.get_pixel(10, 11).0, [64, 64, 64]);

        // Signed values in [-1, 1] map to [0, 1] first.
        let signed = (coloured(1, 3, 2, 2) * 2.0)
            .unwrap()
            .affine(1.0, -1.0)
            .unwrap();
        save_grid(&signed, 1, true, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        // (2 v - 1 + 1) / 2 rounds in f32 and may land one level lower.
        let got = img.get_pixel(2, 2).0;
        for (g, w) in got.iter().zip(rgb(0)) {
            assert!(g.abs_diff(w) <= 1, "{got:?} vs {:?}", rgb(0));
        }
    }

    #[test]
    fn grey_batches_give_grey_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grey.png");
        save_grid(&coloured(2, 1, 3, 3), 2, false, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (12, 7));
        let g = (0.2f32 / 3.0 * 255.0).round() as u8;
        assert_eq!(img.get_pixel(7, 3).0, [g, g, g]);
    }

    #[test]
    fn other_channel_counts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for c in [2, 4] {
            let imgs = Tensor::ones((1, c, 2, 2), DType::F32, &Device::Cpu).unwrap();
            assert!(save_grid(&imgs, 1, false, dir.path().join("x.png")).is_err());
        }
    }
}
