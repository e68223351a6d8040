//! gm-hub: publishable model folders.
//!
//! [`export`] writes a trained model to a folder in the Hugging Face Hub layout:
//! `model.safetensors` (with `__metadata__` `{"format": "pt", "gm.model", "gm.version",
//! "gm.config", ...}`, which Python loaders and the Hub expect and candle's `VarMap::save`
//! does not write), `config.json`, a model card `README.md` with YAML front matter, and a
//! sample grid `samples.png`. [`load`] reads such a folder alone back into any
//! [`gm_core::model::SavedModel`]. Every file is written atomically. With the `remote`
//! feature, [`remote::push`] uploads such a folder to the Hugging Face Hub in one commit and
//! [`remote::pull`] downloads one through hf-hub's cache (with an offline mode).
#![warn(missing_docs)]

mod card;
mod error;
mod folder;
#[cfg(feature = "remote")]
pub mod remote;

pub use card::ModelCard;
pub use error::{Error, Result};
pub use folder::{export, load, load_parts, ExportOptions, Exported, LoadedParts, FILES};
