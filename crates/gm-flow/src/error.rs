//! Errors of gm-flow: one variant per bad configuration field or impossible request.

gm_core::model_error! {
    "gm-flow";
    /// A data-dependent initialisation asked of parameters that are not trainable variables
    /// (a model rebuilt from saved tensors is already initialised).
    #[error("{0}: data-dependent initialisation needs trainable variables")]
    NotTrainable(&'static str),

    /// A matrix that should be invertible is singular to working precision.
    #[error("{0}: the matrix is singular")]
    Singular(&'static str),
}
