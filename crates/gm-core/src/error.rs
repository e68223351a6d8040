//! The error type of gm-core: every failure names the file, field or value at fault.

use std::path::PathBuf;

/// Errors raised by gm-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: not an IDX file: magic number {found:#010x}, expected {expected:#010x}")]
    IdxMagic {
        path: String,
        found: u32,
        expected: u32,
    },

    #[error("{path}: truncated IDX data: header promises {expected} bytes, file holds {found}")]
    IdxTruncated {
        path: String,
        expected: usize,
        found: usize,
    },

    #[error("{path}: {message}")]
    IdxFormat { path: String, message: String },

    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        images: String,
        n_images: usize,
        labels: String,
        n_labels: usize,
    },

    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("{path}: checkpoint belongs to model `{found}`, expected `{expected}`")]
    CheckpointModel {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error("{path}: invalid checkpoint: {message}")]
    Checkpoint { path: PathBuf, message: String },

    #[error("training diverged at step {step}: {what} is not finite; the last good checkpoint is left as it was")]
    NonFinite { step: u64, what: String },

    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    #[error("safetensors: {0}")]
    SafeTensors(String),

    #[error("{0}")]
    Msg(String),

    #[error("{what}: {got} values, expected {expected}")]
    Size {
        what: String,
        got: usize,
        expected: usize,
    },

    /// An error of a model crate (gm-gan, gm-vae, gm-flow, ...) raised inside a trainer and
    /// carried through [`crate::fit`] as a value: match it with
    /// `Error::Model(e) if e.downcast_ref::<gm_gan::Error>().is_some()`.
    #[error(transparent)]
    Model(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Result with gm-core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a model crate's error (see [`Error::Model`]).
    pub fn model(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Model(Box::new(e))
    }
}

impl From<safetensors::SafeTensorError> for Error {
    fn from(e: safetensors::SafeTensorError) -> Self {
        Error::SafeTensors(e.to_string())
    }
}
