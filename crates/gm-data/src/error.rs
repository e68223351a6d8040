//! The error type of gm-data: every failure names the file or folder at fault and, where
//! there is one, the flag that fixes it.

use std::path::PathBuf;

/// Errors raised while reading or writing a data set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file that should be an image and is not one, or is cut short.
    #[error("{path}: cannot read the image: {reason} (pass --skip-bad to skip such files)")]
    BadImage { path: PathBuf, reason: String },

    /// A folder with nothing to load.
    #[error("{path}: {what}")]
    Empty { path: PathBuf, what: String },

    /// Two images of different sizes without `--image-size`.
    #[error(
        "images differ in size: {first} is {first_w}x{first_h} but {second} is \
         {second_w}x{second_h}; pass --image-size N to resize the shorter side of each to N \
         and centre-crop it to NxN"
    )]
    MixedSizes {
        first: PathBuf,
        first_w: u32,
        first_h: u32,
        second: PathBuf,
        second_w: u32,
        second_h: u32,
    },

    /// A file whose contents break its format (IDX, .npy, .safetensors), or a data set this
    /// crate cannot use (wrong rank, ambiguous tensors, an unsupported dtype).
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    /// A load or generation option outside its range.
    #[error("invalid option: {field} = {value}: {reason}")]
    Option {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// Result with gm-data's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error about `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<Error> for gm_core::Error {
    /// gm's training code speaks gm-core's error; the message, file names included, stays.
    fn from(e: Error) -> Self {
        match e {
            Error::Core(e) => e,
            other => gm_core::Error::model(other),
        }
    }
}
