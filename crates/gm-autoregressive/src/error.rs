//! Errors of gm-autoregressive: one variant per bad configuration field or impossible request.

use std::path::PathBuf;

/// Everything that can go wrong in gm-autoregressive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A configuration field holds an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    /// Data of the wrong shape for the model.
    #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
    Shape {
        what: &'static str,
        got: Vec<usize>,
        expected: Vec<usize>,
    },

    /// A mask index outside the model's pool.
    #[error("mask {index} does not exist: the model has {pool} masks")]
    NoSuchMask { index: usize, pool: usize },

    /// A saved model that cannot be read back.
    #[error("{path}: {message}")]
    Saved { path: PathBuf, message: String },
}

/// Result with gm-autoregressive's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(field: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason,
        }
    }

    /// This error as gm-core's, for the [`gm_core::Trainer`] and [`gm_core::Generator`] impls.
    pub(crate) fn into_core(self) -> gm_core::Error {
        match self {
            Error::Core(e) => e,
            Error::Candle(e) => gm_core::Error::Candle(e),
            other => gm_core::Error::model(other),
        }
    }
}
