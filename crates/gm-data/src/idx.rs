//! IDX files (LeCun et al.'s MNIST format) under any names, raw or gzip, read with gm-core's
//! reader ([`gm_core::data::idx`]).
//!
//! A single file holds images alone (magic `0x0803`, `(n, h, w)` u8), unlabelled. In a folder
//! every file is classified by its header: images (`0x0803`) or labels (`0x0801`, any u8
//! values). A name containing `train` puts a file in the training split, `t10k` or `test` in
//! the test split; within a split one images file is paired with at most one labels file.
//! Without a test split, a seeded fraction of the training images is held out.

use std::io::Read;
use std::path::{Path, PathBuf};

use gm_core::data::idx::{read_idx_file, IdxArray, IMAGES_MAGIC, LABELS_MAGIC};

use crate::array::{Array, Pixels};
use crate::{data_name, numbered_classes, DataInfo, DataKind, Error, LoadOptions, Loaded, Result};

/// The IDX magic number at the start of `path` (through gzip), if it is one of images or
/// labels.
fn sniff(path: &Path) -> Result<Option<u32>> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head).map_err(|e| Error::io(path, e))?;
    let magic = if n >= 2 && head[..2] == [0x1f, 0x8b] {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut gz = flate2::read::GzDecoder::new(f);
        let mut inner = [0u8; 4];
        // A gzip file that is not IDX inside (or is corrupt) is just not IDX here.
        match read_up_to(&mut gz, &mut inner) {
            Ok(4) => u32::from_be_bytes(inner),
            _ => return Ok(None),
        }
    } else if n == 4 {
        u32::from_be_bytes(head)
    } else {
        return Ok(None);
    };
    Ok([IMAGES_MAGIC, LABELS_MAGIC]
        .contains(&magic)
        .then_some(magic))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether `path` starts like an IDX file of images or labels.
pub fn is_idx_file(path: &Path) -> Result<bool> {
    Ok(sniff(path)?.is_some())
}

/// Whether the folder `dir` holds IDX files directly (image files are not opened).
pub fn holds_idx(dir: &Path) -> Result<bool> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if candidate(&path) && is_idx_file(&path)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A visible file without an image, JSON or tensor extension: possibly IDX.
fn candidate(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .is_none_or(|n| n.to_string_lossy().starts_with('.'));
    let other = crate::extension(path).is_some_and(|e| {
        crate::images::IMAGE_EXTENSIONS.contains(&e.as_str())
            || ["json", "safetensors", "npy", "md", "txt"].contains(&e.as_str())
    });
    !hidden && !other && path.is_file()
}

/// Reads a single IDX file of images, unlabelled.
pub fn load_idx_file(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    match sniff(path)? {
        Some(IMAGES_MAGIC) => {}
        Some(_) => {
            return Err(Error::format(
                path,
                "holds IDX labels, not images; pass the images file, or the folder that holds \
                 both",
            ))
        }
        None => return Err(Error::format(path, "is not an IDX file of images")),
    }
    let mut info = DataInfo::new(DataKind::Idx);
    let array = images_array(path, read_idx_file(path, IMAGES_MAGIC)?)?.reshape(opts, path)?;
    fill(&mut info, &array, &[]);
    let (train, test) = array.split_holdout(&data_name(path), opts, path, &mut info)?;
    Ok(Loaded { train, test, info })
}

/// One split's files.
#[derive(Debug, Default)]
struct Group {
    images: Vec<PathBuf>,
    labels: Vec<PathBuf>,
}

/// Reads a folder of IDX files (see the module documentation).
pub fn load_idx_folder(dir: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if candidate(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    // train, test, neither
    let mut groups: [Group; 3] = Default::default();
    for path in paths {
        let Some(magic) = sniff(&path)? else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let g = if name.contains("train") {
            0
        } else if name.contains("t10k") || name.contains("test") {
            1
        } else {
            2
        };
        if magic == IMAGES_MAGIC {
            groups[g].images.push(path);
        } else {
            groups[g].labels.push(path);
        }
    }
    let [train_g, test_g, other_g] = groups;
    let mut info = DataInfo::new(DataKind::Idx);
    let (train_g, test_g) = match (
        train_g.images.is_empty(),
        test_g.images.is_empty(),
        other_g.images.is_empty(),
    ) {
        (false, _, true) => (train_g, Some(test_g).filter(|g| !g.images.is_empty())),
        (true, true, false) => (other_g, None),
        (true, false, true) => {
            return Err(Error::format(
                &test_g.images[0],
                "holds test images, but no file named `train` holds training images beside it",
            ))
        }
        (true, true, true) => {
            return Err(Error::Empty {
                path: dir.to_path_buf(),
                what: "holds no IDX file of images (magic 0x00000803)".into(),
            })
        }
        _ => {
            return Err(Error::format(
                &other_g.images[0],
                "cannot tell whether these images are for training or testing: name the \
                 training files `train...` and the test files `test...` or `t10k...`",
            ))
        }
    };
    let train = read_group(&train_g, dir)?.reshape(opts, dir)?;
    let (train, test) = match test_g {
        Some(g) => {
            let test = read_group(&g, dir)?.reshape(opts, dir)?;
            if (test.c, test.h, test.w) != (train.c, train.h, train.w) {
                return Err(Error::format(
                    &g.images[0],
                    format!(
                        "test images are {}x{}x{}, training images {}x{}x{}; pass \
                         --image-size N to make them agree",
                        test.c, test.h, test.w, train.c, train.h, train.w
                    ),
                ));
            }
            if train.labels.is_some() != test.labels.is_some() {
                return Err(Error::format(
                    dir,
                    "one split has a labels file and the other has none",
                ));
            }
            let labels: Vec<&[u32]> = [&train.labels, &test.labels]
                .into_iter()
                .flatten()
                .map(Vec::as_slice)
                .collect();
            fill(&mut info, &train, &labels);
            let name = data_name(dir);
            (
                train.into_dataset(format!("{name}/train"))?,
                test.into_dataset(format!("{name}/test"))?,
            )
        }
        None => {
            let labels: Vec<&[u32]> = train.labels.iter().map(Vec::as_slice).collect();
            fill(&mut info, &train, &labels);
            train.split_holdout(&data_name(dir), opts, dir, &mut info)?
        }
    };
    Ok(Loaded { train, test, info })
}

/// Channels, size and classes of `array` into `info`.
fn fill(info: &mut DataInfo, array: &Array, labels: &[&[u32]]) {
    info.channels = array.c;
    info.image_size = (array.h, array.w);
    let (n, names) = numbered_classes(labels);
    info.n_classes = n;
    info.class_names = names;
}

/// The one images file of a group with its labels, if any.
fn read_group(g: &Group, dir: &Path) -> Result<Array> {
    let one = |files: &[PathBuf], what: &str| -> Result<Option<PathBuf>> {
        match files {
            [] => Ok(None),
            [f] => Ok(Some(f.clone())),
            [a, b, ..] => Err(Error::format(
                dir,
                format!(
                    "holds more than one {what} file for one split ({} and {}); keep one",
                    a.display(),
                    b.display()
                ),
            )),
        }
    };
    let Some(images_path) = one(&g.images, "IDX images")? else {
        return Err(Error::Empty {
            path: dir.to_path_buf(),
            what: "holds no IDX images for a split".into(),
        });
    };
    let mut array = images_array(&images_path, read_idx_file(&images_path, IMAGES_MAGIC)?)?;
    if let Some(labels_path) = one(&g.labels, "IDX labels")? {
        let labels = read_idx_file(&labels_path, LABELS_MAGIC)?;
        if labels.dims.len() != 1 {
            return Err(Error::format(
                &labels_path,
                format!("labels must have one dimension, found {:?}", labels.dims),
            ));
        }
        if labels.dims[0] != array.n {
            return Err(gm_core::Error::CountMismatch {
                images: images_path.display().to_string(),
                n_images: array.n,
                labels: labels_path.display().to_string(),
                n_labels: labels.dims[0],
            }
            .into());
        }
        array.labels = Some(labels.data.iter().map(|&b| u32::from(b)).collect());
    }
    Ok(array)
}

/// An IDX array of images `(n, h, w)` as one grey channel.
fn images_array(path: &Path, a: IdxArray) -> Result<Array> {
    let [n, h, w] = a.dims[..] else {
        return Err(Error::format(
            path,
            format!(
                "IDX images must have 3 dimensions (n, h, w), found {:?}",
                a.dims
            ),
        ));
    };
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!("holds no images (dimensions {:?})", a.dims),
        });
    }
    Ok(Array {
        pixels: Pixels::U8(a.data),
        n,
        c: 1,
        h,
        w,
        labels: None,
    })
}
