//! Errors of gm-gan: one variant per bad configuration field or impossible request.

gm_core::model_error! {
    "gm-gan";
    /// An error raised by gm-divergence, e.g. an invalid f-divergence parameter.
    #[error("{0}")]
    Divergence(#[from] gm_divergence::Error),

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

/// Maps a gm-gan error into gm-core's, for the [`gm_core::Trainer`] methods.
pub(crate) fn to_core(e: Error) -> gm_core::Error {
    e.into()
}
