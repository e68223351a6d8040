//! The error type of gm-data: every failure names the file or folder at fault and, where
//! there is one, the flag that fixes it.

use std::path::PathBuf;

/// Errors raised while reading or writing a data set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of gm-core (e.g. from its IDX reader or from building a
    /// [`gm_core::data::Dataset`]).
    #[error(transparent)]
    Core(#[from] gm_core::Error),

    /// A failed read or write of a file or folder.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file that should be an image and is not one, or is cut short.
    #[error("{path}: cannot read the image: {reason} (pass --skip-bad to skip such files)")]
    BadImage {
        /// The image file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },

    /// A folder with nothing to load.
    #[error("{path}: {what}")]
    Empty {
        /// The folder (or file) concerned.
        path: PathBuf,
        /// What it lacks, e.g. that no image was found or every image was skipped.
        what: String,
    },

    /// Two images of different sizes without `--image-size`.
    #[error(
        "images differ in size: {first} is {first_w}x{first_h} but {second} is \
         {second_w}x{second_h}; pass --image-size N to resize the shorter side of each to N \
         and centre-crop it to NxN"
    )]
    MixedSizes {
        /// The first readable image, whose size the others must match.
        first: PathBuf,
        /// Its width in pixels.
        first_w: u32,
        /// Its height in pixels.
        first_h: u32,
        /// The first image of another size.
        second: PathBuf,
        /// Its width in pixels.
        second_w: u32,
        /// Its height in pixels.
        second_h: u32,
    },

    /// A file whose contents break its format (IDX, .npy, .safetensors), or a data set this
    /// crate cannot use (wrong rank, ambiguous tensors, an unsupported dtype).
    #[error("{path}: {message}")]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A load or generation option outside its range.
    #[error("invalid option: {field} = {value}: {reason}")]
    Option {
        /// The name of the option at fault, e.g. `"image_size"`.
        field: &'static str,
        /// The value it was given, as text.
        value: String,
        /// Why the value is refused, e.g. `"must be 1 (grey) or 3 (RGB)"`.
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
