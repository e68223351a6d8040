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

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader};
use rayon::prelude::*;

use crate::array::{Array, Pixels};
use crate::{data_name, progress_bar, DataInfo, DataKind, Error, LoadOptions, Loaded, Result};

/// The extensions read as images (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "bmp", "webp"];

/// Folders nested deeper than this are refused (a symbolic link loop, most likely).
const MAX_DEPTH: usize = 32;

/// Whether `path` has an image extension.
pub fn is_image_path(path: &Path) -> bool {
    crate::extension(path).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// One folder level: the image files below it and the class folders it holds.
#[derive(Debug, Default)]
struct Tree {
    /// Images directly in the root.
    loose: Vec<PathBuf>,
    /// `(class name, its images)`, sorted by name, classes with at least one image.
    classes: Vec<(String, Vec<PathBuf>)>,
    /// Sub-folders without any image.
    empty: Vec<PathBuf>,
    /// Files that are not images by their extension.
    ignored: Vec<PathBuf>,
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

fn scan(root: &Path) -> Result<Tree> {
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

/// `(train, test)` when `root` holds a `train/` folder and a `test/` (else `val/`) one.
fn split_folders(root: &Path) -> Result<Option<(PathBuf, PathBuf)>> {
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

/// Size and colour from an image's header.
#[derive(Debug, Clone, Copy)]
struct Header {
    w: u32,
    h: u32,
    colour: bool,
}

fn read_header(path: &Path) -> std::result::Result<Header, String> {
    let reader = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image in a format gm reads".into());
    }
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("has no pixels ({w}x{h})"));
    }
    Ok(Header {
        w,
        h,
        colour: decoder.color_type().has_color(),
    })
}

/// The centre square of `img`, resized to `s x s` when it is another size.
fn square(img: DynamicImage, s: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let side = w.min(h);
    let img = if w == h {
        img
    } else {
        img.crop_imm((w - side) / 2, (h - side) / 2, side, side)
    };
    if side == s {
        img
    } else {
        img.resize_exact(s, s, FilterType::Triangle)
    }
}

/// Decodes `path` into `slot` as `c` planes of `h x w` u8 (CHW).
fn decode_into(
    path: &Path,
    size: Option<u32>,
    c: usize,
    (h, w): (u32, u32),
    slot: &mut [u8],
) -> std::result::Result<(), String> {
    let img = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let img = match size {
        Some(s) => square(img, s),
        None => img,
    };
    if (img.width(), img.height()) != (w, h) {
        return Err(format!(
            "decodes to {}x{}, not the {w}x{h} its header gave",
            img.width(),
            img.height()
        ));
    }
    if c == 1 {
        slot.copy_from_slice(img.to_luma8().as_raw());
    } else {
        let rgb = img.to_rgb8();
        let hw = (h * w) as usize;
        for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
            slot[i] = px[0];
            slot[hw + i] = px[1];
            slot[2 * hw + i] = px[2];
        }
    }
    Ok(())
}

/// Files that failed: an error naming the first (in file order), or with `skip_bad` listed
/// in `info.skipped`.
fn reject(
    paths: &[&Path],
    failures: Vec<(usize, String)>,
    opts: &LoadOptions,
    info: &mut DataInfo,
) -> Result<()> {
    if let Some((i, reason)) = failures.first() {
        if !opts.skip_bad {
            return Err(Error::BadImage {
                path: paths[*i].to_path_buf(),
                reason: reason.clone(),
            });
        }
    }
    info.skipped.extend(
        failures
            .into_iter()
            .map(|(i, r)| (paths[i].to_path_buf(), r)),
    );
    Ok(())
}

/// Decodes `paths` into one u8 array `(n, c, h, w)`; returns it with the indices of the
/// files it holds (all of them unless `skip_bad` skipped some).
fn decode(
    root: &Path,
    paths: &[&Path],
    opts: &LoadOptions,
    info: &mut DataInfo,
) -> Result<(Array, Vec<usize>)> {
    let bar = progress_bar(paths.len(), "reading headers", opts.progress);
    let headers: Vec<std::result::Result<Header, String>> = paths
        .par_iter()
        .map(|p| {
            let h = read_header(p);
            bar.inc(1);
            h
        })
        .collect();
    bar.finish_and_clear();
    let mut ok: Vec<(usize, Header)> = Vec::with_capacity(paths.len());
    let mut failures = Vec::new();
    for (i, h) in headers.into_iter().enumerate() {
        match h {
            Ok(h) => ok.push((i, h)),
            Err(r) => failures.push((i, r)),
        }
    }
    reject(paths, failures, opts, info)?;
    let Some(&(first, first_h)) = ok.first() else {
        return Err(Error::Empty {
            path: root.to_path_buf(),
            what: format!(
                "every one of its {} image file(s) was unreadable and skipped",
                paths.len()
            ),
        });
    };
    let c = match opts.channels {
        Some(c) => c,
        None => choose_channels(&ok, paths[first], info),
    };
    let (h, w) = match opts.image_size {
        Some(s) => {
            info.notes.push(format!(
                "each image resized to {s}x{s}: the shorter side to {s}, then the centre crop"
            ));
            (s as u32, s as u32)
        }
        None => {
            if let Some(&(j, hj)) = ok
                .iter()
                .find(|(_, hj)| (hj.w, hj.h) != (first_h.w, first_h.h))
            {
                return Err(Error::MixedSizes {
                    first: paths[first].to_path_buf(),
                    first_w: first_h.w,
                    first_h: first_h.h,
                    second: paths[j].to_path_buf(),
                    second_w: hj.w,
                    second_h: hj.h,
                });
            }
            (first_h.h, first_h.w)
        }
    };
    let d = c * h as usize * w as usize;
    let total = d
        .checked_mul(ok.len())
        .ok_or_else(|| too_big(root, ok.len(), c, h, w))?;
    let mut pixels: Vec<u8> = Vec::new();
    pixels
        .try_reserve_exact(total)
        .map_err(|_| too_big(root, ok.len(), c, h, w))?;
    pixels.resize(total, 0);
    let size = opts.image_size.map(|s| s as u32);
    let bar = progress_bar(ok.len(), "decoding images", opts.progress);
    let results: Vec<std::result::Result<(), String>> = pixels
        .par_chunks_mut(d)
        .zip(ok.par_iter())
        .map(|(slot, &(i, _))| {
            let r = decode_into(paths[i], size, c, (h, w), slot);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut kept = Vec::with_capacity(ok.len());
    let mut failures = Vec::new();
    for (slot, r) in results.into_iter().enumerate() {
        match r {
            Ok(()) => {
                // Close the gaps the skipped files left.
                let to = kept.len();
                if to != slot {
                    pixels.copy_within(slot * d..(slot + 1) * d, to * d);
                }
                kept.push(ok[slot].0);
            }
            Err(reason) => failures.push((ok[slot].0, reason)),
        }
    }
    reject(paths, failures, opts, info)?;
    if kept.is_empty() {
        return Err(Error::Empty {
            path: root.to_path_buf(),
            what: format!(
                "every one of its {} image file(s) was unreadable and skipped",
                paths.len()
            ),
        });
    }
    pixels.truncate(kept.len() * d);
    let array = Array {
        pixels: Pixels::U8(pixels),
        n: kept.len(),
        c,
        h: h as usize,
        w: w as usize,
        labels: None,
    };
    Ok((array, kept))
}

fn too_big(root: &Path, n: usize, c: usize, h: u32, w: u32) -> Error {
    Error::format(
        root,
        format!(
            "{n} images of {c}x{h}x{w} do not fit in memory; pass --image-size N to make them \
             smaller"
        ),
    )
}

/// Grey (1) or colour (3) by the majority of the headers, the first image's on a tie; the
/// choice is noted.
fn choose_channels(ok: &[(usize, Header)], first: &Path, info: &mut DataInfo) -> usize {
    let n = ok.len();
    let colour = ok.iter().filter(|(_, h)| h.colour).count();
    let first_colour = ok.first().is_some_and(|(_, h)| h.colour);
    let c = if 2 * colour > n || (2 * colour == n && first_colour) {
        3
    } else {
        1
    };
    let why = if colour == 0 || colour == n {
        format!(
            "all {n} images are {}",
            if c == 3 { "in colour" } else { "grey" }
        )
    } else if 2 * colour == n {
        format!(
            "half the images are in colour and the first, {}, is {}",
            first.display(),
            if c == 3 { "in colour" } else { "grey" }
        )
    } else {
        format!("{colour} of {n} images are in colour")
    };
    info.notes.push(format!(
        "channels: {c} ({}), as {why}; pass --channels 1 or 3 to choose",
        if c == 3 {
            "RGB; an alpha channel is dropped"
        } else {
            "grey"
        }
    ));
    c
}
