//! Latent-space tools for any [`Generator`], as image grids: interpolation walks between
//! latent pairs (linear or spherical, Radford et al. 2016 section 6 and White 2016) and
//! latent vector arithmetic (`mean(A) - mean(B) + mean(C)`, Radford et al. section 6.3).

use std::path::Path;

use candle_core::{Device, Tensor};
use gm_core::{Generator, GmRng};

use crate::{Error, Result};

pub use gm_core::latent::{interpolation_latents, lerp, slerp};

/// Saves a grid of `rows` interpolation walks of `steps` images between random latent pairs.
pub fn save_interpolation_grid<G: Generator + ?Sized>(
    gen: &G,
    rows: usize,
    steps: usize,
    spherical: bool,
    rng: &mut GmRng,
    device: &Device,
    path: impl AsRef<Path>,
) -> Result<()> {
    let a = gen.sample_latent(rows, rng, device)?;
    let b = gen.sample_latent(rows, rng, device)?;
    let z = interpolation_latents(&a, &b, steps, spherical)?;
    let x = gen.generate(&z)?.detach();
    gm_core::viz::save_grid(&x, steps, false, path)?;
    Ok(())
}

/// `mean(a) - mean(b) + mean(c)` of three latent groups `(n_i, d)`, as `(1, d)`.
pub fn latent_arithmetic(a: &Tensor, b: &Tensor, c: &Tensor) -> Result<Tensor> {
    let m = |t: &Tensor| -> Result<Tensor> { Ok(t.mean_keepdim(0)?) };
    Ok(((m(a)? - m(b)?)? + m(c)?)?)
}

/// Latent groups by a property of what they generate: among the rows of `z` `(m, d)` whose
/// `keep` is true, the `n` with the highest `score` and the `n` with the lowest, as two
/// `(n, d)` tensors (highest first, lowest first). Too few kept rows is an error.
pub fn split_by_property(
    z: &Tensor,
    keep: &[bool],
    score: &[f64],
    n: usize,
) -> Result<(Tensor, Tensor)> {
    let m = z.dim(0)?;
    if keep.len() != m || score.len() != m {
        return Err(Error::Shape {
            what: "property of each latent",
            got: vec![keep.len(), score.len()],
            expected: vec![m, m],
        });
    }
    let mut idx: Vec<usize> = (0..m).filter(|&i| keep[i]).collect();
    if n == 0 || idx.len() < 2 * n {
        return Err(Error::config(
            "latent groups",
            idx.len(),
            "need at least 2 n kept latents for two disjoint groups",
        ));
    }
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let pick = |ids: &[usize]| -> Result<Tensor> {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        let ids = Tensor::from_vec(ids, n, z.device())?;
        Ok(z.index_select(&ids, 0)?)
    };
    let high = pick(&idx[..n])?;
    let low: Vec<usize> = idx.iter().rev().take(n).copied().collect();
    Ok((high, pick(&low)?))
}

/// Vector arithmetic as a grid: one row per group `A`, `B`, `C` (its items, then the image of
/// its mean latent) and a last row with the image of `mean(A) - mean(B) + mean(C)` and of
/// `variants` perturbations of it by `N(0, noise_std^2)`. Groups must have the same size.
pub fn save_arithmetic_grid<G: Generator + ?Sized>(
    gen: &G,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    noise_std: f64,
    rng: &mut GmRng,
    path: impl AsRef<Path>,
) -> Result<()> {
    let n = a.dim(0)?;
    if b.dim(0)? != n || c.dim(0)? != n {
        return Err(Error::Shape {
            what: "arithmetic groups",
            got: vec![b.dim(0)?, c.dim(0)?],
            expected: vec![n, n],
        });
    }
    let r = latent_arithmetic(a, b, c)?;
    let noise = rng.normal((n, r.dim(1)?), 0.0, noise_std, r.device())?;
    let variants = noise.broadcast_add(&r)?;
    let mut rows = Vec::new();
    for g in [a, b, c] {
        rows.push(g.clone());
        rows.push(g.mean_keepdim(0)?);
    }
    rows.push(r);
    rows.push(variants);
    let z = Tensor::cat(&rows, 0)?;
    let x = gen.generate(&z)?.detach();
    gm_core::viz::save_grid(&x, n + 1, false, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn property_groups_take_the_extremes_of_the_kept_rows() {
        let dev = candle_core::Device::Cpu;
        let z = Tensor::arange(0f32, 12.0, &dev)
            .unwrap()
            .reshape((6, 2))
            .unwrap();
        let keep = [true, true, false, true, true, true];
        let score = [0.5, 0.9, 5.0, 0.1, 0.7, 0.3];
        let (high, low) = split_by_property(&z, &keep, &score, 2).unwrap();
        // Kept scores: 0.5 (row 0), 0.9 (1), 0.1 (3), 0.7 (4), 0.3 (5); row 2 is left out.
        assert_eq!(high.to_vec2::<f32>().unwrap(), [[2.0, 3.0], [8.0, 9.0]]);
        assert_eq!(low.to_vec2::<f32>().unwrap(), [[6.0, 7.0], [10.0, 11.0]]);
        assert!(split_by_property(&z, &keep, &score, 3).is_err());
        assert!(split_by_property(&z, &keep[..5], &score, 1).is_err());
    }

    use super::*;

    #[test]
    fn arithmetic_is_mean_a_minus_mean_b_plus_mean_c() {
        let dev = Device::Cpu;
        let a = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &dev).unwrap();
        let b = Tensor::new(&[[1f32, 1.0], [1.0, 1.0]], &dev).unwrap();
        let c = Tensor::new(&[[0f32, 10.0], [2.0, 10.0]], &dev).unwrap();
        let r = latent_arithmetic(&a, &b, &c)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        // (2, 3) - (1, 1) + (1, 10).
        assert_eq!(r, vec![vec![2.0, 12.0]]);
    }
}
