//! Bora et al.'s set-restricted eigenvalue condition measured on a generator's range.
//!
//! A satisfies S-REC(S, gamma, delta) on `S = G(B^k(r))` when
//! `||A (x1 - x2)|| >= gamma ||x1 - x2|| - delta` for all `x1, x2 in S`; with it, the estimator's
//! error obeys `||G(z_hat) - x*|| <= 6 min_z ||G(z) - x*|| + 3 ||eta|| + 2 eps + 2 delta`
//! (Theorem 1.1 with gamma = 1/2). For A with N(0, 1/m) entries and a fixed chord, the ratio
//! `||A d|| / ||d||` is `chi_m / sqrt(m)`; the condition asks for it over every chord of the
//! range at once. [`srec_of_generator`] measures it two ways for any [`Generator`]: over random
//! pairs `z1, z2 ~ N(0, I)` in the ball, and by searching for the worst pairs (Adam on both
//! latents, minimising the ratio, projected back into the ball, chords shorter than `delta`
//! not counted), which is what the condition's "for all" is about.

use candle_core::{Device, Tensor, Var};
use gm_core::{Generator, GmRng, ToHostF64};

use crate::estimator::latent_adam;
use crate::{Error, Result};

/// Settings of [`srec_of_generator`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrecConfig {
    /// Random pairs for the typical ratios.
    pub pairs: usize,
    /// The worst random pairs the search starts from.
    pub search_pairs: usize,
    /// Adam steps of the search.
    pub search_steps: usize,
    /// Adam learning rate on the latents.
    pub lr: f64,
    /// Radius `r` of the latent ball `B^k(r)` (pairs are projected back into it).
    pub radius: f64,
    /// Chords shorter than `delta` do not count (the condition's additive slack).
    pub delta: f64,
}

impl Default for SrecConfig {
    fn default() -> Self {
        Self {
            pairs: 1000,
            search_pairs: 32,
            search_steps: 200,
            lr: 0.05,
            radius: 8.0,
            delta: 1.0,
        }
    }
}

/// What [`srec_of_generator`] measured for one A.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrecStats {
    /// Measurements.
    pub m: usize,
    /// Smallest ratio over the random pairs.
    pub min: f64,
    /// Mean ratio over the random pairs.
    pub mean: f64,
    /// Largest ratio over the random pairs.
    pub max: f64,
    /// Smallest ratio the search found (never above `min`).
    pub worst_found: f64,
}

/// `||A d_p|| / ||d_p||` and `||d_p||` of the rows of `x1 - x2` (`(p, n)` each, flattened).
fn ratios(a_t: &Tensor, x1: &Tensor, x2: &Tensor) -> Result<(Tensor, Tensor)> {
    let d = (x1 - x2)?.flatten_from(1)?;
    let norm2 = d.sqr()?.sum(1)?;
    let proj2 = d.matmul(a_t)?.sqr()?.sum(1)?;
    Ok(((proj2 / &norm2)?.sqrt()?, norm2.sqrt()?))
}

/// Projects each row of `z` into the ball of radius `r`.
fn into_ball(z: &Tensor, r: f64) -> Result<Tensor> {
    let norm = z.sqr()?.sum_keepdim(1)?.sqrt()?;
    let scale = (norm.affine(1.0 / r, 0.0)?.maximum(1.0)?).recip()?;
    Ok(z.broadcast_mul(&scale)?)
}

/// The S-REC ratios of A (`m x n`, N(0, 1/m) entries drawn from `seed`) on the range of `g`;
/// see the module documentation.
pub fn srec_of_generator<G: Generator + ?Sized>(
    g: &G,
    m: usize,
    cfg: &SrecConfig,
    seed: u64,
    device: &Device,
) -> Result<SrecStats> {
    if m == 0 || cfg.pairs == 0 || cfg.search_pairs == 0 {
        return Err(Error::config(
            "m, pairs, search_pairs",
            0,
            "must each be at least 1",
        ));
    }
    if !(cfg.radius > 0.0 && cfg.lr > 0.0 && cfg.delta >= 0.0) {
        return Err(Error::config(
            "radius, lr, delta",
            cfg.radius.min(cfg.lr).min(cfg.delta),
            "radius and lr must be > 0 and delta >= 0",
        ));
    }
    let n: usize = g.output_shape().iter().product();
    let k = g.latent_dim();
    let mut rng = GmRng::new(seed);
    let a_t = rng
        .normal((m, n), 0.0, 1.0 / (m as f64).sqrt(), device)?
        .t()?
        .contiguous()?;
    let z1 = into_ball(&rng.normal((cfg.pairs, k), 0.0, 1.0, device)?, cfg.radius)?;
    let z2 = into_ball(&rng.normal((cfg.pairs, k), 0.0, 1.0, device)?, cfg.radius)?;
    let (r, len) = ratios(&a_t, &g.generate(&z1)?, &g.generate(&z2)?)?;
    let r = r.to_host_f64()?.to_vec1::<f64>()?;
    let len = len.to_host_f64()?.to_vec1::<f64>()?;
    let counted: Vec<(usize, f64)> = r
        .iter()
        .zip(&len)
        .enumerate()
        .filter(|(_, (_, l))| **l >= cfg.delta)
        .map(|(i, (v, _))| (i, *v))
        .collect();
    if counted.is_empty() {
        return Err(Error::config(
            "delta",
            cfg.delta,
            "no random chord is that long: lower delta",
        ));
    }
    let min = counted.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let max = counted
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mean = counted.iter().map(|c| c.1).sum::<f64>() / counted.len() as f64;

    // The search starts from the worst counted pairs.
    let mut order = counted.clone();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let idx: Vec<u32> = order
        .iter()
        .take(cfg.search_pairs)
        .map(|c| c.0 as u32)
        .collect();
    let p = idx.len();
    let idx = Tensor::new(idx, device)?;
    let start = Tensor::cat(&[z1.index_select(&idx, 0)?, z2.index_select(&idx, 0)?], 0)?;
    let (z, mut adam) = latent_adam(start, cfg.lr, seed, "S-REC search start")?;
    let mut worst_found = min;
    for step in 0..=cfg.search_steps {
        let x = g.generate(&z)?;
        let (r, len) = ratios(&a_t, &x.narrow(0, 0, p)?, &x.narrow(0, p, p)?)?;
        let (rv, lv) = (
            r.to_host_f64()?.to_vec1::<f64>()?,
            len.to_host_f64()?.to_vec1::<f64>()?,
        );
        for (v, l) in rv.iter().zip(&lv) {
            if *l >= cfg.delta && v.is_finite() {
                worst_found = worst_found.min(*v);
            }
        }
        if step == cfg.search_steps {
            break;
        }
        adam.backward_step(&r.sum_all()?)?;
        Var::from_tensor(&z)?.set(&into_ball(&z.detach(), cfg.radius)?)?;
    }
    Ok(SrecStats {
        m,
        min,
        mean,
        max,
        worst_found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::Result as CoreResult;

    /// A linear generator `G(z) = W z` with W (n x k) of rank k: its chords span a
    /// k-dimensional subspace, so the worst ratio over all chords is the smallest singular
    /// value of `A Q` (Q an orthonormal basis of the range), which m < k makes 0.
    struct Linear {
        w_t: Tensor,
        n: usize,
    }

    impl Generator for Linear {
        fn latent_dim(&self) -> usize {
            self.w_t.dim(0).unwrap()
        }
        fn output_shape(&self) -> Vec<usize> {
            vec![self.n]
        }
        fn generate(&self, z: &Tensor) -> CoreResult<Tensor> {
            Ok(z.matmul(&self.w_t)?)
        }
    }

    fn linear(k: usize, n: usize) -> Linear {
        let dev = Device::Cpu;
        // Orthonormal columns: the first k coordinate axes, so ||G(z1) - G(z2)|| = ||z1 - z2||.
        let w_t = Tensor::eye(n, candle_core::DType::F32, &dev)
            .unwrap()
            .narrow(0, 0, k)
            .unwrap();
        Linear { w_t, n }
    }

    #[test]
    fn random_pairs_follow_chi_and_the_search_finds_what_they_miss() {
        let dev = Device::Cpu;
        let g = linear(8, 64);
        let cfg = SrecConfig {
            pairs: 400,
            delta: 0.1,
            ..Default::default()
        };
        // m = 4 < k = 8: A restricted to the range has a null space, so some chord is
        // annihilated; the search drives the ratio towards 0 while random pairs stay away.
        let few = srec_of_generator(&g, 4, &cfg, 1, &dev).unwrap();
        assert!(few.worst_found < 0.05, "{few:?}");
        assert!(few.min > few.worst_found, "{few:?}");
        // m = 400 >> k: A is nearly an isometry on the range; the worst chord's ratio is
        // the smallest singular value of A restricted to 8 dimensions, about
        // 1 - sqrt(8 / 400) (Marchenko-Pastur edge), so well above 1/2.
        let many = srec_of_generator(&g, 400, &cfg, 2, &dev).unwrap();
        assert!((many.mean - 1.0).abs() < 0.05, "{many:?}");
        assert!(many.worst_found > 0.75, "{many:?}");
        assert!(many.worst_found <= many.min, "{many:?}");
    }

    #[test]
    fn bad_settings_are_errors() {
        let dev = Device::Cpu;
        let g = linear(2, 4);
        let cfg = SrecConfig::default();
        assert!(srec_of_generator(&g, 0, &cfg, 0, &dev).is_err());
        let bad = SrecConfig { radius: 0.0, ..cfg };
        assert!(srec_of_generator(&g, 2, &bad, 0, &dev).is_err());
        let long = SrecConfig { delta: 1e6, ..cfg };
        assert!(srec_of_generator(&g, 2, &long, 0, &dev).is_err());
    }
}
