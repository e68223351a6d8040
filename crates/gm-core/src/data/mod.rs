//! Data sets: the IDX reader, the embedded MNIST subset, full MNIST from the Hub (feature
//! `hub`), 2-D Gaussian mixtures generated in code, and seeded mini-batches.
//!
//! A [`Dataset`] keeps its values as f32 or as u8 pixels: u8 storage takes a quarter of the
//! memory (200,000 images of 64x64x3 in 2.5 GB) and is mapped to f32 `v / 255` in `[0, 1]`
//! only when a batch is built.

pub mod batches;
pub mod idx;
pub mod mnist;
pub mod toy;

use candle_core::{Device, Tensor};

use crate::rng::GmRng;
use crate::{Error, Result};

pub use batches::BatchPlan;
pub use mnist::{load_mnist_dir, mnist_embedded, Mnist};
pub use toy::Mixture2d;

/// The values of a data set, row-major, item after item.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    F32(Vec<f32>),
    /// Pixels; value `v` stands for `v / 255`.
    U8(Vec<u8>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::U8(v) => v.len(),
        }
    }

    /// Appends the values `lo..hi` as f32 (the caller checks the range).
    fn extend_f32(&self, lo: usize, hi: usize, out: &mut Vec<f32>) {
        match self {
            Values::F32(v) => out.extend_from_slice(&v[lo..hi]),
            Values::U8(v) => out.extend(v[lo..hi].iter().map(|&b| f32::from(b) / 255.0)),
        }
    }

    /// The items at `idx` (each `d` values long, indices checked by the caller), in the same
    /// storage.
    fn gather(&self, idx: &[usize], d: usize) -> Values {
        fn pick<T: Copy>(v: &[T], idx: &[usize], d: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(idx.len() * d);
            for &i in idx {
                out.extend_from_slice(&v[i * d..(i + 1) * d]);
            }
            out
        }
        match self {
            Values::F32(v) => Values::F32(pick(v, idx, d)),
            Values::U8(v) => Values::U8(pick(v, idx, d)),
        }
    }
}

/// An in-memory data set: `n` items of shape `item_shape`, row-major, stored as f32 or as u8
/// pixels (read as `v / 255`), with optional labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The name used in messages and in a run's `config.json`, e.g. `mnist-10k/train`.
    pub name: String,
    /// The shape of one item, e.g. `[1, 28, 28]` for MNIST or `[2]` for 2-D points.
    pub item_shape: Vec<usize>,
    values: Values,
    /// One label per item, when the data set has them.
    pub labels: Option<Vec<u32>>,
}

/// A mini-batch on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Items, shape `(batch, item_shape...)`.
    pub x: Tensor,
    /// Labels as u32, shape `(batch,)`, when the data set has them.
    pub labels: Option<Tensor>,
}

impl Dataset {
    /// Builds a data set of f32 values, checking that `x` holds a whole number of items and
    /// that the labels (if any) agree in count.
    pub fn new(
        name: impl Into<String>,
        item_shape: Vec<usize>,
        x: Vec<f32>,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        Self::checked(name.into(), item_shape, Values::F32(x), labels)
    }

    /// Builds a data set of u8 pixels, read as `v / 255` in `[0, 1]` when a batch is built;
    /// the same checks as [`Dataset::new`].
    pub fn from_u8(
        name: impl Into<String>,
        item_shape: Vec<usize>,
        x: Vec<u8>,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        Self::checked(name.into(), item_shape, Values::U8(x), labels)
    }

    fn checked(
        name: String,
        item_shape: Vec<usize>,
        values: Values,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        let item: usize = item_shape.iter().product();
        if item == 0 || !values.len().is_multiple_of(item) {
            return Err(Error::Msg(format!(
                "data set `{name}`: {} values do not make whole items of shape {item_shape:?}",
                values.len()
            )));
        }
        if let Some(l) = &labels {
            if l.len() != values.len() / item {
                return Err(Error::CountMismatch {
                    images: format!("{name} (items)"),
                    n_images: values.len() / item,
                    labels: format!("{name} (labels)"),
                    n_labels: l.len(),
                });
            }
        }
        Ok(Self {
            name,
            item_shape,
            values,
            labels,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.item_size()).unwrap_or(0)
    }

    /// Whether the data set has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per item.
    pub fn item_size(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// Whether the values are stored as u8 pixels (else f32).
    pub fn is_u8(&self) -> bool {
        matches!(self.values, Values::U8(_))
    }

    /// The stored u8 pixels, row-major, when the data set keeps u8.
    pub fn u8_values(&self) -> Option<&[u8]> {
        match &self.values {
            Values::U8(v) => Some(v),
            Values::F32(_) => None,
        }
    }

    /// The stored f32 values, row-major, when the data set keeps f32.
    pub fn f32_values(&self) -> Option<&[f32]> {
        match &self.values {
            Values::F32(v) => Some(v),
            Values::U8(_) => None,
        }
    }

    /// Bytes the values take in memory (labels not counted).
    pub fn value_bytes(&self) -> usize {
        match &self.values {
            Values::F32(v) => 4 * v.len(),
            Values::U8(v) => v.len(),
        }
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i >= self.len() {
            return Err(Error::Msg(format!(
                "data set `{}`: index {i} out of range ({} items)",
                self.name,
                self.len()
            )));
        }
        Ok(())
    }

    /// The values of item `i` as f32 (u8 pixels as `v / 255`), row-major.
    pub fn item(&self, i: usize) -> Result<Vec<f32>> {
        self.check_index(i)?;
        let d = self.item_size();
        let mut out = Vec::with_capacity(d);
        self.values.extend_f32(i * d, (i + 1) * d, &mut out);
        Ok(out)
    }

    /// The label of item `i`, when the data set has labels.
    pub fn label(&self, i: usize) -> Result<Option<u32>> {
        self.check_index(i)?;
        match &self.labels {
            None => Ok(None),
            Some(l) => l
                .get(i)
                .copied()
                .map(Some)
                .ok_or_else(|| self.labels_short()),
        }
    }

    fn labels_short(&self) -> Error {
        Error::CountMismatch {
            images: format!("{} (items)", self.name),
            n_images: self.len(),
            labels: format!("{} (labels)", self.name),
            n_labels: self.labels.as_ref().map_or(0, Vec::len),
        }
    }

    /// The items at `idx`, gathered into one batch of f32 (u8 pixels as `v / 255`).
    pub fn batch(&self, idx: &[usize], device: &Device) -> Result<Batch> {
        let d = self.item_size();
        let mut x = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            self.check_index(i)?;
            self.values.extend_f32(i * d, (i + 1) * d, &mut x);
        }
        let mut shape = vec![idx.len()];
        shape.extend_from_slice(&self.item_shape);
        let labels = match &self.labels {
            Some(l) => {
                let v = idx
                    .iter()
                    .map(|&i| l.get(i).copied())
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| self.labels_short())?;
                Some(Tensor::from_vec(v, idx.len(), device)?)
            }
            None => None,
        };
        Ok(Batch {
            x: Tensor::from_vec(x, shape, device)?,
            labels,
        })
    }

    /// The first `n` items (or all) as one batch.
    pub fn head(&self, n: usize, device: &Device) -> Result<Batch> {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.batch(&idx, device)
    }

    /// The items at `idx`, in that order, as a new data set `name` with the same storage
    /// (u8 stays u8) and their labels.
    pub fn subset(&self, name: impl Into<String>, idx: &[usize]) -> Result<Dataset> {
        for &i in idx {
            self.check_index(i)?;
        }
        let labels = match &self.labels {
            Some(l) => Some(
                idx.iter()
                    .map(|&i| l.get(i).copied())
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| self.labels_short())?,
            ),
            None => None,
        };
        Self::checked(
            name.into(),
            self.item_shape.clone(),
            self.values.gather(idx, self.item_size()),
            labels,
        )
    }

    /// Splits off the last `n` items as a second data set (e.g. a validation split).
    pub fn split_off(&self, n: usize) -> Result<(Dataset, Dataset)> {
        if n > self.len() {
            return Err(Error::Msg(format!(
                "data set `{}`: cannot split off {n} of {} items",
                self.name,
                self.len()
            )));
        }
        let k = self.len() - n;
        let head: Vec<usize> = (0..k).collect();
        let tail: Vec<usize> = (k..self.len()).collect();
        Ok((
            self.subset(format!("{}[..{k}]", self.name), &head)?,
            self.subset(format!("{}[{k}..]", self.name), &tail)?,
        ))
    }

    /// Holds out `n_holdout` items drawn by a permutation seeded with `seed`: the same seed
    /// gives the same split. Both parts keep the items' original order. Returns
    /// `(train, holdout)`.
    pub fn split_seeded(&self, n_holdout: usize, seed: u64) -> Result<(Dataset, Dataset)> {
        if n_holdout > self.len() {
            return Err(Error::Msg(format!(
                "data set `{}`: cannot hold out {n_holdout} of {} items",
                self.name,
                self.len()
            )));
        }
        // A stream of its own, so the split does not share draws with the batch order.
        let perm = GmRng::derive(seed, SPLIT_STREAM).permutation(self.len());
        let mut holdout = perm[..n_holdout].to_vec();
        let mut train = perm[n_holdout..].to_vec();
        holdout.sort_unstable();
        train.sort_unstable();
        Ok((
            self.subset(format!("{}/train", self.name), &train)?,
            self.subset(format!("{}/holdout", self.name), &holdout)?,
        ))
    }
}

/// The [`GmRng::derive`] stream of [`Dataset::split_seeded`].
const SPLIT_STREAM: u64 = 0x5_1117;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_gathers_rows_and_labels() {
        let ds = Dataset::new(
            "t",
            vec![2],
            vec![0., 1., 2., 3., 4., 5.],
            Some(vec![7, 8, 9]),
        )
        .unwrap();
        let b = ds.batch(&[2, 0], &Device::Cpu).unwrap();
        assert_eq!(
            b.x.to_vec2::<f32>().unwrap(),
            vec![vec![4., 5.], vec![0., 1.]]
        );
        assert_eq!(b.labels.unwrap().to_vec1::<u32>().unwrap(), vec![9, 7]);
        assert!(ds.batch(&[3], &Device::Cpu).is_err());
    }

    #[test]
    fn label_count_must_agree() {
        let e = Dataset::new("t", vec![2], vec![0.; 6], Some(vec![1, 2])).unwrap_err();
        assert!(
            matches!(
                e,
                Error::CountMismatch {
                    n_images: 3,
                    n_labels: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(Dataset::new("t", vec![4], vec![0.; 6], None).is_err());
        assert!(Dataset::from_u8("t", vec![4], vec![0; 6], None).is_err());
        assert!(Dataset::from_u8("t", vec![2], vec![0; 6], Some(vec![1])).is_err());
    }

    #[test]
    fn split_off_keeps_everything() {
        let ds = Dataset::new("t", vec![1], (0..10).map(|x| x as f32).collect(), None).unwrap();
        let (a, b) = ds.split_off(3).unwrap();
        assert_eq!((a.len(), b.len()), (7, 3));
        let tail: Vec<f32> = (0..3).flat_map(|i| b.item(i).unwrap()).collect();
        assert_eq!(tail, vec![7., 8., 9.]);
        assert!(ds.split_off(11).is_err());
    }

    #[test]
    fn u8_storage_gives_the_f32_batch() {
        let px: Vec<u8> = (0..24).map(|i| (i * 11) as u8).collect();
        let f: Vec<f32> = px.iter().map(|&b| b as f32 / 255.0).collect();
        let labels = Some(vec![3, 1, 4]);
        let a = Dataset::from_u8("a", vec![2, 2, 2], px, labels.clone()).unwrap();
        let b = Dataset::new("b", vec![2, 2, 2], f, labels).unwrap();
        assert!(a.is_u8() && !b.is_u8());
        assert_eq!(a.u8_values().map(<[u8]>::len), Some(24));
        assert!(a.f32_values().is_none() && b.u8_values().is_none());
        assert_eq!(b.f32_values().map(|v| v[1]), Some(11.0 / 255.0));
        assert_eq!((a.len(), a.value_bytes(), b.value_bytes()), (3, 24, 96));
        let (ba, bb) = (
            a.batch(&[2, 0, 2], &Device::Cpu).unwrap(),
            b.batch(&[2, 0, 2], &Device::Cpu).unwrap(),
        );
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&ba.x), flat(&bb.x));
        assert_eq!(ba.x.dims(), &[3, 2, 2, 2]);
        assert_eq!(
            ba.labels.unwrap().to_vec1::<u32>().unwrap(),
            bb.labels.unwrap().to_vec1::<u32>().unwrap()
        );
        assert_eq!(a.item(1).unwrap(), b.item(1).unwrap());
        assert_eq!(a.item(2).unwrap()[7], 253.0 / 255.0);
        assert_eq!(a.label(0).unwrap(), Some(3));
        assert!(a.item(3).is_err() && a.label(3).is_err());
        let (head, tail) = a.split_off(1).unwrap();
        assert!(head.is_u8() && tail.is_u8());
        assert_eq!(tail.item(0).unwrap(), b.item(2).unwrap());
    }

    #[test]
    fn seeded_split_is_a_partition_fixed_by_the_seed() {
        let ds =
            Dataset::from_u8("t", vec![1], (0..50).collect(), Some((0..50).collect())).unwrap();
        let (tr, ho) = ds.split_seeded(10, 7).unwrap();
        assert_eq!((tr.len(), ho.len()), (40, 10));
        assert!(tr.is_u8() && ho.is_u8());
        let labels = |d: &Dataset| d.labels.clone().unwrap();
        let mut all = [labels(&tr), labels(&ho)].concat();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<u32>>());
        // The values travel with their labels.
        for i in 0..ho.len() {
            assert_eq!(
                ho.item(i).unwrap()[0],
                ho.label(i).unwrap().unwrap() as f32 / 255.0
            );
        }
        let (tr2, ho2) = ds.split_seeded(10, 7).unwrap();
        assert_eq!((labels(&tr), labels(&ho)), (labels(&tr2), labels(&ho2)));
        let (_, ho3) = ds.split_seeded(10, 8).unwrap();
        // Two seeds pick the same 10 of 50 with probability 1 / C(50, 10) ~ 1e-10.
        assert_ne!(labels(&ho), labels(&ho3));
        // The holdout keeps the original order and is not simply the tail.
        assert!(labels(&ho).windows(2).all(|w| w[0] < w[1]));
        assert_ne!(labels(&ho), (40..50).collect::<Vec<u32>>());
        assert!(ds.split_seeded(51, 7).is_err());
    }
}
