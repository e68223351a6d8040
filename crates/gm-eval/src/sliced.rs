//! Sliced Wasserstein distance between two feature sets (Rabin et al. 2011, "Wasserstein
//! barycenter and its application to texture mixing"; Bonneel et al. 2015; used as a GAN
//! metric by Karras et al. 2018, "Progressive growing of GANs"):
//!
//! `SW_p(X, Y) = ( mean_l W_p^p(theta_l . X, theta_l . Y) )^{1/p}`
//!
//! over `L` unit directions `theta_l`, normalised Gaussian draws from a seeded [`GmRng`]. In
//! 1-D the distance between empirical measures is exact by sorting,
//! `W_p^p = int_0^1 |F^{-1}(s) - G^{-1}(s)|^p ds` (Villani 2003, Thm 2.18), a finite sum over
//! the merged jumps `i / n` and `j / m` of the two quantile functions, so the sets may differ
//! in size. gm-divergence has the same distance, differentiable; gm-eval keeps its own
//! numeric copy because evaluation crates depend on gm-core only.

use candle_core::{Device, Tensor};
use gm_core::GmRng;
use gm_core::ToHostF64;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The sliced distance and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicedWasserstein {
    /// The distance `SW_p`.
    pub distance: f64,
    /// The order `p`.
    pub p: f64,
    /// Number of random directions `L`.
    pub projections: usize,
    /// Seed of the directions.
    pub seed: u64,
}

/// `count` unit directions in `R^dim`, `(count, dim)` f64, from normalised Gaussian draws of
/// `GmRng::new(seed)`.
pub fn random_directions(dim: usize, count: usize, seed: u64, device: &Device) -> Result<Tensor> {
    if dim == 0 || count == 0 {
        return Err(Error::Config {
            field: "sliced_projections",
            value: format!("{count} directions in {dim} dimensions"),
            reason: "needs at least one direction in at least one dimension",
        });
    }
    let mut rng = GmRng::new(seed);
    let mut v = Vec::with_capacity(dim * count);
    for _ in 0..count {
        // A zero draw has probability 0; it is redrawn so the unit norm holds here.
        loop {
            let row: Vec<f64> = rng.normal_vec(dim).into_iter().map(f64::from).collect();
            let norm = row.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-12 {
                v.extend(row.iter().map(|a| a / norm));
                break;
            }
        }
    }
    Ok(Tensor::from_vec(v, (count, dim), device)?)
}

/// `W_p^p` between the empirical measures of two sorted 1-D samples of any sizes.
fn wasserstein_pp_sorted(xs: &[f64], ys: &[f64], p: f64) -> f64 {
    let (n, m) = (xs.len(), ys.len());
    if n == m {
        return xs
            .iter()
            .zip(ys)
            .map(|(a, b)| (a - b).abs().powf(p))
            .sum::<f64>()
            / n as f64;
    }
    // Walk the merged grid {i/n} U {j/m} in integer steps of 1 / (n m).
    let (mut i, mut j, mut prev, mut total) = (0usize, 0usize, 0usize, 0.0);
    while i < n && j < m {
        let (next_x, next_y) = ((i + 1) * m, (j + 1) * n);
        let next = next_x.min(next_y);
        total += (next - prev) as f64 * (xs[i] - ys[j]).abs().powf(p);
        prev = next;
        if next_x == next {
            i += 1;
        }
        if next_y == next {
            j += 1;
        }
    }
    total / (n * m) as f64
}

/// Projections `(L, n)` of the rows of `x: (n, d)` on `directions: (L, d)`, each sorted.
fn sorted_projections(
    x: &Tensor,
    directions: &Tensor,
    what: &'static str,
) -> Result<Vec<Vec<f64>>> {
    let (n, d) = x.dims2().map_err(|_| Error::Shape {
        what,
        expected: "(n, d)",
        found: x.dims().to_vec(),
    })?;
    if n == 0 {
        return Err(Error::TooFew {
            what,
            needed: 1,
            found: 0,
        });
    }
    if directions.dim(1)? != d {
        return Err(Error::InvalidInput {
            what: "sliced Wasserstein",
            reason: format!(
                "directions have {} dimensions, {what} have {d}",
                directions.dim(1)?
            ),
        });
    }
    let proj = directions
        .to_host_f64()?
        .matmul(&x.to_host_f64()?.t()?)?
        .to_vec2::<f64>()?;
    let mut out = Vec::with_capacity(proj.len());
    for mut row in proj {
        if row.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput {
                what,
                reason: "hold non-finite values".into(),
            });
        }
        row.sort_by(f64::total_cmp);
        out.push(row);
    }
    Ok(out)
}

/// `SW_p` between `x: (n, d)` and `y: (m, d)` on the given unit `directions: (L, d)`.
pub fn sliced_wasserstein_with(x: &Tensor, y: &Tensor, directions: &Tensor, p: f64) -> Result<f64> {
    if !(p.is_finite() && p >= 1.0) {
        return Err(Error::InvalidInput {
            what: "sliced Wasserstein",
            reason: format!("p = {p}; needs p >= 1"),
        });
    }
    let px = sorted_projections(x, directions, "generated features")?;
    let py = sorted_projections(y, directions, "reference features")?;
    let mean = px
        .iter()
        .zip(&py)
        .map(|(a, b)| wasserstein_pp_sorted(a, b, p))
        .sum::<f64>()
        / px.len() as f64;
    Ok(mean.powf(1.0 / p))
}

/// `SW_p` between `x: (n, d)` and `y: (m, d)` on `projections` directions drawn with `seed`.
pub fn sliced_wasserstein(
    x: &Tensor,
    y: &Tensor,
    projections: usize,
    p: f64,
    seed: u64,
) -> Result<SlicedWasserstein> {
    let (_, d) = x.dims2().map_err(|_| Error::Shape {
        what: "generated features",
        expected: "(n, d)",
        found: x.dims().to_vec(),
    })?;
    let dirs = random_directions(d, projections, seed, &Device::Cpu)?;
    let (x, y) = (x.to_device(&Device::Cpu)?, y.to_device(&Device::Cpu)?);
    Ok(SlicedWasserstein {
        distance: sliced_wasserstein_with(&x, &y, &dirs, p)?,
        p,
        projections,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_d_closed_forms() {
        // Equal sizes: mean |x_(i) - y_(i)|^p. {0, 1} vs {1, 3}: (1 + 4) / 2 for p = 2.
        assert_eq!(wasserstein_pp_sorted(&[0.0, 1.0], &[1.0, 3.0], 2.0), 2.5);
        // Unequal sizes: {0, 1} vs {0, 0.5, 1}: quantiles on (0, 1/3) 0 vs 0, (1/3, 1/2)
        // 0 vs 0.5, (1/2, 2/3) 1 vs 0.5, (2/3, 1) 1 vs 1: W_1 = 0.5/6 + 0.5/6 = 1/6.
        let w = wasserstein_pp_sorted(&[0.0, 1.0], &[0.0, 0.5, 1.0], 1.0);
        assert!((w - 1.0 / 6.0).abs() < 1e-15, "{w}");
    }

    #[test]
    fn directions_are_unit_and_seeded() {
        let a = random_directions(5, 7, 3, &Device::Cpu).unwrap();
        let norms = a.sqr().unwrap().sum(1).unwrap().to_vec1::<f64>().unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-12));
        let b = random_directions(5, 7, 3, &Device::Cpu).unwrap();
        assert_eq!(a.to_vec2::<f64>().unwrap(), b.to_vec2::<f64>().unwrap());
        assert!(random_directions(5, 0, 3, &Device::Cpu).is_err());
    }
}
