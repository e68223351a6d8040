//! Plots as SVG (plotters): loss curves (one line per metric, x = step) and curves with 95%
//! error bars on log-log axes (the error-vs-measurements figure of Bora et al. 2017).

use std::path::Path;

use plotters::prelude::*;

use crate::{Error, Result};

/// A named curve of (step, value) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend label.
    pub name: String,
    /// The `(step, value)` points, in order; non-finite values are left out of the plot.
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Plots `series` into an SVG at `path` (written atomically).
pub fn plot_curves(title: &str, series: &[Series], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Msg(format!("{}: plot: {e}", path.display()));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .draw()
            .map_err(|e| err(&e))?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied().filter(|p| p.1.is_finite()),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    crate::io::write_atomic(path, svg.as_bytes())
}

/// One curve with error bars: `(x, mean, half-width of the 95% interval)` per point.
#[derive(Debug, Clone)]
pub struct ErrorCurve {
    /// The legend label.
    pub name: String,
    /// `(x, mean, half-width of the 95% interval)` per point, in order of `x`.
    pub points: Vec<(f64, f64, f64)>,
}

/// A tick label on a log axis: 500 -> "500", 0.0123 -> "0.0123", 1e-5 -> "1e-5".
fn tick_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else if v >= 1e-3 {
        format!("{v:.4}").trim_end_matches('0').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// Draws `curves` on log-log axes with their 95% error bars into an SVG at `path` (written
/// atomically). Points with a non-positive or non-finite `x` or mean cannot sit on log axes
/// and are left out; a lower end of an interval at or below zero is drawn at the mean / 1.69.
pub fn plot_error_bars(
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[ErrorCurve],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let on_axes =
        |p: &&(f64, f64, f64)| p.0 > 0.0 && p.0.is_finite() && p.1 > 0.0 && p.1.is_finite();
    let half = |ci: f64| if ci.is_finite() && ci > 0.0 { ci } else { 0.0 };
    let low = |y: f64, ci: f64| {
        if y - half(ci) > 0.0 {
            y - half(ci)
        } else {
            y / 1.69
        }
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y, ci) in curves.iter().flat_map(|c| c.points.iter()).filter(on_axes) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(low(y, ci));
        y1 = y1.max(y + half(ci));
    }
    if x0 > x1 {
        return Err(Error::Msg(format!(
            "{}: plot: no point with a positive x and mean to draw on log axes",
            path.display()
        )));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Msg(format!("{}: plot: {e}", path.display()));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (x0 / 1.3..x1 * 1.3).log_scale(),
                (y0 / 1.3..y1 * 1.3).log_scale(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, c) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64, f64)> = c.points.iter().filter(on_axes).copied().collect();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(c.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(pts.iter().map(|&(x, y, ci)| {
                    ErrorBar::new_vertical(x, low(y, ci), y, y + half(ci), color.filled(), 8)
                }))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    crate::io::write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_the_series_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loss.svg");
        let s = vec![Series {
            name: "loss".into(),
            points: (0..10)
                .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
                .collect(),
        }];
        plot_curves("training", &s, &p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("<svg") && text.contains("loss") && text.contains("polyline"));
    }

    #[test]
    fn error_bars_sit_on_log_axes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("err.svg");
        let curves = vec![
            ErrorCurve {
                name: "VAE".into(),
                points: vec![
                    (10.0, 0.1, 0.01),
                    (100.0, 0.02, 0.002),
                    (500.0, 0.019, 0.05),
                ],
            },
            ErrorCurve {
                name: "Lasso".into(),
                points: vec![
                    (10.0, 0.2, 0.01),
                    (100.0, 0.1, f64::NAN),
                    (500.0, 0.005, 0.001),
                ],
            },
        ];
        plot_error_bars("error vs m", "m", "MSE", &curves, &p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("<svg"));
        for label in ["error vs m", "VAE", "Lasso", "MSE"] {
            assert!(text.contains(label), "{label} missing");
        }
        // Per curve: one line of width 2 through the means, and per point a bar drawn as three
        // strokes (the whisker and two caps; a NaN half-width gives a bar of zero length)
        // around a dot at the mean.
        for color in ["#1F77B4", "#FF7F0E"] {
            let stroke = format!("stroke=\"{color}\"");
            let lines = text.lines().filter(|l| l.contains(&stroke));
            let polylines = lines.clone().filter(|l| l.contains("<polyline"));
            assert_eq!(
                polylines
                    .filter(|l| l.contains("stroke-width=\"2\""))
                    .count(),
                1
            );
            assert_eq!(
                lines.filter(|l| l.starts_with("<line")).count(),
                3 * 3,
                "{color}"
            );
            let dot = format!("fill=\"{color}\"");
            assert_eq!(text.matches(&dot).count(), 3, "{color}");
        }
        // Log axes, labelled by the short tick labels.
        for tick in ["0.01", "0.1", "10", "100"] {
            assert!(text.lines().any(|l| l == tick), "{tick} missing");
        }
        assert_eq!(tick_label(500.0), "500");
        assert_eq!(tick_label(0.0123), "0.0123");
        assert_eq!(tick_label(1e-5), "1e-5");
        let none: Vec<ErrorCurve> = vec![ErrorCurve {
            name: "x".into(),
            points: vec![(0.0, 1.0, 0.1), (1.0, -1.0, 0.1)],
        }];
        let e = plot_error_bars("t", "m", "e", &none, &p).unwrap_err();
        assert!(e.to_string().contains("err.svg"), "{e}");
    }
}
