//! Export to and load from a model folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use gm_core::model::SavedModel;

use crate::{Error, ModelCard, Result};

/// The files of an export, in the order they are written.
pub const FILES: [&str; 4] = [
    "model.safetensors",
    "config.json",
    "samples.png",
    "README.md",
];

/// What to put beside the weights.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// What the model card `README.md` says.
    pub card: ModelCard,
    /// A sample grid `(n, c, h, w)` and whether its values lie in [-1, 1].
    pub samples: Option<(Tensor, bool)>,
    /// Extra `gm.*` metadata (e.g. `gm.seed`).
    pub metadata: BTreeMap<String, String>,
}

/// The files written, with their sizes in bytes.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The export folder.
    pub dir: PathBuf,
    /// Each file of [`FILES`] found in `dir` after writing, in that order, with its size in
    /// bytes.
    pub files: Vec<(String, u64)>,
}

/// A folder's contents before they are turned into a typed model.
#[derive(Debug, Clone)]
pub struct LoadedParts {
    /// The model name (`gm.model`), the same in the weights' metadata and `config.json`.
    pub model: String,
    /// The gm version that wrote the weights (`gm.version`; empty when absent).
    pub version: String,
    /// The model's config, the `config` field of `config.json`.
    pub config: serde_json::Value,
    /// The weights by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The whole `__metadata__` of `model.safetensors`.
    pub metadata: BTreeMap<String, String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `name` is a file of an export: one of [`FILES`] or the temporary file gm's atomic
/// writer leaves when an export is killed while writing it (`.<file>.tmp`).
fn is_export_file(name: &str) -> bool {
    FILES.contains(&name)
        || name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .is_some_and(|n| FILES.contains(&n))
}

/// Writes `model` to `dir` (created if needed). A folder that holds anything but a previous
/// gm export (or what an export killed half way leaves) is refused, so a user's files are
/// never overwritten.
///
/// ```
/// use std::collections::BTreeMap;
///
/// use candle_core::{Device, Tensor};
/// use gm_core::model::SavedModel;
///
/// /// A model made of one vector.
/// struct Bias(Tensor);
///
/// impl SavedModel for Bias {
///     const MODEL: &'static str = "bias";
///     fn config_json(&self) -> serde_json::Value {
///         serde_json::json!({ "dim": self.0.elem_count() })
///     }
///     fn weights(&self) -> BTreeMap<String, Tensor> {
///         BTreeMap::from([("bias".to_string(), self.0.clone())])
///     }
///     fn from_parts(
///         _config: &serde_json::Value,
///         mut tensors: BTreeMap<String, Tensor>,
///         _device: &Device,
///     ) -> gm_core::Result<Self> {
///         tensors
///             .remove("bias")
///             .map(Bias)
///             .ok_or_else(|| gm_core::Error::Msg("tensor `bias` is missing".into()))
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let model = Bias(Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu)?);
/// let out = gm_hub::export(&model, dir.path(), &gm_hub::ExportOptions::default())?;
/// // No sample grid was given: weights, config and card.
/// let names: Vec<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["model.safetensors", "config.json", "README.md"]);
///
/// let parts = gm_hub::load_parts(dir.path(), &Device::Cpu)?;
/// assert_eq!(parts.model, "bias");
/// assert_eq!(parts.metadata["format"], "pt");
/// let back: Bias = gm_hub::load(dir.path(), &Device::Cpu)?;
/// assert_eq!(back.0.to_vec1::<f32>()?, [1.0, 2.0, 3.0]);
/// # Ok(())
/// # }
/// ```
pub fn export<M: SavedModel>(
    model: &M,
    dir: impl AsRef<Path>,
    opts: &ExportOptions,
) -> Result<Exported> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let name = entry
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .to_string();
        if !is_export_file(&name) {
            return Err(Error::NotAnExport {
                path: dir.to_path_buf(),
                file: name,
            });
        }
    }
    let config = model.config_json();
    let mut meta = opts.metadata.clone();
    meta.insert("format".into(), "pt".into());
    meta.insert("gm.model".into(), M::MODEL.into());
    meta.insert("gm.version".into(), env!("CARGO_PKG_VERSION").into());
    meta.insert("gm.config".into(), config.to_string());
    gm_core::io::save_safetensors(dir.join(FILES[0]), &model.weights(), &meta)?;
    let cfg_file = serde_json::json!({ "gm.model": M::MODEL, "config": config });
    let text = serde_json::to_string_pretty(&cfg_file).map_err(|e| Error::Invalid {
        path: dir.join(FILES[1]),
        message: e.to_string(),
    })?;
    gm_core::io::write_atomic(dir.join(FILES[1]), text.as_bytes())?;
    let has_samples = match &opts.samples {
        Some((imgs, signed)) => {
            let n = imgs.dim(0)?;
            let ncol = (n as f64).sqrt().ceil() as usize;
            gm_core::viz::save_grid(imgs, ncol, *signed, dir.join(FILES[2]))?;
            true
        }
        None => false,
    };
    let card = opts.card.render(M::MODEL, &config, has_samples);
    gm_core::io::write_atomic(dir.join(FILES[3]), card.as_bytes())?;
    let mut files = Vec::new();
    for f in FILES {
        let p = dir.join(f);
        if let Ok(m) = std::fs::metadata(&p) {
            files.push((f.to_string(), m.len()));
        }
    }
    Ok(Exported {
        dir: dir.to_path_buf(),
        files,
    })
}

/// Reads a model folder without knowing its type: checks that the weights' metadata and
/// `config.json` agree.
pub fn load_parts(dir: impl AsRef<Path>, device: &Device) -> Result<LoadedParts> {
    let dir = dir.as_ref();
    let weights = dir.join(FILES[0]);
    let (tensors, metadata) = gm_core::io::load_safetensors(&weights, device)?;
    let invalid = |path: &Path, message: String| Error::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let model = metadata.get("gm.model").cloned().ok_or_else(|| {
        invalid(
            &weights,
            "metadata `gm.model` is missing (not a gm export)".into(),
        )
    })?;
    let version = metadata.get("gm.version").cloned().unwrap_or_default();
    let cfg_path = dir.join(FILES[1]);
    let text = std::fs::read_to_string(&cfg_path).map_err(io(&cfg_path))?;
    let cfg: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(&cfg_path, format!("not JSON: {e}")))?;
    let cfg_model = cfg["gm.model"]
        .as_str()
        .ok_or_else(|| invalid(&cfg_path, "field `gm.model` is missing".into()))?;
    if cfg_model != model {
        return Err(Error::WrongModel {
            path: cfg_path,
            found: cfg_model.to_string(),
            expected: model,
        });
    }
    let config = cfg
        .get("config")
        .cloned()
        .ok_or_else(|| invalid(&cfg_path, "field `config` is missing".into()))?;
    Ok(LoadedParts {
        model,
        version,
        config,
        tensors,
        metadata,
    })
}

/// Loads a folder written by [`export`] as model type `M`.
pub fn load<M: SavedModel>(dir: impl AsRef<Path>, device: &Device) -> Result<M> {
    let dir = dir.as_ref();
    let parts = load_parts(dir, device)?;
    if parts.model != M::MODEL {
        return Err(Error::WrongModel {
            path: dir.join(FILES[0]),
            found: parts.model,
            expected: M::MODEL.into(),
        });
    }
    M::from_parts(&parts.config, parts.tensors, device).map_err(|e| {
        let msg = e.to_string();
        // candle-nn reports a missing tensor as "cannot find tensor NAME".
        match msg.split("cannot find tensor ").nth(1) {
            Some(rest) => Error::MissingTensor {
                path: dir.join(FILES[0]),
                name: rest.split_whitespace().next().unwrap_or(rest).to_string(),
            },
            None => Error::Invalid {
                path: dir.to_path_buf(),
                message: msg,
            },
        }
    })
}
