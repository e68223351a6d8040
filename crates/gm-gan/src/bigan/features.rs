//! Judging learned features: 1-nearest-neighbour accuracy (section 4.2 of the paper).

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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
/// label (1-nearest-neighbour classification).
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
            got: vec![m, d_test],
            expected: vec![m, d],
        });
    }
    if train_labels.len() != n || test_labels.len() != m {
        return Err(Error::Shape {
            what: "labels (train, test)",
            got: vec![train_labels.len(), test_labels.len()],
            expected: vec![n, m],
        });
    }
    if n == 0 || m == 0 {
        return Err(Error::config(
            "features",
            format!("{n} train, {m} test"),
            "1-NN needs at least one train and one test item",
        ));
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
