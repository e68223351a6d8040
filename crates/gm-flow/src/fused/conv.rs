//! The coupling networks' convolutions on host memory. Every buffer is channel-major,
//! `(c, n, h, w)` row-major, so that a `k x k` convolution over the whole batch is one matrix
//! product: `(c_out, c_in k^2) x (c_in k^2, n h w)` after im2col (the identity for 1x1), and
//! its backward pass two more, with col2im for the input's gradient.

use std::borrow::Cow;

use gm_core::nn::{long_inner_into, matmul_into, View};
use rayon::prelude::*;

/// The spatial size of a batch: `n` images of `h x w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub n: usize,
    pub h: usize,
    pub w: usize,
}

impl Grid {
    /// Pixels of one channel over the batch, `n h w`.
    pub fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }
}

/// `f(dst[x], src[x + dx - 1])` for every `x` where both lie inside the row: the inner loop
/// of a 3x3, padding-1 patch gather (`dx` in `0..3`).
fn shifted(dst: &mut [f32], src: &[f32], dx: usize, f: impl Fn(&mut f32, f32)) {
    let w = dst.len();
    let (d, s) = match dx {
        0 => (&mut dst[1..], &src[..w - 1]),
        1 => (&mut dst[..], src),
        _ => (&mut dst[..w - 1], &src[1..]),
    };
    d.iter_mut().zip(s).for_each(|(d, &s)| f(d, s));
}

/// Calls `row(dst, src, dx)` for every image row of a 3x3, padding-1 patch gather at offset
/// `(dy, dx)`: `dst` the output row `(i, y)` and `src` the input row `(i, y + dy - 1)`.
fn each_row(g: Grid, dy: usize, dst: &mut [f32], src: &[f32], row: impl Fn(&mut [f32], &[f32])) {
    let (plane, w) = (g.h * g.w, g.w);
    for i in 0..g.n {
        for y in 0..g.h {
            let Some(sy) = (y + dy).checked_sub(1).filter(|&s| s < g.h) else {
                continue;
            };
            let at = i * plane + y * w;
            let from = i * plane + sy * w;
            row(&mut dst[at..at + w], &src[from..from + w]);
        }
    }
}

/// The rows `(ci, k = 3 dy + dx)` of a 3x3, stride-1, padding-1 convolution's patches:
/// `cols[9 ci + k][(i, y, x)] = x[ci][i][y + dy - 1][x + dx - 1]` (0 outside).
pub(crate) fn im2col3(x: &[f32], c_in: usize, g: Grid) -> Vec<f32> {
    let pix = g.pixels();
    let mut cols = vec![0f32; c_in * 9 * pix];
    cols.par_chunks_mut(pix).enumerate().for_each(|(r, dst)| {
        let (ci, dy, dx) = (r / 9, (r % 9) / 3, r % 3);
        let src = &x[ci * pix..(ci + 1) * pix];
        each_row(g, dy, dst, src, |d, s| shifted(d, s, dx, |d, s| *d = s));
    });
    cols
}

/// `out[c][p] = sum_k y[9 c + k][p + offset_k]` (0 outside the image): the sum over the
/// kernel's positions of per-position products, the forward pass of a convolution computed
/// as `(c_out 9, c_in) x (c_in, n h w)`.
fn gather_sum3(y: &[f32], c: usize, g: Grid) -> Vec<f32> {
    let pix = g.pixels();
    let mut out = vec![0f32; c * pix];
    out.par_chunks_mut(pix).enumerate().for_each(|(co, dst)| {
        for k in 0..9 {
            let src = &y[(9 * co + k) * pix..(9 * co + k + 1) * pix];
            each_row(g, k / 3, dst, src, |d, s| {
                shifted(d, s, k % 3, |d, s| *d += s)
            });
        }
    });
    out
}

/// The adjoint of [`im2col3`]: sums each patch row back onto the pixels it was read from.
pub(crate) fn col2im3(cols: &[f32], c_in: usize, g: Grid) -> Vec<f32> {
    let pix = g.pixels();
    let mut x = vec![0f32; c_in * pix];
    x.par_chunks_mut(pix).enumerate().for_each(|(ci, dst)| {
        for k in 0..9 {
            let src = &cols[(ci * 9 + k) * pix..(ci * 9 + k + 1) * pix];
            // x[p + offset_k] += cols[k][p] is cols[8 - k] gathered at offset 8 - k.
            let (dy, dx) = ((8 - k) / 3, (8 - k) % 3);
            each_row(g, dy, dst, src, |d, s| shifted(d, s, dx, |d, s| *d += s));
        }
    });
    x
}

/// `sum v` with eight accumulators, so that the loop vectorizes.
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        acc.iter_mut().zip(c).for_each(|(a, &x)| *a += x);
    }
    acc.iter().sum::<f32>() + tail
}

/// A `k x k` (1 or 3), stride-1, "same" convolution with bias; `weight` and `bias` index the
/// flow's parameter list.
///
/// A 3x3 convolution with at most as many inputs as outputs gathers the input's patches
/// (im2col, `9 c_in` rows) and multiplies; one with more inputs than outputs (the couplings'
/// last layer, 32-64 channels to 2-16) never builds them: the forward pass multiplies first,
/// `(9 c_out, c_in) x x`, and sums the nine shifted products, and the backward pass gathers
/// the patches of the output's gradient (`9 c_out` rows) for both the weight's and the
/// input's gradient (the latter a convolution with the flipped kernel).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostConv {
    pub weight: usize,
    pub bias: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
}

impl HostConv {
    fn output_patches(&self) -> bool {
        self.k == 3 && self.c_in > self.c_out
    }

    /// `(c_out, n h w)` from `x (c_in, n h w)`.
    pub fn forward(&self, params: &[Vec<f32>], x: &[f32], g: Grid) -> Vec<f32> {
        let pix = g.pixels();
        let (w, (ci, co)) = (&params[self.weight], (self.c_in, self.c_out));
        let mut y = if self.output_patches() {
            // wr[9 o + k][i] = w[o][i][k].
            let mut wr = vec![0f32; 9 * co * ci];
            for o in 0..co {
                for i in 0..ci {
                    for k in 0..9 {
                        wr[(9 * o + k) * ci + i] = w[(o * ci + i) * 9 + k];
                    }
                }
            }
            let mut prod = vec![0f32; 9 * co * pix];
            matmul_into(
                &mut prod,
                View::new(&wr, 9 * co, ci),
                View::new(x, ci, pix),
                false,
            );
            gather_sum3(&prod, co, g)
        } else if self.k == 3 {
            let cols = im2col3(x, ci, g);
            let mut y = vec![0f32; co * pix];
            matmul_into(
                &mut y,
                View::new(w, co, 9 * ci),
                View::new(&cols, 9 * ci, pix),
                false,
            );
            y
        } else {
            let mut y = vec![0f32; co * pix];
            matmul_into(&mut y, View::new(w, co, ci), View::new(x, ci, pix), false);
            y
        };
        for (row, &b) in y.chunks_exact_mut(pix).zip(&params[self.bias]) {
            row.iter_mut().for_each(|v| *v += b);
        }
        y
    }

    /// Adds the parameter gradients from `dy (c_out, n h w)` at input `x` into `grads` and
    /// returns the input's gradient.
    pub fn backward(
        &self,
        params: &[Vec<f32>],
        grads: &mut [Vec<f32>],
        x: &[f32],
        dy: &[f32],
        g: Grid,
    ) -> Vec<f32> {
        let pix = g.pixels();
        let (w, (ci, co)) = (&params[self.weight], (self.c_in, self.c_out));
        for (db, row) in grads[self.bias].iter_mut().zip(dy.chunks_exact(pix)) {
            *db += sum(row);
        }
        let dyv = View::new(dy, co, pix);
        if self.output_patches() {
            // cols[9 o + k][q] = dy[o][q + offset_k], and offset_{8 - k} = -offset_k:
            // dw[o][i][k] = sum_q cols[9 o + 8 - k][q] x[i][q],
            // dx[i][q] = sum_{o, k} w[o][i][8 - k] cols[9 o + k][q].
            let cols = im2col3(dy, co, g);
            let mut gw = vec![0f32; 9 * co * ci];
            long_inner_into(&mut gw, &cols, 9 * co, x, ci, pix, false);
            let mut wf = vec![0f32; ci * 9 * co];
            let dw = &mut grads[self.weight];
            for o in 0..co {
                for i in 0..ci {
                    for k in 0..9 {
                        dw[(o * ci + i) * 9 + k] += gw[(9 * o + 8 - k) * ci + i];
                        wf[i * 9 * co + 9 * o + k] = w[(o * ci + i) * 9 + 8 - k];
                    }
                }
            }
            let mut dx = vec![0f32; ci * pix];
            matmul_into(
                &mut dx,
                View::new(&wf, ci, 9 * co),
                View::new(&cols, 9 * co, pix),
                false,
            );
            dx
        } else {
            let kk = ci * self.k * self.k;
            let cols: Cow<[f32]> = if self.k == 1 {
                Cow::Borrowed(x)
            } else {
                Cow::Owned(im2col3(x, ci, g))
            };
            long_inner_into(&mut grads[self.weight], dy, co, &cols, kk, pix, true);
            let mut dcols = vec![0f32; kk * pix];
            matmul_into(&mut dcols, View::new(w, co, kk).t(), dyv, false);
            if self.k == 1 {
                dcols
            } else {
                col2im3(&dcols, ci, g)
            }
        }
    }
}

/// The conditioner of a coupling: 3x3 conv, ReLU, 1x1 conv, ReLU, 3x3 conv.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostConvNet {
    pub convs: [HostConv; 3],
}

/// What [`HostConvNet::forward`] keeps: the input of each convolution.
pub(crate) struct NetTape {
    inputs: [Vec<f32>; 3],
}

impl HostConvNet {
    /// The network's output `(c_out, n h w)` and its tape.
    pub fn forward(&self, params: &[Vec<f32>], x: Vec<f32>, g: Grid) -> (Vec<f32>, NetTape) {
        let [a, b, c] = &self.convs;
        let mut h1 = a.forward(params, &x, g);
        h1.iter_mut().for_each(|v| *v = v.max(0.0));
        let mut h2 = b.forward(params, &h1, g);
        h2.iter_mut().for_each(|v| *v = v.max(0.0));
        let out = c.forward(params, &h2, g);
        (
            out,
            NetTape {
                inputs: [x, h1, h2],
            },
        )
    }

    /// The gradient with respect to the input, the parameters' added into `grads`.
    pub fn backward(
        &self,
        params: &[Vec<f32>],
        grads: &mut [Vec<f32>],
        tape: &NetTape,
        d_out: &[f32],
        g: Grid,
    ) -> Vec<f32> {
        let mut d = d_out.to_vec();
        for i in (0..3).rev() {
            let x = &tape.inputs[i];
            let mut dx = self.convs[i].backward(params, grads, x, &d, g);
            if i > 0 {
                // ReLU's derivative, read from its output (the next convolution's input).
                // A select rather than a branch, so that the loop vectorizes.
                dx.iter_mut()
                    .zip(x)
                    .for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 });
            }
            d = dx;
        }
        d
    }
}
