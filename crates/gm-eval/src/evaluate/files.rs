//! Files: samples and images read from a `.safetensors` file or a folder of PNG images, and
//! the report written to (and read from) a run folder as `eval.json` and `report.html`.

use std::path::Path;

use candle_core::{Device, Tensor};

use super::report::EvalReport;
use super::table::metrics_table;
use crate::{Error, Result};

/// Reads samples from a `.safetensors` file (the tensor named `samples`, or its only tensor)
/// or from a folder of PNG images (grey-scale, sorted by name, scaled to `[0, 1]`).
pub fn load_samples(path: &Path, device: &Device) -> Result<Tensor> {
    if path.is_dir() {
        return load_png_folder(path, device);
    }
    let (tensors, _) = gm_core::io::load_safetensors(path, device)?;
    if let Some(t) = tensors.get("samples") {
        return Ok(t.clone());
    }
    if tensors.len() == 1 {
        if let Some(t) = tensors.values().next() {
            return Ok(t.clone());
        }
    }
    Err(Error::File {
        path: path.to_path_buf(),
        message: format!("holds {} tensors and none named `samples`", tensors.len()),
    })
}

/// Reads images from a `.safetensors` file (as [`load_samples`]) or a folder of PNG images,
/// sorted by name and scaled to `[0, 1]`: `(n, 3, h, w)` when any image has colour, else
/// `(n, 1, h, w)`.
pub fn load_images(path: &Path, device: &Device) -> Result<Tensor> {
    if path.is_dir() {
        return load_png_folder_with(path, device, true);
    }
    load_samples(path, device)
}

fn load_png_folder(dir: &Path, device: &Device) -> Result<Tensor> {
    load_png_folder_with(dir, device, false)
}

fn load_png_folder_with(dir: &Path, device: &Device, keep_colour: bool) -> Result<Tensor> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            message: "holds no .png images".into(),
        });
    }
    let mut images = Vec::with_capacity(names.len());
    let mut size = None;
    let mut colour = false;
    for p in &names {
        let img = image::open(p).map_err(|e| Error::File {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let wh = (img.width(), img.height());
        if *size.get_or_insert(wh) != wh {
            return Err(Error::File {
                path: p.clone(),
                message: format!("is {wh:?} pixels, the first image is {size:?}"),
            });
        }
        colour |= keep_colour && img.color().has_color();
        images.push(img);
    }
    let mut data = Vec::new();
    for img in images {
        if colour {
            // Interleaved RGB to channel planes.
            let rgb = img.to_rgb8().into_raw();
            for c in 0..3 {
                data.extend(rgb.iter().skip(c).step_by(3).map(|&v| v as f32 / 255.0));
            }
        } else {
            data.extend(
                img.to_luma8()
                    .into_raw()
                    .into_iter()
                    .map(|v| v as f32 / 255.0),
            );
        }
    }
    let (w, h) = size.unwrap_or((0, 0));
    let c = if colour { 3 } else { 1 };
    Ok(Tensor::from_vec(
        data,
        (names.len(), c, h as usize, w as usize),
        device,
    )?)
}

/// Writes `dir/eval.json` and adds the evaluation's rows to the run's metric table in
/// `dir/report.html` (training metrics, images, curves and configuration are kept).
pub fn write_eval(dir: &Path, report: &EvalReport) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            message: "is not a run folder".into(),
        });
    }
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::File {
        path: dir.join("eval.json"),
        message: e.to_string(),
    })?;
    gm_core::io::write_atomic(dir.join("eval.json"), json.as_bytes())?;
    let title = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "run".into());
    gm_core::viz::update_report(dir, &title, &metrics_table(report))?;
    Ok(())
}

/// Reads a report written by [`write_eval`].
pub fn read_eval(dir: &Path) -> Result<EvalReport> {
    let p = dir.join("eval.json");
    let s = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&s).map_err(|e| Error::File {
        path: p,
        message: e.to_string(),
    })
}
