//! f-divergences and their Fenchel duals (Csiszar 1967; Nguyen, Wainwright & Jordan 2010;
//! Nowozin, Cseke & Tomioka 2016, "f-GAN", Tables 1, 2 and 6).
//!
//! Convention, used everywhere in this crate: for a convex generator `f` on `[0, inf)`,
//!
//! ```text
//! D_f(P || Q) = E_Q[ f(p(x) / q(x)) ] = \int q(x) f(p(x) / q(x)) dx,      u = p / q.
//! ```
//!
//! The Fenchel conjugate is `f*(t) = sup_u { u t - f(u) }` on its domain `dom f*`, and the
//! variational representation reads
//! `D_f(P || Q) >= sup_T E_P[T(x)] - E_Q[f*(T(x))]`, with equality at the optimal critic
//! `T*(x) = f'(p(x) / q(x))`. An f-GAN critic outputs a raw `v` in R and the output activation
//! `g_f` maps it into `dom f*`, so `T = g_f(v)`.
//!
//! Every generator satisfies `f(1) = 0` except the "GAN" divergence, kept exactly as in
//! Nowozin et al. Table 1: `f(u) = u log u - (u + 1) log(u + 1)`, `f(1) = -log 4`, so that
//! `D_GAN = 2 JS - log 4`, the value of the original GAN game at the optimal discriminator.

use std::fmt;

use crate::{Error, Result};

mod activation;
mod formula;
mod generator;

pub use activation::softplus_tensor;

/// An f-divergence. Construct the parametric ones through [`Divergence::alpha`] and
/// [`Divergence::weighted_jensen_shannon`], which validate their parameter. It serialises as
/// `{"name": "kullback_leibler"}`, `{"name": "alpha", "alpha": 0.5}`, ...; a deserialised
/// value is checked by [`Divergence::validate`] (every entry point calls it).
///
/// ```
/// use gm_divergence::{
///     f_divergence_discrete, f_divergence_gaussians_closed_form,
///     f_divergence_gaussians_quadrature, Divergence, Gaussian1d,
/// };
/// // P = (1/2, 1/2, 0), Q = (1/4, 1/4, 1/2): KL(P || Q) = log 2 and TV = 1/2, while
/// // KL(Q || P) is infinite, Q putting mass where P has none.
/// let (p, q) = ([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]);
/// let kl = f_divergence_discrete(Divergence::KullbackLeibler, &p, &q)?;
/// assert!((kl - 2f64.ln()).abs() < 1e-15);
/// assert!(f_divergence_discrete(Divergence::KullbackLeibler, &q, &p)?.is_infinite());
/// let tv = f_divergence_discrete(Divergence::TotalVariation, &q, &p)?;
/// assert!((tv - 0.5).abs() < 1e-15);
///
/// // KL(N(0, 1) || N(1, 1)) = 1/2, in closed form and by quadrature.
/// let (a, b) = (Gaussian1d::new(0.0, 1.0)?, Gaussian1d::new(1.0, 1.0)?);
/// let exact = f_divergence_gaussians_closed_form(Divergence::KullbackLeibler, a, b)?;
/// assert!((exact - 0.5).abs() < 1e-15);
/// let numeric = f_divergence_gaussians_quadrature(Divergence::KullbackLeibler, a, b)?;
/// assert!((numeric.value - exact).abs() < 1e-8);
///
/// // The parametric divergences check their parameter.
/// assert!(Divergence::alpha(1.0).is_err());
/// # Ok::<(), gm_divergence::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Divergence {
    /// `f(u) = |u - 1| / 2`: total variation, `sup_A |P(A) - Q(A)|`.
    TotalVariation,
    /// `f(u) = u log u`: KL(P || Q).
    KullbackLeibler,
    /// `f(u) = -log u`: KL(Q || P).
    ReverseKullbackLeibler,
    /// `f(u) = (u - 1)^2`: Pearson chi^2.
    PearsonChiSquared,
    /// `f(u) = (1 - u)^2 / u`: Neyman chi^2.
    NeymanChiSquared,
    /// `f(u) = (sqrt u - 1)^2`: squared Hellinger, `\int (sqrt p - sqrt q)^2` (no 1/2).
    SquaredHellinger,
    /// `f(u) = (u - 1) log u`: Jeffrey, KL(P || Q) + KL(Q || P).
    Jeffrey,
    /// `f(u) = [u log u - (u + 1) log((u + 1) / 2)] / 2`: Jensen-Shannon,
    /// `JS = KL(P || M) / 2 + KL(Q || M) / 2` with `M = (P + Q) / 2`, so `0 <= JS <= log 2`.
    JensenShannon,
    /// `f(u) = pi u log u - (pi u + 1 - pi) log(pi u + 1 - pi)`: the weighted Jensen-Shannon
    /// divergence `pi KL(P || M) + (1 - pi) KL(Q || M)`, `M = pi P + (1 - pi) Q`.
    WeightedJensenShannon {
        /// The weight `pi` of `P`, in (0, 1).
        pi: f64,
    },
    /// `f(u) = u log u - (u + 1) log(u + 1)`: the GAN divergence, `2 JS - log 4`.
    Gan,
    /// `f(u) = (u^alpha - 1 - alpha (u - 1)) / (alpha (alpha - 1))`, alpha not in {0, 1}.
    Alpha {
        /// The order `alpha`, finite and not 0 or 1.
        alpha: f64,
    },
}

/// An interval of the real line: the domain of a Fenchel conjugate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    /// The lower end (may be `-inf`).
    pub lower: f64,
    /// The upper end (may be `+inf`).
    pub upper: f64,
    /// Whether `lower` belongs to the interval.
    pub lower_closed: bool,
    /// Whether `upper` belongs to the interval.
    pub upper_closed: bool,
}

impl Domain {
    fn real_line() -> Self {
        Self {
            lower: f64::NEG_INFINITY,
            upper: f64::INFINITY,
            lower_closed: false,
            upper_closed: false,
        }
    }

    fn below(upper: f64, upper_closed: bool) -> Self {
        Self {
            lower: f64::NEG_INFINITY,
            upper,
            lower_closed: false,
            upper_closed,
        }
    }

    /// Whether `t` lies in the interval.
    pub fn contains(&self, t: f64) -> bool {
        let lo = if self.lower_closed {
            t >= self.lower
        } else {
            t > self.lower
        };
        let hi = if self.upper_closed {
            t <= self.upper
        } else {
            t < self.upper
        };
        lo && hi && !t.is_nan()
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |x: f64| {
            if x == f64::INFINITY {
                "inf".to_string()
            } else if x == f64::NEG_INFINITY {
                "-inf".to_string()
            } else {
                format!("{x:.4}")
            }
        };
        write!(
            f,
            "{}{}, {}{}",
            if self.lower_closed { "[" } else { "(" },
            num(self.lower),
            num(self.upper),
            if self.upper_closed { "]" } else { ")" }
        )
    }
}

/// Numerically stable `log(1 + e^x)`.
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `u log u` with its limit 0 at u = 0.
fn xlogx(u: f64) -> f64 {
    if u == 0.0 {
        0.0
    } else {
        u * u.ln()
    }
}

/// The principal branch of Lambert W evaluated at `e^z`: the `w > 0` solving
/// `w + log w = z`. Working with `z` avoids overflow of `e^z` for large arguments.
pub fn lambert_w_of_exp(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z == f64::INFINITY {
        return f64::INFINITY;
    }
    // For z << 0, w ~ e^z; for z >> 1, w ~ z - log z.
    let mut w = if z > 1.0 { z - z.ln() } else { z.exp() };
    if w <= 0.0 {
        return 0.0;
    }
    for _ in 0..100 {
        let h = w + w.ln() - z;
        let step = h * w / (w + 1.0);
        let mut next = w - step;
        if next <= 0.0 {
            next = w / 2.0;
        }
        if (next - w).abs() <= 4.0 * f64::EPSILON * next {
            return next;
        }
        w = next;
    }
    w
}

impl Divergence {
    /// The alpha-divergence; alpha must be finite and not 0 or 1.
    pub fn alpha(alpha: f64) -> Result<Self> {
        let d = Divergence::Alpha { alpha };
        d.validate()?;
        Ok(d)
    }

    /// The weighted Jensen-Shannon divergence; pi must lie in (0, 1).
    pub fn weighted_jensen_shannon(pi: f64) -> Result<Self> {
        let d = Divergence::WeightedJensenShannon { pi };
        d.validate()?;
        Ok(d)
    }

    /// Checks the parameter of a parametric divergence.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Divergence::Alpha { alpha } if !alpha.is_finite() || alpha == 0.0 || alpha == 1.0 => {
                return Err(Error::InvalidAlpha(alpha));
            }
            Divergence::WeightedJensenShannon { pi } if !(pi > 0.0 && pi < 1.0) => {
                return Err(Error::InvalidPi(pi));
            }
            _ => {}
        }
        Ok(())
    }

    /// The divergences of the f-GAN table, with alpha in {-1, 0.5, 2} and pi = 0.3.
    pub fn catalogue() -> Vec<Divergence> {
        vec![
            Divergence::TotalVariation,
            Divergence::KullbackLeibler,
            Divergence::ReverseKullbackLeibler,
            Divergence::PearsonChiSquared,
            Divergence::NeymanChiSquared,
            Divergence::SquaredHellinger,
            Divergence::Jeffrey,
            Divergence::JensenShannon,
            Divergence::WeightedJensenShannon { pi: 0.3 },
            Divergence::Gan,
            Divergence::Alpha { alpha: -1.0 },
            Divergence::Alpha { alpha: 0.5 },
            Divergence::Alpha { alpha: 2.0 },
        ]
    }

    /// A short name.
    pub fn name(&self) -> String {
        match *self {
            Divergence::TotalVariation => "total variation".into(),
            Divergence::KullbackLeibler => "Kullback-Leibler".into(),
            Divergence::ReverseKullbackLeibler => "reverse Kullback-Leibler".into(),
            Divergence::PearsonChiSquared => "Pearson chi^2".into(),
            Divergence::NeymanChiSquared => "Neyman chi^2".into(),
            Divergence::SquaredHellinger => "squared Hellinger".into(),
            Divergence::Jeffrey => "Jeffrey".into(),
            Divergence::JensenShannon => "Jensen-Shannon".into(),
            Divergence::WeightedJensenShannon { pi } => {
                format!("weighted Jensen-Shannon (pi = {pi})")
            }
            Divergence::Gan => "GAN".into(),
            Divergence::Alpha { alpha } => format!("alpha (alpha = {alpha})"),
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests;
