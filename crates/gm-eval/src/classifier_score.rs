//! The classifier score, the Inception score of Salimans et al. 2016 ("Improved techniques
//! for training GANs") with the shipped MNIST classifier in place of Inception:
//!
//! `CS = exp(E_x KL(p(y|x) || p(y)))`, `p(y) = E_x p(y|x)`,
//!
//! computed on each of `splits` equal consecutive parts of the samples (10 in the paper),
//! reported as the mean and the standard deviation over the parts. It lies in `[1, 10]`:
//! 10 for confident predictions spread evenly over the classes, 1 for a single class or for
//! uninformative predictions. Also here: the predicted-label histogram (mode coverage over
//! the 10 digit classes).

use candle_core::Tensor;
use gm_core::ToHostF64;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Mean and spread of the classifier score over the splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierScore {
    /// Mean of the classifier score over the splits, in `[1, classes]`.
    pub mean: f64,
    /// Population standard deviation over the splits, as in the reference implementation.
    pub std: f64,
    /// Number of equal consecutive parts the samples were split into.
    pub splits: usize,
}

/// Row-wise softmax of logits `(n, k)`, in f64.
pub(crate) fn softmax_rows(logits: &Tensor) -> Result<(usize, usize, Vec<f64>)> {
    let (n, k) = logits.dims2().map_err(|_| Error::Shape {
        what: "logits",
        expected: "(n, classes)",
        found: logits.dims().to_vec(),
    })?;
    let mut p = logits.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?;
    for row in p.chunks_mut(k.max(1)) {
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !mx.is_finite() {
            return Err(Error::InvalidInput {
                what: "logits",
                reason: "non-finite logit".into(),
            });
        }
        let mut s = 0.0;
        for v in row.iter_mut() {
            *v = (*v - mx).exp();
            s += *v;
        }
        for v in row.iter_mut() {
            *v /= s;
        }
    }
    Ok((n, k, p))
}

/// `exp(mean_x KL(p(y|x) || p(y)))` of the class probabilities `p: (n, k)` row-major.
fn score_of(p: &[f64], k: usize) -> f64 {
    let n = p.len() / k;
    let mut py = vec![0.0; k];
    for row in p.chunks(k) {
        for (a, b) in py.iter_mut().zip(row) {
            *a += b / n as f64;
        }
    }
    let mut kl = 0.0;
    for row in p.chunks(k) {
        for (pi, qi) in row.iter().zip(&py) {
            if *pi > 0.0 {
                kl += pi * (pi.ln() - qi.ln());
            }
        }
    }
    (kl / n as f64).exp()
}

/// The classifier score of logits `(n, k)` over `splits` consecutive parts.
pub fn classifier_score(logits: &Tensor, splits: usize) -> Result<ClassifierScore> {
    if splits == 0 {
        return Err(Error::Config {
            field: "splits",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    let (n, k, p) = softmax_rows(logits)?;
    if n < splits {
        return Err(Error::TooFew {
            what: "classifier score (one item per split)",
            needed: splits,
            found: n,
        });
    }
    let scores: Vec<f64> = (0..splits)
        .map(|s| {
            let (lo, hi) = (s * n / splits, (s + 1) * n / splits);
            score_of(&p[lo * k..hi * k], k)
        })
        .collect();
    let mean = scores.iter().sum::<f64>() / splits as f64;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / splits as f64;
    Ok(ClassifierScore {
        mean,
        std: var.sqrt(),
        splits,
    })
}

/// Histogram of predicted labels: how many of the classes a generator produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelHistogram {
    /// Samples per predicted class.
    pub counts: Vec<usize>,
    /// Classes holding at least `min_share / classes` of the samples.
    pub covered: usize,
    /// Number of classes, the length of `counts`.
    pub classes: usize,
    /// A class counts as covered when it holds at least this fraction of its uniform share;
    /// a threshold above zero keeps the classifier's few errors from counting as modes.
    pub min_share: f64,
    /// `KL(histogram || uniform) = sum_c q_c log(q_c classes)`: 0 for balanced classes,
    /// `log(classes)` for a single class.
    pub kl_to_uniform: f64,
}

/// The label histogram of predicted labels in `0..classes`.
pub fn label_histogram(labels: &[u32], classes: usize, min_share: f64) -> Result<LabelHistogram> {
    if classes == 0 {
        return Err(Error::Config {
            field: "classes",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    if !(0.0..=1.0).contains(&min_share) {
        return Err(Error::Config {
            field: "min_share",
            value: min_share.to_string(),
            reason: "must lie in [0, 1]",
        });
    }
    if labels.is_empty() {
        return Err(Error::TooFew {
            what: "label histogram",
            needed: 1,
            found: 0,
        });
    }
    let mut counts = vec![0usize; classes];
    for &l in labels {
        let c = counts
            .get_mut(l as usize)
            .ok_or_else(|| Error::InvalidInput {
                what: "labels",
                reason: format!("label {l} outside 0..{classes}"),
            })?;
        *c += 1;
    }
    let n = labels.len() as f64;
    let threshold = min_share * n / classes as f64;
    let covered = counts
        .iter()
        .filter(|&&c| c > 0 && c as f64 >= threshold)
        .count();
    Ok(LabelHistogram {
        kl_to_uniform: kl_to_uniform(&counts),
        counts,
        covered,
        classes,
        min_share,
    })
}

/// `sum_c q_c log(q_c K)` for the histogram `counts` normalised to `q`; `None`-free: an
/// all-zero histogram gives NaN, which callers avoid.
pub(crate) fn kl_to_uniform(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let k = counts.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let q = c as f64 / total as f64;
            q * (q * k).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::Device;

    #[test]
    fn confident_balanced_predictions_score_the_class_count() {
        // One-hot predictions spread evenly over 10 classes: KL(p(y|x) || p(y)) = log 10.
        let n = 100;
        let mut v = vec![-1e4f32; n * 10];
        for i in 0..n {
            v[i * 10 + i % 10] = 0.0;
        }
        let l = Tensor::from_vec(v, (n, 10), &Device::Cpu).unwrap();
        let s = classifier_score(&l, 10).unwrap();
        assert!((s.mean - 10.0).abs() < 1e-9 && s.std < 1e-9, "{s:?}");
        // All one class: score 1.
        let l = Tensor::zeros((n, 10), DType::F32, &Device::Cpu).unwrap();
        let s = classifier_score(&l, 10).unwrap();
        assert!((s.mean - 1.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn hand_computed_two_class_score() {
        // p(y|x1) = (0.9, 0.1), p(y|x2) = (0.2, 0.8): p(y) = (0.55, 0.45);
        // mean KL = 0.5 [0.9 ln(0.9/0.55) + 0.1 ln(0.1/0.45) + 0.2 ln(0.2/0.55) + 0.8 ln(0.8/0.45)].
        let logit = |p: f64| [p.ln() as f32, (1.0 - p).ln() as f32];
        let v: Vec<f32> = [logit(0.9), logit(0.2)].concat();
        let l = Tensor::from_vec(v, (2, 2), &Device::Cpu).unwrap();
        let kl = 0.5
            * (0.9 * (0.9f64 / 0.55).ln()
                + 0.1 * (0.1f64 / 0.45).ln()
                + 0.2 * (0.2f64 / 0.55).ln()
                + 0.8 * (0.8f64 / 0.45).ln());
        let s = classifier_score(&l, 1).unwrap();
        assert!(
            (s.mean - kl.exp()).abs() < 1e-6,
            "{} vs {}",
            s.mean,
            kl.exp()
        );
    }

    #[test]
    fn splits_are_validated() {
        let l = Tensor::zeros((5, 10), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(
            classifier_score(&l, 0).unwrap_err(),
            Error::Config {
                field: "splits",
                ..
            }
        ));
        assert!(matches!(
            classifier_score(&l, 10).unwrap_err(),
            Error::TooFew { .. }
        ));
    }

    #[test]
    fn histogram_counts_and_coverage() {
        let mut labels = vec![3u32; 991];
        labels.extend([5u32; 9]);
        let h = label_histogram(&labels, 10, 0.1).unwrap();
        assert_eq!(h.counts[3], 991);
        assert_eq!(
            h.covered, 1,
            "9 of 1000 is below 10 % of the uniform share 100"
        );
        assert_eq!(label_histogram(&labels, 10, 0.0).unwrap().covered, 2);
        let all: Vec<u32> = (0..1000).map(|i| i % 10).collect();
        let h = label_histogram(&all, 10, 0.1).unwrap();
        assert_eq!(h.covered, 10);
        assert!(h.kl_to_uniform.abs() < 1e-12);
        let one = label_histogram(&[7, 7, 7], 10, 0.1).unwrap();
        assert!((one.kl_to_uniform - 10f64.ln()).abs() < 1e-12);
        assert!(label_histogram(&[10], 10, 0.1).is_err());
        assert!(label_histogram(&[1], 10, 1.5).is_err());
    }
}
