//! Errors of gm-hub; each names the file, field or tensor at fault.

use std::path::PathBuf;

/// Everything that can go wrong in gm-hub.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error raised by gm-core (reading or writing the weights, a file or the sample
    /// grid).
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A tensor operation failed in candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A folder holds another model than the one asked for, or its weights and
    /// `config.json` name different models.
    #[error("{path}: holds a model `{found}`, expected `{expected}`")]
    WrongModel {
        /// The file whose model name disagrees.
        path: PathBuf,
        /// The model name it holds.
        found: String,
        /// The model name wanted.
        expected: String,
    },

    /// The weights lack a tensor the model needs.
    #[error("{path}: tensor `{name}` is missing")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The missing tensor's name.
        name: String,
    },

    /// A file or folder is not what an export should hold (missing metadata or field, bad
    /// JSON, parts the model cannot be rebuilt from).
    #[error("{path}: {message}")]
    Invalid {
        /// The file or folder at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A Hugging Face Hub request failed, or a repository id or token is unusable.
    #[error("Hub repository `{repo}`: {message}")]
    Hub {
        /// The repository id, as given.
        repo: String,
        /// What went wrong.
        message: String,
    },

    /// An export into a folder that holds files other than a previous export's, refused so
    /// that they are not overwritten.
    #[error(
        "{path} is not empty and is not a gm export: refusing to write into it (found `{file}`)"
    )]
    NotAnExport {
        /// The folder.
        path: PathBuf,
        /// A file in it that no export writes.
        file: String,
    },
}

/// Result with gm-hub's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
