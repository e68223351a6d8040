//! Folders of images in torchvision's ImageFolder layout: each sub-folder of the root is a
//! class (its images searched recursively), classes numbered in alphabetical order; a root
//! with no class folders holds unlabelled images. A root with `train/` and `test/` (or
//! `val/`) folders, each laid out so, gives the split.
//!
//! Decoding runs in two parallel passes: the headers first (sizes and colour, to choose the
//! channels and check the sizes before any pixel is stored), then the pixels, each image
//! decoded straight into its slot of one u8 buffer, so memory holds the data set once.
//! Hidden files, gm's `run.json` and files without an image extension are not read.

use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::{data_name, DataInfo, DataKind, Error, LoadOptions, Loaded, Result};

mod decoding;
mod folders;

use decoding::decode;
use folders::{scan, split_folders, Tree};

/// The extensions read as images (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "bmp", "webp"];

/// Whether `path` has an image extension.
pub fn is_image_path(path: &Path) -> bool {
    crate::extension(path).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// A file to decode: its path, its label and which split (0 train, 1 test) it belongs to.
struct Item {
    path: PathBuf,
    label: Option<u32>,
    split: u8,
}

/// Reads a folder of images (see the module documentation).
pub fn load_image_folder(root: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    let split_dirs = split_folders(root)?;
    let kind = if split_dirs.is_some() {
        DataKind::SplitFolders
    } else {
        DataKind::ImageFolder
    };
    let mut info = DataInfo::new(kind);
    let trees: Vec<(PathBuf, Tree)> = match &split_dirs {
        Some((train, test)) => vec![(train.clone(), scan(train)?), (test.clone(), scan(test)?)],
        None => vec![(root.to_path_buf(), scan(root)?)],
    };
    // Class names: the union over the splits, sorted.
    let mut names: Vec<String> = trees
        .iter()
        .flat_map(|(_, t)| t.classes.iter().map(|(n, _)| n.clone()))
        .collect();
    names.sort();
    names.dedup();
    let labelled = !names.is_empty();
    let mut items = Vec::new();
    for (split, (dir, tree)) in trees.iter().enumerate() {
        let split = split as u8;
        if labelled {
            if let Some(first) = tree.loose.first() {
                let why = "an image beside class folders has no class";
                if !opts.skip_bad {
                    return Err(Error::format(
                        dir,
                        format!(
                            "holds class folders ({}) and {} loose image(s) such as {}: {why}; \
                             move them into a class folder, or pass --skip-bad to skip them",
                            names.join(", "),
                            tree.loose.len(),
                            first.display()
                        ),
                    ));
                }
                info.skipped
                    .extend(tree.loose.iter().map(|p| (p.clone(), why.to_string())));
            }
            for (name, files) in &tree.classes {
                // `names` holds every class name, so the search finds it.
                let label = names.binary_search(name).unwrap_or(0) as u32;
                items.extend(files.iter().map(|p| Item {
                    path: p.clone(),
                    label: Some(label),
                    split,
                }));
            }
        } else {
            items.extend(tree.loose.iter().map(|p| Item {
                path: p.clone(),
                label: None,
                split,
            }));
        }
        if !tree.empty.is_empty() {
            info.notes.push(format!(
                "ignored {} folder(s) without images, such as {}",
                tree.empty.len(),
                tree.empty[0].display()
            ));
        }
        if !tree.ignored.is_empty() {
            info.notes.push(format!(
                "ignored {} file(s) that are not images by their extension, such as {}",
                tree.ignored.len(),
                tree.ignored[0].display()
            ));
        }
    }
    for (dir, _) in &trees {
        if !items.iter().any(|it| it.path.starts_with(dir)) {
            return Err(Error::Empty {
                path: dir.clone(),
                what: format!(
                    "no images found (looked for .{} files, in sub-folders too)",
                    IMAGE_EXTENSIONS.join(", .")
                ),
            });
        }
    }
    let paths: Vec<&Path> = items.iter().map(|it| it.path.as_path()).collect();
    let (array, kept) = decode(root, &paths, opts, &mut info)?;
    let labels: Option<Vec<u32>> =
        labelled.then(|| kept.iter().map(|&i| items[i].label.unwrap_or(0)).collect());
    info.channels = array.c;
    info.image_size = (array.h, array.w);
    if labelled {
        info.n_classes = names.len();
        info.class_names = names;
    }
    let name = data_name(root);
    let array = Array { labels, ..array };
    let (train, test) = match split_dirs {
        Some(_) => {
            let is_test: Vec<bool> = kept.iter().map(|&i| items[i].split == 1).collect();
            let ds = array.into_dataset(name.clone())?;
            let pick = |want: bool| -> Vec<usize> {
                (0..is_test.len()).filter(|&i| is_test[i] == want).collect()
            };
            let (tr, te) = (pick(false), pick(true));
            for (part, idx) in [(0usize, &tr), (1, &te)] {
                if idx.is_empty() {
                    return Err(Error::Empty {
                        path: trees[part].0.clone(),
                        what: "every image was skipped as unreadable".into(),
                    });
                }
            }
            (
                ds.subset(format!("{name}/train"), &tr)?,
                ds.subset(format!("{name}/test"), &te)?,
            )
        }
        None => array.split_holdout(&name, opts, root, &mut info)?,
    };
    Ok(Loaded { train, test, info })
}
