//! 2-D Gaussian mixtures for mode-collapse experiments (Metz et al. 2017; VEEGAN; PacGAN):
//! the ring of 8 (radius 2, std 0.02) and the grid of 25 (spacing 2, std 0.05), each with equal
//! weights, generated in code.

use super::Dataset;
use crate::rng::GmRng;
use crate::{Error, Result};

/// An equally weighted mixture of isotropic 2-D Gaussians.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture2d {
    /// The mean `[x, y]` of each component.
    pub means: Vec<[f64; 2]>,
    /// The standard deviation of every component, on each axis.
    pub std: f64,
}

impl Mixture2d {
    /// `modes` Gaussians evenly spaced on a circle of `radius`, the first at angle 0.
    pub fn ring(modes: usize, radius: f64, std: f64) -> Result<Self> {
        check("modes", modes as f64, modes > 0)?;
        check("radius", radius, radius > 0.0 && radius.is_finite())?;
        check("std", std, std > 0.0 && std.is_finite())?;
        let means = (0..modes)
            .map(|k| {
                let a = 2.0 * std::f64::consts::PI * k as f64 / modes as f64;
                [radius * a.cos(), radius * a.sin()]
            })
            .collect();
        Ok(Self { means, std })
    }

    /// A `side x side` grid centred at the origin with the given `spacing`
    /// (side 5, spacing 2: means at -4, -2, 0, 2, 4 on each axis).
    pub fn grid(side: usize, spacing: f64, std: f64) -> Result<Self> {
        check("side", side as f64, side > 0)?;
        check("spacing", spacing, spacing > 0.0 && spacing.is_finite())?;
        check("std", std, std > 0.0 && std.is_finite())?;
        let off = (side as f64 - 1.0) / 2.0;
        let mut means = Vec::with_capacity(side * side);
        for i in 0..side {
            for j in 0..side {
                means.push([(i as f64 - off) * spacing, (j as f64 - off) * spacing]);
            }
        }
        Ok(Self { means, std })
    }

    /// The standard ring of 8 (radius 2, std 0.02).
    pub fn ring8() -> Self {
        Self::ring(8, 2.0, 0.02).expect("valid constants")
    }

    /// The standard grid of 25 (spacing 2, std 0.05).
    pub fn grid25() -> Self {
        Self::grid(5, 2.0, 0.05).expect("valid constants")
    }

    /// `n` points, row-major `(n, 2)`, with their component index.
    pub fn sample(&self, n: usize, rng: &mut GmRng) -> (Vec<f32>, Vec<u32>) {
        let mut x = Vec::with_capacity(2 * n);
        let mut c = Vec::with_capacity(n);
        for _ in 0..n {
            let k = (rand::Rng::random_range(rng, 0..self.means.len())) as u32;
            let z = rng.normal_vec(2);
            let m = self.means[k as usize];
            x.push((m[0] + self.std * z[0] as f64) as f32);
            x.push((m[1] + self.std * z[1] as f64) as f32);
            c.push(k);
        }
        (x, c)
    }

    /// A data set of `n` points, labelled by component.
    pub fn dataset(&self, n: usize, seed: u64) -> Result<Dataset> {
        let (x, c) = self.sample(n, &mut GmRng::new(seed));
        Dataset::new(format!("mixture{}", self.means.len()), vec![2], x, Some(c))
    }

    /// Log-density of the mixture at a point.
    pub fn log_pdf(&self, p: [f64; 2]) -> f64 {
        let s2 = self.std * self.std;
        let logs: Vec<f64> = self
            .means
            .iter()
            .map(|m| {
                let d2 = (p[0] - m[0]).powi(2) + (p[1] - m[1]).powi(2);
                -d2 / (2.0 * s2) - (2.0 * std::f64::consts::PI * s2).ln()
            })
            .collect();
        let mx = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        mx + logs.iter().map(|l| (l - mx).exp()).sum::<f64>().ln() - (self.means.len() as f64).ln()
    }
}

fn check(field: &'static str, value: f64, ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            field,
            value: value.to_string(),
            reason: "must be positive and finite",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_and_grid_geometry() {
        let r = Mixture2d::ring8();
        assert_eq!(r.means.len(), 8);
        for m in &r.means {
            assert!(((m[0] * m[0] + m[1] * m[1]).sqrt() - 2.0).abs() < 1e-12);
        }
        let g = Mixture2d::grid25();
        assert_eq!(g.means.len(), 25);
        assert_eq!(g.means[0], [-4.0, -4.0]);
        assert_eq!(g.means[24], [4.0, 4.0]);
    }

    #[test]
    fn samples_sit_near_their_component() {
        let r = Mixture2d::ring8();
        let (x, c) = r.sample(4000, &mut GmRng::new(0));
        let mut counts = [0usize; 8];
        for i in 0..4000 {
            let m = r.means[c[i] as usize];
            let d =
                ((x[2 * i] as f64 - m[0]).powi(2) + (x[2 * i + 1] as f64 - m[1]).powi(2)).sqrt();
            // P(chi_2 > 6) = exp(-18) for the radius in std units: never in 4,000 draws.
            assert!(d < 6.0 * r.std);
            counts[c[i] as usize] += 1;
        }
        // Binomial(4000, 1/8): mean 500, sd 20.9; 5 sd.
        assert!(
            counts.iter().all(|&k| (k as f64 - 500.0).abs() < 105.0),
            "{counts:?}"
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Mixture2d::ring(0, 2.0, 0.1).is_err());
        assert!(Mixture2d::ring(8, -1.0, 0.1).is_err());
        let e = Mixture2d::grid(5, 2.0, 0.0).unwrap_err();
        assert!(e.to_string().contains("std"), "{e}");
    }
}
