//! Manifold generators: the sphere of radius r from (z_1, z_2) uniform on the unit square.
//!
//! The naive map theta = pi z_1, phi = 2 pi z_2 makes the polar angle uniform, but the area
//! element of the sphere is r^2 sin(theta) dtheta dphi, so points pile up at the poles. The
//! uniform map takes cos(theta) = 1 - 2 z_1 instead: by Archimedes' hat-box theorem the
//! height z = r cos(theta) of a uniform point on the sphere is uniform on [-r, r].
//! The cap {cos(theta) > c} has area fraction (1 - c)/2, and probability arccos(c)/pi under
//! the naive map.

use std::f64::consts::PI;

use crate::stats::{chi_square_test, ChiSquare};
use crate::{Error, Result};

/// The naive map: theta = pi z_1, phi = 2 pi z_2, x = r (sin theta cos phi, sin theta sin phi,
/// cos theta). Not uniform on the sphere.
pub fn sphere_naive(z1: f64, z2: f64, r: f64) -> [f64; 3] {
    let theta = PI * z1;
    let phi = 2.0 * PI * z2;
    [
        r * theta.sin() * phi.cos(),
        r * theta.sin() * phi.sin(),
        r * theta.cos(),
    ]
}

/// The uniform map: cos theta = 1 - 2 z_1, phi = 2 pi z_2.
pub fn sphere_uniform(z1: f64, z2: f64, r: f64) -> [f64; 3] {
    let c = 1.0 - 2.0 * z1;
    let s = (1.0 - c * c).max(0.0).sqrt();
    let phi = 2.0 * PI * z2;
    [r * s * phi.cos(), r * s * phi.sin(), r * c]
}

/// Fraction of `points` in the two polar caps |z| / r > c.
pub fn polar_cap_fraction(points: &[[f64; 3]], r: f64, c: f64) -> f64 {
    let n = points.iter().filter(|p| (p[2] / r).abs() > c).count();
    n as f64 / points.len().max(1) as f64
}

/// The area fraction of the two caps |cos theta| > c: 1 - c.
pub fn polar_cap_area_fraction(c: f64) -> f64 {
    1.0 - c
}

/// The probability of the two caps under the naive map: 2 arccos(c) / pi.
pub fn polar_cap_naive_probability(c: f64) -> f64 {
    2.0 * c.acos() / PI
}

/// Chi-square test that the heights z / r are uniform on [-1, 1] in `bins` equal bins, which
/// holds exactly for points uniform on the sphere.
pub fn height_uniformity(points: &[[f64; 3]], r: f64, bins: usize) -> Result<ChiSquare> {
    if bins < 2 {
        return Err(Error::ZeroCount("bins beyond the first"));
    }
    let mut counts = vec![0u64; bins];
    for p in points {
        let t = ((p[2] / r + 1.0) / 2.0 * bins as f64).floor();
        let k = (t.max(0.0) as usize).min(bins - 1);
        counts[k] += 1;
    }
    chi_square_test(&counts, &vec![1.0 / bins as f64; bins])
}
