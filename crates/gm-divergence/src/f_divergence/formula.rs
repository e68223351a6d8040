//! The formulas of each divergence as strings, for tables: the generator `f`, the
//! conjugate `f*`, the f-GAN output activation `g_f` and the optimal critic `f'(u)`.

use super::Divergence;

impl Divergence {
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
}
