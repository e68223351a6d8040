//! The error type of gm-eval: every failure names the input, field or file at fault.

use std::path::PathBuf;

/// Errors raised by gm-eval.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// An error from gm-core.
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A configuration value is out of range or inconsistent with the others.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The name of the offending setting, e.g. `n_subsets`.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// Why the value is rejected.
        reason: &'static str,
    },

    /// A tensor has the wrong rank or shape.
    #[error("{what}: expected shape {expected}, found {found:?}")]
    Shape {
        /// The input at fault.
        what: &'static str,
        /// The expected shape, in words, e.g. `(n, d)`.
        expected: &'static str,
        /// The dimensions actually found.
        found: Vec<usize>,
    },

    /// An input has fewer items (samples, classes, images) than the metric needs.
    #[error("{what}: needs at least {needed} items, found {found}")]
    TooFew {
        /// The input at fault.
        what: &'static str,
        /// The least number of items accepted.
        needed: usize,
        /// The number of items given.
        found: usize,
    },

    /// An input has the right shape but unusable content (non-finite values, a missing
    /// tensor, mismatched sizes).
    #[error("{what}: {reason}")]
    InvalidInput {
        /// The input at fault.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The Jacobi eigendecomposition of [`crate::linalg`] did not converge.
    #[error(
        "symmetric eigendecomposition of a {n}x{n} matrix did not converge in {sweeps} sweeps"
    )]
    NoConvergence {
        /// The order of the matrix.
        n: usize,
        /// The number of sweeps made.
        sweeps: usize,
    },

    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file or folder is not what was expected (unreadable tensors, images or JSON, no
    /// images, not a run folder).
    #[error("{path}: {message}")]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with its content.
        message: String,
    },
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
