//! DCGAN networks on host memory for the written-out training step: convolutions and
//! transposed convolutions as im2col / col2im and one matrix product over the batch, batch
//! norm in training mode, element-wise activations, each with its backward pass written
//! out. Buffers are channel-major `(c, n, h, w)`, so that every per-channel operation is
//! one contiguous run and a layer's output is the next one's input as it lies.

use candle_core::Tensor;
use gm_core::nn::{long_inner_into, matmul_into, BatchNorm2d, DenseActivation, View};
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

/// The patches of a `k x k` kernel with stride `s` and padding `p` over `c` channels of `n`
/// images `big`, read at the `small` grid of positions.
#[derive(Debug, Clone, Copy)]
struct Patches {
    c: usize,
    n: usize,
    big: (usize, usize),
    small: (usize, usize),
    k: usize,
    s: usize,
    p: usize,
}

/// Marks a patch entry that falls in the padding.
const PAD: u32 = u32::MAX;

impl Patches {
    /// For kernel position `(ky, kx)`, the offset in one input image of every output
    /// position `(oy, ox)` of one image ([`PAD`] where it falls in the padding): the same
    /// for every channel and image, so that the gathers below run one table over whole
    /// images rather than a loop per output row (rows here are 7 to 28 wide).
    fn tables(&self) -> Vec<Vec<u32>> {
        let (bh, bw) = self.big;
        let (sh, sw) = self.small;
        let at = |o: usize, kk: usize, side: usize| {
            (o * self.s + kk).checked_sub(self.p).filter(|&v| v < side)
        };
        (0..self.k * self.k)
            .map(|kk| {
                let (ky, kx) = (kk / self.k, kk % self.k);
                (0..sh * sw)
                    .map(|q| match (at(q / sw, ky, bh), at(q % sw, kx, bw)) {
                        (Some(iy), Some(ix)) => (iy * bw + ix) as u32,
                        _ => PAD,
                    })
                    .collect()
            })
            .collect()
    }

    /// `(c k k, n small)` from `x (c, n, big)`.
    fn im2col(&self, x: &[f32]) -> Vec<f32> {
        let kk = self.k * self.k;
        let (img, per) = (self.big.0 * self.big.1, self.small.0 * self.small.1);
        let width = self.n * per;
        let tables = self.tables();
        let mut cols = vec![0f32; self.c * kk * width];
        cols.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
            let (ci, table) = (r / kk, &tables[r % kk]);
            for i in 0..self.n {
                let src = &x[(ci * self.n + i) * img..][..img];
                let dst = &mut row[i * per..(i + 1) * per];
                for (d, &o) in dst.iter_mut().zip(table) {
                    if o != PAD {
                        *d = src[o as usize];
                    }
                }
            }
        });
        cols
    }

    /// The adjoint of [`Patches::im2col`]: `(c, n, big)` from `(c k k, n small)`.
    fn col2im(&self, cols: &[f32]) -> Vec<f32> {
        let kk = self.k * self.k;
        let (img, per) = (self.big.0 * self.big.1, self.small.0 * self.small.1);
        let width = self.n * per;
        let tables = self.tables();
        let mut x = vec![0f32; self.c * self.n * img];
        x.par_chunks_mut(self.n * img)
            .enumerate()
            .for_each(|(ci, plane)| {
                for (t, table) in tables.iter().enumerate() {
                    let row = &cols[(ci * kk + t) * width..][..width];
                    for i in 0..self.n {
                        let dst = &mut plane[i * img..(i + 1) * img];
                        for (&v, &o) in row[i * per..(i + 1) * per].iter().zip(table) {
                            if o != PAD {
                                dst[o as usize] += v;
                            }
                        }
                    }
                }
            });
        x
    }
}

/// `dst[c][..] += bias[c]`.
fn add_bias(y: &mut [f32], bias: &[f32]) {
    let plane = y.len() / bias.len().max(1);
    for (row, &b) in y.chunks_exact_mut(plane).zip(bias) {
        row.iter_mut().for_each(|v| *v += b);
    }
}

/// `grad[c] += sum dy[c][..]`.
fn bias_grad(grad: &mut [f32], dy: &[f32]) {
    let plane = dy.len() / grad.len().max(1);
    for (g, row) in grad.iter_mut().zip(dy.chunks_exact(plane)) {
        *g += row.iter().map(|&v| f64::from(v)).sum::<f64>() as f32;
    }
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
    /// The output from `x` of shape `sh`, its shape, and the patches a convolution keeps.
    fn forward(&self, p: &[&[f32]], x: &[f32], sh: Shape) -> (Vec<f32>, Shape, Kept) {
        let (weight, bias, transposed) = (self.weight, self.bias, self.transposed);
        let (c_in, c_out, k, stride, pad) = (self.c_in, self.c_out, self.k, self.stride, self.pad);
        let y = if transposed {
            // y = col2im(W^T x), W (c_in, c_out k k).
            let big = |v: usize| (v - 1) * stride + k - 2 * pad;
            let ysh = Shape {
                c: c_out,
                n: sh.n,
                h: big(sh.h),
                w: big(sh.w),
            };
            let kk = c_out * k * k;
            let mut cols = vec![0f32; kk * sh.plane()];
            matmul_into(
                &mut cols,
                View::new(p[weight], c_in, kk).t(),
                View::new(x, c_in, sh.plane()),
                false,
            );
            (
                patches(ysh, sh, k, stride, pad).col2im(&cols),
                ysh,
                Kept::None,
            )
        } else {
            let small = |v: usize| (v + 2 * pad - k) / stride + 1;
            let ysh = Shape {
                c: c_out,
                n: sh.n,
                h: small(sh.h),
                w: small(sh.w),
            };
            let cols = patches(sh, ysh, k, stride, pad).im2col(x);
            let kk = c_in * k * k;
            let mut y = vec![0f32; c_out * ysh.plane()];
            matmul_into(
                &mut y,
                View::new(p[weight], c_out, kk),
                View::new(&cols, kk, ysh.plane()),
                false,
            );
            (y, ysh, Kept::Cols(cols))
        };
        let (mut y, ysh, kept) = y;
        add_bias(&mut y, p[bias]);
        (y, ysh, kept)
    }

    /// The input's gradient from `d` (the output's, of shape `ysh`) at the input `(x, sh)`,
    /// the parameters' added into `grads` when given; `None` when `last` (the network's
    /// first layer, whose input needs no gradient).
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        p: &[&[f32]],
        mut grads: Option<&mut [Vec<f32>]>,
        (x, sh): (&[f32], Shape),
        ysh: Shape,
        kept: &Kept,
        d: &[f32],
        last: bool,
    ) -> Option<Vec<f32>> {
        let (weight, bias, transposed) = (self.weight, self.bias, self.transposed);
        let (c_in, c_out, k, stride, pad) = (self.c_in, self.c_out, self.k, self.stride, self.pad);
        if let Some(g) = grads.as_deref_mut() {
            bias_grad(&mut g[bias], d);
        }
        let w = p[weight];
        if transposed {
            // dcols = im2col(dy); dx = W dcols; dW += x dcols^T.
            let kk = c_out * k * k;
            let dcols = patches(ysh, sh, k, stride, pad).im2col(d);
            if let Some(g) = grads {
                long_inner_into(&mut g[weight], x, c_in, &dcols, kk, sh.plane(), true);
            }
            if last {
                return None;
            }
            let mut dx = vec![0f32; c_in * sh.plane()];
            matmul_into(
                &mut dx,
                View::new(w, c_in, kk),
                View::new(&dcols, kk, sh.plane()),
                false,
            );
            Some(dx)
        } else {
            // dW += dy cols^T; dx = col2im(W^T dy).
            let geo = patches(sh, ysh, k, stride, pad);
            let kk = c_in * k * k;
            let Kept::Cols(cols) = kept else {
                unreachable!("a convolution keeps its patches")
            };
            if let Some(g) = grads {
                long_inner_into(&mut g[weight], d, c_out, cols, kk, ysh.plane(), true);
            }
            if last {
                return None;
            }
            let mut dcols = vec![0f32; kk * ysh.plane()];
            matmul_into(
                &mut dcols,
                View::new(w, c_out, kk).t(),
                View::new(d, c_out, ysh.plane()),
                false,
            );
            Some(geo.col2im(&dcols))
        }
    }
}

/// What a layer's forward pass keeps beyond its input.
enum Kept {
    None,
    /// A convolution's patches of its input.
    Cols(Vec<f32>),
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
}

/// A forward pass: each layer's input and what it kept, and the output.
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
                Layer::Conv(c) => c.forward(p, &x, sh),
                Layer::Norm {
                    weight,
                    bias,
                    eps,
                    bn,
                } => {
                    let plane = sh.plane();
                    let mut mean = Vec::with_capacity(sh.c);
                    let mut var = Vec::with_capacity(sh.c);
                    for row in x.chunks_exact(plane) {
                        let m = row.iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64;
                        let v = row.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>()
                            / plane as f64;
                        mean.push(m as f32);
                        var.push(v as f32);
                    }
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
                    let mut y = x.clone();
                    for (c, row) in y.chunks_exact_mut(plane).enumerate() {
                        let s = p[*weight][c] / (var[c] + *eps as f32).sqrt();
                        let t = p[*bias][c] - mean[c] * s;
                        row.iter_mut().for_each(|v| *v = *v * s + t);
                    }
                    (y, sh, Kept::Norm { mean, inv_std })
                }
                Layer::Act(a) => {
                    let mut y = x.clone();
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
                (Layer::Conv(c), kept) => {
                    // The output's shape is the next layer's input's.
                    let ysh = tape.inputs.get(i + 1).map_or(tape.out_shape, |(_, s)| *s);
                    let last = i == 0 && !input_grad;
                    match c.backward(p, grads.as_deref_mut(), (x, sh), ysh, kept, &d, last) {
                        Some(dx) => dx,
                        None => return Vec::new(),
                    }
                }
                (&Layer::Norm { weight, bias, .. }, Kept::Norm { mean, inv_std }) => {
                    // dx = gamma / sigma (dy - mean(dy) - xhat mean(dy xhat)).
                    let plane = sh.plane();
                    let mut dx = d;
                    for (c, (dr, xr)) in dx
                        .chunks_exact_mut(plane)
                        .zip(x.chunks_exact(plane))
                        .enumerate()
                    {
                        let (m, is) = (mean[c], inv_std[c]);
                        let (mut sd, mut sdx) = (0f64, 0f64);
                        for (&dv, &xv) in dr.iter().zip(xr) {
                            sd += f64::from(dv);
                            sdx += f64::from(dv) * f64::from((xv - m) * is);
                        }
                        if let Some(g) = grads.as_deref_mut() {
                            g[bias][c] += sd as f32;
                            g[weight][c] += sdx as f32;
                        }
                        let (md, mdx) = ((sd / plane as f64) as f32, (sdx / plane as f64) as f32);
                        let g = p[weight][c] * is;
                        for (dv, &xv) in dr.iter_mut().zip(xr) {
                            *dv = g * (*dv - md - (xv - m) * is * mdx);
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

/// The patch geometry of a convolution from `big` to `small` (or of a transposed one from
/// `small` to `big`), over `big`'s channels.
fn patches(big: Shape, small: Shape, k: usize, s: usize, p: usize) -> Patches {
    Patches {
        c: big.c,
        n: big.n,
        big: (big.h, big.w),
        small: (small.h, small.w),
        k,
        s,
        p,
    }
}
