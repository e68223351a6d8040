//! Fully connected stacks on host memory with the backward pass written out: `y = act(x W^T +
//! b)` layer after layer, each product one call of the `gemm` crate (the kernel candle's CPU
//! matmul calls) into a buffer the pass owns, each activation and its derivative one loop.
//!
//! candle's autograd creates a zeroed gradient buffer and an addition for every graph node;
//! on the small matrices of an MLP training step that bookkeeping costs more than the
//! products. A [`DenseStack`] keeps the layer outputs its backward pass needs (the
//! derivative of every activation here is a function of its output) and accumulates the
//! parameter gradients in place. It is the fast path of gm's MLP training steps; candle's
//! autograd stays the general path and the reference the tests compare it with.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::{Error, Result};

/// The nonlinearity after a layer. Each derivative is read from the layer's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DenseActivation {
    /// No nonlinearity: `y = x`.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `max(x, 0) + slope min(x, 0)`, `0 < slope`.
    LeakyRelu(f32),
    /// `tanh(x)`, whose derivative `1 - y^2` is read from the output.
    Tanh,
    /// `log(1 + e^x)`, whose derivative `sigmoid(x) = 1 - e^-y` is read from the output.
    Softplus,
    /// `1 / (1 + e^-x)`, whose derivative is `y (1 - y)`.
    Sigmoid,
}

/// `e^x` for `x <= 0` in plain arithmetic that the compiler vectorizes (libm's `expf` is a
/// call per element): `2^k p(r)` with `r = x - k ln 2` and Cephes' degree-6 polynomial, to a
/// few ulp; 0 below -87.
#[inline]
fn exp_nonpositive(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 2^23: adding it rounds to an integer.
    let x = x.max(-87.0);
    let k = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^k through the exponent bits; -126 <= k <= 0 here.
    e * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

/// `ln(1 + u)` for `u` in `[0, 1]`: `2 atanh(s)`, `s = u / (2 + u) <= 1/3`, by its series to
/// `s^15` (relative error below 1e-8).
#[inline]
fn ln_1p_unit(u: f32) -> f32 {
    let s = u / (2.0 + u);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0
                    + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 / 15.0))))));
    2.0 * s * series
}

/// `1 - e^-y` for `y >= 0` (softplus' derivative read from its output), without the
/// cancellation of the difference near 0: the Taylor series below 0.35.
#[inline]
fn one_minus_exp_neg(y: f32) -> f32 {
    let series = y
        * (1.0
            - y * (0.5
                - y * (1.0 / 6.0
                    - y * (1.0 / 24.0 - y * (1.0 / 120.0 - y * (1.0 / 720.0 - y / 5040.0))))));
    let direct = 1.0 - exp_nonpositive(-y);
    if y < 0.35 {
        series
    } else {
        direct
    }
}

impl DenseActivation {
    /// `x <- act(x)`, split across candle's threads when `x` is large.
    pub fn apply(self, x: &mut [f32]) {
        if self == DenseActivation::Identity {
            return;
        }
        let chunk = chunk_len(x.len());
        x.par_chunks_mut(chunk).for_each(|c| self.apply_simd(c));
    }

    /// [`DenseActivation::apply_portable`] compiled for AVX2 where the CPU has it (the same
    /// IEEE operations, eight lanes at a time).
    fn apply_simd(self, x: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.apply_avx2(x) };
            return;
        }
        self.apply_portable(x)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_avx2(self, x: &mut [f32]) {
        self.apply_portable(x)
    }

    #[inline(always)]
    fn apply_portable(self, x: &mut [f32]) {
        match self {
            DenseActivation::Identity => {}
            DenseActivation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            DenseActivation::LeakyRelu(a) => x
                .iter_mut()
                .for_each(|v| *v = if *v > 0.0 { *v } else { a * *v }),
            DenseActivation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
            DenseActivation::Softplus => x
                .iter_mut()
                .for_each(|v| *v = v.max(0.0) + ln_1p_unit(exp_nonpositive(-v.abs()))),
            DenseActivation::Sigmoid => x.iter_mut().for_each(|v| {
                // Stable on both sides: e^x / (1 + e^x) for negative x.
                let e = exp_nonpositive(-v.abs());
                *v = if *v >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                }
            }),
        }
    }

    /// `g <- g act'(x)`, with `y = act(x)`, split across candle's threads when `g` is large.
    /// ReLU's derivative at 0 is 0, as candle's.
    pub fn backprop(self, y: &[f32], g: &mut [f32]) {
        if self == DenseActivation::Identity {
            return;
        }
        let chunk = chunk_len(g.len());
        g.par_chunks_mut(chunk)
            .zip(y.par_chunks(chunk))
            .for_each(|(g, y)| self.backprop_simd(y, g));
    }

    /// [`DenseActivation::backprop_portable`] compiled for AVX2 where the CPU has it.
    fn backprop_simd(self, y: &[f32], g: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.backprop_avx2(y, g) };
            return;
        }
        self.backprop_portable(y, g)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn backprop_avx2(self, y: &[f32], g: &mut [f32]) {
        self.backprop_portable(y, g)
    }

    // Selects rather than branches, so that the loops vectorize.
    #[inline(always)]
    fn backprop_portable(self, y: &[f32], g: &mut [f32]) {
        match self {
            DenseActivation::Identity => {}
            DenseActivation::Relu => g
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = if y <= 0.0 { 0.0 } else { *g }),
            DenseActivation::LeakyRelu(a) => g
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = if y <= 0.0 { *g * a } else { *g }),
            DenseActivation::Tanh => g.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y),
            DenseActivation::Softplus => g
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g *= one_minus_exp_neg(y)),
            DenseActivation::Sigmoid => g.iter_mut().zip(y).for_each(|(g, &y)| *g *= y * (1.0 - y)),
        }
    }
}

/// The chunk each thread takes of an element-wise pass over `len` entries: all of them
/// below 32,768 entries or on one thread.
fn chunk_len(len: usize) -> usize {
    let threads = candle_core::utils::get_num_threads().max(1);
    if len < 1 << 15 || threads == 1 {
        len.max(1)
    } else {
        len.div_ceil(threads).next_multiple_of(64)
    }
}

/// A matrix inside a slice: entry `(i, j)` at `i * rs + j * cs`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// The row-major `rows x cols` matrix in `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The `rows x cols` matrix with entry `(i, j)` at `data[i * rs + j * cs]`.
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Whether every entry lies inside `data`.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst <- [dst +] a b` for a row-major `dst` of `a.rows x b.cols`, one call of the `gemm`
/// crate (on candle's threads when the product is large).
///
/// # Panics
/// When the sizes disagree or a view reaches past its slice.
pub fn matmul_into(dst: &mut [f32], a: View, b: View, accumulate: bool) {
    let threads = candle_core::utils::get_num_threads();
    let large = a.rows * a.cols * b.cols >= 1 << 15;
    gemm_into(
        dst,
        a,
        b,
        accumulate,
        if threads > 1 && large { threads } else { 1 },
    );
}

/// [`matmul_into`] on the calling thread only: for products that are themselves one task
/// of a parallel loop.
///
/// # Panics
/// As [`matmul_into`].
pub fn matmul_serial_into(dst: &mut [f32], a: View, b: View, accumulate: bool) {
    gemm_into(dst, a, b, accumulate, 1);
}

fn gemm_into(dst: &mut [f32], a: View, b: View, accumulate: bool, threads: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // The invariants the unchecked kernel relies on; every caller passes sizes it derived
    // from one stack's widths, so a failure here is a bug in this module.
    assert!(
        b.rows == k && dst.len() == m * n && a.in_bounds() && b.in_bounds(),
        "dense matmul: inconsistent sizes"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let par = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: `dst` holds `m x n` entries with row stride `n`; `a` and `b` were checked to
    // stay inside their slices for the `m x k` and `k x n` index ranges the kernel reads.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// `dst <- [dst +] a b^T` for `a (m, k)` and `b (n, k)` row-major, over a long inner
/// dimension `k` (the batch's rows or pixels): weight gradients. One matrix product of so few
/// rows and columns runs on one core, so the inner dimension is split across candle's
/// threads and the partial products added.
pub fn long_inner_into(
    dst: &mut [f32],
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    accumulate: bool,
) {
    let parts = candle_core::utils::get_num_threads().min(k / 1024).max(1);
    fn view(v: &[f32], rows: usize, k: usize, (lo, hi): (usize, usize)) -> View<'_> {
        View::strided(&v[lo..], rows, hi - lo, k, 1)
    }
    let bounds: Vec<(usize, usize)> = (0..parts)
        .map(|i| (k * i / parts, k * (i + 1) / parts))
        .collect();
    let (first, rest) = bounds.split_first().expect("at least one part");
    let partial: Vec<Vec<f32>> = rest
        .par_iter()
        .map(|&(lo, hi)| {
            let mut d = vec![0f32; m * n];
            matmul_into(
                &mut d,
                view(a, m, k, (lo, hi)),
                view(b, n, k, (lo, hi)).t(),
                false,
            );
            d
        })
        .collect();
    matmul_into(
        dst,
        view(a, m, k, *first),
        view(b, n, k, *first).t(),
        accumulate,
    );
    for d in partial {
        dst.iter_mut().zip(&d).for_each(|(x, y)| *x += y);
    }
}

/// Fully connected layers of the given widths with one activation after each layer. The
/// parameters are passed to every call as `[w0, b0, w1, b1, ...]`, `w_i` row-major
/// `(widths[i + 1], widths[i])` (candle's `Linear` layout).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseStack {
    widths: Vec<usize>,
    activations: Vec<DenseActivation>,
}

/// What a forward pass keeps for its backward pass: the input and each layer's output.
#[derive(Debug, Clone)]
pub struct DenseTape {
    rows: usize,
    values: Vec<Vec<f32>>,
}

impl DenseTape {
    /// The last layer's output, row-major `(rows, widths.last())`.
    pub fn output(&self) -> &[f32] {
        self.values.last().map_or(&[], |v| v.as_slice())
    }

    /// The input the pass was given.
    pub fn input(&self) -> &[f32] {
        self.values.first().map_or(&[], |v| v.as_slice())
    }

    /// The rows of the batch.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl DenseStack {
    /// `hidden` after every layer but the last, `output` after the last.
    pub fn new(widths: &[usize], hidden: DenseActivation, output: DenseActivation) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::Config {
                field: "widths",
                value: format!("{widths:?}"),
                reason: "a dense stack needs two or more widths, none zero",
            });
        }
        let layers = widths.len() - 1;
        let mut activations = vec![hidden; layers];
        activations[layers - 1] = output;
        Ok(Self {
            widths: widths.to_vec(),
            activations,
        })
    }

    /// The layer widths, input first, output last.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The length of each parameter, `[out * in, out, ...]`.
    pub fn param_lens(&self) -> Vec<usize> {
        self.widths
            .windows(2)
            .flat_map(|w| [w[0] * w[1], w[1]])
            .collect()
    }

    fn check_params(&self, params: &[&[f32]]) -> Result<()> {
        self.check_lens("parameter", params.iter().map(|p| p.len()))
    }

    /// Whether `lens` are the parameters' lengths, in order.
    fn check_lens(&self, what: &str, lens: impl ExactSizeIterator<Item = usize>) -> Result<()> {
        let want = self.param_lens();
        if lens.len() != want.len() {
            return Err(self.size_error(format!("{what} buffers"), lens.len(), want.len()));
        }
        for (i, (got, expected)) in lens.zip(want).enumerate() {
            if got != expected {
                return Err(self.size_error(format!("{what} {i}"), got, expected));
            }
        }
        Ok(())
    }

    fn size_error(&self, what: String, got: usize, expected: usize) -> Error {
        Error::Size {
            what: format!("dense stack {:?}: {what}", self.widths),
            got,
            expected,
        }
    }

    /// The forward pass on `rows` items, `input` row-major `(rows, widths[0])`.
    pub fn forward(&self, params: &[&[f32]], input: Vec<f32>, rows: usize) -> Result<DenseTape> {
        self.check_params(params)?;
        if input.len() != rows * self.widths[0] {
            return Err(self.size_error("input".into(), input.len(), rows * self.widths[0]));
        }
        let mut values = Vec::with_capacity(self.widths.len());
        values.push(input);
        for (i, w) in self.widths.windows(2).enumerate() {
            let (fan_in, out) = (w[0], w[1]);
            let (weight, bias) = (params[2 * i], params[2 * i + 1]);
            let mut y: Vec<f32> = Vec::with_capacity(rows * out);
            for _ in 0..rows {
                y.extend_from_slice(bias);
            }
            let x = View::new(&values[i], rows, fan_in);
            matmul_into(&mut y, x, View::new(weight, out, fan_in).t(), true);
            self.activations[i].apply(&mut y);
            values.push(y);
        }
        Ok(DenseTape { rows, values })
    }

    /// The backward pass from `d_out`, the loss's gradient with respect to the output. The
    /// parameter gradients are added into `grads` (laid out as the parameters) when given;
    /// the input's gradient is returned when `input_grad`.
    pub fn backward(
        &self,
        params: &[&[f32]],
        tape: &DenseTape,
        d_out: Vec<f32>,
        mut grads: Option<&mut [Vec<f32>]>,
        input_grad: bool,
    ) -> Result<Option<Vec<f32>>> {
        self.check_params(params)?;
        let rows = tape.rows;
        let layers = self.widths.len() - 1;
        if tape.values.len() != layers + 1 {
            return Err(self.size_error("tape".into(), tape.values.len(), layers + 1));
        }
        let want = rows * self.widths[layers];
        if d_out.len() != want {
            return Err(self.size_error("output gradient".into(), d_out.len(), want));
        }
        if let Some(g) = grads.as_deref() {
            self.check_lens("gradient", g.iter().map(|g| g.len()))?;
        }
        let mut g = d_out;
        for i in (0..layers).rev() {
            let (fan_in, out) = (self.widths[i], self.widths[i + 1]);
            self.activations[i].backprop(&tape.values[i + 1], &mut g);
            let gv = View::new(&g, rows, out);
            let x = View::new(&tape.values[i], rows, fan_in);
            if let Some(grads) = grads.as_deref_mut() {
                matmul_into(&mut grads[2 * i], gv.t(), x, true);
                let db = &mut grads[2 * i + 1];
                for row in g.chunks_exact(out) {
                    db.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
                }
            }
            if i == 0 && !input_grad {
                return Ok(None);
            }
            let mut dx = vec![0f32; rows * fan_in];
            matmul_into(&mut dx, gv, View::new(params[2 * i], out, fan_in), false);
            g = dx;
        }
        Ok(Some(g))
    }

    /// Zeroed buffers shaped as the parameters.
    pub fn zero_grads(&self) -> Vec<Vec<f32>> {
        self.param_lens()
            .into_iter()
            .map(|l| vec![0.0; l])
            .collect()
    }
}

#[cfg(test)]
mod tests;
