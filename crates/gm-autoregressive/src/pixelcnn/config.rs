//! [`PixelCnnConfig`]: the size of a PixelCNN for one-channel binary images.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The architecture of a [`crate::PixelCnn`] (serde, validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PixelCnnConfig {
    /// Image height (rows); items are `(1, height, width)`.
    pub height: usize,
    /// Image width (columns).
    pub width: usize,
    /// Feature maps 2h between residual blocks (each block narrows to h = channels / 2).
    pub channels: usize,
    /// Residual blocks (1x1, masked k x k type B, 1x1).
    pub residual_blocks: usize,
    /// Side of the first, type-A masked convolution (odd).
    pub first_kernel: usize,
    /// Side of the type-B masked convolutions in the blocks (odd).
    pub kernel: usize,
}

impl Default for PixelCnnConfig {
    fn default() -> Self {
        Self {
            height: 28,
            width: 28,
            channels: 32,
            residual_blocks: 4,
            first_kernel: 7,
            kernel: 3,
        }
    }
}

impl PixelCnnConfig {
    /// Number of binary variables D = height * width.
    pub fn data_dim(&self) -> usize {
        self.height * self.width
    }

    /// How many rows above a pixel its conditional can see: first_kernel / 2 + blocks *
    /// (kernel / 2) (the 1x1 convolutions add none). Sequential sampling runs the network on
    /// this many rows above the current one and no more.
    pub fn receptive_rows(&self) -> usize {
        self.first_kernel / 2 + self.residual_blocks * (self.kernel / 2)
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.height == 0 {
            return Err(Error::config("height", 0, "must be at least 1"));
        }
        if self.width == 0 {
            return Err(Error::config("width", 0, "must be at least 1"));
        }
        if self.data_dim() < 2 {
            return Err(Error::config(
                "width",
                self.width,
                "an autoregressive model needs at least 2 pixels",
            ));
        }
        if self.channels < 2 || !self.channels.is_multiple_of(2) {
            return Err(Error::config(
                "channels",
                self.channels,
                "must be even and at least 2 (blocks narrow to channels / 2)",
            ));
        }
        if self.first_kernel < 3 || self.first_kernel.is_multiple_of(2) {
            return Err(Error::config(
                "first_kernel",
                self.first_kernel,
                "must be odd and at least 3 (a 1x1 type-A mask sees nothing)",
            ));
        }
        if self.kernel.is_multiple_of(2) {
            return Err(Error::config("kernel", self.kernel, "must be odd"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(c: PixelCnnConfig) -> &'static str {
        match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn default_is_valid_and_sees_seven_rows() {
        let c = PixelCnnConfig::default();
        c.validate().unwrap();
        assert_eq!(c.receptive_rows(), 3 + 4);
        assert_eq!(c.data_dim(), 784);
    }

    #[test]
    fn height_cannot_be_zero() {
        let c = PixelCnnConfig {
            height: 0,
            ..Default::default()
        };
        assert_eq!(field_of(c), "height");
    }

    #[test]
    fn width_cannot_be_zero_or_leave_one_pixel() {
        let c = PixelCnnConfig {
            width: 0,
            ..Default::default()
        };
        assert_eq!(field_of(c), "width");
        let c = PixelCnnConfig {
            height: 1,
            width: 1,
            ..Default::default()
        };
        assert_eq!(field_of(c), "width");
    }

    #[test]
    fn channels_must_be_even() {
        for channels in [0, 7] {
            let c = PixelCnnConfig {
                channels,
                ..Default::default()
            };
            assert_eq!(field_of(c), "channels");
        }
    }

    #[test]
    fn first_kernel_must_be_odd_and_see_something() {
        for first_kernel in [1, 4] {
            let c = PixelCnnConfig {
                first_kernel,
                ..Default::default()
            };
            assert_eq!(field_of(c), "first_kernel");
        }
    }

    #[test]
    fn kernel_must_be_odd() {
        let c = PixelCnnConfig {
            kernel: 2,
            ..Default::default()
        };
        assert_eq!(field_of(c), "kernel");
    }
}
