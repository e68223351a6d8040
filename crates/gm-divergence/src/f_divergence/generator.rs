//! The generator side of an f-divergence: `f` and its value at 1, the derivative `f'`,
//! the Fenchel conjugate `f*` with its domain and slope at infinity, and the perspective
//! `q f(p / q)` (from densities or log densities) that the estimators integrate.

use std::f64::consts::LN_2;

use super::{lambert_w_of_exp, xlogx, Divergence, Domain};

impl Divergence {
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
}
