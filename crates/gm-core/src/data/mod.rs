//! Data sets: the IDX reader, the embedded MNIST subset, full MNIST from the Hub (feature
//! `hub`), 2-D Gaussian mixtures generated in code, and seeded mini-batches.

pub mod batches;
pub mod idx;
pub mod mnist;
pub mod toy;

use candle_core::{Device, Tensor};

use crate::{Error, Result};

pub use batches::BatchPlan;
pub use mnist::{load_mnist_dir, mnist_embedded, Mnist};
pub use toy::Mixture2d;

/// An in-memory data set: `n` items of shape `item_shape`, row-major f32, optional labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub item_shape: Vec<usize>,
    pub x: Vec<f32>,
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
    /// Builds a data set, checking that `x` holds a whole number of items and that the labels
    /// (if any) agree in count.
    pub fn new(
        name: impl Into<String>,
        item_shape: Vec<usize>,
        x: Vec<f32>,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        let name = name.into();
        let item: usize = item_shape.iter().product();
        if item == 0 || x.len() % item != 0 {
            return Err(Error::Msg(format!(
                "data set `{name}`: {} values do not make whole items of shape {item_shape:?}",
                x.len()
            )));
        }
        if let Some(l) = &labels {
            if l.len() != x.len() / item {
                return Err(Error::CountMismatch {
                    images: format!("{name} (items)"),
                    n_images: x.len() / item,
                    labels: format!("{name} (labels)"),
                    n_labels: l.len(),
                });
            }
        }
        Ok(Self {
            name,
            item_shape,
            x,
            labels,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.x.len() / self.item_size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per item.
    pub fn item_size(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// The items at `idx`, gathered into one batch.
    pub fn batch(&self, idx: &[usize], device: &Device) -> Result<Batch> {
        let d = self.item_size();
        let mut x = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            if i >= self.len() {
                return Err(Error::Msg(format!(
                    "data set `{}`: index {i} out of range ({} items)",
                    self.name,
                    self.len()
                )));
            }
            x.extend_from_slice(&self.x[i * d..(i + 1) * d]);
        }
        let mut shape = vec![idx.len()];
        shape.extend_from_slice(&self.item_shape);
        let labels = match &self.labels {
            Some(l) => {
                let v: Vec<u32> = idx.iter().map(|&i| l[i]).collect();
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
        let d = self.item_size();
        let a = Dataset::new(
            format!("{}[..{k}]", self.name),
            self.item_shape.clone(),
            self.x[..k * d].to_vec(),
            self.labels.as_ref().map(|l| l[..k].to_vec()),
        )?;
        let b = Dataset::new(
            format!("{}[{k}..]", self.name),
            self.item_shape.clone(),
            self.x[k * d..].to_vec(),
            self.labels.as_ref().map(|l| l[k..].to_vec()),
        )?;
        Ok((a, b))
    }
}

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
    }

    #[test]
    fn split_off_keeps_everything() {
        let ds = Dataset::new("t", vec![1], (0..10).map(|x| x as f32).collect(), None).unwrap();
        let (a, b) = ds.split_off(3).unwrap();
        assert_eq!((a.len(), b.len()), (7, 3));
        assert_eq!(b.x, vec![7., 8., 9.]);
    }
}
