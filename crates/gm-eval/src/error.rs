//! The error type of gm-eval: every failure names the input, field or file at fault.

use std::path::PathBuf;

/// Errors raised by gm-eval.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    #[error(transparent)]
    Core(#[from] gm_core::Error),

    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("{what}: expected shape {expected}, found {found:?}")]
    Shape {
        what: &'static str,
        expected: &'static str,
        found: Vec<usize>,
    },

    #[error("{what}: needs at least {needed} items, found {found}")]
    TooFew {
        what: &'static str,
        needed: usize,
        found: usize,
    },

    #[error("{what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    #[error(
        "symmetric eigendecomposition of a {n}x{n} matrix did not converge in {sweeps} sweeps"
    )]
    NoConvergence { n: usize, sweeps: usize },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// Result with gm-eval's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
