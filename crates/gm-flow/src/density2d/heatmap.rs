//! Density heat maps: a log-density evaluated on a pixel grid over `[-extent, extent]^2`,
//! drawn as a PNG with the viridis colour map (dark = low). The colour is
//! `sqrt(q / max q)`, so that the low-density bridges a flow leaves between modes stay
//! visible next to sharp peaks.

use std::path::Path;

use super::quadrature::PointFn;
use crate::Result;

/// Viridis at 0, 1/4, 1/2, 3/4, 1 (matplotlib's), linearly interpolated.
const VIRIDIS: [[f64; 3]; 5] = [
    [68.0, 1.0, 84.0],
    [59.0, 82.0, 139.0],
    [33.0, 145.0, 140.0],
    [94.0, 201.0, 98.0],
    [253.0, 231.0, 37.0],
];

fn viridis(v: f64) -> [u8; 3] {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f64;
    let mut c = [0u8; 3];
    for k in 0..3 {
        c[k] = (VIRIDIS[i][k] * (1.0 - f) + VIRIDIS[i + 1][k] * f).round() as u8;
    }
    c
}

/// Pixel centres of a `size x size` picture of `[-extent, extent]^2`, row by row from the
/// top (largest y) down.
pub fn pixel_centres(extent: f64, size: usize) -> Vec<[f64; 2]> {
    let h = 2.0 * extent / size as f64;
    (0..size)
        .flat_map(|r| {
            (0..size).map(move |c| {
                [
                    -extent + (c as f64 + 0.5) * h,
                    extent - (r as f64 + 0.5) * h,
                ]
            })
        })
        .collect()
}

/// Writes the heat map of `log_q` over `[-extent, extent]^2` as a `size x size` PNG.
pub fn save_density_png(
    log_q: &mut PointFn<'_>,
    extent: f64,
    size: usize,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let lq = log_q(&pixel_centres(extent, size))?;
    let mx = lq
        .iter()
        .cloned()
        .filter(|v| v.is_finite())
        .fold(f64::MIN, f64::max);
    let mut buf = Vec::with_capacity(size * size * 3);
    for l in &lq {
        buf.extend(viridis((0.5 * (l - mx)).exp()));
    }
    let img = image::RgbImage::from_raw(size as u32, size as u32, buf)
        .ok_or_else(|| gm_core::Error::Msg("heat map: buffer size".into()))?;
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| gm_core::Error::Msg(format!("{}: {e}", path.display())))?;
    Ok(gm_core::io::write_atomic(path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_bright_and_in_the_right_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.png");
        // A bump at (1, 1) on [-2, 2]^2, 8x8 pixels of side 0.5: the brightest pixels are the
        // four whose centres (0.75 or 1.25, 0.75 or 1.25) surround it, columns 5-6, rows 1-2.
        let mut lq = |pts: &[[f64; 2]]| -> Result<Vec<f64>> {
            Ok(pts
                .iter()
                .map(|q| -((q[0] - 1.0).powi(2) + (q[1] - 1.0).powi(2)))
                .collect())
        };
        save_density_png(&mut lq, 2.0, 8, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (8, 8));
        let (mut best, mut at) = (0u32, (0, 0));
        for (x, y, px) in img.enumerate_pixels() {
            let v = px.0.iter().map(|&c| c as u32).sum::<u32>();
            if v > best {
                best = v;
                at = (x, y);
            }
        }
        assert!([5, 6].contains(&at.0) && [1, 2].contains(&at.1), "{at:?}");
        // The bottom-left centre (-1.75, -1.75): log q = -2 x 2.75^2 = -15.125 against the
        // peak's -0.125, so sqrt(q / max q) = exp(-7.5).
        assert_eq!(img.get_pixel(0, 7).0, viridis((-7.5f64).exp()));
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(0.0), [68, 1, 84]);
    }
}
