//! Batched sampling on a device: closed-form inversions x = F^{-1}(u) applied elementwise to a
//! seeded uniform tensor, so one call draws millions of samples on CPU, CUDA or Metal.
//!
//! The uniform tensor comes from [`gm_core::GmRng`] (f32, clamped to [2^-24, 1 - 2^-24] so
//! that logarithms and tangents stay finite); everything else is candle tensor arithmetic in
//! f32 (which every back end supports):
//! - exponential: -ln(1 - u) / lambda; Rayleigh: sigma sqrt(-2 ln(1 - u));
//!   Weibull: lambda (-ln(1 - u))^{1/k}; Pareto: x_m exp(-ln(1 - u) / alpha);
//! - Cauchy: x0 + gamma sin(pi (u - 1/2)) / cos(pi (u - 1/2));
//! - logistic: mu + s (ln u - ln(1 - u)); Laplace: mu - b sgn(u - 1/2) ln(1 - 2 |u - 1/2|);
//! - uniform: a + (b - a) u;
//! - normal: Wichura's AS 241 rational approximations evaluated as tensor ops, the central
//!   region |u - 1/2| <= 0.425 and the first tail region selected by `where_cond` (the
//!   clamp keeps sqrt(-ln min(u, 1 - u)) <= 4.08 < 5, so the far-tail region is never needed).

use candle_core::{Device, Shape, Tensor};
use gm_core::GmRng;

use crate::special::{AS241_A, AS241_B, AS241_C, AS241_D};
use crate::univariate::{
    Cauchy, Exponential, Laplace, Logistic, Normal, Pareto, Rayleigh, Uniform, Weibull,
};
use crate::Result;

const U_MIN: f64 = 1.0 / 16_777_216.0; // 2^-24

/// A seeded f32 tensor of uniforms in [2^-24, 1 - 2^-24].
pub fn open_uniform_tensor<S: Into<Shape>>(
    shape: S,
    rng: &mut GmRng,
    device: &Device,
) -> Result<Tensor> {
    let u = rng.uniform(shape, 0.0, 1.0, device)?;
    Ok(u.clamp(U_MIN, 1.0 - U_MIN)?)
}

/// A distribution whose inverse CDF can be applied to a whole tensor of uniforms.
pub trait BatchedInversion {
    /// F^{-1}(u) elementwise for a tensor u of values in (0, 1).
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor>;

    /// A tensor of `shape` draws, F^{-1}(U) with U from `rng`.
    fn sample_tensor<S: Into<Shape>>(
        &self,
        shape: S,
        rng: &mut GmRng,
        device: &Device,
    ) -> Result<Tensor>
    where
        Self: Sized,
    {
        let u = open_uniform_tensor(shape, rng, device)?;
        self.quantile_tensor(&u)
    }
}

/// -ln(1 - u).
fn neg_log1m(u: &Tensor) -> Result<Tensor> {
    Ok(u.affine(-1.0, 1.0)?.log()?.neg()?)
}

fn poly(c: &[f64; 8], r: &Tensor) -> Result<Tensor> {
    let mut acc = Tensor::full(c[7] as f32, r.shape(), r.device())?;
    for &ci in c[..7].iter().rev() {
        acc = acc.mul(r)?.affine(1.0, ci)?;
    }
    Ok(acc)
}

impl BatchedInversion for Uniform {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        Ok(u.affine(self.high - self.low, self.low)?)
    }
}

impl BatchedInversion for Exponential {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        Ok(neg_log1m(u)?.affine(1.0 / self.rate, 0.0)?)
    }
}

impl BatchedInversion for Rayleigh {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        Ok(neg_log1m(u)?
            .affine(2.0, 0.0)?
            .sqrt()?
            .affine(self.scale, 0.0)?)
    }
}

impl BatchedInversion for Weibull {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        Ok(neg_log1m(u)?
            .powf(1.0 / self.shape)?
            .affine(self.scale, 0.0)?)
    }
}

impl BatchedInversion for Pareto {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        Ok(neg_log1m(u)?
            .affine(1.0 / self.shape, 0.0)?
            .exp()?
            .affine(self.scale, 0.0)?)
    }
}

impl BatchedInversion for Cauchy {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        let a = u.affine(std::f64::consts::PI, -0.5 * std::f64::consts::PI)?;
        Ok(a.sin()?.div(&a.cos()?)?.affine(self.scale, self.loc)?)
    }
}

impl BatchedInversion for Logistic {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        let l = u.log()?.sub(&u.affine(-1.0, 1.0)?.log()?)?;
        Ok(l.affine(self.scale, self.loc)?)
    }
}

impl BatchedInversion for Laplace {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        let q = u.affine(1.0, -0.5)?;
        let mag = q.abs()?.affine(-2.0, 1.0)?.log()?;
        Ok(q.sign()?.mul(&mag)?.affine(-self.scale, self.loc)?)
    }
}

impl BatchedInversion for Normal {
    fn quantile_tensor(&self, u: &Tensor) -> Result<Tensor> {
        let q = u.affine(1.0, -0.5)?;
        let r_c = q.sqr()?.affine(-1.0, 0.180625)?;
        let central = q.mul(&poly(&AS241_A, &r_c)?)?.div(&poly(&AS241_B, &r_c)?)?;
        let small = u.minimum(&u.affine(-1.0, 1.0)?)?;
        let r_t = small.log()?.neg()?.sqrt()?.affine(1.0, -1.6)?;
        let tail = poly(&AS241_C, &r_t)?.div(&poly(&AS241_D, &r_t)?)?;
        let tail = q.sign()?.mul(&tail)?;
        let in_center = q.abs()?.le(0.425)?;
        let z = in_center.where_cond(&central, &tail)?;
        Ok(z.affine(self.std, self.mean)?)
    }
}
