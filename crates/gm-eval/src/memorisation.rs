//! Memorisation, as Theis et al. (2016) warn and every GAN report shows: each generated
//! sample beside its nearest training images in pixel space (squared Euclidean distance), so
//! a reader sees whether the model draws new images or copies its training set.

use std::path::Path;

use candle_core::Tensor;

use crate::distances::{for_each_distance_row, Points};
use crate::{Error, Result};

/// Rows per matrix product.
const BLOCK: usize = 128;

/// For each item of `samples`, the indices of its `k` nearest items of `train` (nearest
/// first) and their squared distances.
pub fn nearest_training_images(
    samples: &Tensor,
    train: &Tensor,
    k: usize,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let s = Points::new(samples, "samples")?;
    let t = Points::new(train, "training images")?;
    if k == 0 || k > t.len() {
        return Err(Error::TooFew {
            what: "training images for the nearest neighbours",
            needed: k.max(1),
            found: t.len(),
        });
    }
    let mut out = Vec::with_capacity(s.len());
    for_each_distance_row(&s, &t, BLOCK, |_, row| {
        let mut idx: Vec<(usize, f64)> = row.iter().copied().enumerate().collect();
        idx.select_nth_unstable_by(k - 1, |a, b| a.1.total_cmp(&b.1));
        idx.truncate(k);
        idx.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out.push(idx);
        Ok(())
    })?;
    Ok(out)
}

/// Writes a grid whose row `i` is `samples[i]` followed by its `k` nearest training images
/// (`(n, c, h, w)` in `[0, 1]`), and returns the neighbours.
pub fn save_nearest_neighbours(
    samples: &Tensor,
    train: &Tensor,
    k: usize,
    path: impl AsRef<Path>,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let nn = nearest_training_images(samples, train, k)?;
    let mut rows = Vec::with_capacity(nn.len() * (k + 1));
    for (i, row) in nn.iter().enumerate() {
        rows.push(samples.narrow(0, i, 1)?);
        for &(j, _) in row {
            rows.push(train.narrow(0, j, 1)?);
        }
    }
    let grid = Tensor::cat(&rows, 0)?;
    gm_core::viz::save_grid(&grid, k + 1, false, path)?;
    Ok(nn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn neighbours_are_sorted_and_a_copy_is_at_distance_zero() {
        let dev = Device::Cpu;
        let train = Tensor::new(&[[0.0f32, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], &dev)
            .unwrap()
            .reshape((4, 1, 1, 2))
            .unwrap();
        let samples = Tensor::new(&[[1.0f32, 0.0], [0.1, 1.5]], &dev)
            .unwrap()
            .reshape((2, 1, 1, 2))
            .unwrap();
        let nn = nearest_training_images(&samples, &train, 2).unwrap();
        assert_eq!(nn[0][0], (1, 0.0));
        assert_eq!(nn[0][1].0, 0);
        assert!((nn[0][1].1 - 1.0).abs() < 1e-12);
        // (0.1, 1.5): to (0, 2) 0.01 + 0.25, to (0, 0) 0.01 + 2.25.
        assert_eq!(nn[1][0].0, 2);
        assert!((nn[1][0].1 - 0.26).abs() < 1e-6);
        assert_eq!(nn[1][1].0, 0);
        assert!(nearest_training_images(&samples, &train, 5).is_err());
    }

    #[test]
    fn the_picture_has_one_row_per_sample() {
        let dev = Device::Cpu;
        let train = gm_core::GmRng::new(0)
            .uniform((10, 1, 4, 4), 0.0, 1.0, &dev)
            .unwrap();
        let samples = train.narrow(0, 3, 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nn.png");
        let nn = save_nearest_neighbours(&samples, &train, 3, &path).unwrap();
        assert_eq!(nn[0][0], (3, 0.0));
        assert_eq!(nn[1][0], (4, 0.0));
        let img = image::open(&path).unwrap();
        assert!(img.width() > img.height(), "2 rows of 4 images");
    }
}
