//! The variational (Fenchel dual) lower bound of an f-divergence and the f-GAN losses
//! (Nguyen, Wainwright & Jordan 2010; Nowozin, Cseke & Tomioka 2016, eq. 6):
//!
//! ```text
//! F(V) = E_P[ g_f(V(x)) ] - E_Q[ f*(g_f(V(x))) ]  <=  D_f(P || Q),
//! ```
//!
//! with equality when `g_f(V) = T* = f'(p / q)`. P is the data ("real"), Q the generator
//! ("fake"). The critic maximises F, so its loss is `-F`; the generator minimises F, in which
//! only the fake term depends on it: loss `-E_Q[f*(g_f(V))]`. Nowozin et al. also propose the
//! "non-saturating" generator loss `-E_Q[g_f(V)]`. All are differentiable candle tensors.

use candle_core::Tensor;

use crate::f_divergence::Divergence;
use crate::Result;

/// `F = mean g_f(v_real) - mean f*(g_f(v_fake))`, a scalar tensor, from raw critic outputs.
pub fn variational_bound(div: Divergence, v_real: &Tensor, v_fake: &Tensor) -> Result<Tensor> {
    div.validate()?;
    let real = div.output_activation_tensor(v_real)?.mean_all()?;
    let fake = div.conjugate_of_activation_tensor(v_fake)?.mean_all()?;
    Ok((real - fake)?)
}

/// The f-GAN critic loss `-F` (minimise it to maximise the bound).
pub fn fgan_critic_loss(div: Divergence, v_real: &Tensor, v_fake: &Tensor) -> Result<Tensor> {
    Ok(variational_bound(div, v_real, v_fake)?.neg()?)
}

/// The f-GAN generator loss `-mean f*(g_f(v_fake))`: the part of F that depends on the
/// generator (minimising it minimises F).
pub fn fgan_generator_loss(div: Divergence, v_fake: &Tensor) -> Result<Tensor> {
    div.validate()?;
    Ok(div
        .conjugate_of_activation_tensor(v_fake)?
        .mean_all()?
        .neg()?)
}

/// The non-saturating f-GAN generator loss `-mean g_f(v_fake)` (Nowozin et al. section 3.2).
pub fn fgan_generator_loss_non_saturating(div: Divergence, v_fake: &Tensor) -> Result<Tensor> {
    div.validate()?;
    Ok(div.output_activation_tensor(v_fake)?.mean_all()?.neg()?)
}
