//! Errors of gm-autoregressive: one variant per bad configuration field or impossible request.

use std::path::PathBuf;

/// Everything that can go wrong in gm-autoregressive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor operation failed in candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// An error raised by gm-core.
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A configuration field holds an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The field's name.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// What the value must satisfy.
        reason: &'static str,
    },

    /// Data of the wrong shape for the model.
    #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
    Shape {
        /// What was being checked.
        what: &'static str,
        /// The shape (or length) received.
        got: Vec<usize>,
        /// The shape (or length) wanted.
        expected: Vec<usize>,
    },

    /// A mask index outside the model's pool.
    #[error("mask {index} does not exist: the model has {pool} masks")]
    NoSuchMask {
        /// The index asked for.
        index: usize,
        /// The number of masks in the pool.
        pool: usize,
    },

    /// A saved model that cannot be read back.
    #[error("{path}: {message}")]
    Saved {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
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
