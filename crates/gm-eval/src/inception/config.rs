//! The settings of the Inception feature extractor and the constants of the FID protocol:
//! the input side pytorch-fid uses, the smallest side the network accepts, the prefix of the
//! extractor's name in reports and the BatchNorm epsilon.

use crate::{Error, Result};

/// Side of the images pytorch-fid feeds the network.
pub const FID_INPUT_SIZE: usize = 299;

/// The smallest input side the stride-2 layers accept (Mixed_7a then yields a 1x1 map).
pub const MIN_INPUT_SIZE: usize = 75;

/// Prefix of the extractor's name in reports: `inception-v3-fid(file, 2048-d pool3, ...)`.
pub const INCEPTION_FEATURES: &str = "inception-v3-fid";

/// BatchNorm epsilon of torchvision's `BasicConv2d`.
pub(super) const BN_EPS: f64 = 1e-3;

/// Settings of the Inception feature extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InceptionConfig {
    /// Side of the square images the network sees ([`FID_INPUT_SIZE`]; smaller values, down
    /// to [`MIN_INPUT_SIZE`], are for tests and previews and do not give FID).
    pub input_size: usize,
    /// Images per forward pass (32): bounds the memory of the activations, whatever the
    /// size of the batches handed to [`FeatureExtractor::features`].
    ///
    /// [`FeatureExtractor::features`]: crate::features::FeatureExtractor::features
    pub batch_size: usize,
}

impl Default for InceptionConfig {
    fn default() -> Self {
        Self {
            input_size: FID_INPUT_SIZE,
            batch_size: 32,
        }
    }
}

impl InceptionConfig {
    /// Checks that `input_size` is at least [`MIN_INPUT_SIZE`] and `batch_size` at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.input_size < MIN_INPUT_SIZE {
            return Err(Error::Config {
                field: "inception_input_size",
                value: self.input_size.to_string(),
                reason: "must be at least 75, the smallest input Inception-v3's stride-2 \
                         layers accept",
            });
        }
        if self.batch_size == 0 {
            return Err(Error::Config {
                field: "inception_batch_size",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}
