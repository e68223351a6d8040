//! Shared network blocks. [`conv`] holds convolution layers whose CPU path is im2col/col2im
//! plus one large matrix multiply (forward and backward), in place of candle's direct
//! transposed-convolution loop, which its conv2d backward pass also uses.

pub mod conv;

pub use conv::{conv2d, conv_transpose2d, Conv2d, ConvTranspose2d};
