//! Seeded mini-batches. The order of epoch `e` depends only on `(seed, e)`, so a run resumed
//! at any step sees exactly the batches an uninterrupted run would have seen.

use crate::rng::GmRng;
use crate::{Error, Result};

/// How a data set of `n` items is cut into shuffled batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPlan {
    /// Number of items in the data set.
    pub n: usize,
    /// Items per batch (the last batch of an epoch may hold fewer unless `drop_last`).
    pub batch_size: usize,
    /// Seeds the order of every epoch.
    pub seed: u64,
    /// Drop the last incomplete batch of each epoch (the usual choice for GANs and BN).
    pub drop_last: bool,
}

impl BatchPlan {
    /// A plan for `n` items; a zero `batch_size`, an empty data set, or a batch larger than
    /// the data set with `drop_last` is an error.
    pub fn new(n: usize, batch_size: usize, seed: u64, drop_last: bool) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Config {
                field: "batch_size",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        if n == 0 || (drop_last && batch_size > n) {
            return Err(Error::Config {
                field: "batch_size",
                value: batch_size.to_string(),
                reason: "the data set has fewer items than one batch",
            });
        }
        Ok(Self {
            n,
            batch_size,
            seed,
            drop_last,
        })
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.n / self.batch_size
        } else {
            self.n.div_ceil(self.batch_size)
        }
    }

    /// The shuffled item order of `epoch`.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        GmRng::derive(self.seed, epoch.wrapping_add(1)).permutation(self.n)
    }

    /// The item indices of batch `k` of `epoch`.
    pub fn batch_indices(&self, epoch: u64, k: usize) -> Vec<usize> {
        let order = self.epoch_order(epoch);
        let lo = k * self.batch_size;
        let hi = (lo + self.batch_size).min(self.n);
        order[lo..hi].to_vec()
    }

    /// All batches of `epoch`.
    pub fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let order = self.epoch_order(epoch);
        (0..self.batches_per_epoch())
            .map(|k| {
                let lo = k * self.batch_size;
                order[lo..(lo + self.batch_size).min(self.n)].to_vec()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_the_data_and_differ() {
        let p = BatchPlan::new(10, 3, 1, false).unwrap();
        assert_eq!(p.batches_per_epoch(), 4);
        let e0: Vec<usize> = p.epoch(0).concat();
        let mut s = e0.clone();
        s.sort();
        assert_eq!(s, (0..10).collect::<Vec<_>>());
        assert_ne!(p.epoch(0), p.epoch(1));
        assert_eq!(p.batch_indices(1, 2), p.epoch(1)[2]);
        assert_eq!(
            BatchPlan::new(10, 3, 1, true).unwrap().batches_per_epoch(),
            3
        );
    }

    #[test]
    fn zero_batch_size_is_refused() {
        let e = BatchPlan::new(10, 0, 1, false).unwrap_err();
        assert!(e.to_string().contains("batch_size"));
        assert!(BatchPlan::new(2, 3, 1, true).is_err());
    }
}
