//! Errors of gm-hub; each names the file, field or tensor at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: holds a model `{found}`, expected `{expected}`")]
    WrongModel {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error("{path}: tensor `{name}` is missing")]
    MissingTensor { path: PathBuf, name: String },

    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },

    #[error("Hub repository `{repo}`: {message}")]
    Hub { repo: String, message: String },

    #[error(
        "{path} is not empty and is not a gm export: refusing to write into it (found `{file}`)"
    )]
    NotAnExport { path: PathBuf, file: String },
}

pub type Result<T> = std::result::Result<T, Error>;
