//! The error-vs-measurements figure (Bora et al. 2017, Figure 1a) as a PNG: log-log axes,
//! one line per method with 95% error bars, a legend. gm-core's plots are SVG (plotters
//! without a font back end cannot rasterise text), so this module draws the PNG itself with
//! a built-in 5 x 7 pixel font.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::{Error, Result};

/// One method's curve: (m, mean error, half-width of the 95% interval) per point.
#[derive(Debug, Clone)]
pub struct Curve {
    /// The method's name, shown in the legend.
    pub name: String,
    /// `(m, mean error, half-width of the 95% interval)` per point.
    pub points: Vec<(f64, f64, f64)>,
}

const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

/// Rows of a 5 x 7 glyph, bit 4 = leftmost pixel.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        ',' => [0, 0, 0, 0, 12, 4, 8],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        '=' => [0, 0, 31, 0, 31, 0, 0],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        '/' => [1, 1, 2, 4, 8, 16, 16],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '^' => [4, 10, 17, 0, 0, 0, 0],
        '|' => [4, 4, 4, 4, 4, 4, 4],
        _ => [0; 7],
    }
}

struct Canvas {
    img: RgbImage,
}

impl Canvas {
    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as u32) < self.img.width() && (y as u32) < self.img.height() {
            self.img.put_pixel(x as u32, y as u32, Rgb(c));
        }
    }

    /// A line `width` pixels thick (Bresenham, thickened downwards and rightwards).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3], width: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            for t in 0..width {
                self.put(x + t, y, c);
                self.put(x, y + t, c);
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn text(&mut self, s: &str, x: i64, y: i64, scale: i64, c: [u8; 3]) {
        for (i, ch) in s.chars().enumerate() {
            let g = glyph(ch);
            let ox = x + i as i64 * 6 * scale;
            for (r, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (1 << (4 - col)) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.put(ox + col * scale + dx, y + r as i64 * scale + dy, c);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn text_width(s: &str, scale: i64) -> i64 {
    s.chars().count() as i64 * 6 * scale
}

/// A tick label: 0.0123 -> "0.012", 1e-5 -> "1E-5".
fn tick_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else if v >= 1e-3 {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{v:.0e}").to_uppercase()
    }
}

/// Draws `curves` on log-log axes into a PNG at `path` (written atomically).
pub fn save_error_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let pts: Vec<(f64, f64, f64)> = curves
        .iter()
        .flat_map(|c| c.points.iter().copied())
        .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.1.is_finite())
        .collect();
    if pts.is_empty() {
        return Err(Error::config(
            "curves",
            "no positive points",
            "nothing to plot on log axes",
        ));
    }
    let (mut x0, mut x1) = (f64::MAX, f64::MIN);
    let (mut y0, mut y1) = (f64::MAX, f64::MIN);
    for &(x, y, ci) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        let ci = if ci.is_finite() { ci } else { 0.0 };
        y0 = y0.min(if y - ci > 0.0 { y - ci } else { y });
        y1 = y1.max(y + ci);
    }
    let (lx0, lx1) = ((x0 / 1.3).log10(), (x1 * 1.3).log10());
    let (ly0, ly1) = ((y0 / 1.3).log10(), (y1 * 1.3).log10());
    let (w, h) = (900i64, 560i64);
    let (left, right, top, bottom) = (90i64, 30i64, 60i64, 70i64);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let px = |x: f64| left + ((x.log10() - lx0) / (lx1 - lx0) * pw as f64).round() as i64;
    let py = |y: f64| top + ph - ((y.log10() - ly0) / (ly1 - ly0) * ph as f64).round() as i64;

    let mut cv = Canvas {
        img: RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255])),
    };
    let (black, grey) = ([0, 0, 0], [225, 225, 225]);
    // Ticks: the distinct m values on x; 1, 2, 5 x 10^k on y.
    let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.dedup();
    let mut last_label_end = i64::MIN;
    for &x in &xs {
        let cx = px(x);
        cv.line((cx, top), (cx, top + ph), grey, 1);
        cv.line((cx, top + ph), (cx, top + ph + 5), black, 1);
        let s = tick_label(x);
        let tx = cx - text_width(&s, 1) / 2;
        if tx > last_label_end + 4 {
            cv.text(&s, tx, top + ph + 10, 1, black);
            last_label_end = tx + text_width(&s, 1);
        }
    }
    for k in (ly0.floor() as i32)..=(ly1.ceil() as i32) {
        for mult in [1.0, 2.0, 5.0] {
            let y = mult * 10f64.powi(k);
            if y.log10() < ly0 || y.log10() > ly1 {
                continue;
            }
            let cy = py(y);
            cv.line((left, cy), (left + pw, cy), grey, 1);
            cv.line((left - 5, cy), (left, cy), black, 1);
            let s = tick_label(y);
            cv.text(&s, left - 8 - text_width(&s, 1), cy - 3, 1, black);
        }
    }
    cv.line((left, top), (left, top + ph), black, 1);
    cv.line((left, top + ph), (left + pw, top + ph), black, 1);
    cv.line((left, top), (left + pw, top), black, 1);
    cv.line((left + pw, top), (left + pw, top + ph), black, 1);

    for (i, c) in curves.iter().enumerate() {
        let col = COLORS[i % COLORS.len()];
        let p: Vec<(f64, f64, f64)> = c
            .points
            .iter()
            .copied()
            .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.1.is_finite())
            .collect();
        for wnd in p.windows(2) {
            cv.line(
                (px(wnd[0].0), py(wnd[0].1)),
                (px(wnd[1].0), py(wnd[1].1)),
                col,
                2,
            );
        }
        for &(x, y, ci) in &p {
            let (cx, cy) = (px(x), py(y));
            for dx in -3..=3 {
                for dy in -3..=3 {
                    cv.put(cx + dx, cy + dy, col);
                }
            }
            if ci.is_finite() && ci > 0.0 {
                let lo = if y - ci > 0.0 {
                    y - ci
                } else {
                    y / 1.3f64.powi(2)
                };
                let (ylo, yhi) = (py(lo), py(y + ci));
                cv.line((cx, yhi), (cx, ylo), col, 1);
                cv.line((cx - 4, yhi), (cx + 4, yhi), col, 1);
                cv.line((cx - 4, ylo), (cx + 4, ylo), col, 1);
            }
        }
        // Legend, top right.
        let lw = curves
            .iter()
            .map(|c| text_width(&c.name, 2))
            .max()
            .unwrap_or(0)
            + 50;
        let (lx, ly) = (left + pw - lw - 10, top + 12 + i as i64 * 24);
        cv.line((lx, ly + 6), (lx + 30, ly + 6), col, 3);
        cv.text(&c.name, lx + 40, ly, 2, black);
    }
    cv.text(title, (w - text_width(title, 2)) / 2, 15, 2, black);
    cv.text(
        x_label,
        left + (pw - text_width(x_label, 2)) / 2,
        h - 30,
        2,
        black,
    );
    cv.text(y_label, left - 80, top - 22, 2, black);

    let mut bytes = Vec::new();
    cv.img
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| Error::Core(gm_core::Error::Msg(format!("{}: {e}", path.display()))))?;
    gm_core::io::write_atomic(path, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_coloured_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("err.png");
        let curves = vec![
            Curve {
                name: "VAE".into(),
                points: vec![
                    (10.0, 0.1, 0.01),
                    (100.0, 0.02, 0.002),
                    (500.0, 0.019, 0.002),
                ],
            },
            Curve {
                name: "Lasso".into(),
                points: vec![(10.0, 0.2, 0.01), (100.0, 0.1, 0.01), (500.0, 0.005, 0.001)],
            },
        ];
        save_error_plot("error vs m", "m", "MSE", &curves, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (900, 560));
        let count = |c: [u8; 3]| img.pixels().filter(|px| px.0 == c).count();
        assert!(count(COLORS[0]) > 200 && count(COLORS[1]) > 200);
        assert!(save_error_plot("t", "m", "e", &[], &p).is_err());
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(500.0), "500");
        assert_eq!(tick_label(0.02), "0.02");
        assert_eq!(tick_label(0.005), "0.005");
        assert_eq!(tick_label(1e-5), "1E-5");
    }
}
