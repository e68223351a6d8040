//! Disjoint supports and vanishing gradients (Arjovsky & Bottou 2017, "Towards principled
//! methods for training GANs", Theorems 2.4 and 2.5; Arjovsky, Chintala & Bottou 2017,
//! "Wasserstein GAN", Example 1), on the one-dimensional family
//!
//! ```text
//! P = U[0, 1],   Q_theta = U[theta, theta + 1].
//! ```
//!
//! On the overlap p = q = 1 and the Jensen-Shannon integrand vanishes; on each of the two
//! pieces of length min(|theta|, 1) that only one distribution covers, the mixture is
//! M = 1/2 and KL(. || M) gains log 2 per unit of mass. Hence
//!
//! ```text
//! JS(P, Q_theta) = KL(P || M)/2 + KL(Q_theta || M)/2 = min(|theta|, 1) log 2,
//! ```
//!
//! which saturates at log 2 once the supports are disjoint (|theta| >= 1): there
//! `dJS/dtheta = 0`, and so is the gradient of the GAN value at the optimal discriminator,
//! `C(G) = -log 4 + 2 JS`. The Wasserstein distance of a translation is the shift,
//! `W1(P, Q_theta) = \int |F_P - F_Q_theta| = |theta|`, whose gradient is `sign(theta)` for every
//! theta != 0.
//!
//! The generator's side: against a near-optimal sigmoid discriminator
//! `D(x) = sigma(k (c - x))` (a threshold c between the supports, slope k large), the
//! saturating loss `E_z log(1 - D(theta + z))` has gradient
//! `softplus(k (c - theta)) - softplus(k (c - theta - 1))`, which vanishes like `e^{-k gap}`
//! (Theorem 2.4), while the non-saturating loss `-E_z log D(theta + z)` has gradient
//! `softplus(k (theta + 1 - c)) - softplus(k (theta - c))`, close to k (Theorem 2.5: it does
//! not vanish, it grows with the discriminator's confidence).
//!
//! Every value here is computed by quadrature (split at the points where the integrands are
//! not smooth) and every gradient by central finite differences of those values, so that the
//! closed forms above are checks and not inputs.

use std::f64::consts::LN_2;
use std::path::Path;

use gm_core::viz::{plot_curves, Series};

use crate::f_divergence::{softplus, Divergence};
use crate::quadrature::{integrate, QuadratureConfig};
use crate::{Error, Result};

fn check_theta(theta: f64) -> Result<()> {
    if theta.is_finite() {
        Ok(())
    } else {
        Err(Error::OutsideDomain {
            what: "theta",
            value: theta,
            domain: "the finite reals".into(),
        })
    }
}

fn check_positive(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::NotPositive { name, value })
    }
}

fn quadrature_config() -> QuadratureConfig {
    QuadratureConfig {
        absolute: 1e-14,
        relative: 1e-13,
        max_intervals: 4000,
    }
}

/// `\int f` from the smallest to the largest of `breaks`, one Gauss-Kronrod integral per
/// piece between consecutive breaks (the integrand is smooth on each).
fn integrate_pieces(f: impl Fn(f64) -> f64, breaks: &mut [f64]) -> Result<f64> {
    breaks.sort_by(|a, b| a.total_cmp(b));
    let mut total = 0.0;
    for w in breaks.windows(2) {
        if w[1] > w[0] {
            total += integrate(&f, w[0], w[1], quadrature_config())?.value;
        }
    }
    Ok(total)
}

/// The density of U[a, a + 1].
fn unit_uniform_pdf(a: f64, x: f64) -> f64 {
    if x >= a && x <= a + 1.0 {
        1.0
    } else {
        0.0
    }
}

/// The closed form `JS(U[0,1], U[theta, theta+1]) = min(|theta|, 1) log 2` (natural log, so
/// the maximum is log 2).
pub fn js_shifted_uniforms_closed_form(theta: f64) -> Result<f64> {
    check_theta(theta)?;
    Ok(theta.abs().min(1.0) * LN_2)
}

/// `JS(U[0,1], U[theta, theta+1]) = \int q f_JS(p / q)` by Gauss-Kronrod quadrature on the
/// pieces between 0, 1, theta and theta + 1 (the integrand is constant on each), with the
/// crate's Jensen-Shannon generator and its perspective where q = 0.
pub fn js_shifted_uniforms_quadrature(theta: f64) -> Result<f64> {
    check_theta(theta)?;
    let js = Divergence::JensenShannon;
    integrate_pieces(
        |x| js.perspective(unit_uniform_pdf(0.0, x), unit_uniform_pdf(theta, x)),
        &mut [0.0, 1.0, theta, theta + 1.0],
    )
}

/// The closed form `W1(U[0,1], U[theta, theta+1]) = |theta|`.
pub fn w1_shifted_uniforms_closed_form(theta: f64) -> Result<f64> {
    check_theta(theta)?;
    Ok(theta.abs())
}

/// `W1(U[0,1], U[theta, theta+1]) = \int |F_P(x) - F_Q(x)| dx` (the one-dimensional
/// Kantorovich-Rubinstein identity), by quadrature on the pieces where both CDFs are linear.
pub fn w1_shifted_uniforms_quadrature(theta: f64) -> Result<f64> {
    check_theta(theta)?;
    integrate_pieces(
        |x| (x.clamp(0.0, 1.0) - (x - theta).clamp(0.0, 1.0)).abs(),
        &mut [0.0, 1.0, theta, theta + 1.0],
    )
}

/// A logistic discriminator `D(x) = sigma(slope (threshold - x))`: D > 1/2 (says "real")
/// on the side of the threshold that the sign of `slope` points to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmoidDiscriminator {
    slope: f64,
    threshold: f64,
}

impl SigmoidDiscriminator {
    /// `slope` finite and non-zero, `threshold` finite.
    pub fn new(slope: f64, threshold: f64) -> Result<Self> {
        if !(slope.is_finite() && slope != 0.0) {
            return Err(Error::OutsideDomain {
                what: "slope",
                value: slope,
                domain: "finite and non-zero".into(),
            });
        }
        if !threshold.is_finite() {
            return Err(Error::OutsideDomain {
                what: "threshold",
                value: threshold,
                domain: "the finite reals".into(),
            });
        }
        Ok(Self { slope, threshold })
    }

    /// The discriminator of confidence `k` > 0 for `P = U[0,1]` against `Q_theta`: threshold
    /// midway between the centres, (1 + theta) / 2, and "real" on P's side. When the supports
    /// are disjoint its value tends to the optimum 0 = -log 4 + 2 log 2 as k grows.
    pub fn for_shift(theta: f64, k: f64) -> Result<Self> {
        check_theta(theta)?;
        check_positive("k", k)?;
        let sign = if theta < 0.0 { -1.0 } else { 1.0 };
        Self::new(sign * k, 0.5 * (1.0 + theta))
    }

    /// The slope `k` of `D(x) = sigma(slope (threshold - x))`.
    pub fn slope(&self) -> f64 {
        self.slope
    }

    /// The threshold `c`, where `D = 1/2`.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// `log D(x) = -softplus(slope (x - threshold))`, finite for every finite x.
    pub fn log_d(&self, x: f64) -> f64 {
        -softplus(self.slope * (x - self.threshold))
    }

    /// `log(1 - D(x)) = -softplus(slope (threshold - x))`.
    pub fn log_one_minus_d(&self, x: f64) -> f64 {
        -softplus(self.slope * (self.threshold - x))
    }

    /// The GAN value `V(D) = E_P log D + E_Q_theta log(1 - D)` (Goodfellow et al. 2014), by
    /// quadrature; its supremum over D is `-log 4 + 2 JS(P, Q_theta)`.
    pub fn value(&self, theta: f64) -> Result<f64> {
        check_theta(theta)?;
        let c = self.threshold;
        let ep = integrate_pieces(|x| self.log_d(x), &mut [0.0, 1.0, c.clamp(0.0, 1.0)])?;
        let eq = integrate_pieces(
            |x| self.log_one_minus_d(x),
            &mut [theta, theta + 1.0, c.clamp(theta, theta + 1.0)],
        )?;
        Ok(ep + eq)
    }

    /// The saturating generator loss `E_z log(1 - D(theta + z))`, z ~ U[0, 1] (minimised by
    /// the generator in the original minimax game), by quadrature.
    pub fn saturating_loss(&self, theta: f64) -> Result<f64> {
        check_theta(theta)?;
        let c = self.threshold - theta;
        integrate_pieces(
            |z| self.log_one_minus_d(theta + z),
            &mut [0.0, 1.0, c.clamp(0.0, 1.0)],
        )
    }

    /// The non-saturating generator loss `-E_z log D(theta + z)`, z ~ U[0, 1], by quadrature.
    pub fn non_saturating_loss(&self, theta: f64) -> Result<f64> {
        check_theta(theta)?;
        let c = self.threshold - theta;
        integrate_pieces(
            |z| -self.log_d(theta + z),
            &mut [0.0, 1.0, c.clamp(0.0, 1.0)],
        )
    }

    /// The closed form `d/dtheta E_z log(1 - D(theta + z)) = softplus(a (c - theta)) -
    /// softplus(a (c - theta - 1))`, a the slope, c the threshold.
    pub fn saturating_gradient_closed_form(&self, theta: f64) -> f64 {
        let (a, c) = (self.slope, self.threshold);
        softplus(a * (c - theta)) - softplus(a * (c - theta - 1.0))
    }

    /// The closed form `d/dtheta (-E_z log D(theta + z)) = softplus(a (theta + 1 - c)) -
    /// softplus(a (theta - c))`.
    pub fn non_saturating_gradient_closed_form(&self, theta: f64) -> f64 {
        let (a, c) = (self.slope, self.threshold);
        softplus(a * (theta + 1.0 - c)) - softplus(a * (theta - c))
    }
}

/// `(f(theta + h) - f(theta - h)) / (2 h)`.
pub fn central_difference(f: impl Fn(f64) -> Result<f64>, theta: f64, step: f64) -> Result<f64> {
    check_theta(theta)?;
    check_positive("finite-difference step", step)?;
    Ok((f(theta + step)? - f(theta - step)?) / (2.0 * step))
}

/// Settings of [`disjoint_support_curves`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisjointSupportConfig {
    /// The step h of the central differences.
    pub step: f64,
    /// The confidence k of the sigmoid discriminator [`SigmoidDiscriminator::for_shift`].
    pub discriminator_slope: f64,
}

impl Default for DisjointSupportConfig {
    fn default() -> Self {
        Self {
            step: 1e-4,
            discriminator_slope: 40.0,
        }
    }
}

/// The curves at one theta; gradients are central differences of the quadrature values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisjointSupportPoint {
    /// The shift theta of `Q_theta = U[theta, theta + 1]`.
    pub theta: f64,
    /// JS(P, Q_theta), quadrature.
    pub js: f64,
    /// dJS/dtheta, central difference.
    pub js_gradient: f64,
    /// C(G) = -log 4 + 2 JS: the GAN value at the optimal discriminator D* = p / (p + q).
    pub optimal_gan_value: f64,
    /// W1(P, Q_theta), quadrature of |F_P - F_Q|.
    pub w1: f64,
    /// dW1/dtheta, central difference.
    pub w1_gradient: f64,
    /// The value V(D) of the sigmoid discriminator chosen for this theta.
    pub sigmoid_value: f64,
    /// d/dtheta E log(1 - D(G_theta)) with D held fixed.
    pub saturating_gradient: f64,
    /// d/dtheta (-E log D(G_theta)) with D held fixed.
    pub non_saturating_gradient: f64,
}

/// The JS, W1 and generator-loss curves of `P = U[0,1]` against `Q_theta` over `thetas`.
pub fn disjoint_support_curves(
    thetas: &[f64],
    config: DisjointSupportConfig,
) -> Result<Vec<DisjointSupportPoint>> {
    check_positive("finite-difference step", config.step)?;
    check_positive("discriminator slope", config.discriminator_slope)?;
    let h = config.step;
    thetas
        .iter()
        .map(|&theta| {
            check_theta(theta)?;
            let js = js_shifted_uniforms_quadrature(theta)?;
            let d = SigmoidDiscriminator::for_shift(theta, config.discriminator_slope)?;
            Ok(DisjointSupportPoint {
                theta,
                js,
                js_gradient: central_difference(js_shifted_uniforms_quadrature, theta, h)?,
                optimal_gan_value: -(4f64.ln()) + 2.0 * js,
                w1: w1_shifted_uniforms_quadrature(theta)?,
                w1_gradient: central_difference(w1_shifted_uniforms_quadrature, theta, h)?,
                sigmoid_value: d.value(theta)?,
                saturating_gradient: central_difference(|t| d.saturating_loss(t), theta, h)?,
                non_saturating_gradient: central_difference(
                    |t| d.non_saturating_loss(t),
                    theta,
                    h,
                )?,
            })
        })
        .collect()
}

/// Writes JS, W1 and their gradients against theta as an SVG (through gm-core's plot).
pub fn plot_disjoint_support_curves(
    points: &[DisjointSupportPoint],
    path: impl AsRef<Path>,
) -> Result<()> {
    let series = |name: &str, f: fn(&DisjointSupportPoint) -> f64| Series {
        name: name.into(),
        points: points.iter().map(|p| (p.theta, f(p))).collect(),
    };
    plot_curves(
        "P = U[0,1], Q = U[theta, theta+1]: JS saturates, W1 does not",
        &[
            series("JS", |p| p.js),
            series("dJS/dtheta", |p| p.js_gradient),
            series("W1", |p| p.w1),
            series("dW1/dtheta", |p| p.w1_gradient),
        ],
        path,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_closed_form_matches_quadrature_and_saturates() {
        for i in -12..=12 {
            let t = 0.25 * i as f64;
            let q = js_shifted_uniforms_quadrature(t).unwrap();
            let c = js_shifted_uniforms_closed_form(t).unwrap();
            assert!((q - c).abs() < 1e-12, "theta {t}: {q} vs {c}");
        }
        // Half overlap: JS = log 2 / 2, not the naive log 2 or 0.
        let half = js_shifted_uniforms_quadrature(0.5).unwrap();
        assert!((half - 0.5 * LN_2).abs() < 1e-12, "{half}");
        assert_eq!(js_shifted_uniforms_quadrature(0.0).unwrap(), 0.0);
    }

    #[test]
    fn w1_is_the_shift() {
        for &t in &[-2.5, -0.3, 0.0, 0.7, 1.0, 4.0] {
            let q = w1_shifted_uniforms_quadrature(t).unwrap();
            assert!((q - t.abs()).abs() < 1e-12, "theta {t}: {q}");
        }
    }

    #[test]
    fn gradients_vanish_for_js_and_saturating_loss_only() {
        let pts =
            disjoint_support_curves(&[-2.0, 0.5, 2.0], DisjointSupportConfig::default()).unwrap();
        let (neg, mid, far) = (pts[0], pts[1], pts[2]);
        assert!(far.js_gradient.abs() < 1e-9 && neg.js_gradient.abs() < 1e-9);
        assert!((mid.js_gradient - LN_2).abs() < 1e-8, "{}", mid.js_gradient);
        assert!((far.w1_gradient - 1.0).abs() < 1e-8 && (neg.w1_gradient + 1.0).abs() < 1e-8);
        assert!(far.optimal_gan_value.abs() < 1e-12);
        assert!(far.sigmoid_value.abs() < 1e-8 && far.sigmoid_value <= 0.0);
        assert!(
            far.saturating_gradient.abs() < 1e-8,
            "{}",
            far.saturating_gradient
        );
        assert!((far.non_saturating_gradient - 40.0).abs() < 1e-6);
        // Mirrored shift: the generator still descends towards P.
        assert!((neg.non_saturating_gradient + 40.0).abs() < 1e-6);
        let d = SigmoidDiscriminator::for_shift(2.0, 40.0).unwrap();
        let fd = far.non_saturating_gradient;
        assert!((fd - d.non_saturating_gradient_closed_form(2.0)).abs() < 1e-6);
        let fd = far.saturating_gradient;
        assert!((fd - d.saturating_gradient_closed_form(2.0)).abs() < 1e-12);
    }

    #[test]
    fn plot_writes_an_svg() {
        let thetas: Vec<f64> = (0..=30).map(|i| -1.5 + 0.1 * i as f64).collect();
        let pts = disjoint_support_curves(&thetas, DisjointSupportConfig::default()).unwrap();
        let path =
            std::env::temp_dir().join(format!("gm-divergence-disjoint-{}.svg", std::process::id()));
        plot_disjoint_support_curves(&pts, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg") && svg.contains("dW1/dtheta"));
    }

    #[test]
    fn bad_parameters_are_errors_naming_the_value() {
        let e = js_shifted_uniforms_quadrature(f64::NAN).unwrap_err();
        assert!(e.to_string().contains("theta"), "{e}");
        let e = SigmoidDiscriminator::new(0.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("slope"), "{e}");
        let e = SigmoidDiscriminator::for_shift(1.0, -3.0).unwrap_err();
        assert!(e.to_string().contains("-3"), "{e}");
        let bad = DisjointSupportConfig {
            step: 0.0,
            ..Default::default()
        };
        let e = disjoint_support_curves(&[1.0], bad).unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
        assert!(central_difference(Ok, f64::INFINITY, 1e-3).is_err());
    }
}
