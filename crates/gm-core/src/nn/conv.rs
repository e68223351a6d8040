//! Convolutions as im2col / col2im and matrix multiplication.
//!
//! For a `k x k` kernel with stride `s` and padding `p`, `im2col` maps a batch of images
//! `(n, c, H, W)` to one patch matrix `(c k k, n h w)` with `h = (H + 2p - k) / s + 1`;
//! `col2im` is its adjoint (scatter-add of the patches back onto the images). Then
//!
//! - conv2d: `y = W im2col(x)` with `W` of shape `(c_out, c_in k k)`;
//! - conv_transpose2d: `y = col2im(W^T x)` with `W` of shape `(c_in, c_out k k)`,
//!
//! each one matrix product over the whole batch (one large GEMM rather than `n` small ones,
//! and a weight gradient that is one GEMM too).
//!
//! and because the two ops are each other's adjoints, each one's backward pass is the other:
//! candle's autograd differentiates the matrix products, these ops differentiate the rest.
//! The CPU path runs for f32 tensors. On Metal the patches are gathered with `index_select`
//! and scattered back with `index_add` (the same two maps in candle's portable ops, each
//! the other's gradient), because candle 0.11's Metal conv2d multiplies a non-contiguous
//! kernel as if it were contiguous, and its conv2d backward passes one (the kernel gradient
//! is a convolution by the transposed output gradient): every weight gradient would be
//! wrong. Other devices and dtypes use candle's convolutions.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

/// Geometry shared by a pair of im2col / col2im ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    c: usize,
    /// The image side (input of conv2d, output of conv_transpose2d).
    big_h: usize,
    big_w: usize,
    /// The patch grid (output of conv2d, input of conv_transpose2d).
    small_h: usize,
    small_w: usize,
    k: usize,
    stride: usize,
    pad: usize,
}

impl Geometry {
    fn rows(&self) -> usize {
        self.c * self.k * self.k
    }
    fn cols(&self) -> usize {
        self.small_h * self.small_w
    }
    fn image(&self) -> usize {
        self.c * self.big_h * self.big_w
    }

    /// Runs `f(row, col, image_index, len)` for every run of in-bounds patch entries of
    /// channel `ch`: columns `col..col + len` of `row` read the image at `image_index`,
    /// `image_index + stride`, ... (the in-bounds output columns of one kernel tap and output
    /// row form one contiguous range, so the inner loops carry no bounds tests).
    #[inline]
    fn for_each_run(&self, ch: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (k, s, p) = (self.k, self.stride, self.pad);
        for ky in 0..k {
            for kx in 0..k {
                let row = (ch * k + ky) * k + kx;
                // In-bounds output columns: 0 <= ox s + kx - p < W.
                let ox_lo = p.saturating_sub(kx).div_ceil(s);
                let ox_hi = (self.big_w + p)
                    .checked_sub(kx)
                    .map_or(0, |v| v.div_ceil(s))
                    .min(self.small_w);
                if ox_lo >= ox_hi {
                    continue;
                }
                let len = ox_hi - ox_lo;
                for oy in 0..self.small_h {
                    let iy = (oy * s + ky) as isize - p as isize;
                    if iy < 0 || iy >= self.big_h as isize {
                        continue;
                    }
                    let base = (ch * self.big_h + iy as usize) * self.big_w;
                    let ix = ox_lo * s + kx - p;
                    f(row, oy * self.small_w + ox_lo, base + ix, len);
                }
            }
        }
    }
}

fn f32_contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(d) => d,
        _ => candle_core::bail!("{op}: only f32 is supported"),
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}

/// `(n, c, H, W)` -> `(c k k, n h w)`.
struct Im2Col(Geometry);
/// `(c k k, n h w)` -> `(n, c, H, W)`, the adjoint of [`Im2Col`]; `.1` is the batch size.
struct Col2Im(Geometry, usize);

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "gm-im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let x = f32_contiguous(storage, layout, "im2col")?;
        let n = layout.dims()[0];
        let (rows, cols) = (g.rows(), g.cols());
        let width = n * cols;
        let mut out = vec![0f32; rows * width];
        // One channel's k*k rows at a time; within a row, image b owns columns b*cols.. .
        out.par_chunks_mut(g.k * g.k * width)
            .enumerate()
            .for_each(|(ch, dst)| {
                let first_row = ch * g.k * g.k;
                for b in 0..n {
                    let src = &x[b * g.image()..(b + 1) * g.image()];
                    let off = b * cols;
                    g.for_each_run(ch, |row, col, idx, len| {
                        let at = (row - first_row) * width + off + col;
                        let out = &mut dst[at..at + len];
                        if g.stride == 1 {
                            out.copy_from_slice(&src[idx..idx + len]);
                        } else {
                            for (j, o) in out.iter_mut().enumerate() {
                                *o = src[idx + j * g.stride];
                            }
                        }
                    });
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows, width))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            grad.contiguous()?.apply_op1(Col2Im(self.0, arg.dim(0)?))?,
        ))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "gm-col2im"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, n) = (self.0, self.1);
        let src = f32_contiguous(storage, layout, "col2im")?;
        let cols = g.cols();
        let width = n * cols;
        if layout.dims() != [g.rows(), width] {
            candle_core::bail!(
                "col2im: input {:?}, expected {:?}",
                layout.dims(),
                [g.rows(), width]
            );
        }
        let plane = g.big_h * g.big_w;
        let mut out = vec![0f32; n * g.image()];
        out.par_chunks_mut(plane).enumerate().for_each(|(nc, dst)| {
            let (b, ch) = (nc / g.c, nc % g.c);
            let (offset, off) = (ch * plane, b * cols);
            g.for_each_run(ch, |row, col, idx, len| {
                let at = row * width + off + col;
                let from = &src[at..at + len];
                let start = idx - offset;
                if g.stride == 1 {
                    for (d, v) in dst[start..start + len].iter_mut().zip(from) {
                        *d += v;
                    }
                } else {
                    for (j, v) in from.iter().enumerate() {
                        dst[start + j * g.stride] += v;
                    }
                }
            });
        });
        Ok((
            CpuStorage::F32(out),
            Shape::from((n, g.c, g.big_h, g.big_w)),
        ))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Im2Col(self.0))?))
    }
}

fn fast_path(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32
}

/// 2-D convolution of `x (n, c_in, H, W)` with `w (c_out, c_in, k, k)`; square kernels,
/// no dilation or groups.
pub fn conv2d_op(x: &Tensor, w: &Tensor, stride: usize, pad: usize) -> Result<Tensor> {
    let (n, c, big_h, big_w) = x.dims4()?;
    let (c_out, c_in, k, k2) = w.dims4()?;
    if c_in != c || k != k2 || stride == 0 {
        candle_core::bail!(
            "conv2d: input {:?} and kernel {:?} (stride {stride}) do not fit",
            x.dims(),
            w.dims()
        );
    }
    if big_h + 2 * pad < k || big_w + 2 * pad < k {
        candle_core::bail!("conv2d: kernel {k} larger than padded input {:?}", x.dims());
    }
    if x.device().is_metal() {
        return conv2d_gather(x, w, stride, pad);
    }
    if !fast_path(x, w) {
        return x.conv2d(w, pad, stride, 1, 1);
    }
    let g = Geometry {
        c,
        big_h,
        big_w,
        small_h: (big_h + 2 * pad - k) / stride + 1,
        small_w: (big_w + 2 * pad - k) / stride + 1,
        k,
        stride,
        pad,
    };
    let cols = x.contiguous()?.apply_op1(Im2Col(g))?;
    let w2 = w.reshape((c_out, g.rows()))?;
    w2.matmul(&cols)?
        .reshape((c_out, n, g.small_h, g.small_w))?
        .transpose(0, 1)?
        .contiguous()
}

/// Transposed 2-D convolution of `x (n, c_in, h, w)` with `w (c_in, c_out, k, k)`;
/// output side `(h - 1) s - 2p + k + output_padding`.
pub fn conv_transpose2d_op(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
    output_padding: usize,
) -> Result<Tensor> {
    let (n, c, small_h, small_w) = x.dims4()?;
    let (c_in, c_out, k, k2) = w.dims4()?;
    if c_in != c || k != k2 || stride == 0 || output_padding >= stride {
        candle_core::bail!(
            "conv_transpose2d: input {:?}, kernel {:?}, stride {stride}, output padding {output_padding} do not fit",
            x.dims(),
            w.dims()
        );
    }
    let big = |s: usize| (s - 1) * stride + k + output_padding;
    let (bh, bw) = (big(small_h), big(small_w));
    if bh < 2 * pad + 1 || bw < 2 * pad + 1 {
        candle_core::bail!(
            "conv_transpose2d: padding {pad} too large for {:?}",
            x.dims()
        );
    }
    if x.device().is_metal() {
        return conv_transpose2d_gather(x, w, stride, pad, output_padding);
    }
    if !fast_path(x, w) {
        return x.conv_transpose2d(w, pad, output_padding, stride, 1);
    }
    let g = Geometry {
        c: c_out,
        big_h: bh - 2 * pad,
        big_w: bw - 2 * pad,
        small_h,
        small_w,
        k,
        stride,
        pad,
    };
    let wt = w.reshape((c_in, g.rows()))?.t()?;
    let xs = x
        .reshape((n, c_in, small_h * small_w))?
        .transpose(0, 1)?
        .contiguous()?
        .reshape((c_in, n * small_h * small_w))?;
    let cols = wt.matmul(&xs)?.contiguous()?;
    cols.apply_op1(Col2Im(g, n))
}

/// The flat index, in a `(c, side_h, side_w)` image, of every patch entry: rows
/// `(channel, ki, kj)`, columns `(oi, oj)` over the `h x w` patch grid.
fn patch_index(
    c: usize,
    side_w: usize,
    side_hw: usize,
    k: usize,
    stride: usize,
    h: usize,
    w: usize,
) -> Vec<u32> {
    let mut idx = Vec::with_capacity(c * k * k * h * w);
    for ch in 0..c {
        for ki in 0..k {
            for kj in 0..k {
                for oi in 0..h {
                    for oj in 0..w {
                        let at = ch * side_hw + (oi * stride + ki) * side_w + oj * stride + kj;
                        idx.push(at as u32);
                    }
                }
            }
        }
    }
    idx
}

/// conv2d by gathering the patches of the zero-padded input (`index_select`) and one
/// batched product with the contiguous kernel: only ops whose gradients are gathers,
/// scatters and products, on any device. Shapes and padding as [`conv2d_op`], which checks
/// them.
fn conv2d_gather(x: &Tensor, w: &Tensor, stride: usize, pad: usize) -> Result<Tensor> {
    let (n, c, big_h, big_w) = x.dims4()?;
    let (c_out, _, k, _) = w.dims4()?;
    let (ph, pw) = (big_h + 2 * pad, big_w + 2 * pad);
    let (h, wd) = ((ph - k) / stride + 1, (pw - k) / stride + 1);
    let xp = x
        .pad_with_zeros(2, pad, pad)?
        .pad_with_zeros(3, pad, pad)?
        .reshape((n, c * ph * pw))?;
    let idx = patch_index(c, pw, ph * pw, k, stride, h, wd);
    let idx = Tensor::from_vec(idx, c * k * k * h * wd, x.device())?;
    let cols = xp.index_select(&idx, 1)?.reshape((n, c * k * k, h * wd))?;
    let w2 = w.contiguous()?.reshape((c_out, c * k * k))?;
    w2.broadcast_matmul(&cols)?.reshape((n, c_out, h, wd))
}

/// conv_transpose2d as one batched product with the contiguous kernel and a scatter-add of
/// the patches onto the uncropped output (`index_add`), then the padding cropped. Shapes as
/// [`conv_transpose2d_op`], which checks them (padding included).
fn conv_transpose2d_gather(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
    output_padding: usize,
) -> Result<Tensor> {
    let (n, c_in, h, wd) = x.dims4()?;
    let (_, c_out, k, _) = w.dims4()?;
    let (bh, bw) = (
        (h - 1) * stride + k + output_padding,
        (wd - 1) * stride + k + output_padding,
    );
    let wt = w
        .contiguous()?
        .reshape((c_in, c_out * k * k))?
        .t()?
        .contiguous()?;
    let cols = wt
        .broadcast_matmul(&x.reshape((n, c_in, h * wd))?)?
        .reshape((n, c_out * k * k * h * wd))?;
    let idx = patch_index(c_out, bw, bh * bw, k, stride, h, wd);
    let idx = Tensor::from_vec(idx, c_out * k * k * h * wd, x.device())?;
    let canvas = Tensor::zeros((n, c_out * bh * bw), x.dtype(), x.device())?;
    canvas
        .index_add(&idx, &cols, 1)?
        .reshape((n, c_out, bh, bw))?
        .narrow(2, pad, bh - 2 * pad)?
        .narrow(3, pad, bw - 2 * pad)?
        .contiguous()
}

/// Options of [`conv2d`] and [`conv_transpose2d`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvConfig {
    /// Step between kernel positions, in pixels, on both axes (at least 1).
    pub stride: usize,
    /// Zero padding on every side, in pixels (for a transposed convolution, the rows and
    /// columns removed from each side of its output).
    pub padding: usize,
    /// Transposed convolutions only.
    pub output_padding: usize,
}

impl Default for ConvConfig {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: 0,
            output_padding: 0,
        }
    }
}

/// A conv2d layer with candle-nn's parameter names (`weight`, `bias`) and initialisation.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    cfg: ConvConfig,
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = conv2d_op(x, &self.weight, self.cfg.stride, self.cfg.padding)?;
        match &self.bias {
            Some(b) => super::channel::channel_bias(&y, b),
            None => Ok(y),
        }
    }
}

impl Conv2d {
    /// The kernel, `(c_out, c_in, k, k)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(c_out,)`, when the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Stride and padding.
    pub fn config(&self) -> ConvConfig {
        self.cfg
    }
}

/// A conv_transpose2d layer with candle-nn's parameter names and initialisation.
#[derive(Debug, Clone)]
pub struct ConvTranspose2d {
    weight: Tensor,
    bias: Option<Tensor>,
    cfg: ConvConfig,
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.cfg;
        let y = conv_transpose2d_op(x, &self.weight, c.stride, c.padding, c.output_padding)?;
        match &self.bias {
            Some(b) => super::channel::channel_bias(&y, b),
            None => Ok(y),
        }
    }
}

impl ConvTranspose2d {
    /// The kernel, `(c_in, c_out, k, k)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(c_out,)`, when the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Stride, padding and output padding.
    pub fn config(&self) -> ConvConfig {
        self.cfg
    }
}

fn uniform_bias(fan_in: usize) -> candle_nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    candle_nn::Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A `k x k` conv2d layer from `c_in` to `c_out` channels, with bias.
pub fn conv2d(
    c_in: usize,
    c_out: usize,
    k: usize,
    cfg: ConvConfig,
    vb: VarBuilder,
) -> Result<Conv2d> {
    let weight = vb.get_with_hints(
        (c_out, c_in, k, k),
        "weight",
        candle_nn::init::DEFAULT_KAIMING_NORMAL,
    )?;
    let bias = vb.get_with_hints(c_out, "bias", uniform_bias(c_in * k * k))?;
    Ok(Conv2d {
        weight,
        bias: Some(bias),
        cfg,
    })
}

/// A `k x k` transposed conv2d layer from `c_in` to `c_out` channels, with bias.
pub fn conv_transpose2d(
    c_in: usize,
    c_out: usize,
    k: usize,
    cfg: ConvConfig,
    vb: VarBuilder,
) -> Result<ConvTranspose2d> {
    let bound = 1.0 / ((c_out * k * k) as f64).sqrt();
    let weight = vb.get_with_hints(
        (c_in, c_out, k, k),
        "weight",
        candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        },
    )?;
    let bias = vb.get_with_hints(c_out, "bias", uniform_bias(c_out * k * k))?;
    Ok(ConvTranspose2d {
        weight,
        bias: Some(bias),
        cfg,
    })
}

#[cfg(test)]
mod tests;
