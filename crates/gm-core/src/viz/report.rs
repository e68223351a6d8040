//! The per-run `report.html`: config, metric table, loss curves and sample grids.

use std::path::Path;

use crate::Result;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The file that keeps a run's metric table, so that later additions (an evaluation after
/// training) extend the report instead of replacing it.
pub const REPORT_METRICS_FILE: &str = "report_metrics.json";

/// Adds metric rows to the run's table (a row with an existing name replaces it, new rows
/// are appended) and rewrites `dir/report.html`.
pub fn update_report(dir: &Path, title: &str, metrics: &[(String, String)]) -> Result<()> {
    let path = dir.join(REPORT_METRICS_FILE);
    let mut rows: Vec<(String, String)> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| crate::Error::Format {
            path: path.clone(),
            message: format!("metric table is not a list of [name, value] pairs: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(crate::Error::io(&path, e)),
    };
    for (k, v) in metrics {
        match rows.iter_mut().find(|(name, _)| name == k) {
            Some(row) => row.1 = v.clone(),
            None => rows.push((k.clone(), v.clone())),
        }
    }
    write_report(dir, title, &rows)
}

/// Writes `dir/report.html` from the run's files: `config.json`, the given metrics table
/// (also kept in [`REPORT_METRICS_FILE`]), `loss.svg` and every PNG in `dir` and `dir/grids`
/// (sorted by name).
pub fn write_report(dir: &Path, title: &str, metrics: &[(String, String)]) -> Result<()> {
    let table = serde_json::to_string_pretty(metrics).map_err(|e| crate::Error::Format {
        path: dir.join(REPORT_METRICS_FILE),
        message: e.to_string(),
    })?;
    crate::io::write_atomic(dir.join(REPORT_METRICS_FILE), table.as_bytes())?;
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}img{{image-rendering:pixelated;max-width:100%}}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(title)
    );
    if !metrics.is_empty() {
        html.push_str("<h2>Metrics</h2>\n<table><tr><th>metric</th><th>value</th></tr>\n");
        for (k, v) in metrics {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(k),
                esc(v)
            ));
        }
        html.push_str("</table>\n");
    }
    if dir.join("loss.svg").exists() {
        html.push_str("<h2>Training curves</h2>\n<img src=\"loss.svg\" alt=\"loss curves\">\n");
    }
    let mut pngs: Vec<String> = Vec::new();
    for sub in ["", "grids"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            let mut v: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".png"))
                .map(|n| {
                    if sub.is_empty() {
                        n
                    } else {
                        format!("{sub}/{n}")
                    }
                })
                .collect();
            v.sort();
            pngs.extend(v);
        }
    }
    if !pngs.is_empty() {
        html.push_str("<h2>Images</h2>\n");
        for p in &pngs {
            html.push_str(&format!(
                "<figure><img src=\"{p}\" alt=\"{p}\" width=\"480\"><figcaption>{p}</figcaption></figure>\n",
                p = esc(p)
            ));
        }
    }
    if let Ok(cfg) = std::fs::read_to_string(dir.join("config.json")) {
        html.push_str(&format!(
            "<h2>Configuration</h2>\n<pre>{}</pre>\n",
            esc(&cfg)
        ));
    }
    html.push_str("</body></html>\n");
    crate::io::write_atomic(dir.join("report.html"), html.as_bytes())
}
