//! The gradient penalties of the critic (WGAN-GP's, and R1/R2's squared gradient norm), whose
//! gradients are second order, and the switch that makes candle keep the graphs of computed
//! gradients for them, with the check that it took effect on the calling thread.

use candle_core::{Tensor, Var};

use crate::{Error, Result};

/// `mean_i (||grad_x v(x_hat_i)|| - 1)^2` at `x_hat = eps x_real + (1 - eps) x_fake`, with
/// `eps` broadcast per item (shape `(n, 1, ...)`), as a tensor whose gradient with respect to
/// the critic's parameters is exact (second order). Needs [`enable_second_order`].
pub fn gradient_penalty(
    critic: impl Fn(&Tensor) -> Result<Tensor>,
    real: &Tensor,
    fake: &Tensor,
    eps: &Tensor,
) -> Result<Tensor> {
    let real = real.detach();
    let fake = fake.detach();
    let x_hat = (eps.broadcast_mul(&real)? + eps.affine(-1.0, 1.0)?.broadcast_mul(&fake)?)?;
    let x_hat = Var::from_tensor(&x_hat)?;
    let v = critic(x_hat.as_tensor())?;
    let grads = v.sum_all()?.backward()?;
    let g = grads
        .get(x_hat.as_tensor())
        .ok_or_else(|| Error::config("critic", "constant", "the critic ignores its input"))?
        .flatten_from(1)?;
    // A tiny floor keeps the norm's derivative finite where the gradient vanishes.
    let norm = (g.sqr()?.sum(1)? + 1e-12)?.sqrt()?;
    Ok(norm.affine(1.0, -1.0)?.sqr()?.mean_all()?)
}

/// `mean_i ||grad_x v(x_i)||^2` at the items of `x` (the R1 penalty's expectation on real
/// items, R2's on generated ones; Mescheder et al. 2018 weight it by `gamma / 2`), as a tensor
/// whose gradient with respect to the critic's parameters is exact (second order). Needs
/// [`enable_second_order`].
pub fn gradient_norm_penalty(
    critic: impl Fn(&Tensor) -> Result<Tensor>,
    x: &Tensor,
) -> Result<Tensor> {
    let x = Var::from_tensor(&x.detach())?;
    let v = critic(x.as_tensor())?;
    let grads = v.sum_all()?.backward()?;
    let g = grads
        .get(x.as_tensor())
        .ok_or_else(|| Error::config("critic", "constant", "the critic ignores its input"))?
        .flatten_from(1)?;
    Ok(g.sqr()?.sum(1)?.mean_all()?)
}

/// The environment variable that makes candle keep the graph of computed gradients.
pub const SECOND_ORDER_ENV: &str = "CANDLE_GRAD_DO_NOT_DETACH";

/// Sets `CANDLE_GRAD_DO_NOT_DETACH=1` and checks, on the calling thread, that a gradient can
/// be differentiated again. candle reads the variable once per thread, at its first backward
/// pass: a thread that already ran one without it cannot switch, and gets an error naming
/// `objective`.
pub fn enable_second_order(objective: &str) -> Result<()> {
    if std::env::var(SECOND_ORDER_ENV).map(|v| v.is_empty() || v == "0") != Ok(false) {
        std::env::set_var(SECOND_ORDER_ENV, "1");
    }
    if second_order_available()? {
        Ok(())
    } else {
        Err(Error::SecondOrderUnavailable {
            objective: objective.to_string(),
        })
    }
}

/// Whether candle keeps gradient graphs on this thread: `d^2/dx^2 x^3 = 6 x` at `x = 1`.
pub fn second_order_available() -> Result<bool> {
    let x = Var::new(&[1f32], &candle_core::Device::Cpu)?;
    let y = x.as_tensor().powf(3.0)?.sum_all()?;
    let g = y.backward()?;
    let Some(dy) = g.get(x.as_tensor()) else {
        return Ok(false);
    };
    let g2 = dy.sum_all()?.backward()?;
    Ok(match g2.get(x.as_tensor()) {
        Some(d2) => (d2.to_vec1::<f32>()?[0] - 6.0).abs() < 1e-4,
        None => false,
    })
}
