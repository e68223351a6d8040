//! Evaluation settings, validated once: each bad value is its own error naming the field.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How generated pixels are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelRange {
    /// Pixels in `[0, 1]`, as the classifier and the data sets use.
    #[default]
    Unit,
    /// Pixels in `[-1, 1]` (tanh outputs), mapped to `(x + 1) / 2`.
    Signed,
}

/// Which 2-D mixture 2-D samples are scored against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixtureTarget {
    /// The ring of 8 or the grid of 25, whichever holds more high-quality samples.
    #[default]
    Auto,
    /// The ring of 8 Gaussians (radius 2, std 0.02).
    Ring8,
    /// The 5x5 grid of 25 Gaussians (spacing 2, std 0.05).
    Grid25,
}

/// The feature space of the image metrics (see [`crate::features`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSpace {
    /// The shipped MNIST classifier for 1x28x28 items, the seeded random conv network for
    /// any other image shape.
    #[default]
    Auto,
    /// The shipped MNIST classifier's 128-d penultimate features (1x28x28 items only).
    MnistClassifier,
    /// Raw pixels, average-pooled to at most `pixel_max_side` per side.
    Pixels,
    /// The conv network with random weights fixed by `random_conv_seed`.
    RandomConv,
    /// A conv network read from the safetensors file `feature_network`.
    Network,
    /// Inception-v3 pool3 features (pytorch-fid's FID variant, [`crate::inception`]) with
    /// the weights of the safetensors file `feature_network`: the Frechet distance is FID.
    Inception,
}

impl FeatureSpace {
    /// Whether the shipped MNIST classifier gives the features of items of `item` values.
    pub fn uses_mnist_classifier(self, item: usize) -> bool {
        match self {
            FeatureSpace::Auto => item == 28 * 28,
            FeatureSpace::MnistClassifier => true,
            _ => false,
        }
    }
}

/// Evaluation settings. The defaults follow the papers' protocols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Seeds the generator's latents and the KID subsets.
    pub seed: u64,
    /// Samples drawn from a generator (10,000: the Parzen protocol; 2,500 for 2-D mixtures
    /// is set by [`crate::modes::MODE_SAMPLES`] when the output is 2-D).
    pub n_samples: usize,
    /// Items per generator call and per classifier call.
    pub batch_size: usize,
    /// Splits of the classifier score (10).
    pub score_splits: usize,
    /// KID: number of subsets (100) and items per subset (1,000).
    pub kid_subsets: usize,
    /// Items per KID subset (1,000; at least 2, capped at the sizes of the two sets).
    pub kid_subset_size: usize,
    /// Neighbours of the precision/recall manifolds (3).
    pub pr_k: usize,
    /// Items of each set used by precision/recall and the 1-NN test (their cost is
    /// quadratic); the real set has 2,000 test digits.
    pub max_neighbour_points: usize,
    /// Run the Parzen-window protocol (the slowest metric).
    pub parzen: bool,
    /// Parzen bandwidth grid (`logspace(-1, 0, 10)`).
    pub parzen_sigmas: Vec<f64>,
    /// Training digits held out to choose the bandwidth (1,000, the last of the train split).
    pub parzen_validation: usize,
    /// A digit class counts as covered when it holds this fraction of its uniform share.
    pub label_min_share: f64,
    /// How the generated pixels are scaled (`[0, 1]` or `[-1, 1]`).
    pub pixel_range: PixelRange,
    /// The 2-D mixture that 2-D samples are scored against.
    pub mixture: MixtureTarget,
    /// Feature space of the image metrics; anything but the MNIST classifier compares the
    /// samples with a reference set (the test digits for 1x28x28 samples without one).
    pub features: FeatureSpace,
    /// Seed and width (a multiple of 4) of the random conv network's features.
    pub random_conv_seed: u64,
    /// Width of the random conv network's features (512).
    pub random_conv_dim: usize,
    /// Largest side of the pooled images of the pixel feature space (32).
    pub pixel_max_side: usize,
    /// The safetensors file of the `network` and `inception` feature spaces.
    pub feature_network: Option<PathBuf>,
    /// Side of the images the `inception` network sees (299, pytorch-fid's resize; at least
    /// 75; anything but 299 is for previews and tests and does not give FID).
    pub inception_input_size: usize,
    /// Directions of the sliced Wasserstein distance (128), seeded by `seed`.
    pub sliced_projections: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            n_samples: 10_000,
            batch_size: 500,
            score_splits: 10,
            kid_subsets: 100,
            kid_subset_size: 1_000,
            pr_k: 3,
            max_neighbour_points: 2_000,
            parzen: true,
            parzen_sigmas: crate::parzen::default_sigmas(),
            parzen_validation: 1_000,
            label_min_share: 0.1,
            pixel_range: PixelRange::Unit,
            mixture: MixtureTarget::Auto,
            features: FeatureSpace::Auto,
            random_conv_seed: 0,
            random_conv_dim: 512,
            pixel_max_side: 32,
            feature_network: None,
            inception_input_size: crate::inception::FID_INPUT_SIZE,
            sliced_projections: 128,
        }
    }
}

fn at_least(field: &'static str, v: usize, min: usize, reason: &'static str) -> Result<()> {
    if v < min {
        return Err(Error::Config {
            field,
            value: v.to_string(),
            reason,
        });
    }
    Ok(())
}

impl EvalConfig {
    /// A quick setting for tests and previews: 2,000 samples, 10 KID subsets, no Parzen.
    pub fn quick() -> Self {
        Self {
            n_samples: 2_000,
            kid_subsets: 10,
            parzen: false,
            ..Self::default()
        }
    }

    /// Checks every setting, returning [`Error::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        at_least("n_samples", self.n_samples, 1, "must be at least 1")?;
        at_least("batch_size", self.batch_size, 1, "must be at least 1")?;
        at_least("score_splits", self.score_splits, 1, "must be at least 1")?;
        at_least("kid_subsets", self.kid_subsets, 1, "must be at least 1")?;
        at_least(
            "kid_subset_size",
            self.kid_subset_size,
            2,
            "the unbiased estimator needs at least 2 items",
        )?;
        at_least("pr_k", self.pr_k, 1, "must be at least 1")?;
        at_least(
            "max_neighbour_points",
            self.max_neighbour_points,
            self.pr_k + 1,
            "needs more points than pr_k",
        )?;
        at_least(
            "parzen_validation",
            self.parzen_validation,
            1,
            "must be at least 1",
        )?;
        if self.parzen_validation >= 8_000 {
            return Err(Error::Config {
                field: "parzen_validation",
                value: self.parzen_validation.to_string(),
                reason: "must be below the 8,000 training digits",
            });
        }
        if self.parzen_sigmas.is_empty()
            || self
                .parzen_sigmas
                .iter()
                .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(Error::Config {
                field: "parzen_sigmas",
                value: format!("{:?}", self.parzen_sigmas),
                reason: "needs at least one bandwidth, each positive and finite",
            });
        }
        if !(0.0..=1.0).contains(&self.label_min_share) {
            return Err(Error::Config {
                field: "label_min_share",
                value: self.label_min_share.to_string(),
                reason: "must lie in [0, 1]",
            });
        }
        if self.random_conv_dim < 4 || !self.random_conv_dim.is_multiple_of(4) {
            return Err(Error::Config {
                field: "random_conv_dim",
                value: self.random_conv_dim.to_string(),
                reason: "must be a positive multiple of 4 (channels x 2x2 grid)",
            });
        }
        at_least(
            "pixel_max_side",
            self.pixel_max_side,
            1,
            "must be at least 1",
        )?;
        at_least(
            "sliced_projections",
            self.sliced_projections,
            1,
            "must be at least 1",
        )?;
        let needs_file = matches!(
            self.features,
            FeatureSpace::Network | FeatureSpace::Inception
        );
        if needs_file && self.feature_network.is_none() {
            return Err(Error::Config {
                field: "feature_network",
                value: "none".into(),
                reason: "must name a safetensors file when features = network or inception",
            });
        }
        at_least(
            "inception_input_size",
            self.inception_input_size,
            crate::inception::MIN_INPUT_SIZE,
            "must be at least 75, the smallest input Inception-v3's stride-2 layers accept",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(c: EvalConfig) -> &'static str {
        match c.validate().unwrap_err() {
            Error::Config { field, .. } => field,
            e => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        EvalConfig::default().validate().unwrap();
        EvalConfig::quick().validate().unwrap();
        let c = EvalConfig::default();
        let s = serde_json::to_string(&c).unwrap();
        let mut back: EvalConfig = serde_json::from_str(&s).unwrap();
        // serde_json's default float parsing may differ in the last bit.
        for (a, b) in back.parzen_sigmas.iter().zip(&c.parzen_sigmas) {
            assert!((a - b).abs() < 1e-15);
        }
        back.parzen_sigmas = c.parzen_sigmas.clone();
        assert_eq!(back, c);
        let partial: EvalConfig = serde_json::from_str(r#"{"seed": 4}"#).unwrap();
        assert_eq!(partial.seed, 4);
        assert_eq!(partial.kid_subsets, 100);
        assert_eq!(partial.features, FeatureSpace::Auto);
        let net: EvalConfig =
            serde_json::from_str(r#"{"features": "network", "feature_network": "f.safetensors"}"#)
                .unwrap();
        assert_eq!(net.features, FeatureSpace::Network);
        net.validate().unwrap();
        let inc: EvalConfig = serde_json::from_str(
            r#"{"features": "inception", "feature_network": "pt_inception.safetensors"}"#,
        )
        .unwrap();
        assert_eq!(inc.features, FeatureSpace::Inception);
        assert_eq!(inc.inception_input_size, 299);
        inc.validate().unwrap();
        assert!(!FeatureSpace::Inception.uses_mnist_classifier(784));
    }

    #[test]
    fn each_bad_field_is_named() {
        let d = EvalConfig::default;
        assert_eq!(
            field_of(EvalConfig {
                n_samples: 0,
                ..d()
            }),
            "n_samples"
        );
        assert_eq!(
            field_of(EvalConfig {
                batch_size: 0,
                ..d()
            }),
            "batch_size"
        );
        assert_eq!(
            field_of(EvalConfig {
                score_splits: 0,
                ..d()
            }),
            "score_splits"
        );
        assert_eq!(
            field_of(EvalConfig {
                kid_subsets: 0,
                ..d()
            }),
            "kid_subsets"
        );
        assert_eq!(
            field_of(EvalConfig {
                kid_subset_size: 1,
                ..d()
            }),
            "kid_subset_size"
        );
        assert_eq!(field_of(EvalConfig { pr_k: 0, ..d() }), "pr_k");
        assert_eq!(
            field_of(EvalConfig {
                max_neighbour_points: 3,
                ..d()
            }),
            "max_neighbour_points"
        );
        assert_eq!(
            field_of(EvalConfig {
                parzen_validation: 0,
                ..d()
            }),
            "parzen_validation"
        );
        assert_eq!(
            field_of(EvalConfig {
                parzen_validation: 8_000,
                ..d()
            }),
            "parzen_validation"
        );
        assert_eq!(
            field_of(EvalConfig {
                parzen_sigmas: vec![],
                ..d()
            }),
            "parzen_sigmas"
        );
        assert_eq!(
            field_of(EvalConfig {
                parzen_sigmas: vec![0.1, -1.0],
                ..d()
            }),
            "parzen_sigmas"
        );
        assert_eq!(
            field_of(EvalConfig {
                label_min_share: 2.0,
                ..d()
            }),
            "label_min_share"
        );
        for dim in [0, 6] {
            assert_eq!(
                field_of(EvalConfig {
                    random_conv_dim: dim,
                    ..d()
                }),
                "random_conv_dim"
            );
        }
        assert_eq!(
            field_of(EvalConfig {
                pixel_max_side: 0,
                ..d()
            }),
            "pixel_max_side"
        );
        assert_eq!(
            field_of(EvalConfig {
                sliced_projections: 0,
                ..d()
            }),
            "sliced_projections"
        );
        for features in [FeatureSpace::Network, FeatureSpace::Inception] {
            assert_eq!(field_of(EvalConfig { features, ..d() }), "feature_network");
        }
        assert_eq!(
            field_of(EvalConfig {
                inception_input_size: 74,
                ..d()
            }),
            "inception_input_size"
        );
    }
}
