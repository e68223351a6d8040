//! The restricted isometry property (Candes and Tao, 2005) of a Gaussian measurement matrix,
//! checked numerically as rows of `cargo xtask reproduce theory`.
//!
//! A / sqrt(m) has restricted isometry constant delta_k when
//! (1 - delta_k) ||x||^2 <= ||A x||^2 / m <= (1 + delta_k) ||x||^2 for every k-sparse x, i.e.
//! every eigenvalue of A_S^T A_S / m lies in [1 - delta_k, 1 + delta_k] for every support
//! |S| = k. For A with i.i.d. N(0, 1) entries, delta_k <= delta holds with high probability
//! once m >= C delta^-2 k log(d / k) (Baraniuk, Davenport, DeVore and Wakin, 2008). The exact
//! constant is a maximum over all C(d, k) supports; [`empirical_ric`] maximises over random
//! supports, which gives a lower bound on it: enough to show where the property fails.
//!
//! Bora, Jalal, Price and Dimakis (2017) replace sparsity by the range of a generator G:
//! A satisfies S-REC(S, gamma, delta) when ||A(x1 - x2)|| >= gamma ||x1 - x2|| - delta for
//! x1, x2 in S = G(B^k); then x_hat = G(argmin_z ||A G(z) - y||) has
//! ||x_hat - x*|| <= 6 min_z ||G(z) - x*|| + 3 ||eta|| + 2 delta (with gamma = 1/2).
//! [`srec_ratios`] measures ||A(G(z1) - G(z2))|| / ||G(z1) - G(z2)|| over random pairs for
//! A with N(0, 1/m) entries; each ratio^2 is chi^2_m / m, so the ratios concentrate at 1
//! with spread ~ 1 / sqrt(2m). [`bora_bound_ratio`] runs the estimator (Adam on z, hand-written
//! gradient checked by finite differences) on signals in the range of G and compares the
//! error with the bound.

use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::{Error, Result};

const AREA: &str = "gm-inverse";

/// Eigenvalues of a symmetric k x k matrix (row-major) by cyclic Jacobi rotations.
pub fn symmetric_eigenvalues(a: &[f64], k: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    for _ in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j] * a[i * k + j])
            .sum();
        if off < 1e-24 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
            }
        }
    }
    (0..k).map(|i| a[i * k + i]).collect()
}

/// The empirical restricted isometry constant of A / sqrt(m), A (m x d) with N(0, 1)
/// entries drawn from `seed`: the largest |eigenvalue of A_S^T A_S / m - 1| over `supports`
/// random k-subsets S. Returns (delta_k, smallest eigenvalue seen, largest eigenvalue seen).
pub fn empirical_ric(
    m: usize,
    d: usize,
    k: usize,
    supports: usize,
    seed: u64,
) -> Result<(f64, f64, f64)> {
    if m == 0 {
        return Err(Error::config("m", 0, "must be at least 1"));
    }
    if k == 0 || k > d {
        return Err(Error::config("k", k, "must lie in 1..=d"));
    }
    if supports == 0 {
        return Err(Error::config("supports", 0, "must be at least 1"));
    }
    let mut rng = GmRng::new(seed);
    let a: Vec<f64> = rng.normal_vec(m * d).into_iter().map(f64::from).collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut gram = vec![0.0; k * k];
    for _ in 0..supports {
        let s: Vec<usize> = rng.permutation(d).into_iter().take(k).collect();
        for p in 0..k {
            for q in p..k {
                let v: f64 = (0..m)
                    .map(|i| a[i * d + s[p]] * a[i * d + s[q]])
                    .sum::<f64>()
                    / m as f64;
                gram[p * k + q] = v;
                gram[q * k + p] = v;
            }
        }
        for e in symmetric_eigenvalues(&gram, k) {
            lo = lo.min(e);
            hi = hi.max(e);
        }
    }
    Ok(((1.0 - lo).max(hi - 1.0), lo, hi))
}

/// Mean and standard error of ||A x||^2 / (m ||x||^2) over `trials` fresh draws of A (m x k
/// restricted to the support) and of a k-sparse x: 1 for N(0, 1) entries, the scaling of
/// Bora et al.
pub fn isometry_in_mean(m: usize, k: usize, trials: usize, seed: u64) -> (f64, f64) {
    let mut rng = GmRng::new(seed);
    let v: Vec<f64> = (0..trials)
        .map(|_| {
            let a = rng.normal_vec(m * k);
            let x = rng.normal_vec(k);
            let xx: f64 = x.iter().map(|&t| (t as f64).powi(2)).sum();
            let ax: f64 = (0..m)
                .map(|i| {
                    (0..k)
                        .map(|j| a[i * k + j] as f64 * x[j] as f64)
                        .sum::<f64>()
                        .powi(2)
                })
                .sum();
            ax / (m as f64 * xx)
        })
        .collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// A fixed generator G: R^k -> R^n, softplus(W2 softplus(W1 z)) with hidden width h and
/// N(0, 1/fan_in) weights drawn from `seed` (the shape of Bora et al.'s VAE decoder).
#[derive(Debug, Clone)]
pub struct FixedGenerator {
    k: usize,
    h: usize,
    n: usize,
    w1: Vec<f64>,
    w2: Vec<f64>,
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl FixedGenerator {
    /// The generator with latent dimension `k`, hidden width `h` and output dimension `n`,
    /// weights drawn from `seed`.
    pub fn new(k: usize, h: usize, n: usize, seed: u64) -> Self {
        let mut rng = GmRng::new(seed);
        let mut draw = |len: usize, fan_in: usize| -> Vec<f64> {
            let sd = 1.0 / (fan_in as f64).sqrt();
            rng.normal_vec(len)
                .into_iter()
                .map(|v| v as f64 * sd)
                .collect()
        };
        let w1 = draw(h * k, k);
        let w2 = draw(n * h, h);
        Self { k, h, n, w1, w2 }
    }

    /// G(z) for a latent `z` of k values; returns n values.
    pub fn generate(&self, z: &[f64]) -> Vec<f64> {
        let hidden: Vec<f64> = (0..self.h)
            .map(|i| softplus((0..self.k).map(|j| self.w1[i * self.k + j] * z[j]).sum()))
            .collect();
        (0..self.n)
            .map(|i| {
                softplus(
                    (0..self.h)
                        .map(|j| self.w2[i * self.h + j] * hidden[j])
                        .sum(),
                )
            })
            .collect()
    }
}

impl FixedGenerator {
    /// `G(z)` and the gradient of `||A G(z) - b||^2` with respect to `z`, for `A` `(m, n)`
    /// row-major (backpropagation through the two softplus layers written out).
    fn measurement_gradient(&self, z: &[f64], a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
        let pre1: Vec<f64> = (0..self.h)
            .map(|i| (0..self.k).map(|j| self.w1[i * self.k + j] * z[j]).sum())
            .collect();
        let hid: Vec<f64> = pre1.iter().map(|&t| softplus(t)).collect();
        let pre2: Vec<f64> = (0..self.n)
            .map(|i| (0..self.h).map(|j| self.w2[i * self.h + j] * hid[j]).sum())
            .collect();
        let x: Vec<f64> = pre2.iter().map(|&t| softplus(t)).collect();
        let m = b.len();
        let r: Vec<f64> = (0..m)
            .map(|i| (0..self.n).map(|j| a[i * self.n + j] * x[j]).sum::<f64>() - b[i])
            .collect();
        // d/dx = 2 A^T r, then through softplus (sigmoid), W2, softplus, W1.
        let gx: Vec<f64> = (0..self.n)
            .map(|j| 2.0 * (0..m).map(|i| a[i * self.n + j] * r[i]).sum::<f64>())
            .collect();
        let g2: Vec<f64> = gx.iter().zip(&pre2).map(|(g, &t)| g * sigmoid(t)).collect();
        let gh: Vec<f64> = (0..self.h)
            .map(|j| {
                (0..self.n)
                    .map(|i| self.w2[i * self.h + j] * g2[i])
                    .sum::<f64>()
            })
            .collect();
        let g1: Vec<f64> = gh.iter().zip(&pre1).map(|(g, &t)| g * sigmoid(t)).collect();
        let gz = (0..self.k)
            .map(|j| (0..self.h).map(|i| self.w1[i * self.k + j] * g1[i]).sum())
            .collect();
        (x, gz)
    }
}

/// Bora et al.'s guarantee measured: for `signals` signals `x* = G(z*)` (so that
/// `min_z ||G(z) - x*|| = 0`) and noise `eta` of norm `noise`, `z_hat` minimises
/// `||A G(z) - b||^2` by Adam from 5 random starts (the best kept). Returns the largest
/// `||G(z_hat) - x*|| / (3 ||eta|| + 2 eps)` over the signals, `eps` the optimisation error
/// `max(0, ||A G(z_hat) - b|| - ||eta||)` (the theorem's bound is 1 when A is S-REC with
/// gamma = 1/2 and delta = 0).
pub fn bora_bound_ratio(
    generator: &FixedGenerator,
    m: usize,
    signals: usize,
    noise: f64,
    seed: u64,
) -> Result<f64> {
    if m == 0 || signals == 0 {
        return Err(Error::config(
            "m, signals",
            m.min(signals),
            "must be at least 1",
        ));
    }
    let n = generator.n;
    let mut rng = GmRng::new(seed);
    let sd = 1.0 / (m as f64).sqrt();
    let a: Vec<f64> = rng
        .normal_vec(m * n)
        .into_iter()
        .map(|v| v as f64 * sd)
        .collect();
    let mut worst: f64 = 0.0;
    for _ in 0..signals {
        let mut normal =
            |len: usize| -> Vec<f64> { rng.normal_vec(len).into_iter().map(f64::from).collect() };
        let x_star = generator.generate(&normal(generator.k));
        let e = normal(m);
        let e_norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
        let eta: Vec<f64> = e.iter().map(|v| v * noise / e_norm).collect();
        let b: Vec<f64> = (0..m)
            .map(|i| (0..n).map(|j| a[i * n + j] * x_star[j]).sum::<f64>() + eta[i])
            .collect();
        let mut best = (f64::INFINITY, Vec::new());
        for _ in 0..5 {
            let mut z = normal(generator.k);
            let (mut mo, mut ve) = (vec![0.0; z.len()], vec![0.0; z.len()]);
            for t in 1..=600 {
                let (_, g) = generator.measurement_gradient(&z, &a, &b);
                for j in 0..z.len() {
                    mo[j] = 0.9 * mo[j] + 0.1 * g[j];
                    ve[j] = 0.999 * ve[j] + 0.001 * g[j] * g[j];
                    let mh = mo[j] / (1.0 - 0.9f64.powi(t));
                    let vh = ve[j] / (1.0 - 0.999f64.powi(t));
                    z[j] -= 0.05 * mh / (vh.sqrt() + 1e-8);
                }
            }
            let x = generator.generate(&z);
            let res = (0..m)
                .map(|i| ((0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>() - b[i]).powi(2))
                .sum::<f64>()
                .sqrt();
            if res < best.0 {
                best = (res, x);
            }
        }
        let err = best
            .1
            .iter()
            .zip(&x_star)
            .map(|(p, q)| (p - q).powi(2))
            .sum::<f64>()
            .sqrt();
        let eps = (best.0 - noise).max(0.0);
        worst = worst.max(err / (3.0 * noise + 2.0 * eps));
    }
    Ok(worst)
}

/// (min, mean, max) of ||A(G(z1) - G(z2))|| / ||G(z1) - G(z2)|| over `pairs` pairs of
/// z ~ N(0, I_k), for one A (m x n) with N(0, 1/m) entries, all drawn from `seed`.
pub fn srec_ratios(
    generator: &FixedGenerator,
    m: usize,
    pairs: usize,
    seed: u64,
) -> Result<(f64, f64, f64)> {
    if m == 0 {
        return Err(Error::config("m", 0, "must be at least 1"));
    }
    if pairs == 0 {
        return Err(Error::config("pairs", 0, "must be at least 1"));
    }
    let n = generator.n;
    let mut rng = GmRng::new(seed);
    let sd = 1.0 / (m as f64).sqrt();
    let a: Vec<f64> = rng
        .normal_vec(m * n)
        .into_iter()
        .map(|v| v as f64 * sd)
        .collect();
    let (mut lo, mut sum, mut hi) = (f64::INFINITY, 0.0, f64::NEG_INFINITY);
    for _ in 0..pairs {
        let mut z = |_: ()| -> Vec<f64> {
            rng.normal_vec(generator.k)
                .into_iter()
                .map(f64::from)
                .collect()
        };
        let (x1, x2) = (generator.generate(&z(())), generator.generate(&z(())));
        let diff: Vec<f64> = x1.iter().zip(&x2).map(|(a, b)| a - b).collect();
        let norm = diff.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let a_norm = (0..m)
            .map(|i| (0..n).map(|j| a[i * n + j] * diff[j]).sum::<f64>().powi(2))
            .sum::<f64>()
            .sqrt();
        let r = a_norm / norm;
        lo = lo.min(r);
        hi = hi.max(r);
        sum += r;
    }
    Ok((lo, sum / pairs as f64, hi))
}

/// The measurement counts of the S-REC rows.
pub const SREC_MEASUREMENTS: [usize; 3] = [20, 80, 320];

/// The rows of this crate (well under a second).
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    let (d, k) = (784usize, 10usize);
    let klog = k as f64 * (d as f64 / k as f64).ln();
    let (mean, se) = isometry_in_mean(100, k, 4000, 1);
    rows.push(TheoryRow::new(
        AREA,
        "E ||A x||^2 / (m ||x||^2) = 1 for A with N(0,1) entries (m=100, 4000 draws, tol 5 s.e.)",
        mean,
        1.0,
        5.0 * se,
    ));
    let m_hi = (4.0 * klog).ceil() as usize;
    match empirical_ric(m_hi, d, k, 1000, 2) {
        Ok((delta, _, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "RIP holds at m = 4 k ln(d/k) = {m_hi} (d={d}, k={k}): empirical delta_k of A/sqrt(m) over 1000 random supports lies in [0, 1)"
            ),
            delta,
            0.5,
            0.5,
        )),
        Err(e) => rows.push(TheoryRow::new(AREA, format!("RIP at m = {m_hi}: {e}"), f64::NAN, 0.5, 0.5)),
    }
    let m_lo = (0.5 * klog).ceil() as usize;
    match empirical_ric(m_lo, d, k, 1000, 3) {
        Ok((delta, _, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "RIP fails at m = k ln(d/k) / 2 = {m_lo}: empirical delta_k >= 1 (shown in [1, 3]; some 10-sparse x has ||Ax||^2/m off by ||x||^2)"
            ),
            delta,
            2.0,
            1.0,
        )),
        Err(e) => rows.push(TheoryRow::new(AREA, format!("RIP at m = {m_lo}: {e}"), f64::NAN, 2.0, 1.0)),
    }
    let m_under = k - 1;
    match empirical_ric(m_under, d, k, 10, 4) {
        Ok((_, lo, _)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "m = {m_under} < k: A_S^T A_S is singular, smallest eigenvalue 0 (delta_k = 1)"
            ),
            lo,
            0.0,
            1e-9,
        )),
        Err(e) => rows.push(TheoryRow::new(
            AREA,
            format!("RIP at m = {m_under}: {e}"),
            f64::NAN,
            0.0,
            1e-9,
        )),
    }
    let generator = FixedGenerator::new(5, 32, 100, 5);
    let pairs = 500;
    for (i, m) in SREC_MEASUREMENTS.into_iter().enumerate() {
        // Each ratio is 1 + N(0, 1/(2m)) to first order; over `pairs` draws the extremes
        // stay within sqrt(2 ln pairs) ~ 3.5 of those deviations: 6 leaves room for the
        // chi tails at small m.
        let tol = 6.0 / (2.0 * m as f64).sqrt();
        match srec_ratios(&generator, m, pairs, 6 + i as u64) {
            Ok((lo, mean, hi)) => {
                rows.push(TheoryRow::new(
                    AREA,
                    format!(
                        "S-REC (Bora et al.): min over {pairs} pairs of ||A(G(z1)-G(z2))|| / ||G(z1)-G(z2)||, A N(0,1/m), m = {m}, n = 100, k = 5 (mean {mean:.3}, max {hi:.3}; tol 6/sqrt(2m))"
                    ),
                    lo,
                    1.0,
                    tol,
                ));
            }
            Err(e) => rows.push(TheoryRow::new(
                AREA,
                format!("S-REC at m = {m}: {e}"),
                f64::NAN,
                1.0,
                tol,
            )),
        }
    }
    for m in [20, 80] {
        match bora_bound_ratio(&generator, m, 10, 0.1, 20 + m as u64) {
            Ok(r) => rows.push(TheoryRow::new(
                AREA,
                format!(
                    "Bora et al.'s bound: ||G(z_hat) - x*|| <= 6 min_z ||G(z) - x*|| + 3 ||eta|| + 2 eps for x* = G(z*), ||eta|| = 0.1, m = {m} (largest error / bound over 10 signals, <= 1)"
                ),
                r,
                0.5,
                0.5,
            )),
            Err(e) => rows.push(TheoryRow::new(
                AREA,
                format!("Bora et al.'s bound at m = {m}: {e}"),
                f64::NAN,
                0.5,
                0.5,
            )),
        }
    }
    rows
}

#[cfg(test)]
mod tests;
