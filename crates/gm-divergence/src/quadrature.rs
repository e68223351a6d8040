//! Globally adaptive Gauss-Kronrod quadrature (the 7-point Gauss rule embedded in the
//! 15-point Kronrod rule, Kronrod 1965; the strategy of QUADPACK, Piessens et al. 1983):
//! the subinterval with the largest error estimate `|K15 - G7|` is bisected until the summed
//! error meets the tolerance. The real line is mapped onto (-1, 1) by
//! `x = c + s t / (1 - t^2)`, `dx = s (1 + t^2) / (1 - t^2)^2 dt`; the rules never evaluate the
//! end points, so integrable tails need no truncation.

use crate::{Error, Result};

/// Kronrod abscissae on [0, 1] (the odd-indexed ones are the Gauss nodes), and weights.
const XK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const WK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
/// Gauss weights for the nodes XK[1], XK[3], XK[5], XK[7].
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// The result of a quadrature: the estimate, its error bound and the cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadrature {
    /// The integral estimate.
    pub value: f64,
    /// The estimated absolute error: the sum of the subintervals' `|K15 - G7|`.
    pub error: f64,
    /// Number of integrand evaluations.
    pub evaluations: usize,
}

/// Tolerances and limits of [`integrate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadratureConfig {
    /// Accept when the summed error is below `max(absolute, relative * |value|)`.
    pub absolute: f64,
    /// Relative tolerance, see `absolute`.
    pub relative: f64,
    /// Most subintervals before giving up.
    pub max_intervals: usize,
}

impl Default for QuadratureConfig {
    fn default() -> Self {
        Self {
            absolute: 1e-10,
            relative: 1e-10,
            max_intervals: 4000,
        }
    }
}

fn kronrod<F: FnMut(f64) -> f64>(f: &mut F, a: f64, b: f64) -> Result<(f64, f64)> {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let mut k = 0.0;
    let mut g = 0.0;
    for i in 0..8 {
        let pts: &[f64] = if i == 7 {
            &[c]
        } else {
            &[c - h * XK[i], c + h * XK[i]]
        };
        for &x in pts {
            let y = f(x);
            if !y.is_finite() {
                return Err(Error::NonFinite {
                    what: "integrand",
                    at: x,
                    value: y,
                });
            }
            k += WK[i] * y;
            if i % 2 == 1 {
                g += WG[i / 2] * y;
            }
        }
    }
    Ok((k * h, (k - g).abs() * h))
}

/// `\int_a^b f(x) dx` for finite `a < b`.
pub fn integrate<F: FnMut(f64) -> f64>(
    mut f: F,
    a: f64,
    b: f64,
    config: QuadratureConfig,
) -> Result<Quadrature> {
    if !(a.is_finite() && b.is_finite()) {
        return Err(Error::NonFinite {
            what: "integration bound",
            at: a,
            value: b,
        });
    }
    if a == b {
        return Ok(Quadrature {
            value: 0.0,
            error: 0.0,
            evaluations: 0,
        });
    }
    let (lo, hi, sign) = if a < b { (a, b, 1.0) } else { (b, a, -1.0) };
    // Start from a few panels so that a narrow feature is not missed by a single rule.
    let panels = 8;
    let mut segs: Vec<(f64, f64, f64, f64)> = Vec::with_capacity(64);
    for i in 0..panels {
        let x0 = lo + (hi - lo) * i as f64 / panels as f64;
        let x1 = lo + (hi - lo) * (i + 1) as f64 / panels as f64;
        let (v, e) = kronrod(&mut f, x0, x1)?;
        segs.push((x0, x1, v, e));
    }
    let mut evaluations = 15 * panels;
    loop {
        let value: f64 = segs.iter().map(|s| s.2).sum();
        let error: f64 = segs.iter().map(|s| s.3).sum();
        let tol = config.absolute.max(config.relative * value.abs());
        if error <= tol {
            return Ok(Quadrature {
                value: sign * value,
                error,
                evaluations,
            });
        }
        if segs.len() >= config.max_intervals {
            return Err(Error::QuadratureDidNotConverge {
                value: sign * value,
                error,
                tolerance: tol,
            });
        }
        let (worst, _) =
            segs.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, be), (i, s)| {
                    if s.3 > be {
                        (i, s.3)
                    } else {
                        (bi, be)
                    }
                });
        let (x0, x1, _, _) = segs.swap_remove(worst);
        let mid = 0.5 * (x0 + x1);
        if mid <= x0 || mid >= x1 {
            // The interval cannot be split further in floating point.
            return Err(Error::QuadratureDidNotConverge {
                value: sign * value,
                error,
                tolerance: tol,
            });
        }
        let (v0, e0) = kronrod(&mut f, x0, mid)?;
        let (v1, e1) = kronrod(&mut f, mid, x1)?;
        evaluations += 30;
        segs.push((x0, mid, v0, e0));
        segs.push((mid, x1, v1, e1));
    }
}

/// `\int_R f(x) dx`, through `x = center + scale t / (1 - t^2)`. Choose `center` and `scale`
/// near the mass of the integrand (e.g. the mean and standard deviation of a density).
pub fn integrate_real_line<F: FnMut(f64) -> f64>(
    mut f: F,
    center: f64,
    scale: f64,
    config: QuadratureConfig,
) -> Result<Quadrature> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::NotPositive {
            name: "scale",
            value: scale,
        });
    }
    if !center.is_finite() {
        return Err(Error::NonFinite {
            what: "center",
            at: 0.0,
            value: center,
        });
    }
    integrate(
        |t| {
            let d = 1.0 - t * t;
            let x = center + scale * t / d;
            let jac = scale * (1.0 + t * t) / (d * d);
            let y = f(x);
            if y == 0.0 {
                0.0
            } else {
                y * jac
            }
        },
        -1.0,
        1.0,
        config,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_polynomials_exactly() {
        // K15 is exact to degree 22 and G7 to degree 13 on [-1, 1].
        for deg in 0..=22u32 {
            let exact = if deg % 2 == 1 {
                0.0
            } else {
                2.0 / (deg as f64 + 1.0)
            };
            let (k, _) = kronrod(&mut |x: f64| x.powi(deg as i32), -1.0, 1.0).unwrap();
            assert!(
                (k - exact).abs() < 1e-14,
                "K15 degree {deg}: {k} vs {exact}"
            );
            let mut g = 0.0;
            for i in 0..4 {
                let x = XK[2 * i + 1];
                let w = WG[i];
                g += if i == 3 {
                    w * x.powi(deg as i32)
                } else {
                    w * (x.powi(deg as i32) + (-x).powi(deg as i32))
                };
            }
            if deg <= 13 {
                assert!((g - exact).abs() < 1e-14, "G7 degree {deg}: {g} vs {exact}");
            }
        }
    }

    #[test]
    fn gaussian_integrates_to_one_on_the_real_line() {
        let q = integrate_real_line(
            |x| {
                (-0.5 * (x - 3.0) * (x - 3.0) / 4.0).exp()
                    / (2.0 * (2.0 * std::f64::consts::PI).sqrt())
            },
            0.0,
            1.0,
            QuadratureConfig::default(),
        )
        .unwrap();
        assert!((q.value - 1.0).abs() < 1e-9, "{q:?}");
    }

    #[test]
    fn reversed_bounds_flip_the_sign_and_kinks_converge() {
        let c = QuadratureConfig::default();
        let a = integrate(|x| (x - 0.3f64).abs(), 1.0, -1.0, c).unwrap();
        // \int_{-1}^{1} |x - 0.3| dx = (1.3^2 + 0.7^2) / 2 = 1.09
        assert!((a.value + 1.09).abs() < 1e-9, "{a:?}");
    }

    #[test]
    fn non_finite_integrand_is_an_error() {
        let r = integrate(|x| 1.0 / x, -1.0, 1.0, QuadratureConfig::default());
        assert!(r.is_err());
    }
}
