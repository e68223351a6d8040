//! A generated data set to try gm on images of one's own: coloured circles, squares and
//! triangles (random colour, position, scale and rotation, on a random background colour that
//! differs from the shape's by at least 96 in every channel), written as PNGs in the
//! ImageFolder layout `circle/`, `square/`, `triangle/`. Item `i` is drawn from its own
//! stream of the seed and has class `i mod 3`, so the same seed writes the same bytes and the
//! classes are balanced.

use std::f32::consts::PI;
use std::path::Path;

use gm_core::run::{prepare, RunMode};
use gm_core::GmRng;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;

use crate::{Error, Result};

/// The class folders, in label order.
pub const SHAPE_CLASSES: [&str; 3] = ["circle", "square", "triangle"];

/// Writes `n` images of `size x size` pixels drawn from `seed` into the new folder `dir`
/// (see the module documentation). `dir` becomes a gm run folder; an existing folder that
/// is not empty is refused.
pub fn write_shapes_folder(dir: &Path, n: usize, size: usize, seed: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::Option {
            field: "n",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    if !(8..=4096).contains(&size) {
        return Err(Error::Option {
            field: "size",
            value: size.to_string(),
            reason: "must be between 8 and 4096 pixels",
        });
    }
    prepare(dir, RunMode::New, "shapes", &[])?;
    let names: Vec<String> = (0..n).map(|i| file_name(i, n)).collect();
    // All the names go into the marker in one update before any image lands, so the list of
    // gm's files is complete even if the process dies half way. Writing the images through
    // `write_atomic` would update the marker once per image: quadratic in `n`.
    gm_core::run::record_files(dir, names.iter().cloned())?;
    for class in SHAPE_CLASSES {
        let sub = dir.join(class);
        std::fs::create_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
    }
    names.par_iter().enumerate().try_for_each(|(i, name)| {
        let rgb = draw(i, size, seed);
        let path = dir.join(name);
        let png = encode_png(&rgb, size as u32).map_err(|e| Error::format(&path, e))?;
        write_renamed(&path, &png)
    })
}

/// `class/index.png`, the index padded to the width of `n - 1`.
fn file_name(i: usize, n: usize) -> String {
    let width = (n - 1).max(1).to_string().len();
    format!("{}/{i:0width$}.png", SHAPE_CLASSES[i % 3])
}

/// Writes to a temporary file beside `path`, then renames it into place (the name
/// `.file.tmp` is the one gm's run folders clean up after an interrupted write).
fn write_renamed(path: &Path, bytes: &[u8]) -> Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::format(path, "not a file path"));
    };
    let tmp = parent.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
}

fn encode_png(rgb: &[u8], size: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgb, size, size, ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Image `i`: interleaved RGB, `size x size`.
fn draw(i: usize, size: usize, seed: u64) -> Vec<u8> {
    let mut rng = GmRng::derive(seed, i as u64);
    let u = rng.uniform_vec(11, 0.0, 1.0);
    let s = size as f32;
    let fg: [f32; 3] = [u[0] * 255.0, u[1] * 255.0, u[2] * 255.0];
    // Each background channel sits 96 to 160 levels from the shape's, around the circle.
    let bg: [f32; 3] = std::array::from_fn(|k| (fg[k] + 96.0 + 64.0 * u[3 + k]).rem_euclid(256.0));
    // The shape's circumradius, 20% to 40% of the side, and its centre, kept inside.
    let r = s * (0.2 + 0.2 * u[6]);
    let (cx, cy) = (r + (s - 2.0 * r) * u[7], r + (s - 2.0 * r) * u[8]);
    let theta = 2.0 * PI * u[9];
    let class = i % 3;
    let corners = match class {
        1 => 4,
        2 => 3,
        _ => 0,
    };
    let vertices: Vec<(f32, f32)> = (0..corners)
        .map(|k| {
            let a = theta + 2.0 * PI * k as f32 / corners as f32;
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    let inside = |x: f32, y: f32| -> bool {
        if corners == 0 {
            return (x - cx).powi(2) + (y - cy).powi(2) <= r * r;
        }
        // Counter-clockwise vertices: inside is left of every edge.
        (0..corners).all(|k| {
            let (ax, ay) = vertices[k];
            let (bx, by) = vertices[(k + 1) % corners];
            (bx - ax) * (y - ay) - (by - ay) * (x - ax) >= 0.0
        })
    };
    let mut out = vec![0u8; size * size * 3];
    for y in 0..size {
        for x in 0..size {
            // 2x2 supersampling smooths the edges.
            let mut cover = 0.0;
            for (dx, dy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                if inside(x as f32 + dx, y as f32 + dy) {
                    cover += 0.25;
                }
            }
            let o = 3 * (y * size + x);
            for k in 0..3 {
                out[o + k] = (bg[k] + (fg[k] - bg[k]) * cover).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_cannot_be_zero() {
        let e = write_shapes_folder(Path::new("/nonexistent/x"), 0, 16, 1).unwrap_err();
        assert!(e.to_string().contains("n = 0"), "{e}");
    }

    #[test]
    fn size_must_be_at_least_eight() {
        let e = write_shapes_folder(Path::new("/nonexistent/x"), 3, 4, 1).unwrap_err();
        assert!(e.to_string().contains("size = 4"), "{e}");
    }

    #[test]
    fn names_are_padded_and_classes_cycle() {
        assert_eq!(file_name(0, 1), "circle/0.png");
        assert_eq!(file_name(4, 1000), "square/004.png");
        assert_eq!(file_name(999, 1000), "circle/999.png");
        assert_eq!(file_name(5, 11), "triangle/05.png");
    }

    #[test]
    fn a_shape_differs_from_its_background() {
        for i in 0..30 {
            let img = draw(i, 16, 3);
            let corner = &img[..3];
            // The shape covers at least the pixel at its centre, so some pixel differs from
            // the corner (background, since the shape stays inside) by >= 96 in a channel.
            assert!(
                img.chunks(3)
                    .any(|p| (0..3).all(|k| (p[k] as i32 - corner[k] as i32).abs() >= 90)),
                "image {i}"
            );
        }
    }
}
