//! Errors of gm-vae: one variant per bad configuration field or impossible request.

/// Everything that can go wrong in gm-vae.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor operation failed in candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// An error raised by gm-core, e.g. an invalid Adam configuration.
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A configuration field holds an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The offending field, e.g. `latent_dim` or `likelihood.std`.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// Why the value is rejected.
        reason: &'static str,
    },

    /// Data of the wrong shape for the model.
    #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
    Shape {
        /// What was given the wrong shape, e.g. `VAE input`.
        what: &'static str,
        /// The shape received.
        got: Vec<usize>,
        /// The shape the model needs.
        expected: Vec<usize>,
    },

    /// An operation that needs a 2-D latent space (the latent map).
    #[error("the latent map needs latent_dim = 2, the model has {0}")]
    LatentNot2d(usize),

    /// Too few data points for the request.
    #[error("{what}: need at least {need} data points, got {got}")]
    TooFewPoints {
        /// The request that needs the points.
        what: &'static str,
        /// The minimum number of data points.
        need: usize,
        /// The number of data points given.
        got: usize,
    },
}

/// Result with gm-vae's [`Error`].
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
