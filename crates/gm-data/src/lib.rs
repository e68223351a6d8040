//! gm-data: train gm's models on your own data.
//!
//! [`load`] reads a path into a train and a test [`Dataset`] (u8 pixels in memory, f32 in
//! `[0, 1]` per batch) and a [`DataInfo`] that says what it found:
//!
//! - a **folder of images** (PNG, JPEG, GIF, BMP, WebP; searched recursively) in torchvision's
//!   ImageFolder layout: each sub-folder of the root is a class, classes numbered in
//!   alphabetical order; a folder with no sub-folders holds unlabelled images
//!   ([`images`]);
//! - a folder with **`train/` and `test/`** (or `val/`) sub-folders, each laid out as above,
//!   used as the split;
//! - **IDX** files under any names, one file of images alone or a folder where images and
//!   labels are paired by their headers ([`idx`]);
//! - a **`.safetensors`** or **`.npy`** array of u8 or f32, `(n, h, w)`, `(n, c, h, w)` or
//!   `(n, h, w, c)` ([`tensors`]).
//!
//! A data set without a split of its own is split by [`Dataset::split_seeded`]: a fraction
//! [`LoadOptions::holdout`] (at least one item) is held out as the test set, the same seed
//! giving the same split. [`LoadOptions::image_size`] resizes the shorter side of every image
//! to N and centre-crops it to NxN; [`LoadOptions::channels`] converts to grey (luma,
//! ITU-R BT.709 weights) or to RGB (grey replicated); an alpha channel is dropped.
//!
//! [`shapes::write_shapes_folder`] writes a seeded folder of coloured shapes to try it on.
//!
//! ```no_run
//! use gm_data::{load, LoadOptions};
//!
//! let opts = LoadOptions { image_size: Some(64), ..LoadOptions::default() };
//! let data = load(std::path::Path::new("photos"), &opts)?;
//! println!("{}", data.summary());
//! # Ok::<(), gm_data::Error>(())
//! ```
#![warn(missing_docs)]

mod array;
#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod idx;
pub mod images;
pub mod shapes;
pub mod tensors;

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[cfg(feature = "cli")]
pub use cli::DataArgs;
pub use error::{Error, Result};
pub use gm_core::data::Dataset;
pub use shapes::write_shapes_folder;

/// How [`load`] reads and reshapes a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Resize the shorter side of each image to N and centre-crop it to NxN (Triangle
    /// filter). Without it, every image must have the same size.
    pub image_size: Option<usize>,
    /// 1 (grey) or 3 (RGB). Without it, a folder of images takes the channels of most of its
    /// images (the first image's on a tie) and an array keeps its own.
    pub channels: Option<usize>,
    /// Skip unreadable, truncated and non-image files (listed in [`DataInfo::skipped`])
    /// instead of stopping at the first.
    pub skip_bad: bool,
    /// The fraction held out as the test set when the data has no split of its own (at
    /// least one item), in `[0, 1)`.
    pub holdout: f64,
    /// Seeds the held-out split.
    pub seed: u64,
    /// Show a progress bar while decoding (only on a terminal).
    pub progress: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            image_size: None,
            channels: None,
            skip_bad: false,
            holdout: 0.1,
            seed: 0,
            progress: false,
        }
    }
}

impl LoadOptions {
    /// Checks every option; each bad one is its own error naming the flag.
    pub fn validate(&self) -> Result<()> {
        if let Some(s) = self.image_size {
            if s == 0 || s > MAX_IMAGE_SIZE {
                return Err(Error::Option {
                    field: "image_size",
                    value: s.to_string(),
                    reason: "must be between 1 and 16384",
                });
            }
        }
        if let Some(c) = self.channels {
            if c != 1 && c != 3 {
                return Err(Error::Option {
                    field: "channels",
                    value: c.to_string(),
                    reason: "must be 1 (grey) or 3 (RGB)",
                });
            }
        }
        if !(self.holdout.is_finite() && (0.0..1.0).contains(&self.holdout)) {
            return Err(Error::Option {
                field: "holdout",
                value: self.holdout.to_string(),
                reason: "must be a fraction in [0, 1)",
            });
        }
        Ok(())
    }
}

/// The largest `--image-size` accepted (an image of 16384x16384x3 is 768 MiB).
const MAX_IMAGE_SIZE: usize = 16384;

/// What kind of source a data set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataKind {
    /// The MNIST digits compiled into gm.
    Embedded,
    /// A folder of images, split by the seeded holdout.
    ImageFolder,
    /// A folder with `train/` and `test/` (or `val/`) folders of images.
    SplitFolders,
    /// IDX files.
    Idx,
    /// A `.safetensors` file.
    Safetensors,
    /// A `.npy` file.
    Npy,
}

impl fmt::Display for DataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataKind::Embedded => "embedded MNIST digits",
            DataKind::ImageFolder => "image folder",
            DataKind::SplitFolders => "image folders train/ and test/",
            DataKind::Idx => "IDX",
            DataKind::Safetensors => "safetensors",
            DataKind::Npy => "npy",
        })
    }
}

/// What [`load`] found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct DataInfo {
    /// What kind of source the data set came from.
    pub kind: DataKind,
    /// Channels of every item (items are `(channels, h, w)`).
    pub channels: usize,
    /// `(h, w)` of every item.
    pub image_size: (usize, usize),
    /// Number of classes (labels run over `0..n_classes`); 0 when unlabelled.
    pub n_classes: usize,
    /// The name of each class: its folder's name, or the label's value.
    pub class_names: Vec<String>,
    /// Files left out with `skip_bad`, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// What was decided on the user's behalf (channels chosen, files ignored, the split).
    pub notes: Vec<String>,
}

impl DataInfo {
    fn new(kind: DataKind) -> Self {
        Self {
            kind,
            channels: 0,
            image_size: (0, 0),
            n_classes: 0,
            class_names: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A loaded data set: the train and test splits and what was found.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The training split.
    pub train: Dataset,
    /// The test split: the data's own, or the items held out by [`LoadOptions::holdout`].
    pub test: Dataset,
    /// What was found and decided while loading.
    pub info: DataInfo,
}

impl Loaded {
    /// A few lines for the user: kind, shape, classes, split, skipped files and notes.
    pub fn summary(&self) -> String {
        let i = &self.info;
        let (h, w) = i.image_size;
        let mut s = format!(
            "{}: {} train + {} test items of {}x{}x{} ({})",
            i.kind,
            self.train.len(),
            self.test.len(),
            i.channels,
            h,
            w,
            if self.train.is_u8() {
                "u8 pixels"
            } else {
                "f32 values"
            }
        );
        if i.n_classes == 0 {
            s.push_str(", unlabelled");
        } else {
            let mut names = i.class_names.iter().take(10).cloned().collect::<Vec<_>>();
            if i.class_names.len() > 10 {
                names.push("...".into());
            }
            s.push_str(&format!(
                ", {} ({})",
                plural(i.n_classes, "class", "classes"),
                names.join(", ")
            ));
        }
        if !i.skipped.is_empty() {
            s.push_str(&format!(
                "\n{} skipped:",
                plural(i.skipped.len(), "file", "files")
            ));
            for (p, why) in i.skipped.iter().take(5) {
                s.push_str(&format!("\n  {}: {why}", p.display()));
            }
            if i.skipped.len() > 5 {
                s.push_str("\n  ...");
            }
        }
        for n in &i.notes {
            s.push_str(&format!("\n{n}"));
        }
        s
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Reads the data set at `path` (see the crate documentation for what it may be).
///
/// ```
/// use gm_data::{load, write_shapes_folder, DataKind, LoadOptions};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tmp = tempfile::tempdir()?;
/// let dir = tmp.path().join("shapes");
/// // 30 PNGs of 16x16 coloured shapes in three class folders, drawn from seed 7.
/// write_shapes_folder(&dir, 30, 16, 7)?;
/// let data = load(&dir, &LoadOptions::default())?;
/// assert_eq!(data.info.kind, DataKind::ImageFolder);
/// assert_eq!(data.info.class_names, ["circle", "square", "triangle"]);
/// // No split of its own: a tenth is held out as the test set.
/// assert_eq!((data.train.len(), data.test.len()), (27, 3));
/// assert_eq!(data.train.item_shape, vec![3, 16, 16]);
/// # Ok(())
/// # }
/// ```
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        if idx::holds_idx(path)? {
            return idx::load_idx_folder(path, opts);
        }
        return images::load_image_folder(path, opts);
    }
    match extension(path).as_deref() {
        Some("safetensors") => tensors::load_safetensors(path, opts),
        Some("npy") => tensors::load_npy(path, opts),
        Some(e) if images::IMAGE_EXTENSIONS.contains(&e) => Err(Error::format(
            path,
            "is a single image; pass the folder that holds the images",
        )),
        _ if idx::is_idx_file(path)? => idx::load_idx_file(path, opts),
        _ => Err(Error::format(
            path,
            "is not a data set gm can read: expected a folder of images, IDX files, a \
             .safetensors or a .npy file",
        )),
    }
}

/// The lower-case extension of `path`.
pub(crate) fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// The name a data set takes from its path: the folder's or file's name without extension.
pub(crate) fn data_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "data".into())
}

/// A progress bar on stderr, hidden unless asked for and stderr is a terminal.
pub(crate) fn progress_bar(
    len: usize,
    message: &'static str,
    show: bool,
) -> indicatif::ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {wide_bar} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}]",
    ) {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar
}

/// Labels and class names for labels given as numbers: classes `0..=max`, named by value.
pub(crate) fn numbered_classes(labels: &[&[u32]]) -> (usize, Vec<String>) {
    match labels.iter().flat_map(|l| l.iter()).max() {
        None => (0, Vec::new()),
        Some(&m) => {
            let n = m as usize + 1;
            (n, (0..n).map(|k| k.to_string()).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_size_cannot_be_zero() {
        let o = LoadOptions {
            image_size: Some(0),
            ..LoadOptions::default()
        };
        let e = o.validate().unwrap_err();
        assert!(e.to_string().contains("image_size"), "{e}");
    }

    #[test]
    fn channels_must_be_one_or_three() {
        for c in [0, 2, 4] {
            let o = LoadOptions {
                channels: Some(c),
                ..LoadOptions::default()
            };
            let e = o.validate().unwrap_err();
            assert!(e.to_string().contains("channels"), "{e}");
        }
        for c in [1, 3] {
            let o = LoadOptions {
                channels: Some(c),
                ..LoadOptions::default()
            };
            o.validate().unwrap();
        }
    }

    #[test]
    fn holdout_must_be_a_fraction_below_one() {
        for h in [-0.1, 1.0, f64::NAN, f64::INFINITY] {
            let o = LoadOptions {
                holdout: h,
                ..LoadOptions::default()
            };
            let e = o.validate().unwrap_err();
            assert!(e.to_string().contains("holdout"), "{e}");
        }
        LoadOptions {
            holdout: 0.0,
            ..LoadOptions::default()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn a_missing_path_is_named() {
        let e = load(Path::new("/no/such/data"), &LoadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("/no/such/data"), "{e}");
    }
}
