//! Linear measurement operators b = A x + e, behind one trait, [`MeasurementOperator`]:
//!
//! - [`GaussianMeasurement`]: A in R^{m x n} with i.i.d. N(0, 1) entries. This is the scaling
//!   of Bora et al. (2017) and of their code (`A = randn(n, m)`): E ||A x||^2 = m ||x||^2, so
//!   the measurement loss ||b - A G(z)||^2 / m is on the scale of ||x - G(z)||^2 and the noise
//!   (std 0.1 per measurement in the paper) is small next to the signal. Matrices normalised
//!   for the restricted isometry property are A / sqrt(m).
//! - [`RandomPixelMask`]: observe m pixels drawn uniformly without replacement (inpainting).
//! - [`CentreBlockMask`]: observe everything but a centred square block (inpainting).
//! - [`SuperResolution`]: average pooling by a factor f in each direction.
//! - [`Denoising`]: the identity.
//!
//! Every operator is kept as a dense f32 matrix on its device (n = 784 for MNIST, so even
//! m = n costs 2.5 MB): applying it to a batch is one matrix product, differentiable in x,
//! and the same matrix feeds the Lasso. Randomness comes from gm-core's seeded [`GmRng`].

use candle_core::{DType, Device, Tensor};
use gm_core::GmRng;

use crate::{Error, Result};

/// A dense measurement matrix A (m x n) and its transpose, both contiguous.
#[derive(Debug, Clone)]
pub struct DenseOperator {
    name: String,
    a: Tensor,
    a_t: Tensor,
}

impl DenseOperator {
    /// Wraps `a` (m x n, f32).
    pub fn new(name: impl Into<String>, a: Tensor) -> Result<Self> {
        let (m, n) = a.dims2()?;
        if m == 0 || n == 0 {
            return Err(Error::config(
                "a",
                format!("{m} x {n}"),
                "a measurement matrix needs at least one row and one column",
            ));
        }
        let a = a.to_dtype(DType::F32)?.contiguous()?;
        let a_t = a.t()?.contiguous()?;
        Ok(Self {
            name: name.into(),
            a,
            a_t,
        })
    }

    /// Builds A from row-major values.
    pub fn from_rows(
        name: impl Into<String>,
        rows: Vec<f32>,
        m: usize,
        n: usize,
        device: &Device,
    ) -> Result<Self> {
        if rows.len() != m * n {
            return Err(Error::shape(
                "measurement matrix values",
                &[rows.len()],
                &[m * n],
            ));
        }
        Self::new(name, Tensor::from_vec(rows, (m, n), device)?)
    }

    /// A short description, e.g. `gaussian m=100`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A, (m, n).
    pub fn matrix(&self) -> &Tensor {
        &self.a
    }

    /// A^T, (n, m).
    pub fn matrix_t(&self) -> &Tensor {
        &self.a_t
    }

    /// m, the number of measurements (rows of A).
    pub fn num_measurements(&self) -> usize {
        self.a.dims()[0]
    }

    /// n, the number of values in one signal (columns of A).
    pub fn input_dim(&self) -> usize {
        self.a.dims()[1]
    }

    /// A x for a batch `(N, n)` or `(N, item shape...)` with n values per item; returns
    /// `(N, m)`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let x = flatten_items(x, self.input_dim(), "operator input")?;
        Ok(x.matmul(&self.a_t)?)
    }

    /// A^T b for a batch `(N, m)`; returns `(N, n)`.
    pub fn adjoint(&self, b: &Tensor) -> Result<Tensor> {
        let (_, m) = b.dims2()?;
        if m != self.num_measurements() {
            return Err(Error::shape(
                "measurements",
                b.dims(),
                &[b.dims()[0], self.num_measurements()],
            ));
        }
        Ok(b.matmul(&self.a)?)
    }

    /// A as row-major f64, for the Lasso.
    pub fn rows_f64(&self) -> Result<Vec<f64>> {
        Ok(self
            .a
            .flatten_all()?
            .to_vec1::<f32>()?
            .into_iter()
            .map(f64::from)
            .collect())
    }
}

/// Reshapes `(N, ...)` to `(N, n)`, refusing items of another size.
pub(crate) fn flatten_items(x: &Tensor, n: usize, what: &'static str) -> Result<Tensor> {
    let dims = x.dims();
    let item: usize = dims.iter().skip(1).product();
    if dims.len() < 2 || item != n {
        let batch = dims.first().copied().unwrap_or(0);
        return Err(Error::shape(what, dims, &[batch, n]));
    }
    Ok(x.reshape((dims[0], n))?)
}

/// A linear measurement process b = A x (noise is added by [`add_noise`]).
pub trait MeasurementOperator {
    /// The dense matrix behind the operator.
    fn dense(&self) -> &DenseOperator;

    /// A short description, e.g. `gaussian m=100`.
    fn name(&self) -> String {
        self.dense().name().to_string()
    }

    /// n, the number of values in one signal.
    fn input_dim(&self) -> usize {
        self.dense().input_dim()
    }

    /// m, the number of measurements.
    fn num_measurements(&self) -> usize {
        self.dense().num_measurements()
    }

    /// A x for a batch; returns `(N, m)`. Differentiable in `x`.
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        self.dense().apply(x)
    }

    /// The measurements drawn as images `(N, n)` for a figure, where that makes sense:
    /// observed pixels in place and the rest grey for masks, the low-resolution image
    /// upsampled for super-resolution, the noisy image for denoising.
    fn observation_image(&self, _b: &Tensor) -> Result<Option<Tensor>> {
        Ok(None)
    }
}

/// Any matrix is a measurement process.
impl MeasurementOperator for DenseOperator {
    fn dense(&self) -> &DenseOperator {
        self
    }
}

fn positive(field: &'static str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(Error::config(field, 0, "must be at least 1"));
    }
    Ok(())
}

/// A with i.i.d. N(0, 1) entries (Bora et al.'s scaling; see the module docs).
#[derive(Debug, Clone)]
pub struct GaussianMeasurement {
    dense: DenseOperator,
}

impl GaussianMeasurement {
    /// m measurements of n-dimensional signals, entries drawn from `rng`.
    pub fn new(m: usize, n: usize, rng: &mut GmRng, device: &Device) -> Result<Self> {
        positive("m", m)?;
        positive("n", n)?;
        let a = rng.normal((m, n), 0.0, 1.0, device)?;
        Ok(Self {
            dense: DenseOperator::new(format!("gaussian m={m}"), a)?,
        })
    }
}

impl MeasurementOperator for GaussianMeasurement {
    fn dense(&self) -> &DenseOperator {
        &self.dense
    }
}

/// The selection matrix of the pixels `keep` (sorted) out of n.
fn selection(name: String, keep: &[usize], n: usize, device: &Device) -> Result<DenseOperator> {
    let mut rows = vec![0f32; keep.len() * n];
    for (r, &j) in keep.iter().enumerate() {
        rows[r * n + j] = 1.0;
    }
    DenseOperator::from_rows(name, rows, keep.len(), n, device)
}

/// Zero-filled observation with the unobserved pixels set to grey (0.5).
fn masked_image(dense: &DenseOperator, b: &Tensor) -> Result<Tensor> {
    let filled = dense.adjoint(b)?;
    let ones = Tensor::ones(b.dims(), DType::F32, b.device())?;
    let seen = dense.adjoint(&ones)?;
    Ok((filled + seen.affine(-0.5, 0.5)?)?)
}

/// Inpainting: m pixels of an h x w image, drawn uniformly without replacement.
#[derive(Debug, Clone)]
pub struct RandomPixelMask {
    dense: DenseOperator,
    observed: Vec<usize>,
}

impl RandomPixelMask {
    /// Observes `m` pixels (at most `height * width`) of `height x width` images, drawn from
    /// `rng`.
    pub fn new(
        height: usize,
        width: usize,
        m: usize,
        rng: &mut GmRng,
        device: &Device,
    ) -> Result<Self> {
        positive("height", height)?;
        positive("width", width)?;
        positive("m", m)?;
        let n = height * width;
        if m > n {
            return Err(Error::config(
                "m",
                m,
                "cannot observe more pixels than the image has",
            ));
        }
        let mut observed: Vec<usize> = rng.permutation(n).into_iter().take(m).collect();
        observed.sort_unstable();
        Ok(Self {
            dense: selection(format!("random pixels m={m}"), &observed, n, device)?,
            observed,
        })
    }

    /// The observed pixel indices (row-major), sorted.
    pub fn observed(&self) -> &[usize] {
        &self.observed
    }
}

impl MeasurementOperator for RandomPixelMask {
    fn dense(&self) -> &DenseOperator {
        &self.dense
    }
    fn observation_image(&self, b: &Tensor) -> Result<Option<Tensor>> {
        masked_image(&self.dense, b).map(Some)
    }
}

/// Inpainting: every pixel outside a centred `block x block` square.
#[derive(Debug, Clone)]
pub struct CentreBlockMask {
    dense: DenseOperator,
}

impl CentreBlockMask {
    /// Hides the centred `block x block` square of `height x width` images (`block` smaller
    /// than both sides).
    pub fn new(height: usize, width: usize, block: usize, device: &Device) -> Result<Self> {
        positive("height", height)?;
        positive("width", width)?;
        positive("block", block)?;
        if block >= height.min(width) {
            return Err(Error::config(
                "block",
                block,
                "the hidden block must be smaller than the image in both directions",
            ));
        }
        let (top, left) = ((height - block) / 2, (width - block) / 2);
        let observed: Vec<usize> = (0..height * width)
            .filter(|&p| {
                let (y, x) = (p / width, p % width);
                !((top..top + block).contains(&y) && (left..left + block).contains(&x))
            })
            .collect();
        Ok(Self {
            dense: selection(
                format!("centre block {block}x{block}"),
                &observed,
                height * width,
                device,
            )?,
        })
    }
}

impl MeasurementOperator for CentreBlockMask {
    fn dense(&self) -> &DenseOperator {
        &self.dense
    }
    fn observation_image(&self, b: &Tensor) -> Result<Option<Tensor>> {
        masked_image(&self.dense, b).map(Some)
    }
}

/// Super-resolution: each measurement is the mean of a `factor x factor` block.
#[derive(Debug, Clone)]
pub struct SuperResolution {
    dense: DenseOperator,
    factor: usize,
}

impl SuperResolution {
    /// Averages the `factor x factor` blocks of `height x width` images (`factor` dividing
    /// both sides): `(height / factor) * (width / factor)` measurements.
    pub fn new(height: usize, width: usize, factor: usize, device: &Device) -> Result<Self> {
        positive("height", height)?;
        positive("width", width)?;
        positive("factor", factor)?;
        if !height.is_multiple_of(factor) || !width.is_multiple_of(factor) {
            return Err(Error::config(
                "factor",
                factor,
                "must divide the image height and width",
            ));
        }
        let (lh, lw) = (height / factor, width / factor);
        let n = height * width;
        let mut rows = vec![0f32; lh * lw * n];
        let w = 1.0 / (factor * factor) as f32;
        for by in 0..lh {
            for bx in 0..lw {
                let r = by * lw + bx;
                for dy in 0..factor {
                    for dx in 0..factor {
                        rows[r * n + (by * factor + dy) * width + bx * factor + dx] = w;
                    }
                }
            }
        }
        Ok(Self {
            dense: DenseOperator::from_rows(
                format!("super-resolution x{factor}"),
                rows,
                lh * lw,
                n,
                device,
            )?,
            factor,
        })
    }

    /// The downsampling factor f in each direction.
    pub fn factor(&self) -> usize {
        self.factor
    }
}

impl MeasurementOperator for SuperResolution {
    fn dense(&self) -> &DenseOperator {
        &self.dense
    }
    fn observation_image(&self, b: &Tensor) -> Result<Option<Tensor>> {
        // A^T b spreads each mean over its block with weight 1/f^2: scale back up.
        let f2 = (self.factor * self.factor) as f64;
        Ok(Some(self.dense.adjoint(b)?.affine(f2, 0.0)?))
    }
}

/// Denoising: A = I.
#[derive(Debug, Clone)]
pub struct Denoising {
    dense: DenseOperator,
}

impl Denoising {
    /// The identity on signals of `n` values.
    pub fn new(n: usize, device: &Device) -> Result<Self> {
        positive("n", n)?;
        Ok(Self {
            dense: DenseOperator::new("denoising", Tensor::eye(n, DType::F32, device)?)?,
        })
    }
}

impl MeasurementOperator for Denoising {
    fn dense(&self) -> &DenseOperator {
        &self.dense
    }
    fn observation_image(&self, b: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(b.clone()))
    }
}

/// b + e, e ~ N(0, std^2 I) drawn from `rng`.
pub fn add_noise(b: &Tensor, std: f64, rng: &mut GmRng) -> Result<Tensor> {
    if !(std >= 0.0 && std.is_finite()) {
        return Err(Error::config(
            "noise_std",
            std,
            "must be non-negative and finite",
        ));
    }
    if std == 0.0 {
        return Ok(b.clone());
    }
    let e = rng.normal(b.dims(), 0.0, std, b.device())?;
    Ok((b + e)?)
}

/// b = A x + e with e ~ N(0, std^2 I): the measurements of a batch `(N, ...)`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use gm_core::GmRng;
/// use gm_inverse::{measure, GaussianMeasurement, MeasurementOperator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dev = Device::Cpu;
/// // m = 3 Gaussian measurements of one 2 x 2 image, `(1, 1, 2, 2)`.
/// let op = GaussianMeasurement::new(3, 4, &mut GmRng::new(0), &dev)?;
/// let x = Tensor::new(&[[[[1f32, 2.], [3., 4.]]]], &dev)?;
/// // Without noise, b = A x.
/// let b = measure(&op, &x, 0.0, &mut GmRng::new(1))?;
/// assert_eq!(b.dims2()?, (1, 3));
/// let a = op.dense().rows_f64()?;
/// let b = b.to_vec2::<f32>()?;
/// for r in 0..3 {
///     let want: f64 = (0..4).map(|j| a[r * 4 + j] * (j + 1) as f64).sum();
///     assert!((f64::from(b[0][r]) - want).abs() < 1e-4);
/// }
/// # Ok(())
/// # }
/// ```
pub fn measure<O: MeasurementOperator + ?Sized>(
    op: &O,
    x: &Tensor,
    noise_std: f64,
    rng: &mut GmRng,
) -> Result<Tensor> {
    add_noise(&op.apply(x)?, noise_std, rng)
}

#[cfg(test)]
mod tests;
