//! The fused training step of MLP and DCGAN pairs on the CPU. When both networks are MLPs
//! or both DCGAN's and the objective's gradient in the scores has a closed form (GAN, WGAN
//! with clipping, hinge, least squares) and no trick needs autograd (gradient penalties,
//! feature matching, unrolling, historical averaging, DiffAugment, spectral normalization),
//! each update is written out: the forward passes (through [`DenseStack`]s, or the
//! convolutions, batch norms and activations of [`convnet`]) keep what their backward passes
//! need, the score gradients are the objective's closed forms, and Adam updates from the
//! host gradients. An MLP critic sees the real and generated batches as one batch of `2n`
//! rows; a DCGAN critic scores them one after the other, as candle's path does, because its
//! batch norm takes each batch's statistics. The arithmetic is that of the autograd path
//! (see the tests), which stays the general one; the random draws are the same, so a run may
//! switch paths on resume.

mod convnet;

use candle_core::{DType, Device, Tensor};
use gm_core::nn::{DenseActivation, DenseStack};
use gm_core::{Adam, Metrics};

use super::GanTrainConfig;
use crate::nets::{Discriminator, GanGenerator, OutputActivation};
use crate::objective::{GanGeneratorLoss, Objective};
use crate::Result;
use convnet::{ConvNet, ConvTape, Shape};

/// The two networks on host memory.
enum Nets {
    Dense {
        g: DenseStack,
        d: DenseStack,
    },
    /// DCGAN's; `latent` enters G as a `latent x 1 x 1` image, `image` is D's input
    /// `(c, h, w)`.
    Conv {
        g: ConvNet,
        d: ConvNet,
        latent: usize,
        image: [usize; 3],
    },
}

/// The generator and the critic on host memory, over their candle parameters.
pub(super) struct Fused {
    nets: Nets,
    g_params: Vec<Tensor>,
    d_params: Vec<Tensor>,
}

/// `x (n, c, ...)` channel-major, `(c, n, ...)`.
fn channel_major(x: &Tensor) -> Result<Vec<f32>> {
    Ok(x.transpose(0, 1)?
        .contiguous()?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// Whether the objective and the tricks of `cfg` allow the fused step.
pub(super) fn eligible(cfg: &GanTrainConfig) -> bool {
    let t = &cfg.tricks;
    matches!(
        cfg.objective,
        Objective::Gan { .. } | Objective::Wgan { .. } | Objective::Hinge | Objective::LeastSquares
    ) && cfg.unrolled.is_none()
        && !t.feature_matching
        && t.historical_averaging == 0.0
        && t.r1 == 0.0
        && t.r2 == 0.0
        && t.diff_augment.is_empty()
        && !t.spectral_norm
}

/// The widths of an MLP from its weights `[w0, b0, ...]`, `w_i` of shape `(out, in)`.
fn widths(params: &[Tensor]) -> Result<Vec<usize>> {
    let mut w = Vec::new();
    for (i, p) in params.iter().step_by(2).enumerate() {
        let (out, fan_in) = p.dims2()?;
        if i == 0 {
            w.push(fan_in);
        }
        w.push(out);
    }
    Ok(w)
}

/// A tensor's values, row-major.
fn values(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

fn host(params: &[Tensor]) -> Result<Vec<Vec<f32>>> {
    params.iter().map(values).collect()
}

fn refs(v: &[Vec<f32>]) -> Vec<&[f32]> {
    v.iter().map(|x| x.as_slice()).collect()
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The mean of `f(v)` and the gradient of that mean, `f'(v) / n`.
fn mean_and_grad(v: &[f32], f: impl Fn(f64) -> (f64, f64)) -> (f64, Vec<f32>) {
    let n = v.len() as f64;
    let mut total = 0.0;
    let grad = v
        .iter()
        .map(|&x| {
            let (value, slope) = f(x as f64);
            total += value;
            (slope / n) as f32
        })
        .collect();
    (total / n, grad)
}

/// A per-item loss term and its derivative in the score.
type ScoreTerm = Box<dyn Fn(f64) -> (f64, f64)>;

/// The critic's loss and its gradients in the real and generated scores (the closed forms of
/// [`Objective::critic_score_gradient`]); `None` for an objective without one.
fn critic_scores(
    objective: &Objective,
    v_real: &[f32],
    v_fake: &[f32],
    target: f64,
) -> Option<(f64, Vec<f32>, Vec<f32>)> {
    let (real, fake): (ScoreTerm, ScoreTerm) = match objective {
        Objective::Gan { .. } => (
            Box::new(move |v| (softplus(v) - target * v, sigmoid(v) - target)),
            Box::new(|v| (softplus(v), sigmoid(v))),
        ),
        Objective::Wgan { .. } => (Box::new(|v| (-v, -1.0)), Box::new(|v| (v, 1.0))),
        Objective::Hinge => (
            Box::new(|v| ((1.0 - v).max(0.0), if v < 1.0 { -1.0 } else { 0.0 })),
            Box::new(|v| ((1.0 + v).max(0.0), if v > -1.0 { 1.0 } else { 0.0 })),
        ),
        Objective::LeastSquares => (
            Box::new(|v| (0.5 * (v - 1.0) * (v - 1.0), v - 1.0)),
            Box::new(|v| (0.5 * v * v, v)),
        ),
        _ => return None,
    };
    let (lr, gr) = mean_and_grad(v_real, real);
    let (lf, gf) = mean_and_grad(v_fake, fake);
    Some((lr + lf, gr, gf))
}

/// The generator's loss and its gradient in the scores of the generated items.
fn generator_scores(objective: &Objective, v_fake: &[f32]) -> Option<(f64, Vec<f32>)> {
    Some(match objective {
        Objective::Gan {
            generator_loss: GanGeneratorLoss::Minimax,
        } => mean_and_grad(v_fake, |v| (-softplus(v), -sigmoid(v))),
        Objective::Gan {
            generator_loss: GanGeneratorLoss::NonSaturating,
        } => mean_and_grad(v_fake, |v| (softplus(v) - v, sigmoid(v) - 1.0)),
        Objective::Wgan { .. } | Objective::Hinge => mean_and_grad(v_fake, |v| (-v, -1.0)),
        Objective::LeastSquares => {
            mean_and_grad(v_fake, |v| (0.5 * (v - 1.0) * (v - 1.0), v - 1.0))
        }
        _ => return None,
    })
}

/// `x += noise`, entry by entry (the same f32 sums as the autograd path's tensor addition).
fn add_noise(x: &mut [f32], noise: &[f32]) -> Result<()> {
    if x.len() != noise.len() {
        return Err(crate::Error::Shape {
            what: "instance noise",
            got: vec![noise.len()],
            expected: vec![x.len()],
        });
    }
    x.iter_mut().zip(noise).for_each(|(v, e)| *v += e);
    Ok(())
}

fn unsupported(objective: &Objective) -> crate::Error {
    crate::Error::config(
        "objective",
        objective.name(),
        "the written-out step needs a closed-form score gradient",
    )
}

impl Fused {
    /// The fused step of `cfg`'s networks, or `None` where the configuration, the networks,
    /// the device or the precision need the autograd path.
    pub(super) fn new(
        cfg: &GanTrainConfig,
        gen: &GanGenerator,
        disc: Option<&Discriminator>,
        device: &Device,
    ) -> Result<Option<Self>> {
        if !device.is_cpu() || !eligible(cfg) {
            return Ok(None);
        }
        let Some(disc) = disc else {
            return Ok(None);
        };
        if let (Some((gp, ga)), Some((dp, da))) = (gen.mlp_parts(), disc.mlp_parts()) {
            if gp.iter().chain(dp).any(|p| p.dtype() != DType::F32) {
                return Ok(None);
            }
            let out = match cfg.model.output {
                OutputActivation::Identity => DenseActivation::Identity,
                OutputActivation::Tanh => DenseActivation::Tanh,
            };
            return Ok(Some(Self {
                nets: Nets::Dense {
                    g: DenseStack::new(&widths(gp)?, ga, out)?,
                    d: DenseStack::new(&widths(dp)?, da, DenseActivation::Identity)?,
                },
                g_params: gp.to_vec(),
                d_params: dp.to_vec(),
            }));
        }
        let (Some(gl), Some(dl)) = (gen.dcgan_layers(), disc.dcgan_layers()) else {
            return Ok(None);
        };
        let (Some(g), Some(d)) = (ConvNet::new(&gl), ConvNet::new(&dl)) else {
            return Ok(None);
        };
        let &[c, h, w] = cfg.model.data_shape.as_slice() else {
            return Ok(None);
        };
        Ok(Some(Self {
            g_params: g.params.clone(),
            d_params: d.params.clone(),
            nets: Nets::Conv {
                g,
                d,
                latent: cfg.model.latent_dim,
                image: [c, h, w],
            },
        }))
    }

    fn update(opt: &mut Adam, params: &[Tensor], grads: &[Vec<f32>]) -> Result<()> {
        let pairs: Vec<(&Tensor, &[f32])> = params
            .iter()
            .zip(grads)
            .map(|(p, g)| (p, g.as_slice()))
            .collect();
        Ok(opt.step_host(&pairs)?)
    }

    /// The critic's metrics (its loss and, for WGAN, the gap between the mean scores) on
    /// `real` (network space) and `G(z)`, each plus its instance noise when given, and the
    /// loss's gradients in its parameters.
    /// Sets the convolutions' blocks (see [`convnet`]); nothing for MLPs.
    #[cfg(test)]
    fn set_block(&mut self, block: gm_core::nn::patches::Blocks) {
        if let Nets::Conv { g, d, .. } = &mut self.nets {
            g.set_block(block);
            d.set_block(block);
        }
    }

    fn critic_grads(
        &self,
        objective: &Objective,
        real: &Tensor,
        z: &Tensor,
        target: f64,
        noise: Option<(&Tensor, &Tensor)>,
    ) -> Result<(Metrics, Vec<Vec<f32>>)> {
        let n = real.dim(0)?;
        let (gp, dp) = (host(&self.g_params)?, host(&self.d_params)?);
        let (gp, dp) = (refs(&gp), refs(&dp));
        let scores = |v_real: &[f32], v_fake: &[f32]| -> Result<_> {
            let (loss, d_real, d_fake) = critic_scores(objective, v_real, v_fake, target)
                .ok_or_else(|| unsupported(objective))?;
            let mut m = vec![("d_loss".to_string(), loss as f32 as f64)];
            if let Objective::Wgan { .. } = objective {
                let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
                m.push(("critic_gap".into(), mean(v_real) - mean(v_fake)));
            }
            Ok((m, d_real, d_fake))
        };
        match &self.nets {
            Nets::Dense { g, d } => {
                let fake = g.forward(&gp, values(z)?, n)?;
                let mut batch = values(real)?;
                batch.extend_from_slice(fake.output());
                if let Some((nr, nf)) = noise {
                    let mut draws = values(nr)?;
                    draws.extend(values(nf)?);
                    add_noise(&mut batch, &draws)?;
                }
                let tape = d.forward(&dp, batch, 2 * n)?;
                let (v_real, v_fake) = tape.output().split_at(n);
                let (m, mut d_out, d_fake) = scores(v_real, v_fake)?;
                d_out.extend_from_slice(&d_fake);
                let mut grads = d.zero_grads();
                d.backward(&dp, &tape, d_out, Some(&mut grads), false)?;
                Ok((m, grads))
            }
            Nets::Conv {
                g,
                d,
                latent,
                image,
            } => {
                let fake = Self::generate(g, &gp, z, (*latent, image))?;
                let mut fake_in = fake.output().to_vec();
                let mut real_in = channel_major(real)?;
                if let Some((nr, nf)) = noise {
                    add_noise(&mut real_in, &channel_major(nr)?)?;
                    add_noise(&mut fake_in, &channel_major(nf)?)?;
                }
                // The real batch first, then the generated one, each with its statistics.
                let shape = fake.output_shape();
                let t_real = d.forward(&dp, real_in, shape)?;
                let t_fake = d.forward(&dp, fake_in, shape)?;
                let (m, d_real, d_fake) = scores(t_real.output(), t_fake.output())?;
                let mut grads = d.zero_grads();
                d.backward(&dp, &t_real, d_real, Some(&mut grads), false);
                d.backward(&dp, &t_fake, d_fake, Some(&mut grads), false);
                Ok((m, grads))
            }
        }
    }

    /// `G(z)` on the DCGAN path (batch norm in training mode).
    fn generate(
        g: &ConvNet,
        gp: &[&[f32]],
        z: &Tensor,
        (latent, image): (usize, &[usize; 3]),
    ) -> Result<ConvTape> {
        let n = z.dim(0)?;
        let shape = Shape {
            c: latent,
            n,
            h: 1,
            w: 1,
        };
        let tape = g.forward(gp, channel_major(z)?, shape)?;
        let out = tape.output_shape();
        if [out.c, out.h, out.w] != *image {
            return Err(crate::Error::Shape {
                what: "written-out DCGAN generator output",
                got: vec![out.c, out.h, out.w],
                expected: image.to_vec(),
            });
        }
        Ok(tape)
    }

    /// One critic update on `real` (network space) and `G(z)`, with their instance noise when
    /// given; returns the metrics before it.
    pub(super) fn critic_step(
        &self,
        objective: &Objective,
        real: &Tensor,
        z: &Tensor,
        target: f64,
        noise: Option<(&Tensor, &Tensor)>,
        opt: &mut Adam,
    ) -> Result<Metrics> {
        let (m, grads) = self.critic_grads(objective, real, z, target, noise)?;
        Self::update(opt, &self.d_params, &grads)?;
        Ok(m)
    }

    /// The generator's loss on `G(z)` (plus its instance noise when given) and its gradients
    /// in the generator's parameters.
    fn generator_grads(
        &self,
        objective: &Objective,
        z: &Tensor,
        noise: Option<&Tensor>,
    ) -> Result<(f64, Vec<Vec<f32>>)> {
        let n = z.dim(0)?;
        let (gp, dp) = (host(&self.g_params)?, host(&self.d_params)?);
        let (gp, dp) = (refs(&gp), refs(&dp));
        let scores =
            |v: &[f32]| generator_scores(objective, v).ok_or_else(|| unsupported(objective));
        match &self.nets {
            Nets::Dense { g, d } => {
                let fake = g.forward(&gp, values(z)?, n)?;
                let mut fake_in = fake.output().to_vec();
                if let Some(nf) = noise {
                    add_noise(&mut fake_in, &values(nf)?)?;
                }
                // The noise is added: the critic's input gradient is the generator output's.
                let tape = d.forward(&dp, fake_in, n)?;
                let (loss, d_score) = scores(tape.output())?;
                // Asked for, the input's gradient is always there (an empty one is a size
                // error).
                let d_fake = d
                    .backward(&dp, &tape, d_score, None, true)?
                    .unwrap_or_default();
                let mut grads = g.zero_grads();
                g.backward(&gp, &fake, d_fake, Some(&mut grads), false)?;
                Ok((loss as f32 as f64, grads))
            }
            Nets::Conv {
                g,
                d,
                latent,
                image,
            } => {
                let fake = Self::generate(g, &gp, z, (*latent, image))?;
                let mut fake_in = fake.output().to_vec();
                if let Some(nf) = noise {
                    add_noise(&mut fake_in, &channel_major(nf)?)?;
                }
                let tape = d.forward(&dp, fake_in, fake.output_shape())?;
                let (loss, d_score) = scores(tape.output())?;
                // Only G is updated: D's parameter gradients are not computed.
                let d_fake = d.backward(&dp, &tape, d_score, None, true);
                let mut grads = g.zero_grads();
                g.backward(&gp, &fake, d_fake, Some(&mut grads), false);
                Ok((loss as f32 as f64, grads))
            }
        }
    }

    /// One generator update on `G(z)` (with its instance noise when given); returns the
    /// generator's loss before it.
    pub(super) fn generator_step(
        &self,
        objective: &Objective,
        z: &Tensor,
        noise: Option<&Tensor>,
        opt: &mut Adam,
    ) -> Result<f64> {
        let (loss, grads) = self.generator_grads(objective, z, noise)?;
        Self::update(opt, &self.g_params, &grads)?;
        Ok(loss)
    }
}

#[cfg(test)]
mod tests;
