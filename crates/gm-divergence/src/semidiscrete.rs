//! Semi-discrete optimal transport: the cost of moving a continuous distribution `P`, known only
//! through a sampler, onto the empirical measure `P_n = (1/n) sum_i delta_{y_i}`.
//!
//! The semi-dual of Kantorovich's problem (Aurenhammer et al. 1998; Genevay et al. 2016) is
//!
//! `W_c(P, P_n) = max_v F(v)`, `F(v) = E_{x ~ P}[min_i (c(x, y_i) - v_i)] + (1/n) sum_i v_i`,
//!
//! concave in `v in R^n`, with gradient `dF/dv_j = 1/n - P(cell_j)`, where `cell_j` is the set
//! of `x` whose minimum is reached at `j` (a Laguerre cell). Every `v` gives a lower bound
//! (weak duality): `v = 0` is the expected distance to the nearest `y_i`, and averaged
//! stochastic ascent on `v` (step `C / sqrt(t)`, Polyak averaging) closes the gap. Both bounds
//! are Monte Carlo estimates on fresh draws from `P`, with their standard errors.
//!
//! This measures `W_p^p(P, P_n)` between a distribution and its own sample, which two
//! independent samples only bound: Arora et al. (2017)'s Observation 1 is about this quantity.

use gm_core::GmRng;

use crate::estimate::Estimate;
use crate::{Error, Result};

/// Settings of [`semi_discrete_bounds`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SemiDiscreteConfig {
    /// Cost `||x - y||^p`.
    pub p: f64,
    /// Ascent steps on the dual potentials.
    pub steps: usize,
    /// Draws from `P` per ascent step.
    pub batch: usize,
    /// `C` of the step `C s / sqrt(t)` that a hit moves its cell's potential by, `s` the
    /// spread (standard deviation) of the nearest-point costs on the first batch.
    pub step_size: f64,
    /// Fresh draws from `P` for the two final estimates.
    pub eval_samples: usize,
}

impl Default for SemiDiscreteConfig {
    fn default() -> Self {
        Self {
            p: 1.0,
            steps: 500,
            batch: 64,
            step_size: 0.5,
            eval_samples: 4096,
        }
    }
}

/// Two lower bounds on `W_p^p(P, P_n)`: at `v = 0` and at the averaged ascent iterate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SemiDiscreteBounds {
    /// `E_P[min_i ||x - y_i||^p]`: the distance to the nearest sample point.
    pub nearest: Estimate,
    /// `F(v_bar)` at the averaged potentials (never below `nearest` in expectation).
    pub dual: Estimate,
}

/// The points `y` as `n` rows of `dim` values (row-major), checked.
fn check_points(y: &[f64], dim: usize) -> Result<usize> {
    if dim == 0 || y.is_empty() || !y.len().is_multiple_of(dim) {
        return Err(Error::LengthMismatch {
            what: "sample points (a whole number of rows of the dimension)",
            left: y.len(),
            right: dim,
        });
    }
    if let Some(bad) = y.iter().find(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "sample point coordinate",
            at: 0.0,
            value: *bad,
        });
    }
    Ok(y.len() / dim)
}

fn check_config(cfg: &SemiDiscreteConfig) -> Result<()> {
    for (name, value) in [
        ("p", cfg.p),
        ("step_size", cfg.step_size),
        ("batch", cfg.batch as f64),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(Error::NotPositive { name, value });
        }
    }
    if cfg.eval_samples < 2 {
        return Err(Error::TooFewSamples {
            what: "semi-discrete evaluation draws",
            needed: 2,
            got: cfg.eval_samples,
        });
    }
    Ok(())
}

/// `(argmin_i c(x, y_i) - v_i, its value)` for one draw `x`.
fn cell(x: &[f64], y: &[f64], v: &[f64], p: f64) -> (usize, f64) {
    let dim = x.len();
    let mut best = (0, f64::INFINITY);
    for (i, (row, vi)) in y.chunks_exact(dim).zip(v).enumerate() {
        let d2: f64 = row.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        let c = if p == 2.0 { d2 } else { d2.sqrt().powf(p) };
        if c - vi < best.1 {
            best = (i, c - vi);
        }
    }
    best
}

/// Draws `k` points of `P` from `sample` and checks their shape.
fn draw(
    sample: &mut dyn FnMut(usize, &mut GmRng) -> Vec<f64>,
    k: usize,
    dim: usize,
    rng: &mut GmRng,
) -> Result<Vec<f64>> {
    let x = sample(k, rng);
    if x.len() != k * dim {
        return Err(Error::LengthMismatch {
            what: "draws from P (batch x dimension values)",
            left: x.len(),
            right: k * dim,
        });
    }
    Ok(x)
}

/// Lower bounds on `W_p^p(P, P_n)` between the distribution that `sample(k, rng)` draws from
/// (`k` rows of `dim` values, row-major) and the empirical measure of the rows of `y`.
pub fn semi_discrete_bounds(
    sample: &mut dyn FnMut(usize, &mut GmRng) -> Vec<f64>,
    y: &[f64],
    dim: usize,
    cfg: &SemiDiscreteConfig,
    rng: &mut GmRng,
) -> Result<SemiDiscreteBounds> {
    check_config(cfg)?;
    let n = check_points(y, dim)?;
    let mut v = vec![0.0; n];
    let mut v_bar = vec![0.0; n];
    let mut counts = vec![0usize; n];
    let mut spread = None;
    for t in 1..=cfg.steps {
        let x = draw(sample, cfg.batch, dim, rng)?;
        counts.iter_mut().for_each(|c| *c = 0);
        let mut costs = Vec::with_capacity(cfg.batch);
        for xi in x.chunks_exact(dim) {
            let (j, c) = cell(xi, y, &v, cfg.p);
            counts[j] += 1;
            costs.push(c);
        }
        let s = *spread.get_or_insert_with(|| {
            Estimate::from_values(&costs)
                .map(|e| e.std_error * (costs.len() as f64).sqrt())
                .unwrap_or(0.0)
        });
        // b dF/dv_j = b / n - (hits of cell j): a hit lowers its cell's potential by eta,
        // and every cell rises by eta b / n.
        let eta = cfg.step_size * s / (t as f64).sqrt();
        let rise = cfg.batch as f64 / n as f64;
        for (vj, &c) in v.iter_mut().zip(&counts) {
            *vj += eta * (rise - c as f64);
        }
        let w = 1.0 / t as f64;
        for (b, vj) in v_bar.iter_mut().zip(&v) {
            *b += w * (vj - *b);
        }
    }
    let zero = vec![0.0; n];
    let mean_v = v_bar.iter().sum::<f64>() / n as f64;
    let x = draw(sample, cfg.eval_samples, dim, rng)?;
    let mut nearest = Vec::with_capacity(cfg.eval_samples);
    let mut dual = Vec::with_capacity(cfg.eval_samples);
    for xi in x.chunks_exact(dim) {
        nearest.push(cell(xi, y, &zero, cfg.p).1);
        dual.push(cell(xi, y, &v_bar, cfg.p).1 + mean_v);
    }
    Ok(SemiDiscreteBounds {
        nearest: Estimate::from_values(&nearest)?,
        dual: Estimate::from_values(&dual)?,
    })
}

/// `W_1(U(0, 1), P_n)` in closed form: `sum_k int_{(k-1)/n}^{k/n} |u - y_(k)| du` (the quantile
/// coupling is optimal on the line).
pub fn w1_uniform_to_empirical(y: &[f64]) -> Result<f64> {
    check_points(y, 1)?;
    let mut ys = y.to_vec();
    ys.sort_by(f64::total_cmp);
    let n = ys.len() as f64;
    Ok(ys
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let (a, b) = (k as f64 / n, (k + 1) as f64 / n);
            if c <= a {
                (b - a) * ((a + b) / 2.0 - c)
            } else if c >= b {
                (b - a) * (c - (a + b) / 2.0)
            } else {
                ((c - a).powi(2) + (b - c).powi(2)) / 2.0
            }
        })
        .sum())
}

/// Arora et al. (2017), Observation 1, measured between `P = N(0, I/d)` and its own `n`-point
/// sample: for each `n` of `sizes`, the two lower bounds on `W_1(P, P_n)`.
pub fn arora_empirical_w1(
    dim: usize,
    sizes: &[usize],
    cfg: &SemiDiscreteConfig,
    seed: u64,
) -> Result<Vec<(usize, SemiDiscreteBounds)>> {
    let mut rng = GmRng::new(seed);
    let std = 1.0 / (dim as f64).sqrt();
    let mut gaussian =
        |k: usize, rng: &mut GmRng| crate::theory::gaussian_draws(rng, k * dim, 0.0, std);
    sizes
        .iter()
        .map(|&n| {
            let y = gaussian(n, &mut rng);
            Ok((
                n,
                semi_discrete_bounds(&mut gaussian, &y, dim, cfg, &mut rng)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(k: usize, rng: &mut GmRng) -> Vec<f64> {
        rng.uniform_vec(k, 0.0, 1.0)
            .into_iter()
            .map(f64::from)
            .collect()
    }

    #[test]
    fn closed_form_on_the_line() {
        // One point at 1/2: int_0^1 |u - 1/2| du = 1/4; at 0: 1/2.
        assert!((w1_uniform_to_empirical(&[0.5]).unwrap() - 0.25).abs() < 1e-15);
        assert!((w1_uniform_to_empirical(&[0.0]).unwrap() - 0.5).abs() < 1e-15);
        // The midpoints of n equal cells: n cells of two triangles of side 1/(2n).
        let mid: Vec<f64> = (0..4).map(|k| (k as f64 + 0.5) / 4.0).collect();
        assert!((w1_uniform_to_empirical(&mid).unwrap() - 1.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn ascent_reaches_the_exact_distance_on_the_line_and_bounds_it() {
        let mut rng = GmRng::new(3);
        let y = uniform(12, &mut rng);
        let exact = w1_uniform_to_empirical(&y).unwrap();
        let cfg = SemiDiscreteConfig {
            steps: 3000,
            batch: 64,
            step_size: 0.5,
            eval_samples: 40_000,
            p: 1.0,
        };
        let b = semi_discrete_bounds(&mut uniform, &y, 1, &cfg, &mut rng).unwrap();
        // The nearest-point bound is strictly below: it lets every cell take any mass.
        assert!(b.nearest.mean < exact - 0.01, "{b:?} vs {exact}");
        assert!(b.dual.mean > b.nearest.mean, "{b:?}");
        // Weak duality up to Monte Carlo error, and the gap closed to within 3 %.
        assert!(
            b.dual.mean < exact + 4.0 * b.dual.std_error,
            "{b:?} vs {exact}"
        );
        assert!(
            b.dual.mean > 0.97 * exact - 4.0 * b.dual.std_error,
            "{b:?} vs {exact}"
        );
    }

    #[test]
    fn one_point_leaves_nothing_to_optimise() {
        // P_n = delta_0: every x moves to 0, W_2^2 = E||x||^2 = d / d = 1 for N(0, I/d).
        let dim = 8;
        let mut g = |k: usize, rng: &mut GmRng| {
            crate::theory::gaussian_draws(rng, k * dim, 0.0, 1.0 / (dim as f64).sqrt())
        };
        let cfg = SemiDiscreteConfig {
            p: 2.0,
            steps: 10,
            eval_samples: 20_000,
            ..Default::default()
        };
        let b = semi_discrete_bounds(&mut g, &[0.0; 8], dim, &cfg, &mut GmRng::new(1)).unwrap();
        assert!(
            (b.nearest.mean - 1.0).abs() < 4.0 * b.nearest.std_error,
            "{b:?}"
        );
        assert_eq!(b.nearest, b.dual);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let cfg = SemiDiscreteConfig::default();
        let mut rng = GmRng::new(0);
        assert!(semi_discrete_bounds(&mut uniform, &[0.1, 0.2, 0.3], 2, &cfg, &mut rng).is_err());
        assert!(semi_discrete_bounds(&mut uniform, &[f64::NAN], 1, &cfg, &mut rng).is_err());
        let bad = SemiDiscreteConfig {
            step_size: 0.0,
            ..cfg
        };
        assert!(semi_discrete_bounds(&mut uniform, &[0.5], 1, &bad, &mut rng).is_err());
        // A sampler of the wrong dimension.
        assert!(semi_discrete_bounds(&mut uniform, &[0.5, 0.5], 2, &cfg, &mut rng).is_err());
    }
}
