//! Errors of gm-autoregressive: one variant per bad configuration field or impossible request.

use std::path::PathBuf;

gm_core::model_error! {
    "gm-autoregressive";
    /// A mask index outside the model's pool.
    #[error("mask {index} does not exist: the model has {pool} masks")]
    NoSuchMask {
        /// The index asked for.
        index: usize,
        /// The number of masks in the pool.
        pool: usize,
    },

    /// A saved model that cannot be read back.
    #[error("{path}: {message}")]
    Saved {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// This error as gm-core's, for the [`gm_core::Trainer`] and [`gm_core::Generator`] impls.
    pub(crate) fn into_core(self) -> gm_core::Error {
        self.into()
    }
}
