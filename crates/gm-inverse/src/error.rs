//! Errors of gm-inverse: one variant per bad configuration value or mismatched shape, each
//! naming the field or the tensor at fault.

/// Everything that can go wrong in gm-inverse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor operation failed in candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// An error raised by gm-core.
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A configuration field or constructor argument holds an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The field's or argument's name.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// What the value must satisfy.
        reason: &'static str,
    },

    /// Tensors or buffers whose sizes disagree.
    #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
    Shape {
        /// The tensor or buffer at fault.
        what: &'static str,
        /// The shape (or length) received.
        got: Vec<usize>,
        /// The shape (or length) wanted.
        expected: Vec<usize>,
    },
}

/// Result with gm-inverse's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(field: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason,
        }
    }

    pub(crate) fn shape(what: &'static str, got: &[usize], expected: &[usize]) -> Self {
        Error::Shape {
            what,
            got: got.to_vec(),
            expected: expected.to_vec(),
        }
    }
}
