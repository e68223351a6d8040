//! DCGAN networks on host memory for the written-out training step: convolutions and
//! transposed convolutions as im2col / col2im and matrix products, batch norm in training
//! mode, element-wise activations, each with its backward pass written out. Buffers are
//! channel-major `(c, n, h, w)`, so that every per-channel operation is one contiguous run
//! and a layer's output is the next one's input as it lies.
//!
//! A convolution runs over blocks of images (gm-core's `nn::patches`), one block per task on
//! rayon's threads: each block's patch matrix is built, multiplied and consumed while it is
//! in the core's cache (a whole batch's patches are megabytes, and writing them to memory
//! and reading them back cost as much as the products). The backward pass rebuilds the
//! patches rather than keeping them, and each task adds its blocks' weight gradients into
//! its own accumulator.

use candle_core::Tensor;
use gm_core::nn::patches::{col2im_add, im2col, tap_tables, with_scratch, Blocks, Table};
use gm_core::nn::{matmul_serial_into, BatchNorm2d, DenseActivation, View};
use rayon::prelude::*;

use crate::nets::HostLayer;
use crate::Result;

/// A batch of `c` channel planes of `n` images `h x w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub c: usize,
    pub n: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    fn plane(&self) -> usize {
        self.n * self.h * self.w
    }
}

/// The patches of a `k x k` kernel over `n` images `big`, read at the `small` grid of
/// positions (the channels are the blocks' rows).
#[derive(Debug, Clone)]
struct Patches {
    n: usize,
    img: usize,
    per: usize,
    /// gm-core's [`tap_tables`].
    tables: Vec<Table>,
}

impl Patches {
    /// The patch geometry of a convolution with stride `s` and padding `p` from `big` to
    /// `small` (or of a transposed one from `small` to `big`).
    fn new(big: Shape, small: Shape, k: usize, s: usize, p: usize) -> Self {
        let tables = tap_tables((big.h, big.w), (small.h, small.w), k, s, p);
        Self {
            n: big.n,
            img: big.h * big.w,
            per: small.h * small.w,
            tables,
        }
    }

    /// The patches `(c k k, m small)` of images `first..first + m` of `x (c, n, big)`,
    /// into `cols` (every entry written).
    fn im2col_block(&self, x: &[f32], first: usize, m: usize, cols: &mut [f32]) {
        let (n, img) = (self.n, self.img);
        let c = cols.len() / (self.tables.len() * m * self.per);
        let image = |ci: usize, i: usize| &x[(ci * n + first + i) * img..][..img];
        im2col(&self.tables, self.per, (c, m), image, cols);
    }

    /// The adjoint of [`Patches::im2col_block`]: `planes[c]` (the `m` images of channel
    /// `c`, `big` each) set from the patches `(c k k, m small)`.
    fn col2im_block(&self, cols: &[f32], m: usize, planes: &mut [&mut [f32]]) {
        for (ci, plane) in planes.iter_mut().enumerate() {
            plane.fill(0.0);
            for (i, dst) in plane.chunks_exact_mut(self.img).enumerate() {
                col2im_add(&self.tables, self.per, m, cols, (ci, i), dst);
            }
        }
    }
}

/// Runs `f(first, m, planes, acc)` on rayon's threads for every block of `nb` of the `n`
/// images (`m` in the block, the last one shorter), where `planes[c]` is the block's part
/// of channel `c` of `out` (`(c, n, img)`, when given) and `acc` a zeroed accumulator of
/// `acc_len` floats per task; returns the sum of the accumulators.
fn over_blocks<F>(
    out: Option<(&mut [f32], usize)>,
    n: usize,
    nb: usize,
    acc_len: usize,
    f: F,
) -> Vec<f32>
where
    F: Fn(usize, usize, &mut [&mut [f32]], &mut [f32]) + Sync,
{
    let blocks = n.div_ceil(nb);
    let mut planes: Vec<Vec<&mut [f32]>> = (0..blocks).map(|_| Vec::new()).collect();
    if let Some((buf, img)) = out {
        for mut rest in buf.chunks_exact_mut(n * img) {
            for (b, list) in planes.iter_mut().enumerate() {
                let (head, tail) = rest.split_at_mut(nb.min(n - b * nb) * img);
                list.push(head);
                rest = tail;
            }
        }
    }
    planes
        .into_par_iter()
        .enumerate()
        .fold(
            || vec![0f32; acc_len],
            |mut acc, (b, mut list)| {
                let first = b * nb;
                f(first, nb.min(n - first), &mut list, &mut acc);
                acc
            },
        )
        .reduce(
            || vec![0f32; acc_len],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// `grad[c] += sum dy[c][..]`.
fn bias_grad(grad: &mut [f32], dy: &[f32]) {
    let plane = dy.len() / grad.len().max(1);
    grad.par_iter_mut()
        .zip(dy.par_chunks_exact(plane))
        .for_each(|(g, row)| *g += sum64(row, |v| v) as f32);
}

/// Independent partial sums of [`sum64`] and [`sum64_pair`]: enough for the additions to
/// overlap rather than wait on each other.
const LANES: usize = 8;

/// `sum f(row[i])` in f64.
fn sum64(row: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0f64; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest: f64 = chunks.remainder().iter().map(|&v| f(f64::from(v))).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(f64::from(v));
        }
    }
    acc.iter().sum::<f64>() + rest
}

/// `(sum f(a[i], b[i]).0, sum f(a[i], b[i]).1)` in f64.
fn sum64_pair(a: &[f32], b: &[f32], f: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut p, mut q) = ([0f64; LANES], [0f64; LANES]);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (mut rp, mut rq) = (0f64, 0f64);
    for (&u, &v) in ca.remainder().iter().zip(cb.remainder()) {
        let (x, y) = f(f64::from(u), f64::from(v));
        rp += x;
        rq += y;
    }
    for (u, v) in ca.zip(cb) {
        for j in 0..LANES {
            let (x, y) = f(f64::from(u[j]), f64::from(v[j]));
            p[j] += x;
            q[j] += y;
        }
    }
    (p.iter().sum::<f64>() + rp, q.iter().sum::<f64>() + rq)
}

/// One layer, its parameters as indices into the network's parameter list.
#[derive(Debug, Clone)]
enum Layer {
    Conv(ConvLayer),
    Norm {
        weight: usize,
        bias: usize,
        eps: f64,
        bn: BatchNorm2d,
    },
    Act(DenseActivation),
}

/// A square convolution (or a transposed one) with bias; `weight` and `bias` index the
/// network's parameter list.
#[derive(Debug, Clone, Copy)]
struct ConvLayer {
    weight: usize,
    bias: usize,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    transposed: bool,
}

impl ConvLayer {
    /// The output from `x` of shape `sh` and its shape, in blocks of images sized by `block`.
    fn forward(&self, p: &[&[f32]], x: &[f32], sh: Shape, block: Blocks) -> (Vec<f32>, Shape) {
        let (w, bias) = (p[self.weight], p[self.bias]);
        let (c_in, c_out, k, stride, pad) = (self.c_in, self.c_out, self.k, self.stride, self.pad);
        let n = sh.n;
        if self.transposed {
            // y = col2im(W^T x), W (c_in, c_out k k), one block of images at a time.
            let big = |v: usize| (v - 1) * stride + k - 2 * pad;
            let ysh = Shape {
                c: c_out,
                n,
                h: big(sh.h),
                w: big(sh.w),
            };
            let geo = Patches::new(ysh, sh, k, stride, pad);
            let (kk, per) = (c_out * k * k, sh.h * sh.w);
            let nb = block.images(n, kk, per);
            let mut y = vec![0f32; c_out * ysh.plane()];
            over_blocks(
                Some((&mut y, ysh.h * ysh.w)),
                n,
                nb,
                0,
                |first, m, planes, _| {
                    with_scratch(kk * m * per, 0, |cols, _| {
                        let xb = View::strided(&x[first * per..], c_in, m * per, n * per, 1);
                        matmul_serial_into(cols, View::new(w, c_in, kk).t(), xb, false);
                        geo.col2im_block(cols, m, planes);
                    });
                    for (plane, &b) in planes.iter_mut().zip(bias) {
                        plane.iter_mut().for_each(|v| *v += b);
                    }
                },
            );
            (y, ysh)
        } else {
            // y = W im2col(x), one block of images at a time.
            let small = |v: usize| (v + 2 * pad - k) / stride + 1;
            let ysh = Shape {
                c: c_out,
                n,
                h: small(sh.h),
                w: small(sh.w),
            };
            let geo = Patches::new(sh, ysh, k, stride, pad);
            let (kk, per) = (c_in * k * k, ysh.h * ysh.w);
            let nb = block.images(n, kk, per);
            let mut y = vec![0f32; c_out * ysh.plane()];
            over_blocks(Some((&mut y, per)), n, nb, 0, |first, m, planes, _| {
                with_scratch(kk * m * per, c_out * m * per, |cols, out| {
                    geo.im2col_block(x, first, m, cols);
                    let cb = View::new(cols, kk, m * per);
                    matmul_serial_into(out, View::new(w, c_out, kk), cb, false);
                    for ((plane, row), &b) in
                        planes.iter_mut().zip(out.chunks_exact(m * per)).zip(bias)
                    {
                        plane.iter_mut().zip(row).for_each(|(v, &o)| *v = o + b);
                    }
                });
            });
            (y, ysh)
        }
    }

    /// The input's gradient from `d` (the output's, of shape `ysh`) at the input `(x, sh)`,
    /// the parameters' added into `grads` when given; `None` when `last` (the network's
    /// first layer, whose input needs no gradient). The patches are rebuilt block by block
    /// rather than kept from the forward pass.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        p: &[&[f32]],
        mut grads: Option<&mut [Vec<f32>]>,
        (x, sh): (&[f32], Shape),
        ysh: Shape,
        d: &[f32],
        last: bool,
        block: Blocks,
    ) -> Option<Vec<f32>> {
        let (c_in, c_out, k, stride, pad) = (self.c_in, self.c_out, self.k, self.stride, self.pad);
        if let Some(g) = grads.as_deref_mut() {
            bias_grad(&mut g[self.bias], d);
        }
        let w = p[self.weight];
        let n = sh.n;
        let want_w = grads.is_some();
        let mut dx = (!last).then(|| vec![0f32; c_in * sh.plane()]);
        let dw = if self.transposed {
            // dcols = im2col(dy); dW += x dcols^T; dx = W dcols.
            let geo = Patches::new(ysh, sh, k, stride, pad);
            let (kk, per) = (c_out * k * k, sh.h * sh.w);
            let nb = block.images(n, kk, per);
            let out = dx.as_deref_mut().map(|b| (b, per));
            let acc = if want_w { c_in * kk } else { 0 };
            over_blocks(out, n, nb, acc, |first, m, planes, dw| {
                let dx_len = if planes.is_empty() { 0 } else { c_in * m * per };
                with_scratch(kk * m * per, dx_len, |dcols, out| {
                    geo.im2col_block(d, first, m, dcols);
                    let dc = View::new(dcols, kk, m * per);
                    if want_w {
                        let xb = View::strided(&x[first * per..], c_in, m * per, n * per, 1);
                        matmul_serial_into(dw, xb, dc.t(), true);
                    }
                    if !planes.is_empty() {
                        matmul_serial_into(out, View::new(w, c_in, kk), dc, false);
                        for (plane, row) in planes.iter_mut().zip(out.chunks_exact(m * per)) {
                            plane.copy_from_slice(row);
                        }
                    }
                });
            })
        } else {
            // dW += dy im2col(x)^T; dx = col2im(W^T dy).
            let geo = Patches::new(sh, ysh, k, stride, pad);
            let (kk, per) = (c_in * k * k, ysh.h * ysh.w);
            let nb = block.images(n, kk, per);
            let out = dx.as_deref_mut().map(|b| (b, sh.h * sh.w));
            let acc = if want_w { c_out * kk } else { 0 };
            over_blocks(out, n, nb, acc, |first, m, planes, dw| {
                with_scratch(kk * m * per, 0, |cols, _| {
                    let db = View::strided(&d[first * per..], c_out, m * per, n * per, 1);
                    if want_w {
                        geo.im2col_block(x, first, m, cols);
                        matmul_serial_into(dw, db, View::new(cols, kk, m * per).t(), true);
                    }
                    if !planes.is_empty() {
                        matmul_serial_into(cols, View::new(w, c_out, kk).t(), db, false);
                        geo.col2im_block(cols, m, planes);
                    }
                });
            })
        };
        if let Some(g) = grads {
            g[self.weight]
                .iter_mut()
                .zip(&dw)
                .for_each(|(a, b)| *a += b);
        }
        dx
    }
}

/// What a layer's forward pass keeps beyond its input.
enum Kept {
    None,
    /// Batch norm's per-channel mean and `1 / sqrt(var + eps)`.
    Norm {
        mean: Vec<f32>,
        inv_std: Vec<f32>,
    },
}

/// A DCGAN generator or critic on host memory.
#[derive(Debug, Clone)]
pub(crate) struct ConvNet {
    layers: Vec<Layer>,
    /// The trained parameters, in the order the gradients come back.
    pub params: Vec<Tensor>,
    /// How many images a convolution's block holds.
    block: Blocks,
}

/// A forward pass: each layer's input (with its shape; empty for an activation, whose
/// backward pass reads its output) and what it kept, and the output.
pub(crate) struct ConvTape {
    inputs: Vec<(Vec<f32>, Shape)>,
    kept: Vec<Kept>,
    out: Vec<f32>,
    out_shape: Shape,
}

impl ConvTape {
    /// The network's output, channel-major.
    pub fn output(&self) -> &[f32] {
        &self.out
    }

    /// Its shape.
    pub fn output_shape(&self) -> Shape {
        self.out_shape
    }
}

impl ConvNet {
    /// The network of `layers`, or `None` where a tensor is not f32.
    pub fn new(layers: &[HostLayer]) -> Option<Self> {
        let mut net = Self {
            layers: Vec::with_capacity(layers.len()),
            params: Vec::new(),
            block: Blocks::default(),
        };
        let add = |net: &mut Self, t: &Tensor| -> Option<usize> {
            (t.dtype() == candle_core::DType::F32 && t.is_variable()).then_some(())?;
            net.params.push(t.clone());
            Some(net.params.len() - 1)
        };
        for layer in layers {
            let l = match layer {
                HostLayer::Conv {
                    weight,
                    bias,
                    stride,
                    pad,
                    transposed,
                } => {
                    let (a, b, k, k2) = weight.dims4().ok()?;
                    (k == k2 && *stride > 0).then_some(())?;
                    let (c_in, c_out) = if *transposed { (a, b) } else { (b, a) };
                    Layer::Conv(ConvLayer {
                        weight: add(&mut net, weight)?,
                        bias: add(&mut net, bias)?,
                        c_in,
                        c_out,
                        k,
                        stride: *stride,
                        pad: *pad,
                        transposed: *transposed,
                    })
                }
                HostLayer::Norm(bn) => Layer::Norm {
                    weight: add(&mut net, bn.weight())?,
                    bias: add(&mut net, bn.bias())?,
                    eps: bn.config().eps,
                    bn: bn.clone(),
                },
                HostLayer::Act(a) => Layer::Act(*a),
            };
            net.layers.push(l);
        }
        Some(net)
    }

    /// Sets the convolutions' blocks.
    #[cfg(test)]
    pub fn set_block(&mut self, block: Blocks) {
        self.block = block;
    }

    /// Zeroed buffers shaped as the parameters.
    pub fn zero_grads(&self) -> Vec<Vec<f32>> {
        self.params
            .iter()
            .map(|p| vec![0.0; p.elem_count()])
            .collect()
    }

    /// The forward pass in training mode from `x` (channel-major, `shape`); batch norm
    /// layers update their running statistics as candle's path does.
    pub fn forward(&self, p: &[&[f32]], x: Vec<f32>, shape: Shape) -> Result<ConvTape> {
        let mut inputs = Vec::with_capacity(self.layers.len());
        let mut kept = Vec::with_capacity(self.layers.len());
        let (mut x, mut sh) = (x, shape);
        for layer in &self.layers {
            let (y, ysh, k) = match layer {
                Layer::Conv(c) => {
                    let (y, ysh) = c.forward(p, &x, sh, self.block);
                    (y, ysh, Kept::None)
                }
                Layer::Norm {
                    weight,
                    bias,
                    eps,
                    bn,
                } => {
                    let plane = sh.plane();
                    let stats: Vec<(f32, f32)> = x
                        .par_chunks_exact(plane)
                        .map(|row| {
                            let m = sum64(row, |v| v) / plane as f64;
                            let v = sum64(row, |v| (v - m) * (v - m)) / plane as f64;
                            (m as f32, v as f32)
                        })
                        .collect();
                    let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
                    let dev = candle_core::Device::Cpu;
                    bn.update_running(
                        &Tensor::new(mean.as_slice(), &dev)?,
                        &Tensor::new(var.as_slice(), &dev)?,
                        plane,
                    )?;
                    // y = x s + (beta - mean s), s = gamma / sqrt(var + eps), as candle's path.
                    let inv_std: Vec<f32> = var
                        .iter()
                        .map(|&v| 1.0 / (v + *eps as f32).sqrt())
                        .collect();
                    let mut y = vec![0f32; x.len()];
                    y.par_chunks_exact_mut(plane)
                        .zip(x.par_chunks_exact(plane))
                        .enumerate()
                        .for_each(|(c, (out, row))| {
                            let s = p[*weight][c] / (var[c] + *eps as f32).sqrt();
                            let t = p[*bias][c] - mean[c] * s;
                            out.iter_mut().zip(row).for_each(|(o, &v)| *o = v * s + t);
                        });
                    (y, sh, Kept::Norm { mean, inv_std })
                }
                Layer::Act(a) => {
                    // In place: an activation's backward pass reads its output only, so its
                    // input is not kept.
                    let mut y = std::mem::take(&mut x);
                    a.apply(&mut y);
                    (y, sh, Kept::None)
                }
            };
            inputs.push((x, sh));
            kept.push(k);
            x = y;
            sh = ysh;
        }
        Ok(ConvTape {
            inputs,
            kept,
            out: x,
            out_shape: sh,
        })
    }

    /// The gradients from `d_out`, the loss's gradient in the output: the parameters' added
    /// into `grads` when given, the input's returned when `input_grad`.
    pub fn backward(
        &self,
        p: &[&[f32]],
        tape: &ConvTape,
        d_out: Vec<f32>,
        mut grads: Option<&mut [Vec<f32>]>,
        input_grad: bool,
    ) -> Vec<f32> {
        let mut d = d_out;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let (x, sh) = (&tape.inputs[i].0, tape.inputs[i].1);
            if i == 0 && !input_grad && !matches!(layer, Layer::Conv(_)) {
                break;
            }
            d = match (layer, &tape.kept[i]) {
                (Layer::Conv(c), _) => {
                    // The output's shape is the next layer's input's.
                    let ysh = tape.inputs.get(i + 1).map_or(tape.out_shape, |(_, s)| *s);
                    let last = i == 0 && !input_grad;
                    match c.backward(p, grads.as_deref_mut(), (x, sh), ysh, &d, last, self.block) {
                        Some(dx) => dx,
                        None => return Vec::new(),
                    }
                }
                (&Layer::Norm { weight, bias, .. }, Kept::Norm { mean, inv_std }) => {
                    // dx = gamma / sigma (dy - mean(dy) - xhat mean(dy xhat)).
                    let plane = sh.plane();
                    let mut dx = d;
                    // Per channel: sum dy and sum dy xhat, then dx in place.
                    let sums: Vec<(f64, f64)> = dx
                        .par_chunks_exact_mut(plane)
                        .zip(x.par_chunks_exact(plane))
                        .enumerate()
                        .map(|(c, (dr, xr))| {
                            let (m, is) = (mean[c], inv_std[c]);
                            let (sd, sdx) = sum64_pair(dr, xr, |dv, xv| {
                                (dv, dv * f64::from((xv as f32 - m) * is))
                            });
                            let (md, mdx) =
                                ((sd / plane as f64) as f32, (sdx / plane as f64) as f32);
                            let g = p[weight][c] * is;
                            for (dv, &xv) in dr.iter_mut().zip(xr) {
                                *dv = g * (*dv - md - (xv - m) * is * mdx);
                            }
                            (sd, sdx)
                        })
                        .collect();
                    if let Some(g) = grads.as_deref_mut() {
                        for (c, (sd, sdx)) in sums.into_iter().enumerate() {
                            g[bias][c] += sd as f32;
                            g[weight][c] += sdx as f32;
                        }
                    }
                    dx
                }
                (Layer::Act(a), _) => {
                    // The derivative is read from the output: the next layer's input.
                    let y = tape.inputs.get(i + 1).map_or(&tape.out, |(y, _)| y);
                    a.backprop(y, &mut d);
                    d
                }
                _ => unreachable!("a layer's tape comes from its own forward pass"),
            };
        }
        d
    }
}
