//! The f-GAN side of an f-divergence: the optimal critic `T* = f'(p / q)`, the output
//! activation `g_f: R -> dom f*` and `f*(g_f(v))` in stable simplified forms, on scalars
//! and as differentiable tensor operations, with the stable tensor softplus they use.

use gm_core::ToHostF64;
use std::f64::consts::LN_2;

use candle_core::Tensor;

use super::{lambert_w_of_exp, softplus, Divergence};
use crate::Result;

impl Divergence {
    /// The optimal critic `T*(x) = f'(p(x) / q(x))`, as a function of the density ratio.
    pub fn optimal_critic(&self, ratio: f64) -> f64 {
        self.derivative(ratio)
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

/// `log(1 + e^x)` as `max(x, 0) + log(1 + e^{-|x|})`: no overflow, gradient everywhere.
pub fn softplus_tensor(x: &Tensor) -> Result<Tensor> {
    let tail = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok((x.relu()? + tail)?)
}
