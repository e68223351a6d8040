//! The folder walk: the visible entries of each folder, the images below each class folder
//! (searched recursively), the loose images, empty folders and other files of a root, and
//! the `train/` and `test/` (or `val/`) folders of a split.

use std::path::{Path, PathBuf};

use super::is_image_path;
use crate::{Error, Result};

/// Folders nested deeper than this are refused (a symbolic link loop, most likely).
const MAX_DEPTH: usize = 32;

/// One folder level: the image files below it and the class folders it holds.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// Images directly in the root.
    pub(super) loose: Vec<PathBuf>,
    /// `(class name, its images)`, sorted by name, classes with at least one image.
    pub(super) classes: Vec<(String, Vec<PathBuf>)>,
    /// Sub-folders without any image.
    pub(super) empty: Vec<PathBuf>,
    /// Files that are not images by their extension.
    pub(super) ignored: Vec<PathBuf>,
}

/// The visible entries of `dir`, sorted by name, as `(path, is_folder)`.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symbolic links.
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        out.push((path, meta.is_dir()));
    }
    out.sort();
    Ok(out)
}

/// Collects the images below `dir`, recursively, in sorted order.
fn collect(
    dir: &Path,
    depth: usize,
    images: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::format(
            dir,
            format!("folders nest deeper than {MAX_DEPTH} levels (a symbolic link loop?)"),
        ));
    }
    for (path, is_dir) in entries(dir)? {
        if is_dir {
            collect(&path, depth + 1, images, ignored)?;
        } else if is_image_path(&path) {
            images.push(path);
        } else {
            ignored.push(path);
        }
    }
    Ok(())
}

pub(super) fn scan(root: &Path) -> Result<Tree> {
    let mut tree = Tree::default();
    for (path, is_dir) in entries(root)? {
        if is_dir {
            let mut images = Vec::new();
            collect(&path, 1, &mut images, &mut tree.ignored)?;
            if images.is_empty() {
                tree.empty.push(path);
            } else {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                tree.classes.push((name, images));
            }
        } else if is_image_path(&path) {
            tree.loose.push(path);
        } else if path.file_name().and_then(|n| n.to_str()) != Some(gm_core::run::RUN_MARKER) {
            tree.ignored.push(path);
        }
    }
    Ok(tree)
}

/// `(train, test)` when `root` holds a `train/` folder and a `test/` (else `val/`) one.
pub(super) fn split_folders(root: &Path) -> Result<Option<(PathBuf, PathBuf)>> {
    let train = root.join("train");
    if !train.is_dir() {
        return Ok(None);
    }
    for test in ["test", "val"] {
        let test = root.join(test);
        if test.is_dir() {
            return Ok(Some((train, test)));
        }
    }
    Ok(None)
}
