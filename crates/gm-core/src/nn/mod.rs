//! Shared network blocks. [`conv`] holds convolution layers whose CPU path is im2col/col2im
//! plus one large matrix multiply (forward and backward), in place of candle's direct
//! transposed-convolution loop, which its conv2d backward pass also uses. [`channel`] holds
//! per-channel affine maps (biases, batch norm) in one pass, with contiguous reductions for
//! their gradients.

pub mod act;
pub mod channel;
pub mod conv;

pub use act::{leaky_relu, relu};
pub use channel::{
    batch_norm2d, channel_affine, channel_bias, channel_sum, BatchNorm2d, BatchNormConfig,
};
pub use conv::{conv2d, conv_transpose2d, Conv2d, ConvTranspose2d};
