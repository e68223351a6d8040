//! Kernel two-sample statistics (Gretton et al. 2012, "A Kernel Two-Sample Test"):
//! Gaussian `exp(-||x - y||^2 / (2 s^2))` and inverse-multiquadric `c / (c + ||x - y||^2)`
//! kernels and their sums over bandwidths, the median heuristic, MMD^2
//!
//! ```text
//! MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y)
//! ```
//!
//! (biased V-statistic, unbiased U-statistic without the diagonals, linear-time), the
//! Cauchy-Schwarz ratio `J = (E k(X, Y))^2 / E k(Y, Y') <= E k(X, X')` (equality iff the
//! kernel mean embeddings coincide, i.e. f = g for a characteristic kernel), and a seeded
//! permutation test. Pairwise squared distances come from one matmul,
//! `||x||^2 + ||y||^2 - 2 x y^T`, so every statistic is a differentiable tensor.

use candle_core::{Tensor, D};
use gm_core::GmRng;
use gm_core::ToHostF64;

use crate::{Error, Result};

/// The kernel family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    /// `exp(-d^2 / (2 s^2))` for bandwidth s.
    Gaussian,
    /// `c / (c + d^2)` for scale c.
    InverseMultiquadric,
}

/// A sum of kernels of one family over several bandwidths (or scales).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    kind: KernelKind,
    scales: Vec<f64>,
}

impl Kernel {
    fn new(kind: KernelKind, scales: &[f64]) -> Result<Self> {
        if scales.is_empty() {
            return Err(Error::TooFewSamples {
                what: "kernel bandwidth list",
                needed: 1,
                got: 0,
            });
        }
        for &s in scales {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::NotPositive {
                    name: "kernel bandwidth",
                    value: s,
                });
            }
        }
        Ok(Self {
            kind,
            scales: scales.to_vec(),
        })
    }

    /// `sum_s exp(-d^2 / (2 s^2))`.
    pub fn gaussian(bandwidths: &[f64]) -> Result<Self> {
        Self::new(KernelKind::Gaussian, bandwidths)
    }

    /// `sum_c c / (c + d^2)`.
    pub fn inverse_multiquadric(scales: &[f64]) -> Result<Self> {
        Self::new(KernelKind::InverseMultiquadric, scales)
    }

    /// The kernel family.
    pub fn kind(&self) -> KernelKind {
        self.kind
    }

    /// The bandwidths (Gaussian) or scales (inverse multiquadric) summed over.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// The kernel at squared distance `d2`.
    pub fn eval(&self, d2: f64) -> f64 {
        self.scales
            .iter()
            .map(|&s| match self.kind {
                KernelKind::Gaussian => (-d2 / (2.0 * s * s)).exp(),
                KernelKind::InverseMultiquadric => s / (s + d2),
            })
            .sum()
    }

    /// The kernel applied elementwise to a tensor of squared distances.
    pub fn from_sq_distances(&self, d2: &Tensor) -> Result<Tensor> {
        let mut acc: Option<Tensor> = None;
        for &s in &self.scales {
            let k = match self.kind {
                KernelKind::Gaussian => d2.affine(-1.0 / (2.0 * s * s), 0.0)?.exp()?,
                KernelKind::InverseMultiquadric => d2.affine(1.0 / s, 1.0)?.recip()?,
            };
            acc = Some(match acc {
                None => k,
                Some(a) => (a + k)?,
            });
        }
        acc.ok_or(Error::TooFewSamples {
            what: "kernel bandwidth list",
            needed: 1,
            got: 0,
        })
    }

    /// The Gram matrix `k(x_i, y_j)`, `[n, m]`, for `x: [n, d]`, `y: [m, d]`.
    pub fn gram(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        self.from_sq_distances(&pairwise_sq_distances(x, y)?)
    }
}

fn check_2d(x: &Tensor, what: &str) -> Result<(usize, usize)> {
    match x.dims() {
        [n, d] => Ok((*n, *d)),
        s => Err(Error::Shape(format!("{what} must be [n, d], got {s:?}"))),
    }
}

/// `||x_i - y_j||^2` for all pairs, `[n, m]`, by one matmul, clamped at 0 against rounding.
pub fn pairwise_sq_distances(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (_, dx) = check_2d(x, "x")?;
    let (_, dy) = check_2d(y, "y")?;
    if dx != dy {
        return Err(Error::LengthMismatch {
            what: "feature dimensions",
            left: dx,
            right: dy,
        });
    }
    let xx = x.sqr()?.sum_keepdim(1)?; // [n, 1]
    let yy = y.sqr()?.sum_keepdim(1)?.t()?; // [1, m]
                                            // Scale the small [n, d] operand rather than the [n, m] product: one pass fewer.
    let xy2 = x.affine(-2.0, 0.0)?.matmul(&y.t()?)?; // [n, m], -2 x_i . y_j
    let d2 = xy2.broadcast_add(&xx)?.broadcast_add(&yy)?;
    Ok(d2.relu()?)
}

/// The median heuristic bandwidth: the median of the pairwise distances `||x_i - x_j||`,
/// i < j, over the first (at most) 1,024 rows. If that median is 0 (many repeated points) it
/// falls back to the mean of the positive distances, and to 1 when every point coincides.
pub fn median_heuristic(x: &Tensor) -> Result<f64> {
    let (n, _) = check_2d(x, "x")?;
    if n < 2 {
        return Err(Error::TooFewSamples {
            what: "median heuristic",
            needed: 2,
            got: n,
        });
    }
    let m = n.min(1024);
    let xs = x.narrow(0, 0, m)?;
    let d2 = pairwise_sq_distances(&xs, &xs)?
        .to_host_f64()?
        .to_vec2::<f64>()?;
    let mut dist: Vec<f64> = Vec::with_capacity(m * (m - 1) / 2);
    for (i, row) in d2.iter().enumerate() {
        for &v in &row[i + 1..] {
            dist.push(v.sqrt());
        }
    }
    dist.sort_by(|a, b| a.total_cmp(b));
    let k = dist.len();
    let median = if k % 2 == 1 {
        dist[k / 2]
    } else {
        0.5 * (dist[k / 2 - 1] + dist[k / 2])
    };
    if median > 0.0 && median.is_finite() {
        return Ok(median);
    }
    let pos: Vec<f64> = dist.into_iter().filter(|&d| d > 0.0).collect();
    if pos.is_empty() {
        Ok(1.0)
    } else {
        Ok(pos.iter().sum::<f64>() / pos.len() as f64)
    }
}

/// The mean of a within-sample Gram matrix without its diagonal. Every diagonal entry is
/// exactly `k(x, x) = k(0)` (the sum over scales), so it is subtracted in closed form instead
/// of masking the `n x n` matrix.
fn off_diagonal_mean(kernel: &Kernel, k: &Tensor) -> Result<Tensor> {
    let n = k.dim(0)?;
    let diag = n as f64 * kernel.eval(0.0);
    Ok((k.sum_all()?.affine(1.0, -diag)? / (n * (n - 1)) as f64)?)
}

fn check_pair(x: &Tensor, y: &Tensor, min: usize) -> Result<(usize, usize)> {
    let (n, dx) = check_2d(x, "x")?;
    let (m, dy) = check_2d(y, "y")?;
    if dx != dy {
        return Err(Error::LengthMismatch {
            what: "feature dimensions",
            left: dx,
            right: dy,
        });
    }
    if n < min || m < min {
        return Err(Error::TooFewSamples {
            what: "two-sample statistic",
            needed: min,
            got: n.min(m),
        });
    }
    Ok((n, m))
}

/// Biased MMD^2 (V-statistic): means over all pairs, diagonals included.
pub fn mmd2_biased(kernel: &Kernel, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    check_pair(x, y, 1)?;
    let kxx = kernel.gram(x, x)?.mean_all()?;
    let kyy = kernel.gram(y, y)?.mean_all()?;
    let kxy = kernel.gram(x, y)?.mean_all()?;
    Ok(((kxx + kyy)? - kxy.affine(2.0, 0.0)?)?)
}

/// Unbiased MMD^2 (U-statistic): the within-sample means exclude the diagonal.
pub fn mmd2_unbiased(kernel: &Kernel, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    check_pair(x, y, 2)?;
    let kxx = off_diagonal_mean(kernel, &kernel.gram(x, x)?)?;
    let kyy = off_diagonal_mean(kernel, &kernel.gram(y, y)?)?;
    let kxy = kernel.gram(x, y)?.mean_all()?;
    Ok(((kxx + kyy)? - kxy.affine(2.0, 0.0)?)?)
}

fn rowwise_kernel(kernel: &Kernel, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d2 = (a - b)?.sqr()?.sum(D::Minus1)?;
    kernel.from_sq_distances(&d2)
}

/// Linear-time MMD^2 (Gretton et al. 2012, Lemma 14): the mean over disjoint pairs of
/// `k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)`; needs equal sample sizes.
pub fn mmd2_linear(kernel: &Kernel, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (n, m) = check_pair(x, y, 2)?;
    if n != m {
        return Err(Error::LengthMismatch {
            what: "linear-time MMD sample sizes",
            left: n,
            right: m,
        });
    }
    let h = n / 2;
    let x1 = x.narrow(0, 0, h)?;
    let x2 = x.narrow(0, h, h)?;
    let y1 = y.narrow(0, 0, h)?;
    let y2 = y.narrow(0, h, h)?;
    let s = ((rowwise_kernel(kernel, &x1, &x2)? + rowwise_kernel(kernel, &y1, &y2)?)?
        - rowwise_kernel(kernel, &x1, &y2)?)?;
    let s = (s - rowwise_kernel(kernel, &x2, &y1)?)?;
    Ok(s.mean_all()?)
}

/// The Cauchy-Schwarz ratio `J = (mean k(x_i, y_j))^2 / mean_{i != j} k(y_i, y_j)`, X data,
/// Y generated. `J <= E k(X, X')`, with equality iff the embeddings of X and Y coincide; a
/// generator can maximise J.
pub fn cauchy_schwarz_ratio(kernel: &Kernel, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    check_pair(x, y, 2)?;
    let kxy = kernel.gram(x, y)?.mean_all()?;
    let kyy = off_diagonal_mean(kernel, &kernel.gram(y, y)?)?;
    Ok((kxy.sqr()? / kyy)?)
}

/// `E exp(-||X - Y||^2 / (2 s^2))` for independent `X ~ N(m1, v1 I_d)`, `Y ~ N(m2, v2 I_d)`:
/// `(s^2 / (s^2 + v))^(d/2) exp(-||m1 - m2||^2 / (2 (s^2 + v)))`, `v = v1 + v2`.
pub fn gaussian_kernel_expectation(
    bandwidth: f64,
    mean_distance_sq: f64,
    var_x: f64,
    var_y: f64,
    dim: usize,
) -> f64 {
    let s2 = bandwidth * bandwidth;
    let v = var_x + var_y;
    (s2 / (s2 + v)).powf(dim as f64 / 2.0) * (-mean_distance_sq / (2.0 * (s2 + v))).exp()
}

/// The outcome of a permutation two-sample test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationTest {
    /// Unbiased MMD^2 of the observed split.
    pub statistic: f64,
    /// `(1 + #{permuted >= observed}) / (1 + permutations)`.
    pub p_value: f64,
    /// Number of random permutations drawn.
    pub permutations: usize,
}

fn mmd2_unbiased_from_gram(k: &[f64], n_total: usize, idx: &[usize], n: usize) -> f64 {
    let (xs, ys) = idx.split_at(n);
    let m = ys.len();
    let block = |a: &[usize], b: &[usize], skip_diag: bool| -> f64 {
        let mut s = 0.0;
        for &i in a {
            let row = &k[i * n_total..(i + 1) * n_total];
            for &j in b {
                if !(skip_diag && i == j) {
                    s += row[j];
                }
            }
        }
        s
    };
    block(xs, xs, true) / (n * (n - 1)) as f64 + block(ys, ys, true) / (m * (m - 1)) as f64
        - 2.0 * block(xs, ys, false) / (n * m) as f64
}

/// A permutation two-sample test with the unbiased MMD^2: the Gram matrix of the pooled
/// sample is computed once, then `permutations` seeded relabellings give the null law.
pub fn permutation_test(
    kernel: &Kernel,
    x: &Tensor,
    y: &Tensor,
    permutations: usize,
    rng: &mut GmRng,
) -> Result<PermutationTest> {
    let (n, m) = check_pair(x, y, 2)?;
    if permutations == 0 {
        return Err(Error::TooFewSamples {
            what: "permutation test",
            needed: 1,
            got: 0,
        });
    }
    let z = Tensor::cat(&[x, y], 0)?;
    let total = n + m;
    let k = kernel
        .gram(&z, &z)?
        .to_host_f64()?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let identity: Vec<usize> = (0..total).collect();
    let observed = mmd2_unbiased_from_gram(&k, total, &identity, n);
    let mut exceed = 0usize;
    for _ in 0..permutations {
        let perm = rng.permutation(total);
        if mmd2_unbiased_from_gram(&k, total, &perm, n) >= observed {
            exceed += 1;
        }
    }
    Ok(PermutationTest {
        statistic: observed,
        p_value: (1 + exceed) as f64 / (1 + permutations) as f64,
        permutations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::Device;

    #[test]
    fn empty_or_bad_bandwidths_are_errors() {
        assert!(Kernel::gaussian(&[]).is_err());
        assert!(matches!(
            Kernel::gaussian(&[1.0, 0.0]),
            Err(Error::NotPositive { .. })
        ));
        assert!(Kernel::inverse_multiquadric(&[f64::NAN]).is_err());
    }

    #[test]
    fn median_heuristic_is_safe_on_repeated_points() {
        let dev = Device::Cpu;
        // 5 copies of one point and 1 other: the median distance is 0.
        let x = Tensor::from_vec(
            vec![1f32, 1., 1., 1., 1., 1., 1., 1., 1., 1., 4., 5.],
            (6, 2),
            &dev,
        )
        .unwrap();
        let h = median_heuristic(&x).unwrap();
        assert!((h - 5.0).abs() < 1e-5, "{h}");
        let same = Tensor::ones((4, 3), DType::F32, &dev).unwrap();
        assert_eq!(median_heuristic(&same).unwrap(), 1.0);
    }

    #[test]
    fn pairwise_distances_match_direct_computation() {
        let dev = Device::Cpu;
        let x = Tensor::from_vec(vec![0f32, 0., 3., 4., 1., 1.], (3, 2), &dev).unwrap();
        let y = Tensor::from_vec(vec![0f32, 1., 2., 2.], (2, 2), &dev).unwrap();
        let d = pairwise_sq_distances(&x, &y)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let expect = [[1.0, 8.0], [18.0, 5.0], [1.0, 2.0]];
        for i in 0..3 {
            for j in 0..2 {
                assert!((d[i][j] - expect[i][j]).abs() < 1e-5);
            }
        }
    }
}
