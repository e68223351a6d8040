//! PixelCNN (van den Oord et al., 2016) for binary images: masked convolutions of type A and
//! B, residual blocks, exact log-likelihood and sequential sampling.
//!
//! - [`config`]: [`PixelCnnConfig`] (validated, serde).
//! - [`model`]: [`PixelCnn`], [`MaskedConv2d`], [`kernel_mask`].

pub mod config;
pub mod model;

pub use config::PixelCnnConfig;
pub use model::{kernel_mask, masked_conv2d, MaskType, MaskedConv2d, PixelCnn};
