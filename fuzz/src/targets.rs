//! One target per reader of outside bytes: each writes an input where the reader looks for
//! it and checks that a refusal names the file.

use std::path::Path;

use candle_core::Device;
use gm_data::LoadOptions;

/// A reader under test.
pub struct Target {
    pub name: &'static str,
    /// Reads `input` placed in the empty folder `dir`. `Err` is a failure of the reader (a
    /// refusal that does not name the file), not a refusal.
    pub read: fn(dir: &Path, input: &[u8]) -> Result<(), String>,
}

/// Every target, in the order they run.
pub const TARGETS: &[Target] = &[
    Target {
        name: "idx",
        read: idx,
    },
    Target {
        name: "idx_gz",
        read: idx,
    },
    Target {
        name: "npy",
        read: npy,
    },
    Target {
        name: "data_safetensors",
        read: data_safetensors,
    },
    Target {
        name: "image_folder",
        read: image_folder,
    },
    Target {
        name: "checkpoint",
        read: checkpoint,
    },
    Target {
        name: "run_marker",
        read: run_marker,
    },
    Target {
        name: "metrics",
        read: metrics,
    },
    Target {
        name: "hub_folder",
        read: hub_folder,
    },
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Separates the weights from `config.json` in a `hub_folder` input.
pub const HUB_SEPARATOR: &[u8] = b"\n--config.json--\n";

/// `Ok` for a success or a refusal that names `path` (by file name or full path).
fn named<T, E: std::fmt::Display>(r: Result<T, E>, path: &Path) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if msg.contains(&path.display().to_string())
                || (!name.is_empty() && msg.contains(&name))
            {
                Ok(())
            } else {
                Err(format!("the error does not name {}: {msg}", path.display()))
            }
        }
    }
}

fn put(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("scratch {}: {e}", parent.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("scratch {}: {e}", path.display()))
}

fn opts() -> LoadOptions {
    LoadOptions {
        holdout: 0.25,
        ..LoadOptions::default()
    }
}

fn idx(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join("train-images-idx3-ubyte");
    put(&path, input)?;
    named(gm_data::idx::load_idx_file(&path, &opts()), &path)
}

fn npy(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join("x.npy");
    put(&path, input)?;
    named(gm_data::tensors::load_npy(&path, &opts()), &path)
}

fn data_safetensors(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join("x.safetensors");
    put(&path, input)?;
    named(gm_data::tensors::load_safetensors(&path, &opts()), &path)
}

/// Two classes, one image each; the input is the second class's image.
fn image_folder(dir: &Path, input: &[u8]) -> Result<(), String> {
    let good = crate::corpus::png(4, 4, 3, 1);
    put(&dir.join("a").join("0.png"), &good)?;
    let ext = if input.starts_with(&[0xff, 0xd8]) {
        "jpg"
    } else {
        "png"
    };
    let path = dir.join("b").join(format!("0.{ext}"));
    put(&path, input)?;
    let r = gm_data::images::load_image_folder(dir, &opts());
    named(r, &path)
}

fn checkpoint(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join(gm_core::train::CHECKPOINT_FILE);
    put(&path, input)?;
    named(gm_core::train::read_checkpoint(&path, &Device::Cpu), &path)
}

fn run_marker(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join(gm_core::run::RUN_MARKER);
    put(&path, input)?;
    named(gm_core::run::RunMarker::read(dir), &path)
}

fn metrics(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join(gm_core::train::METRICS_FILE);
    put(&path, input)?;
    named(gm_core::train::read_metrics(&path), &path)
}

/// The input is `model.safetensors`, [`HUB_SEPARATOR`], then `config.json`.
fn hub_folder(dir: &Path, input: &[u8]) -> Result<(), String> {
    let (weights, config) = input
        .windows(HUB_SEPARATOR.len())
        .position(|w| w == HUB_SEPARATOR)
        .map(|i| (&input[..i], &input[i + HUB_SEPARATOR.len()..]))
        .unwrap_or((input, &[][..]));
    let [w, c] = gm_hub::FILES[..2] else {
        return Err("gm_hub::FILES has fewer than two names".into());
    };
    put(&dir.join(w), weights)?;
    put(&dir.join(c), config)?;
    match gm_hub::load_parts(dir, &Device::Cpu) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            if msg.contains(w) || msg.contains(c) {
                Ok(())
            } else {
                Err(format!("the error names neither {w} nor {c}: {msg}"))
            }
        }
    }
}
