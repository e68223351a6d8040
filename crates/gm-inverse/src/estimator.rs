//! The compressed-sensing estimator with a generative prior (Bora, Jalal, Price and Dimakis,
//! "Compressed Sensing using Generative Models", ICML 2017, eq. (2) and Section 5):
//!
//! z_hat = argmin_z  ||b - A G(z)||^2 / m + lambda ||z||^2,   x_hat = G(z_hat),
//!
//! minimised with Adam from R random starts z ~ prior, keeping for each image the restart
//! with the lowest measurement loss ||b - A G(z)||^2 / m. The paper's MNIST settings are the
//! defaults: lr 0.01, 1000 steps, 10 restarts, lambda 0 ("VAE"); lambda 0.1 is "VAE+Reg".
//!
//! [`recover`] stacks all N images and R restarts into one latent batch of N R rows and
//! optimises them together: the objective is the sum of the per-row objectives, so each row
//! receives exactly its own gradient, and Adam's update is elementwise, so the batched run
//! follows the same trajectories as [`recover_each`], which runs the images one at a time.
//! The starting latents of image i come from the stream `GmRng::derive(seed, i)` in both.

use candle_core::{DType, Tensor, D};
use gm_core::nn::{DenseActivation, DenseStack};
use gm_core::{Adam, AdamConfig, DenseForm, Generator, GmRng, ParamStore};
use serde::{Deserialize, Serialize};

use crate::operator::{flatten_items, MeasurementOperator};
use crate::{Error, Result};

/// Hyperparameters of the estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CsgmConfig {
    /// Adam learning rate on z.
    pub lr: f64,
    /// Adam steps per restart.
    pub steps: usize,
    /// Random restarts per image.
    pub restarts: usize,
    /// Weight of ||z||^2.
    pub lambda: f64,
    /// Take the written-out passes (no autograd, no parameter gradients) when the generator
    /// offers a [`DenseForm`] and the data is f32 on the CPU; `false` keeps candle's autograd.
    #[serde(default = "yes")]
    pub written_out: bool,
}

fn yes() -> bool {
    true
}

impl Default for CsgmConfig {
    /// Bora et al.'s "VAE" setting.
    fn default() -> Self {
        Self {
            lr: 0.01,
            steps: 1000,
            restarts: 10,
            lambda: 0.0,
            written_out: true,
        }
    }
}

impl CsgmConfig {
    /// "VAE": lambda = 0.
    pub fn vae() -> Self {
        Self::default()
    }

    /// "VAE+Reg": lambda = 0.1.
    pub fn vae_reg() -> Self {
        Self {
            lambda: 0.1,
            ..Self::default()
        }
    }

    /// This config with Adam learning rate `lr`.
    pub fn with_lr(self, lr: f64) -> Self {
        Self { lr, ..self }
    }
    /// This config with `steps` Adam steps per restart.
    pub fn with_steps(self, steps: usize) -> Self {
        Self { steps, ..self }
    }
    /// This config with `restarts` random restarts per image.
    pub fn with_restarts(self, restarts: usize) -> Self {
        Self { restarts, ..self }
    }
    /// This config with weight `lambda` on ||z||^2.
    pub fn with_lambda(self, lambda: f64) -> Self {
        Self { lambda, ..self }
    }
    /// This config with the written-out passes on (`true`, the default) or off.
    pub fn with_written_out(self, written_out: bool) -> Self {
        Self {
            written_out,
            ..self
        }
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::config("lr", self.lr, "must be positive and finite"));
        }
        if self.steps == 0 {
            return Err(Error::config("steps", 0, "must be at least 1"));
        }
        if self.restarts == 0 {
            return Err(Error::config("restarts", 0, "must be at least 1"));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(Error::config(
                "lambda",
                self.lambda,
                "must be non-negative and finite",
            ));
        }
        Ok(())
    }
}

/// The estimate for a batch of N images.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// x_hat = G(z_hat), flat `(N, n)`.
    pub x: Tensor,
    /// z_hat, `(N, latent_dim)`.
    pub z: Tensor,
    /// ||b - A G(z_hat)||^2 / m per image.
    pub measurement_loss: Vec<f32>,
    /// Which restart won, per image.
    pub best_restart: Vec<usize>,
}

/// Runs the estimator on measurements `b` `(N, m)` of N images, all images and restarts in
/// one batched computation. Image i starts from the latents of `GmRng::derive(seed, i)`.
pub fn recover<G, O>(
    generator: &G,
    op: &O,
    b: &Tensor,
    cfg: &CsgmConfig,
    seed: u64,
) -> Result<Recovery>
where
    G: Generator + ?Sized,
    O: MeasurementOperator + ?Sized,
{
    recover_block(generator, op, b, cfg, seed, 0)
}

/// The same estimator one image at a time (R rows per run instead of N R): the reference
/// that [`recover`] must match, and the baseline of its timing.
pub fn recover_each<G, O>(
    generator: &G,
    op: &O,
    b: &Tensor,
    cfg: &CsgmConfig,
    seed: u64,
) -> Result<Recovery>
where
    G: Generator + ?Sized,
    O: MeasurementOperator + ?Sized,
{
    let (n, _) = b.dims2()?;
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        parts.push(recover_block(
            generator,
            op,
            &b.narrow(0, i, 1)?,
            cfg,
            seed,
            i as u64,
        )?);
    }
    let xs: Vec<&Tensor> = parts.iter().map(|p| &p.x).collect();
    let zs: Vec<&Tensor> = parts.iter().map(|p| &p.z).collect();
    Ok(Recovery {
        x: Tensor::cat(&xs, 0)?,
        z: Tensor::cat(&zs, 0)?,
        measurement_loss: parts
            .iter()
            .flat_map(|p| p.measurement_loss.clone())
            .collect(),
        best_restart: parts.iter().flat_map(|p| p.best_restart.clone()).collect(),
    })
}

/// Per-row measurement loss ||b - A G(z)||^2 / m, `(rows,)`, and G(z) flat.
fn row_losses<G, O>(generator: &G, op: &O, z: &Tensor, b_rows: &Tensor) -> Result<(Tensor, Tensor)>
where
    G: Generator + ?Sized,
    O: MeasurementOperator + ?Sized,
{
    let x = flatten_items(&generator.generate(z)?, op.input_dim(), "generator output")?;
    let m = op.num_measurements() as f64;
    let r = (op.apply(&x)? - b_rows)?;
    Ok((r.sqr()?.sum(D::Minus1)?.affine(1.0 / m, 0.0)?, x))
}

/// The Adam steps of [`recover_block`] written out for a generator with a [`DenseForm`]:
/// the generator and A as dense stacks on host memory, the gradient of
/// `sum_rows ||A G(z) - b||^2 / m + lambda ||z||^2` with respect to z only (no parameter
/// gradients), and the same Adam update as the autograd path ([`Adam::step_host`]).
fn dense_steps<O: MeasurementOperator + ?Sized>(
    form: &DenseForm,
    op: &O,
    z: &Tensor,
    b_rows: &Tensor,
    adam: &mut Adam,
    cfg: &CsgmConfig,
) -> Result<()> {
    let rows = z.dim(0)?;
    let (m, n) = op.dense().matrix().dims2()?;
    let measure = DenseStack::new(
        &[n, m],
        DenseActivation::Identity,
        DenseActivation::Identity,
    )?;
    let a = host(op.dense().matrix())?;
    let zero = vec![0f32; m];
    let a_params = [a.as_slice(), zero.as_slice()];
    let g_params: Vec<&[f32]> = form.params.iter().map(Vec::as_slice).collect();
    let b = host(b_rows)?;
    let scale = 2.0 / m as f32;
    let lambda = 2.0 * cfg.lambda as f32;
    for _ in 0..cfg.steps {
        let zh = host(z)?;
        let tape = form.stack.forward(&g_params, zh.clone(), rows)?;
        let y = measure.forward(&a_params, tape.output().to_vec(), rows)?;
        let d_y: Vec<f32> = y
            .output()
            .iter()
            .zip(&b)
            .map(|(y, b)| scale * (y - b))
            .collect();
        let missing = || Error::config("dense form", 0, "no input gradient from a dense stack");
        let d_x = measure
            .backward(&a_params, &y, d_y, None, true)?
            .ok_or_else(missing)?;
        let mut d_z = form
            .stack
            .backward(&g_params, &tape, d_x, None, true)?
            .ok_or_else(missing)?;
        if lambda > 0.0 {
            d_z.iter_mut().zip(&zh).for_each(|(g, z)| *g += lambda * z);
        }
        adam.step_host(&[(z, &d_z)])?;
    }
    Ok(())
}

/// A trainable copy `z` of the latents `start` `(rows, k)` and Adam (learning rate `lr`) over
/// it alone; `what` names the start in errors.
pub(crate) fn latent_adam(start: Tensor, lr: f64, seed: u64, what: &str) -> Result<(Tensor, Adam)> {
    let store = ParamStore::new(seed);
    let z = store.var_builder(start.device()).get_with_hints(
        start.dims2()?,
        "z",
        candle_nn::init::Init::Const(0.0),
    )?;
    store.load(&[("z".to_string(), start)].into_iter().collect(), what)?;
    let cfg = AdamConfig {
        lr,
        ..Default::default()
    };
    Ok((z, Adam::new(&store, cfg)?))
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

fn recover_block<G, O>(
    generator: &G,
    op: &O,
    b: &Tensor,
    cfg: &CsgmConfig,
    seed: u64,
    first_index: u64,
) -> Result<Recovery>
where
    G: Generator + ?Sized,
    O: MeasurementOperator + ?Sized,
{
    cfg.validate()?;
    let (n_img, m) = b.dims2()?;
    if m != op.num_measurements() {
        return Err(Error::shape(
            "measurements",
            b.dims(),
            &[n_img, op.num_measurements()],
        ));
    }
    let out: usize = generator.output_shape().iter().product();
    if out != op.input_dim() {
        return Err(Error::shape(
            "generator output vs operator input",
            &generator.output_shape(),
            &[op.input_dim()],
        ));
    }
    let dev = b.device();
    let r = cfg.restarts;
    let rows = n_img * r;

    // Row i R + j holds restart j of image i.
    let mut starts = Vec::with_capacity(n_img);
    for i in 0..n_img {
        let mut rng = GmRng::derive(seed, first_index + i as u64);
        starts.push(generator.sample_latent(r, &mut rng, dev)?);
    }
    let z0 = Tensor::cat(&starts, 0)?;
    let (z, mut adam) = latent_adam(z0, cfg.lr, seed, "latent start")?;
    let b_rows = b
        .to_dtype(candle_core::DType::F32)?
        .unsqueeze(1)?
        .broadcast_as((n_img, r, m))?
        .reshape((rows, m))?;

    let form = match (
        dev.is_cpu() && b_rows.dtype() == DType::F32,
        cfg.written_out,
    ) {
        (true, true) => generator.dense_form()?,
        _ => None,
    };
    if let Some(form) = form {
        dense_steps(&form, op, &z, &b_rows, &mut adam, cfg)?;
    } else {
        for _ in 0..cfg.steps {
            let (loss, _) = row_losses(generator, op, &z, &b_rows)?;
            let mut total = loss.sum_all()?;
            if cfg.lambda > 0.0 {
                total = (total + z.sqr()?.sum_all()?.affine(cfg.lambda, 0.0)?)?;
            }
            adam.backward_step(&total)?;
        }
    }

    let z_final = z.detach();
    let (loss, _) = row_losses(generator, op, &z_final, &b_rows)?;
    let loss = loss.to_vec1::<f32>()?;
    let mut best = Vec::with_capacity(n_img);
    let mut best_loss = Vec::with_capacity(n_img);
    for i in 0..n_img {
        let row = &loss[i * r..(i + 1) * r];
        // NaN never wins (`NaN < x` is false); if every restart is NaN, restart 0 is kept.
        let mut j = 0;
        for (jj, &l) in row.iter().enumerate() {
            if l < row[j] || row[j].is_nan() && !l.is_nan() {
                j = jj;
            }
        }
        best.push(j);
        best_loss.push(row[j]);
    }
    let idx: Vec<u32> = best
        .iter()
        .enumerate()
        .map(|(i, &j)| (i * r + j) as u32)
        .collect();
    let idx = Tensor::from_vec(idx, n_img, dev)?;
    let z_hat = z_final.index_select(&idx, 0)?;
    let x_hat = flatten_items(
        &generator.generate(&z_hat)?,
        op.input_dim(),
        "generator output",
    )?;
    Ok(Recovery {
        x: x_hat,
        z: z_hat,
        measurement_loss: best_loss,
        best_restart: best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(cfg: CsgmConfig) -> &'static str {
        match cfg.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn paper_defaults() {
        let c = CsgmConfig::vae();
        assert_eq!((c.lr, c.steps, c.restarts, c.lambda), (0.01, 1000, 10, 0.0));
        assert_eq!(CsgmConfig::vae_reg().lambda, 0.1);
        c.validate().unwrap();
    }

    #[test]
    fn lr_must_be_positive() {
        assert_eq!(field_of(CsgmConfig::vae().with_lr(0.0)), "lr");
        assert_eq!(field_of(CsgmConfig::vae().with_lr(f64::NAN)), "lr");
    }

    #[test]
    fn steps_cannot_be_zero() {
        assert_eq!(field_of(CsgmConfig::vae().with_steps(0)), "steps");
    }

    #[test]
    fn restarts_cannot_be_zero() {
        assert_eq!(field_of(CsgmConfig::vae().with_restarts(0)), "restarts");
    }

    #[test]
    fn lambda_cannot_be_negative() {
        assert_eq!(field_of(CsgmConfig::vae().with_lambda(-0.1)), "lambda");
    }
}
