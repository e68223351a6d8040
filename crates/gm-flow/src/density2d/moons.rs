//! Two moons (scikit-learn's `make_moons`): two interleaved half circles with isotropic
//! Gaussian noise, centred and scaled. With the arc parameter uniform, the density is the
//! noise kernel averaged along each arc, a one-dimensional integral that [`TwoMoons::log_pdf`]
//! evaluates by quadrature (so "no closed form" does not mean "no density").

use crate::Error;
use crate::Result;
use gm_core::data::Dataset;
use gm_core::GmRng;
use rand::Rng;

/// Two moons: arc points `c(t)`, `t ~ U[0, pi]`, on the upper moon `(cos t, sin t)` or the
/// lower moon `(1 - cos t, 1/2 - sin t)` with probability 1/2 each, plus `N(0, noise^2 I)`,
/// then shifted by `(-1/2, -1/4)` and multiplied by `scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoMoons {
    /// Standard deviation of the Gaussian noise, in the units of the unscaled moons.
    pub noise: f64,
    /// The factor applied after centring (and to the noise).
    pub scale: f64,
}

impl Default for TwoMoons {
    /// Noise 0.05 (in scikit-learn's units), scale 2: the data spans about `[-3, 3] x
    /// [-1.6, 1.6]`.
    fn default() -> Self {
        Self {
            noise: 0.05,
            scale: 2.0,
        }
    }
}

/// Nodes of the arc quadrature in [`TwoMoons::log_pdf`].
const ARC_NODES: usize = 2048;

impl TwoMoons {
    /// Two moons with the given `noise` and `scale`, both positive and finite.
    pub fn new(noise: f64, scale: f64) -> Result<Self> {
        if !(noise > 0.0 && noise.is_finite()) {
            return Err(Error::config("noise", noise, "must be positive and finite"));
        }
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(Error::config("scale", scale, "must be positive and finite"));
        }
        Ok(Self { noise, scale })
    }

    /// The arc point of moon `m` (0 upper, 1 lower) at `t`, in data coordinates.
    fn arc(&self, m: usize, t: f64) -> [f64; 2] {
        let p = if m == 0 {
            [t.cos(), t.sin()]
        } else {
            [1.0 - t.cos(), 0.5 - t.sin()]
        };
        [self.scale * (p[0] - 0.5), self.scale * (p[1] - 0.25)]
    }

    /// `n` points, row-major `(n, 2)`, with their moon.
    pub fn sample(&self, n: usize, rng: &mut GmRng) -> (Vec<f32>, Vec<u32>) {
        let mut x = Vec::with_capacity(2 * n);
        let mut c = Vec::with_capacity(n);
        let sd = self.noise * self.scale;
        for _ in 0..n {
            let m = rng.random_range(0..2usize);
            let t = rng.random_range(0.0..std::f64::consts::PI);
            let e = rng.normal_vec(2);
            let p = self.arc(m, t);
            x.push((p[0] + sd * e[0] as f64) as f32);
            x.push((p[1] + sd * e[1] as f64) as f32);
            c.push(m as u32);
        }
        (x, c)
    }

    /// A data set of `n` points, labelled by moon.
    pub fn dataset(&self, n: usize, seed: u64) -> Result<Dataset> {
        let (x, c) = self.sample(n, &mut GmRng::new(seed));
        Ok(Dataset::new("two-moons", vec![2], x, Some(c))?)
    }

    /// `log p(x) = log( 1/2 sum_m (1/pi) int_0^pi N(x; c_m(t), s^2 I) dt )`, `s = noise
    /// scale`, by the midpoint rule with 2048 nodes per arc (node spacing `pi scale / 2048 =
    /// 0.003` against a kernel width `s = 0.1` by default: the rule's error is far below
    /// f64 rounding of the result's first digits).
    pub fn log_pdf(&self, x: [f64; 2]) -> f64 {
        let s2 = (self.noise * self.scale).powi(2);
        let norm = -(2.0 * std::f64::consts::PI * s2).ln();
        let h = std::f64::consts::PI / ARC_NODES as f64;
        let mut logs = Vec::with_capacity(2 * ARC_NODES);
        for m in 0..2 {
            for k in 0..ARC_NODES {
                let c = self.arc(m, (k as f64 + 0.5) * h);
                let d2 = (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2);
                logs.push(norm - d2 / (2.0 * s2));
            }
        }
        let mx = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = logs.iter().map(|l| (l - mx).exp()).sum();
        // Average over 2 ARC_NODES equally weighted nodes.
        mx + (s / (2 * ARC_NODES) as f64).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_integrates_to_one_and_agrees_with_the_sampler() {
        let m = TwoMoons::default();
        // Statistics whose means the sampler and the density must agree on (the first two
        // vanish by symmetry; the others do not).
        let stats: [fn([f64; 2]) -> f64; 6] = [
            |p| p[0],
            |p| p[1],
            |p| p[0] * p[0],
            |p| p[1] * p[1],
            |p| p[0] * p[1],
            |p| f64::from(u8::from(p[0] > 0.0 && p[1] > 0.0)),
        ];
        // Midpoint rule on [-4, 4] x [-3, 3] at spacing 0.05, half the kernel width 0.1: for
        // Gaussian kernels the rule's error is of order exp(-2 pi^2 (0.1 / 0.05)^2) ~ 1e-34
        // (the indicator's edge costs more, well below the sampling error below).
        let h = 0.05;
        let mut total = 0.0;
        let mut want = [0.0; 6];
        for i in 0..160 {
            for j in 0..120 {
                let p = [-4.0 + (i as f64 + 0.5) * h, -3.0 + (j as f64 + 0.5) * h];
                let w = m.log_pdf(p).exp() * h * h;
                total += w;
                for (k, f) in stats.iter().enumerate() {
                    want[k] += w * f(p);
                }
            }
        }
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        // Sample means within 5 standard errors of the density's.
        let n = 4000;
        let (x, _) = m.sample(n, &mut GmRng::new(1));
        for (k, f) in stats.iter().enumerate() {
            let v: Vec<f64> = x
                .chunks_exact(2)
                .map(|p| f([p[0] as f64, p[1] as f64]))
                .collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64;
            let se = (var / n as f64).sqrt();
            assert!(
                (mean - want[k]).abs() < 5.0 * se,
                "statistic {k}: {mean} vs {}",
                want[k]
            );
        }
        assert!(TwoMoons::new(0.0, 1.0).is_err() && TwoMoons::new(0.1, -1.0).is_err());
    }
}
