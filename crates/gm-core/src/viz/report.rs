//! The per-run `report.html`: config, metric table, loss curves and sample grids.

use std::path::Path;

use crate::Result;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `dir/report.html` from the run's files: `config.json`, the given metrics table,
/// `loss.svg` and every PNG in `dir` and `dir/grids` (sorted by name).
pub fn write_report(dir: &Path, title: &str, metrics: &[(String, String)]) -> Result<()> {
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
