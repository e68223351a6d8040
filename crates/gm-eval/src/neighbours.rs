//! Nearest-neighbour metrics on features.
//!
//! Precision and recall for generative models (Kynkaanniemi et al. 2019, "Improved precision
//! and recall metric for assessing generative models"): each set approximates its manifold
//! by the union of balls around its points, each ball reaching the point's k-th nearest
//! neighbour in the same set (k = 3). Precision is the fraction of generated points inside
//! the real manifold, recall the fraction of real points inside the generated manifold:
//!
//! `precision = mean_j 1[exists i: ||g_j - r_i|| <= NN_k(r_i)]`, recall likewise swapped.
//!
//! The 1-nearest-neighbour two-sample test (Lopez-Paz & Oquab 2017; Xu et al. 2018, "An
//! empirical study on evaluation metrics of GANs"): label the union of `n` real and `n`
//! generated points, classify each by its nearest other point (leave-one-out), report the
//! accuracy. 0.5 means the sets are indistinguishable; 1 means fully separated. Accuracy
//! well below 0.5 signals memorisation of the real points.
//!
//! 1-nearest-neighbour classification of labelled features ([`nearest_neighbour_accuracy`]),
//! the test BiGAN's encoder features are judged by.

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use crate::distances::{for_each_distance_row, Points};
use crate::{Error, Result};

/// Rows per matrix product.
const BLOCK: usize = 256;

/// Improved precision and recall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Fraction of generated points inside the real manifold, in `[0, 1]`.
    pub precision: f64,
    /// Fraction of real points inside the generated manifold, in `[0, 1]`.
    pub recall: f64,
    /// The neighbour whose distance sets each ball's radius.
    pub k: usize,
    /// Number of real points.
    pub n_real: usize,
    /// Number of generated points.
    pub n_fake: usize,
}

/// Leave-one-out 1-NN two-sample accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneNnAccuracy {
    /// Over all `2n` points; 0.5 is ideal.
    pub accuracy: f64,
    /// Over the real points only.
    pub real_accuracy: f64,
    /// Over the generated points only.
    pub fake_accuracy: f64,
    /// Number of points in each of the two sets.
    pub n_per_set: usize,
}

/// Squared distance of every point to its k-th nearest other point of the same set.
fn knn_radii2(p: &Points, k: usize) -> Result<Vec<f64>> {
    if p.len() <= k {
        return Err(Error::TooFew {
            what: "k-nearest-neighbour radii (k + 1 points)",
            needed: k + 1,
            found: p.len(),
        });
    }
    let mut out = vec![0.0; p.len()];
    let mut others = Vec::with_capacity(p.len());
    for_each_distance_row(p, p, BLOCK, |i, row| {
        others.clear();
        others.extend(
            row.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, d)| *d),
        );
        let (_, kth, _) = others.select_nth_unstable_by(k - 1, |a, b| a.total_cmp(b));
        out[i] = *kth;
        Ok(())
    })?;
    Ok(out)
}

/// Fraction of `query` points inside at least one ball `||q - c_i||^2 <= radii2[i]`.
fn coverage(query: &Points, centres: &Points, radii2: &[f64]) -> Result<f64> {
    let mut inside = 0usize;
    for_each_distance_row(query, centres, BLOCK, |_, row| {
        if row.iter().zip(radii2).any(|(d, r)| d <= r) {
            inside += 1;
        }
        Ok(())
    })?;
    Ok(inside as f64 / query.len() as f64)
}

/// Improved precision and recall of `fake` against `real` (features `(n, d)`), `k >= 1`.
pub fn precision_recall(real: &Tensor, fake: &Tensor, k: usize) -> Result<PrecisionRecall> {
    if k == 0 {
        return Err(Error::Config {
            field: "pr_k",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    let r = Points::new(real, "real features")?;
    let f = Points::new(fake, "generated features")?;
    let rr = knn_radii2(&r, k)?;
    let fr = knn_radii2(&f, k)?;
    Ok(PrecisionRecall {
        precision: coverage(&f, &r, &rr)?,
        recall: coverage(&r, &f, &fr)?,
        k,
        n_real: r.len(),
        n_fake: f.len(),
    })
}

/// Leave-one-out 1-NN accuracy on equally sized `real` and `fake` sets `(n, d)`. Ties go to
/// the lower index (real before generated), so the result is deterministic.
pub fn one_nn_accuracy(real: &Tensor, fake: &Tensor) -> Result<OneNnAccuracy> {
    let n = real.dim(0)?;
    if fake.dim(0)? != n {
        return Err(Error::InvalidInput {
            what: "one_nn_accuracy",
            reason: format!(
                "needs equally many real and generated points, got {n} and {}",
                fake.dim(0)?
            ),
        });
    }
    if n < 1 {
        return Err(Error::TooFew {
            what: "one_nn_accuracy",
            needed: 1,
            found: 0,
        });
    }
    let all = Tensor::cat(&[&real.flatten_from(1)?, &fake.flatten_from(1)?], 0)?;
    let p = Points::new(&all, "1-NN points")?;
    let (mut real_ok, mut fake_ok) = (0usize, 0usize);
    for_each_distance_row(&p, &p, BLOCK, |i, row| {
        let mut best = (f64::INFINITY, usize::MAX);
        for (j, &d) in row.iter().enumerate() {
            if j != i && d < best.0 {
                best = (d, j);
            }
        }
        let (is_real, nn_real) = (i < n, best.1 < n);
        if is_real == nn_real {
            if is_real {
                real_ok += 1;
            } else {
                fake_ok += 1;
            }
        }
        Ok(())
    })?;
    let nf = n as f64;
    Ok(OneNnAccuracy {
        accuracy: (real_ok + fake_ok) as f64 / (2.0 * nf),
        real_accuracy: real_ok as f64 / nf,
        fake_accuracy: fake_ok as f64 / nf,
        n_per_set: n,
    })
}

/// How [`nearest_neighbour_accuracy`] compares feature vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    /// `1 - <a, b> / (|a| |b|)`.
    Cosine,
    /// `|a - b|`, the metric of the BiGAN reference code's 1-NN evaluation.
    Euclidean,
}

/// The fraction of `test` rows `(m, d)` whose nearest `train` row `(n, d)` carries the same
/// label: 1-nearest-neighbour classification, the feature test of BiGAN (Donahue et al.
/// 2017, section 4.2).
pub fn nearest_neighbour_accuracy(
    train: &Tensor,
    train_labels: &[u32],
    test: &Tensor,
    test_labels: &[u32],
    distance: Distance,
) -> Result<f64> {
    let (n, d) = train.dims2()?;
    let (m, d_test) = test.dims2()?;
    if d_test != d {
        return Err(Error::Shape {
            what: "test features",
            expected: "(m, d) with the train features' d",
            found: vec![m, d_test],
        });
    }
    if train_labels.len() != n || test_labels.len() != m {
        return Err(Error::InvalidInput {
            what: "labels",
            reason: format!(
                "{} train and {} test labels for {n} train and {m} test rows",
                train_labels.len(),
                test_labels.len()
            ),
        });
    }
    if n == 0 || m == 0 {
        return Err(Error::TooFew {
            what: "1-NN train and test items",
            needed: 1,
            found: n.min(m),
        });
    }
    // Both distances reduce to a score to maximise over train rows: the cosine similarity,
    // or 2 <a, b> - |b|^2 (|a|^2 is the same for every b).
    let unit = |t: &Tensor| -> Result<Tensor> {
        let norm = (t.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
        Ok(t.broadcast_div(&norm)?)
    };
    let (train, bias) = match distance {
        Distance::Cosine => (unit(train)?, None),
        Distance::Euclidean => (train.clone(), Some(train.sqr()?.sum(1)?.unsqueeze(0)?)),
    };
    let train_t = train.t()?.contiguous()?;
    let mut hits = 0usize;
    for lo in (0..m).step_by(500) {
        let len = 500.min(m - lo);
        let a = test.narrow(0, lo, len)?;
        let score = match &bias {
            None => unit(&a)?.matmul(&train_t)?,
            Some(b) => a.matmul(&train_t)?.affine(2.0, 0.0)?.broadcast_sub(b)?,
        };
        let nearest = score.argmax(D::Minus1)?.to_vec1::<u32>()?;
        hits += nearest
            .iter()
            .zip(&test_labels[lo..lo + len])
            .filter(|(&j, &y)| train_labels[j as usize] == y)
            .count();
    }
    Ok(hits as f64 / m as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use gm_core::GmRng;

    #[test]
    fn a_set_against_itself_has_precision_and_recall_one() {
        let x = GmRng::new(1)
            .normal((300, 5), 0.0, 1.0, &Device::Cpu)
            .unwrap();
        let pr = precision_recall(&x, &x, 3).unwrap();
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));
    }

    #[test]
    fn hand_computed_precision_and_recall() {
        // Real points 0, 1, 2, 3 with k = 1: every radius is 1. Fake points 0.5, 10, 11:
        // only 0.5 lies within 1 of a real point, so precision = 1/3. Fake radii: 9.5 (0.5 to
        // 10), 1, 1; every real point lies within 9.5 of 0.5, so recall = 1.
        let dev = Device::Cpu;
        let real = Tensor::new(&[[0f32], [1.0], [2.0], [3.0]], &dev).unwrap();
        let fake = Tensor::new(&[[0.5f32], [10.0], [11.0]], &dev).unwrap();
        let pr = precision_recall(&real, &fake, 1).unwrap();
        assert!((pr.precision - 1.0 / 3.0).abs() < 1e-12, "{pr:?}");
        assert_eq!(pr.recall, 1.0);
    }

    #[test]
    fn one_nn_separates_far_sets_and_not_equal_ones() {
        let dev = Device::Cpu;
        let x = GmRng::new(2).normal((200, 4), 0.0, 1.0, &dev).unwrap();
        let far = (GmRng::new(3).normal((200, 4), 0.0, 1.0, &dev).unwrap() + 50.0).unwrap();
        assert_eq!(one_nn_accuracy(&x, &far).unwrap().accuracy, 1.0);
        // Two samples of one distribution: the accuracy of 400 leave-one-out decisions is
        // 0.5 in expectation, standard error about sqrt(0.25 / 400) = 0.025; 5 sigma.
        let y = GmRng::new(4).normal((200, 4), 0.0, 1.0, &dev).unwrap();
        let a = one_nn_accuracy(&x, &y).unwrap();
        assert!((a.accuracy - 0.5).abs() < 0.125, "{a:?}");
        assert!(one_nn_accuracy(&x, &far.narrow(0, 0, 10).unwrap()).is_err());
        assert!(precision_recall(&x, &y, 0).is_err());
    }
}
