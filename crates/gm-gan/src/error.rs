//! Errors of gm-gan: one variant per bad configuration field or impossible request.

/// Everything that can go wrong in gm-gan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor operation failed in candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// An error raised by gm-core, e.g. an invalid Adam configuration.
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// An error raised by gm-divergence, e.g. an invalid f-divergence parameter.
    #[error(transparent)]
    Divergence(#[from] gm_divergence::Error),

    /// A configuration field holds an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// Why the value is rejected.
        reason: &'static str,
    },

    /// Data of the wrong shape for the model.
    #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
    Shape {
        /// What was given the wrong shape.
        what: &'static str,
        /// The shape received.
        got: Vec<usize>,
        /// The shape needed.
        expected: Vec<usize>,
    },

    /// A second-order objective was chosen but candle detaches gradients on this thread.
    #[error(
        "{objective} needs second-order gradients, but candle detaches gradients on this thread: \
         set CANDLE_GRAD_DO_NOT_DETACH=1 before the first backward pass (build the trainer \
         before any other training on this thread, or export the variable)"
    )]
    SecondOrderUnavailable {
        /// What needs them: the objective's name, the R1/R2 penalty or the exact unrolled GAN.
        objective: String,
    },
}

/// Result with gm-gan's [`Error`].
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

/// Maps a gm-gan error into gm-core's, for the [`gm_core::Trainer`] methods.
pub(crate) fn to_core(e: Error) -> gm_core::Error {
    match e {
        Error::Core(c) => c,
        other => gm_core::Error::model(other),
    }
}
