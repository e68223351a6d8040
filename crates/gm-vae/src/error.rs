//! Errors of gm-vae: one variant per bad configuration field or impossible request.

gm_core::model_error! {
    "gm-vae";
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
