//! Convolutions as im2col / col2im and matrix multiplication.
//!
//! For a `k x k` kernel with stride `s` and padding `p`, `im2col` maps images `(c, H, W)`
//! to a patch matrix `(c k k, h w)` with `h = (H + 2p - k) / s + 1`; `col2im` is its adjoint
//! (scatter-add of the patches back onto the images). Then, with `W` of shape
//! `(c_out, c_in k k)`,
//!
//! - conv2d: `y = W im2col(x)`;
//! - conv_transpose2d, its adjoint in `x`: `x = col2im(W^T z)`;
//! - the weight gradient, its adjoint in `W`: `dW = dy im2col(x)^T`.
//!
//! Each is one custom op on the CPU (f32) that runs over blocks of images, one block per
//! task on rayon's threads, the block's patches built, multiplied (one matrix product per
//! block) and consumed while they are in the core's cache (`super::patches`); the weight
//! gradient adds each task's blocks into its own accumulator. Each op's backward pass is
//! made of the three ops again (`<gw, dW(x, dy)> = <dy, conv(x, gw)> = <conv_t(dy, gw), x>`),
//! so candle's autograd takes second-order gradients through them as well.
//! On Metal the patches are gathered with `index_select`
//! and scattered back with `index_add` (the same two maps in candle's portable ops, each
//! the other's gradient), because candle 0.11's Metal conv2d multiplies a non-contiguous
//! kernel as if it were contiguous, and its conv2d backward passes one (the kernel gradient
//! is a convolution by the transposed output gradient): every weight gradient would be
//! wrong. Other devices and dtypes use candle's convolutions.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::dense::{matmul_serial_into, View};
use super::f32_contiguous;
use super::patches::{col2im_add, im2col, tap_tables, with_scratch, Blocks, Table};

/// The shapes of a convolution from `c_in` channels of images `big` to `c_out` channels of
/// the grid `small` (and of its adjoint, the transposed convolution, the other way), with
/// how many images a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    c_in: usize,
    c_out: usize,
    big: (usize, usize),
    small: (usize, usize),
    k: usize,
    stride: usize,
    pad: usize,
    block: Blocks,
}

/// A geometry's tables and sizes, made once per call.
struct Patches {
    g: Geometry,
    tables: Vec<Table>,
    /// Rows of the patch matrix (`c_in k k`), floats per image (`big`) and positions per
    /// image (`small`).
    kk: usize,
    img: usize,
    per: usize,
}

impl Patches {
    fn new(g: Geometry) -> Self {
        Self {
            tables: tap_tables(g.big, g.small, g.k, g.stride, g.pad),
            kk: g.c_in * g.k * g.k,
            img: g.big.0 * g.big.1,
            per: g.small.0 * g.small.1,
            g,
        }
    }

    /// Images per block.
    fn block(&self, n: usize) -> usize {
        self.g.block.images(n, self.kk, self.per)
    }

    /// The patches `(c_in k k, m small)` of the `m` images `xb (m, c_in, big)`.
    fn im2col(&self, xb: &[f32], m: usize, cols: &mut [f32]) {
        let (c, img) = (self.g.c_in, self.img);
        let image = |ci: usize, i: usize| &xb[(i * c + ci) * img..][..img];
        im2col(&self.tables, self.per, (c, m), image, cols);
    }

    /// The adjoint of [`Patches::im2col`]: `xb (m, c_in, big)` set from the patches.
    fn col2im(&self, cols: &[f32], m: usize, xb: &mut [f32]) {
        let c = self.g.c_in;
        xb.fill(0.0);
        for (plane, dst) in xb.chunks_exact_mut(self.img).enumerate() {
            col2im_add(&self.tables, self.per, m, cols, (plane % c, plane / c), dst);
        }
    }

    /// `y = W im2col(x)`: `x (n, c_in, big)`, `w (c_out, c_in k k)`, `y (n, c_out, small)`.
    fn conv(&self, x: &[f32], w: &[f32], n: usize) -> Vec<f32> {
        let (c_in, c_out, kk, per, img) = (self.g.c_in, self.g.c_out, self.kk, self.per, self.img);
        let nb = self.block(n);
        let mut y = vec![0f32; n * c_out * per];
        y.par_chunks_mut(nb * c_out * per)
            .enumerate()
            .for_each(|(b, yb)| {
                let m = yb.len() / (c_out * per);
                let xb = &x[b * nb * c_in * img..][..m * c_in * img];
                with_scratch(kk * m * per, c_out * m * per, |cols, rows| {
                    self.im2col(xb, m, cols);
                    let a = View::new(w, c_out, kk);
                    matmul_serial_into(rows, a, View::new(cols, kk, m * per), false);
                    from_rows(rows, m, c_out, per, yb);
                });
            });
        y
    }

    /// `x = col2im(W^T z)`, the adjoint of [`Patches::conv`] in `x`: `z (n, c_out, small)`.
    fn conv_t(&self, z: &[f32], w: &[f32], n: usize) -> Vec<f32> {
        let (c_in, c_out, kk, per, img) = (self.g.c_in, self.g.c_out, self.kk, self.per, self.img);
        let nb = self.block(n);
        let mut x = vec![0f32; n * c_in * img];
        x.par_chunks_mut(nb * c_in * img)
            .enumerate()
            .for_each(|(b, xb)| {
                let m = xb.len() / (c_in * img);
                let zb = &z[b * nb * c_out * per..][..m * c_out * per];
                with_scratch(kk * m * per, c_out * m * per, |cols, rows| {
                    to_rows(zb, m, c_out, per, rows);
                    let a = View::new(w, c_out, kk).t();
                    matmul_serial_into(cols, a, View::new(rows, c_out, m * per), false);
                    self.col2im(cols, m, xb);
                });
            });
        x
    }

    /// `dW = dy im2col(x)^T`, the adjoint of [`Patches::conv`] in `w`: `(c_out, c_in k k)`.
    fn weight_grad(&self, x: &[f32], dy: &[f32], n: usize) -> Vec<f32> {
        let (c_in, c_out, kk, per, img) = (self.g.c_in, self.g.c_out, self.kk, self.per, self.img);
        let nb = self.block(n);
        let zero = || vec![0f32; c_out * kk];
        (0..n.div_ceil(nb))
            .into_par_iter()
            .fold(zero, |mut acc, b| {
                let (first, m) = (b * nb, nb.min(n - b * nb));
                let xb = &x[first * c_in * img..][..m * c_in * img];
                let db = &dy[first * c_out * per..][..m * c_out * per];
                with_scratch(kk * m * per, c_out * m * per, |cols, rows| {
                    self.im2col(xb, m, cols);
                    to_rows(db, m, c_out, per, rows);
                    let a = View::new(rows, c_out, m * per);
                    matmul_serial_into(&mut acc, a, View::new(cols, kk, m * per).t(), true);
                });
                acc
            })
            .reduce(zero, |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            })
    }
}

/// `(m, c, per)` -> `(c, m per)`.
fn to_rows(src: &[f32], m: usize, c: usize, per: usize, dst: &mut [f32]) {
    for (i, image) in src.chunks_exact(c * per).enumerate().take(m) {
        for (ch, plane) in image.chunks_exact(per).enumerate() {
            dst[(ch * m + i) * per..][..per].copy_from_slice(plane);
        }
    }
}

/// `(c, m per)` -> `(m, c, per)`.
fn from_rows(src: &[f32], m: usize, c: usize, per: usize, dst: &mut [f32]) {
    for (i, image) in dst.chunks_exact_mut(c * per).enumerate().take(m) {
        for (ch, plane) in image.chunks_exact_mut(per).enumerate() {
            plane.copy_from_slice(&src[(ch * m + i) * per..][..per]);
        }
    }
}

/// The three ops of a geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `conv(x, w)`: `(n, c_in, big)`, `(c_out, c_in, k, k)` -> `(n, c_out, small)`.
    Conv,
    /// `conv_t(z, w)`: `(n, c_out, small)`, `(c_out, c_in, k, k)` -> `(n, c_in, big)`.
    ConvT,
    /// `weight_grad(x, dy)`: `(n, c_in, big)`, `(n, c_out, small)` -> `(c_out, c_in, k, k)`.
    WeightGrad,
}

/// One of the three ops on a geometry.
struct Op(Kind, Geometry);

impl Geometry {
    fn image(&self, n: usize) -> Vec<usize> {
        vec![n, self.c_in, self.big.0, self.big.1]
    }
    fn grid(&self, n: usize) -> Vec<usize> {
        vec![n, self.c_out, self.small.0, self.small.1]
    }
    fn kernel(&self) -> Vec<usize> {
        vec![self.c_out, self.c_in, self.k, self.k]
    }
}

/// `kind(a, b)` with both made contiguous.
fn apply(kind: Kind, g: Geometry, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op2(&b.contiguous()?, Op(kind, g))
}

impl CustomOp2 for Op {
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Conv => "gm-conv2d",
            Kind::ConvT => "gm-conv-transpose2d",
            Kind::WeightGrad => "gm-conv2d-weight-grad",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (kind, g) = (self.0, self.1);
        // The batch is the first input's first dimension.
        let n = l1.dims().first().copied().unwrap_or(0);
        let (want_a, want_b, out) = match kind {
            Kind::Conv => (g.image(n), g.kernel(), g.grid(n)),
            Kind::ConvT => (g.grid(n), g.kernel(), g.image(n)),
            Kind::WeightGrad => (g.image(n), g.grid(n), g.kernel()),
        };
        let op = self.name();
        if l1.dims() != want_a.as_slice() || l2.dims() != want_b.as_slice() {
            candle_core::bail!(
                "{op}: inputs {:?} and {:?}, expected {want_a:?} and {want_b:?}",
                l1.dims(),
                l2.dims()
            );
        }
        let (a, b) = (f32_contiguous(s1, l1, op)?, f32_contiguous(s2, l2, op)?);
        let p = Patches::new(g);
        let y = match kind {
            Kind::Conv => p.conv(a, b, n),
            Kind::ConvT => p.conv_t(a, b, n),
            Kind::WeightGrad => p.weight_grad(a, b, n),
        };
        Ok((CpuStorage::F32(y), Shape::from(out)))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _out: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.1;
        // conv and conv_t are each other's adjoints in the image; the weight gradient is
        // their adjoint in the kernel: <gw, dW(x, dy)> = <dy, conv(x, gw)> = <conv_t(dy, gw), x>.
        let (da, db) = match self.0 {
            // a = x, b = w.
            Kind::Conv => (
                apply(Kind::ConvT, g, grad, b)?,
                apply(Kind::WeightGrad, g, a, grad)?,
            ),
            // a = z, b = w.
            Kind::ConvT => (
                apply(Kind::Conv, g, grad, b)?,
                apply(Kind::WeightGrad, g, grad, a)?,
            ),
            // a = x, b = dy.
            Kind::WeightGrad => (
                apply(Kind::ConvT, g, b, grad)?,
                apply(Kind::Conv, g, a, grad)?,
            ),
        };
        Ok((Some(da), Some(db)))
    }
}

fn fast_path(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32
}

/// 2-D convolution of `x (n, c_in, H, W)` with `w (c_out, c_in, k, k)`; square kernels,
/// no dilation or groups.
pub fn conv2d_op(x: &Tensor, w: &Tensor, stride: usize, pad: usize) -> Result<Tensor> {
    conv2d_blocked(x, w, stride, pad, Blocks::default())
}

/// [`conv2d_op`] with its blocks of images sized by `block`.
fn conv2d_blocked(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
    block: Blocks,
) -> Result<Tensor> {
    let (_, c, big_h, big_w) = x.dims4()?;
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
    let small = |v: usize| (v + 2 * pad - k) / stride + 1;
    let g = Geometry {
        c_in: c,
        c_out,
        big: (big_h, big_w),
        small: (small(big_h), small(big_w)),
        k,
        stride,
        pad,
        block,
    };
    apply(Kind::Conv, g, x, w)
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
    conv_transpose2d_blocked(x, w, (stride, pad, output_padding), Blocks::default())
}

/// [`conv_transpose2d_op`] with its blocks of images sized by `block`.
fn conv_transpose2d_blocked(
    x: &Tensor,
    w: &Tensor,
    (stride, pad, output_padding): (usize, usize, usize),
    block: Blocks,
) -> Result<Tensor> {
    let (_, c, small_h, small_w) = x.dims4()?;
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
    // The adjoint of the convolution from `big` to `small` whose kernel is `w` read as
    // `(c_out, c_in, k, k)` of that convolution: the same layout.
    let g = Geometry {
        c_in: c_out,
        c_out: c_in,
        big: (bh - 2 * pad, bw - 2 * pad),
        small: (small_h, small_w),
        k,
        stride,
        pad,
        block,
    };
    apply(Kind::ConvT, g, x, w)
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
