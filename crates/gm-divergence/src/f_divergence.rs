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

use gm_core::ToHostF64;
use std::f64::consts::LN_2;
use std::fmt;

use candle_core::Tensor;

use crate::{Error, Result};

/// An f-divergence. Construct the parametric ones through [`Divergence::alpha`] and
/// [`Divergence::weighted_jensen_shannon`], which validate their parameter. It serialises as
/// `{"name": "kullback_leibler"}`, `{"name": "alpha", "alpha": 0.5}`, ...; a deserialised
/// value is checked by [`Divergence::validate`] (every entry point calls it).
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
    WeightedJensenShannon { pi: f64 },
    /// `f(u) = u log u - (u + 1) log(u + 1)`: the GAN divergence, `2 JS - log 4`.
    Gan,
    /// `f(u) = (u^alpha - 1 - alpha (u - 1)) / (alpha (alpha - 1))`, alpha not in {0, 1}.
    Alpha { alpha: f64 },
}

/// An interval of the real line: the domain of a Fenchel conjugate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    pub lower: f64,
    pub upper: f64,
    pub lower_closed: bool,
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

    /// The generator `f(u)` for `u >= 0` (at u = 0 its limit, possibly `+inf`).
    pub fn generator(&self, u: f64) -> f64 {
        match *self {
            Divergence::TotalVariation => 0.5 * (u - 1.0).abs(),
            Divergence::KullbackLeibler => xlogx(u),
            Divergence::ReverseKullbackLeibler => -u.ln(),
            Divergence::PearsonChiSquared => (u - 1.0).powi(2),
            Divergence::NeymanChiSquared => (1.0 - u).powi(2) / u,
            Divergence::SquaredHellinger => (u.sqrt() - 1.0).powi(2),
            Divergence::Jeffrey => {
                if u == 0.0 {
                    f64::INFINITY
                } else {
                    (u - 1.0) * u.ln()
                }
            }
            Divergence::JensenShannon => 0.5 * (xlogx(u) - (u + 1.0) * ((u + 1.0) / 2.0).ln()),
            Divergence::WeightedJensenShannon { pi } => {
                let m = pi * u + 1.0 - pi;
                pi * xlogx(u) - xlogx(m)
            }
            Divergence::Gan => xlogx(u) - (u + 1.0) * (u + 1.0).ln(),
            Divergence::Alpha { alpha } => {
                (u.powf(alpha) - 1.0 - alpha * (u - 1.0)) / (alpha * (alpha - 1.0))
            }
        }
    }

    /// `f(1)`: 0 for every divergence here except [`Divergence::Gan`] (`-log 4`).
    pub fn value_at_one(&self) -> f64 {
        match self {
            Divergence::Gan => -4f64.ln(),
            _ => 0.0,
        }
    }

    /// The derivative `f'(u)` for `u > 0` (total variation: the subgradient 0 at u = 1).
    pub fn derivative(&self, u: f64) -> f64 {
        match *self {
            Divergence::TotalVariation => {
                if u > 1.0 {
                    0.5
                } else if u < 1.0 {
                    -0.5
                } else {
                    0.0
                }
            }
            Divergence::KullbackLeibler => 1.0 + u.ln(),
            Divergence::ReverseKullbackLeibler => -1.0 / u,
            Divergence::PearsonChiSquared => 2.0 * (u - 1.0),
            Divergence::NeymanChiSquared => 1.0 - 1.0 / (u * u),
            Divergence::SquaredHellinger => 1.0 - 1.0 / u.sqrt(),
            Divergence::Jeffrey => u.ln() + 1.0 - 1.0 / u,
            Divergence::JensenShannon => 0.5 * (2.0 * u / (u + 1.0)).ln(),
            Divergence::WeightedJensenShannon { pi } => pi * (u / (pi * u + 1.0 - pi)).ln(),
            Divergence::Gan => (u / (u + 1.0)).ln(),
            Divergence::Alpha { alpha } => (u.powf(alpha - 1.0) - 1.0) / (alpha - 1.0),
        }
    }

    /// The optimal critic `T*(x) = f'(p(x) / q(x))`, as a function of the density ratio.
    pub fn optimal_critic(&self, ratio: f64) -> f64 {
        self.derivative(ratio)
    }

    /// The domain of the Fenchel conjugate `f*`.
    pub fn conjugate_domain(&self) -> Domain {
        match *self {
            Divergence::TotalVariation => Domain {
                lower: -0.5,
                upper: 0.5,
                lower_closed: true,
                upper_closed: true,
            },
            Divergence::KullbackLeibler | Divergence::PearsonChiSquared | Divergence::Jeffrey => {
                Domain::real_line()
            }
            Divergence::ReverseKullbackLeibler | Divergence::Gan => Domain::below(0.0, false),
            Divergence::NeymanChiSquared | Divergence::SquaredHellinger => {
                Domain::below(1.0, false)
            }
            Divergence::JensenShannon => Domain::below(0.5 * LN_2, false),
            Divergence::WeightedJensenShannon { pi } => Domain::below(-pi * pi.ln(), false),
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    Domain::real_line()
                } else {
                    // For alpha < 0 the supremum stays finite at the end point.
                    Domain::below(1.0 / (1.0 - alpha), alpha < 0.0)
                }
            }
        }
    }

    /// The Fenchel conjugate `f*(t) = sup_{u >= 0} { u t - f(u) }`; `+inf` outside its domain.
    pub fn fenchel_conjugate(&self, t: f64) -> f64 {
        if !self.conjugate_domain().contains(t) {
            return f64::INFINITY;
        }
        match *self {
            Divergence::TotalVariation => t,
            Divergence::KullbackLeibler => (t - 1.0).exp(),
            Divergence::ReverseKullbackLeibler => -1.0 - (-t).ln(),
            Divergence::PearsonChiSquared => 0.25 * t * t + t,
            Divergence::NeymanChiSquared => 2.0 - 2.0 * (1.0 - t).sqrt(),
            Divergence::SquaredHellinger => t / (1.0 - t),
            Divergence::Jeffrey => {
                let w = lambert_w_of_exp(1.0 - t);
                w + 1.0 / w + t - 2.0
            }
            Divergence::JensenShannon => -0.5 * (2.0 - (2.0 * t).exp()).ln(),
            Divergence::WeightedJensenShannon { pi } => {
                -(1.0 - pi) * ((1.0 - pi * (t / pi).exp()) / (1.0 - pi)).ln()
            }
            Divergence::Gan => -(-(t.exp())).ln_1p(),
            Divergence::Alpha { alpha } => {
                let w = (1.0 + (alpha - 1.0) * t).max(0.0);
                (w.powf(alpha / (alpha - 1.0)) - 1.0) / alpha
            }
        }
    }

    /// The f-GAN output activation `g_f: R -> dom f*` (Nowozin et al. Table 2).
    pub fn output_activation(&self, v: f64) -> f64 {
        match *self {
            Divergence::TotalVariation => 0.5 * v.tanh(),
            Divergence::KullbackLeibler | Divergence::PearsonChiSquared | Divergence::Jeffrey => v,
            Divergence::ReverseKullbackLeibler => -(-v).exp(),
            Divergence::NeymanChiSquared | Divergence::SquaredHellinger => 1.0 - (-v).exp(),
            Divergence::JensenShannon => 0.5 * (LN_2 - softplus(-v)),
            Divergence::WeightedJensenShannon { pi } => -pi * pi.ln() - pi * softplus(-v),
            Divergence::Gan => -softplus(-v),
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    v
                } else {
                    1.0 / (1.0 - alpha) - (-v).exp()
                }
            }
        }
    }

    /// `f*(g_f(v))`, simplified so that it stays finite for every finite `v`.
    pub fn conjugate_of_activation(&self, v: f64) -> f64 {
        match *self {
            Divergence::TotalVariation => 0.5 * v.tanh(),
            Divergence::KullbackLeibler => (v - 1.0).exp(),
            Divergence::ReverseKullbackLeibler => v - 1.0,
            Divergence::PearsonChiSquared => 0.25 * v * v + v,
            Divergence::NeymanChiSquared => 2.0 - 2.0 * (-0.5 * v).exp(),
            Divergence::SquaredHellinger => v.exp() - 1.0,
            Divergence::Jeffrey => self.fenchel_conjugate(v),
            Divergence::JensenShannon => 0.5 * (softplus(v) - LN_2),
            Divergence::WeightedJensenShannon { pi } => {
                (1.0 - pi) * (softplus(v) + (1.0 - pi).ln())
            }
            Divergence::Gan => softplus(v),
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    let w = (1.0 + (alpha - 1.0) * v).max(0.0);
                    (w.powf(alpha / (alpha - 1.0)) - 1.0) / alpha
                } else {
                    // w = 1 + (a - 1) g = (1 - a) e^(-v), so w^(a/(a-1)) is an exponential.
                    let c = (1.0 - alpha).powf(alpha / (alpha - 1.0));
                    (c * (alpha * v / (1.0 - alpha)).exp() - 1.0) / alpha
                }
            }
        }
    }

    /// `lim_{u -> inf} f(u) / u`, which equals `sup dom f*`: the weight of the part of P that
    /// Q does not cover.
    pub fn slope_at_infinity(&self) -> f64 {
        self.conjugate_domain().upper
    }

    /// The integrand `q f(p / q)` (the perspective of f), finite-safe: where q = 0 it is
    /// `p lim f(u)/u`, where both vanish it is 0.
    pub fn perspective(&self, p: f64, q: f64) -> f64 {
        if q <= 0.0 {
            return if p <= 0.0 {
                0.0
            } else {
                p * self.slope_at_infinity()
            };
        }
        if p <= q {
            return q * self.generator(p / q);
        }
        let u = p / q;
        if u.is_finite() {
            p * (self.generator(u) / u)
        } else {
            p * self.slope_at_infinity()
        }
    }

    /// The perspective from log densities: `q f(p / q)` with `p = e^log_p`, `q = e^log_q`.
    /// Where the larger of the two densities underflows the integrand is taken as 0.
    pub fn perspective_log(&self, log_p: f64, log_q: f64) -> f64 {
        if log_q == f64::NEG_INFINITY {
            return self.perspective(log_p.exp(), 0.0);
        }
        if log_p == f64::NEG_INFINITY {
            return self.perspective(0.0, log_q.exp());
        }
        // Closed forms in the log domain for generators whose f(u) over- or underflows in the
        // tails although q f(p/q) does not.
        match *self {
            Divergence::PearsonChiSquared => {
                return (2.0 * log_p - log_q).exp() - 2.0 * log_p.exp() + log_q.exp();
            }
            Divergence::NeymanChiSquared => {
                return (2.0 * log_q - log_p).exp() - 2.0 * log_q.exp() + log_p.exp();
            }
            Divergence::SquaredHellinger => {
                return log_p.exp() + log_q.exp() - 2.0 * (0.5 * (log_p + log_q)).exp();
            }
            Divergence::KullbackLeibler => return log_p.exp() * (log_p - log_q),
            Divergence::ReverseKullbackLeibler => return log_q.exp() * (log_q - log_p),
            Divergence::Jeffrey => return (log_p.exp() - log_q.exp()) * (log_p - log_q),
            Divergence::Alpha { alpha } => {
                let mixed = (alpha * log_p + (1.0 - alpha) * log_q).exp();
                let (p, q) = (log_p.exp(), log_q.exp());
                return (mixed - q - alpha * (p - q)) / (alpha * (alpha - 1.0));
            }
            _ => {}
        }
        let r = log_p - log_q;
        if r <= 0.0 {
            let q = log_q.exp();
            if q == 0.0 {
                return 0.0;
            }
            // Where u underflows, the smallest normal number stands in for it.
            q * self.generator(r.exp().max(f64::MIN_POSITIVE))
        } else {
            let p = log_p.exp();
            if p == 0.0 {
                return 0.0;
            }
            let u = r.exp().min(f64::MAX);
            p * (self.generator(u) / u)
        }
    }

    /// The generator as a formula, for tables.
    pub fn generator_formula(&self) -> String {
        match *self {
            Divergence::TotalVariation => "\\|u - 1\\| / 2".into(),
            Divergence::KullbackLeibler => "u log u".into(),
            Divergence::ReverseKullbackLeibler => "-log u".into(),
            Divergence::PearsonChiSquared => "(u - 1)^2".into(),
            Divergence::NeymanChiSquared => "(1 - u)^2 / u".into(),
            Divergence::SquaredHellinger => "(sqrt(u) - 1)^2".into(),
            Divergence::Jeffrey => "(u - 1) log u".into(),
            Divergence::JensenShannon => "[u log u - (u + 1) log((u + 1)/2)] / 2".into(),
            Divergence::WeightedJensenShannon { .. } => {
                "pi u log u - (pi u + 1 - pi) log(pi u + 1 - pi)".into()
            }
            Divergence::Gan => "u log u - (u + 1) log(u + 1)".into(),
            Divergence::Alpha { .. } => "(u^a - 1 - a (u - 1)) / (a (a - 1))".into(),
        }
    }

    /// The conjugate as a formula, for tables.
    pub fn conjugate_formula(&self) -> String {
        match *self {
            Divergence::TotalVariation => "t".into(),
            Divergence::KullbackLeibler => "exp(t - 1)".into(),
            Divergence::ReverseKullbackLeibler => "-1 - log(-t)".into(),
            Divergence::PearsonChiSquared => "t^2/4 + t".into(),
            Divergence::NeymanChiSquared => "2 - 2 sqrt(1 - t)".into(),
            Divergence::SquaredHellinger => "t / (1 - t)".into(),
            Divergence::Jeffrey => "W(e^(1-t)) + 1/W(e^(1-t)) + t - 2".into(),
            Divergence::JensenShannon => "-log(2 - e^(2t)) / 2".into(),
            Divergence::WeightedJensenShannon { .. } => {
                "-(1 - pi) log((1 - pi e^(t/pi)) / (1 - pi))".into()
            }
            Divergence::Gan => "-log(1 - e^t)".into(),
            Divergence::Alpha { .. } => "((1 + (a - 1) t)_+^(a/(a-1)) - 1) / a".into(),
        }
    }

    /// The output activation as a formula, for tables.
    pub fn activation_formula(&self) -> String {
        match *self {
            Divergence::TotalVariation => "tanh(v) / 2".into(),
            Divergence::KullbackLeibler | Divergence::PearsonChiSquared | Divergence::Jeffrey => {
                "v".into()
            }
            Divergence::ReverseKullbackLeibler => "-e^(-v)".into(),
            Divergence::NeymanChiSquared | Divergence::SquaredHellinger => "1 - e^(-v)".into(),
            Divergence::JensenShannon => "(log 2 - log(1 + e^(-v))) / 2".into(),
            Divergence::WeightedJensenShannon { .. } => "-pi log pi - pi log(1 + e^(-v))".into(),
            Divergence::Gan => "-log(1 + e^(-v))".into(),
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    "v".into()
                } else {
                    "1/(1 - a) - e^(-v)".into()
                }
            }
        }
    }

    /// The optimal critic `T*(u) = f'(u)` as a formula, for tables.
    pub fn critic_formula(&self) -> String {
        match *self {
            Divergence::TotalVariation => "sign(u - 1) / 2".into(),
            Divergence::KullbackLeibler => "1 + log u".into(),
            Divergence::ReverseKullbackLeibler => "-1/u".into(),
            Divergence::PearsonChiSquared => "2 (u - 1)".into(),
            Divergence::NeymanChiSquared => "1 - 1/u^2".into(),
            Divergence::SquaredHellinger => "1 - 1/sqrt(u)".into(),
            Divergence::Jeffrey => "1 + log u - 1/u".into(),
            Divergence::JensenShannon => "log(2u / (u + 1)) / 2".into(),
            Divergence::WeightedJensenShannon { .. } => "pi log(u / (pi u + 1 - pi))".into(),
            Divergence::Gan => "log(u / (u + 1))".into(),
            Divergence::Alpha { .. } => "(u^(a-1) - 1) / (a - 1)".into(),
        }
    }

    // ---- tensor versions (differentiable) -------------------------------------------------

    /// `g_f(v)` applied elementwise to a tensor of raw critic outputs.
    pub fn output_activation_tensor(&self, v: &Tensor) -> Result<Tensor> {
        let out = match *self {
            Divergence::TotalVariation => v.tanh()?.affine(0.5, 0.0)?,
            Divergence::KullbackLeibler | Divergence::PearsonChiSquared | Divergence::Jeffrey => {
                v.clone()
            }
            Divergence::ReverseKullbackLeibler => v.neg()?.exp()?.neg()?,
            Divergence::NeymanChiSquared | Divergence::SquaredHellinger => {
                v.neg()?.exp()?.affine(-1.0, 1.0)?
            }
            Divergence::JensenShannon => softplus_tensor(&v.neg()?)?.affine(-0.5, 0.5 * LN_2)?,
            Divergence::WeightedJensenShannon { pi } => {
                softplus_tensor(&v.neg()?)?.affine(-pi, -pi * pi.ln())?
            }
            Divergence::Gan => softplus_tensor(&v.neg()?)?.neg()?,
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    v.clone()
                } else {
                    v.neg()?.exp()?.affine(-1.0, 1.0 / (1.0 - alpha))?
                }
            }
        };
        Ok(out)
    }

    /// `f*(g_f(v))` applied elementwise to a tensor of raw critic outputs, in the stable
    /// simplified forms of [`Divergence::conjugate_of_activation`].
    ///
    /// For Jeffrey, whose conjugate needs Lambert W, the maximiser `u*(t)` of `u t - f(u)` is
    /// computed off the graph and `f*(t) = t u* - f(u*)` is rebuilt with `u*` held constant:
    /// the value is exact and so is the first derivative (`d f*/dt = u*`, envelope theorem).
    pub fn conjugate_of_activation_tensor(&self, v: &Tensor) -> Result<Tensor> {
        let out = match *self {
            Divergence::TotalVariation => v.tanh()?.affine(0.5, 0.0)?,
            Divergence::KullbackLeibler => v.affine(1.0, -1.0)?.exp()?,
            Divergence::ReverseKullbackLeibler => v.affine(1.0, -1.0)?,
            Divergence::PearsonChiSquared => (v.sqr()?.affine(0.25, 0.0)? + v)?,
            Divergence::NeymanChiSquared => v.affine(-0.5, 0.0)?.exp()?.affine(-2.0, 2.0)?,
            Divergence::SquaredHellinger => v.exp()?.affine(1.0, -1.0)?,
            Divergence::Jeffrey => {
                let flat = v.flatten_all()?.to_host_f64()?;
                let ts = flat.to_vec1::<f64>()?;
                let us: Vec<f64> = ts
                    .iter()
                    .map(|&t| 1.0 / lambert_w_of_exp(1.0 - t))
                    .collect();
                let fu: Vec<f64> = us.iter().map(|&u| self.generator(u)).collect();
                // Built in f64 on the host, cast, then moved: Metal holds no f64.
                let to_v = |x: Vec<f64>| -> Result<Tensor> {
                    Ok(Tensor::from_vec(x, v.shape(), &candle_core::Device::Cpu)?
                        .to_dtype(v.dtype())?
                        .to_device(v.device())?)
                };
                let (u, fu) = (to_v(us)?, to_v(fu)?);
                ((v * u)? - fu)?
            }
            Divergence::JensenShannon => softplus_tensor(v)?.affine(0.5, -0.5 * LN_2)?,
            Divergence::WeightedJensenShannon { pi } => {
                softplus_tensor(v)?.affine(1.0 - pi, (1.0 - pi) * (1.0 - pi).ln())?
            }
            Divergence::Gan => softplus_tensor(v)?,
            Divergence::Alpha { alpha } => {
                if alpha > 1.0 {
                    v.affine(alpha - 1.0, 1.0)?
                        .relu()?
                        .powf(alpha / (alpha - 1.0))?
                        .affine(1.0 / alpha, -1.0 / alpha)?
                } else {
                    let c = (1.0 - alpha).powf(alpha / (alpha - 1.0));
                    v.affine(alpha / (1.0 - alpha), 0.0)?
                        .exp()?
                        .affine(c / alpha, -1.0 / alpha)?
                }
            }
        };
        Ok(out)
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `log(1 + e^x)` as `max(x, 0) + log(1 + e^{-|x|})`: no overflow, gradient everywhere.
pub fn softplus_tensor(x: &Tensor) -> Result<Tensor> {
    let tail = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok((x.relu()? + tail)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_cannot_be_zero_or_one() {
        assert!(matches!(
            Divergence::alpha(0.0),
            Err(Error::InvalidAlpha(_))
        ));
        assert!(matches!(
            Divergence::alpha(1.0),
            Err(Error::InvalidAlpha(_))
        ));
        assert!(matches!(
            Divergence::alpha(f64::NAN),
            Err(Error::InvalidAlpha(_))
        ));
        assert!(Divergence::alpha(2.0).is_ok());
    }

    #[test]
    fn pi_must_lie_in_open_unit_interval() {
        for pi in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(
                Divergence::weighted_jensen_shannon(pi),
                Err(Error::InvalidPi(_))
            ));
        }
        assert!(Divergence::weighted_jensen_shannon(0.3).is_ok());
    }

    #[test]
    fn lambert_w_solves_its_equation() {
        for z in [-700.0, -20.0, -1.0, 0.0, 1.0, 5.0, 50.0, 700.0] {
            let w = lambert_w_of_exp(z);
            assert!(w > 0.0);
            assert!(
                (w + w.ln() - z).abs() < 1e-12 * (1.0 + z.abs()),
                "z {z} w {w}"
            );
        }
        // W(e) = 1.
        assert!((lambert_w_of_exp(1.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn alpha_one_half_is_twice_squared_hellinger() {
        let a = Divergence::Alpha { alpha: 0.5 };
        for u in [0.0, 0.3, 1.0, 2.5, 9.0] {
            let h = Divergence::SquaredHellinger.generator(u);
            assert!((a.generator(u) - 2.0 * h).abs() < 1e-12);
        }
    }
}
