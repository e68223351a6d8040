//! The error type of gm-core: every failure names the file, field or value at fault.

use std::path::PathBuf;

/// Errors raised by gm-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of candle, the tensor library (a shape mismatch, a device failure, ...).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// A failed read or write of a file or folder.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An IDX file whose magic number is not the one expected (not IDX, or the wrong kind:
    /// labels where images were expected, or the reverse).
    #[error("{path}: not an IDX file: magic number {found:#010x}, expected {expected:#010x}")]
    IdxMagic {
        /// The file (or the name given to its bytes).
        path: String,
        /// The magic number the file starts with.
        found: u32,
        /// The magic number expected, e.g. [`crate::data::idx::IMAGES_MAGIC`].
        expected: u32,
    },

    /// An IDX file shorter than its header says (after gunzipping).
    #[error("{path}: truncated IDX data: header promises {expected} bytes, file holds {found}")]
    IdxTruncated {
        /// The file (or the name given to its bytes).
        path: String,
        /// The length in bytes the header implies, header included.
        expected: usize,
        /// The length in bytes the file holds.
        found: usize,
    },

    /// An IDX file that breaks its format otherwise: a corrupt gzip stream, dimensions that
    /// overflow, trailing bytes, or dimensions or labels that MNIST cannot have.
    #[error("{path}: {message}")]
    IdxFormat {
        /// The file (or the name given to its bytes).
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// A set of items and its labels of different lengths.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The file or data set holding the items.
        images: String,
        /// The number of items it holds.
        n_images: usize,
        /// The file or data set holding the labels.
        labels: String,
        /// The number of labels it holds.
        n_labels: usize,
    },

    /// A configuration value outside its range.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    Config {
        /// The name of the field (or option) at fault.
        field: &'static str,
        /// The value it was given, as text.
        value: String,
        /// Why the value is refused, e.g. `"must be at least 1"`.
        reason: &'static str,
    },

    /// A checkpoint written by another model than the one resuming from it.
    #[error("{path}: checkpoint belongs to model `{found}`, expected `{expected}`")]
    CheckpointModel {
        /// The checkpoint file.
        path: PathBuf,
        /// The model name stored in the checkpoint.
        found: String,
        /// The model name of the trainer resuming.
        expected: String,
    },

    /// A checkpoint that cannot be read back: missing or malformed entries, or a state the
    /// trainer refuses.
    #[error("{path}: invalid checkpoint: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A non-finite (NaN or infinite) metric or weight after a training step: training stops
    /// without overwriting the last checkpoint.
    #[error("training diverged at step {step}: {what} is not finite; the last good checkpoint is left as it was")]
    NonFinite {
        /// The step, counted from 1, after which the value was found.
        step: u64,
        /// The value at fault: a named metric with its value, or a named weight.
        what: String,
    },

    /// A file whose contents break its format (e.g. a run's metric table that is not valid
    /// JSON).
    #[error("{path}: {message}")]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// An error of the safetensors format, as its message.
    #[error("safetensors: {0}")]
    SafeTensors(String),

    /// Any other failure, described by its message.
    #[error("{0}")]
    Msg(String),

    /// A buffer or tensor with the wrong number of values.
    #[error("{what}: {got} values, expected {expected}")]
    Size {
        /// What holds the values (e.g. the host gradient of a named tensor).
        what: String,
        /// The number of values given.
        got: usize,
        /// The number of values expected.
        expected: usize,
    },

    /// An error of a model crate (gm-gan, gm-vae, gm-flow, ...) raised inside a trainer and
    /// carried through [`crate::fit`] as a value: match it with
    /// `Error::Model(e) if e.downcast_ref::<gm_gan::Error>().is_some()`.
    #[error(transparent)]
    Model(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Result with gm-core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a model crate's error (see [`Error::Model`]).
    pub fn model(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Model(Box::new(e))
    }
}

impl From<safetensors::SafeTensorError> for Error {
    fn from(e: safetensors::SafeTensorError) -> Self {
        Error::SafeTensors(e.to_string())
    }
}
