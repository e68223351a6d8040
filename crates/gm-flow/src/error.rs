//! Errors of gm-flow: one variant per bad configuration field or impossible request.

/// Everything that can go wrong in gm-flow.
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
        /// The field's name (dotted for nested fields).
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
        /// The shape received.
        got: Vec<usize>,
        /// The shape wanted (a 0 stands for any size where `what` says so).
        expected: Vec<usize>,
    },

    /// A data-dependent initialisation asked of parameters that are not trainable variables
    /// (a model rebuilt from saved tensors is already initialised).
    #[error("{0}: data-dependent initialisation needs trainable variables")]
    NotTrainable(&'static str),

    /// A matrix that should be invertible is singular to working precision.
    #[error("{0}: the matrix is singular")]
    Singular(&'static str),
}

/// Result with gm-flow's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(field: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason,
        }
    }
}

impl From<Error> for gm_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(e) => e,
            other => gm_core::Error::model(other),
        }
    }
}
