//! Shared network blocks. [`conv`] holds convolution layers whose CPU path is im2col/col2im
//! and matrix products over cache-sized blocks of images ([`patches`]), forward and backward,
//! in place of candle's direct transposed-convolution loop, which its conv2d backward pass
//! also uses. [`channel`] holds
//! per-channel affine maps (biases, batch norm) in one pass, with contiguous reductions for
//! their gradients; [`resample`] nearest-neighbour upsampling with a block-sum backward pass.
//! [`dense`] holds fully connected stacks on host memory with the backward
//! pass written out, the fast path of MLP training steps; [`mlp`] the MLP of every model on
//! candle tensors.

pub mod act;
pub mod channel;
pub mod conv;
pub mod dense;
pub mod mlp;
pub mod patches;
pub mod resample;

pub use act::{leaky_relu, relu};
pub use channel::{
    batch_norm2d, channel_affine, channel_bias, channel_sum, BatchNorm2d, BatchNormConfig,
};
pub use conv::{conv2d, conv_transpose2d, Conv2d, ConvTranspose2d};
pub use dense::{
    long_inner_into, matmul_into, matmul_serial_into, DenseActivation, DenseStack, DenseTape, View,
};
pub use mlp::{softplus, Mlp, MlpInit};
pub use resample::upsample2;

/// The contiguous f32 values of a custom op's CPU input, or an error naming `op`.
fn f32_contiguous<'a>(
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let data = match storage {
        candle_core::CpuStorage::F32(d) => d,
        _ => candle_core::bail!("{op}: only f32 is supported"),
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}

/// Comparisons shared by the layer tests.
#[cfg(test)]
pub(crate) mod test_util {
    use candle_core::Tensor;

    /// `max |a - b|` over all entries.
    pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// `max(max |t|, 1)`: the scale a relative tolerance is taken of.
    pub fn scale(t: &Tensor) -> f32 {
        max_diff(t, &t.zeros_like().unwrap()).max(1.0)
    }
}
