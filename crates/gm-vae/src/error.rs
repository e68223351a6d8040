//! Errors of gm-vae: one variant per bad configuration field or impossible request.

/// Everything that can go wrong in gm-vae.
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

    /// An operation that needs a 2-D latent space (the latent map).
    #[error("the latent map needs latent_dim = 2, the model has {0}")]
    LatentNot2d(usize),

    /// Too few data points for the request.
    #[error("{what}: need at least {need} data points, got {got}")]
    TooFewPoints {
        what: &'static str,
        need: usize,
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
