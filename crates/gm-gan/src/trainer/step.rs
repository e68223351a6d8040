//! The updates of [`GanTrainer`]: one training step (a critic update, then every `n_critic`
//! steps a generator update), the critic and generator steps on the autograd path or the
//! fused one, the losses they descend (penalties included) and their values without an
//! update, and the noise, augmentation and bookkeeping (weight clipping, historical
//! averaging, the generator average) around them.

use candle_core::Tensor;
use gm_core::{GmRng, Metrics};

use super::{Critic, GanTrainer};
use crate::augment::diff_augment;
use crate::objective::{gradient_norm_penalty, gradient_penalty, Objective};
use crate::unrolled::unrolled_params;
use crate::{Error, Result};

impl GanTrainer {
    fn latents(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(rng.normal((n, self.cfg.model.latent_dim), 0.0, 1.0, &self.device)?)
    }

    fn noisy(&self, x: &Tensor, std: f64, rng: &mut GmRng) -> Result<Tensor> {
        match self.instance_noise(x, std, 1, rng)? {
            Some(e) => Ok((x + &e[0])?),
            None => Ok(x.clone()),
        }
    }

    /// `count` draws of instance noise shaped as `x`, or none (and no draw) when `std` is 0.
    fn instance_noise(
        &self,
        x: &Tensor,
        std: f64,
        count: usize,
        rng: &mut GmRng,
    ) -> Result<Option<Vec<Tensor>>> {
        if std == 0.0 {
            return Ok(None);
        }
        (0..count)
            .map(|_| Ok(rng.normal(x.shape(), 0.0, std, &self.device)?))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// `x` through DiffAugment's policy (unchanged, and no draws, when it is empty).
    fn augmented(&self, x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        diff_augment(x, &self.cfg.tricks.diff_augment, rng)
    }

    /// One optimisation step on a data-space batch; returns the batch's losses.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let real = self.network_batch(x)?;
        self.step += 1;
        let n = real.dim(0)?;
        if self.critic.is_none() {
            let z = self.latents(n, rng)?;
            let g = self.generator_step(&real, &z, rng)?;
            return Ok(vec![("g_loss".into(), g)]);
        }
        let z = self.latents(n, rng)?;
        let mut m = self.critic_step(&real, &z, rng)?;
        if self.step.is_multiple_of(self.cfg.tricks.n_critic as u64) {
            let z = self.latents(n, rng)?;
            self.last_g_loss = self.generator_step(&real, &z, rng)?;
        }
        m.insert(1.min(m.len()), ("g_loss".into(), self.last_g_loss));
        let sigma = self.cfg.tricks.noise_std(self.step);
        if sigma > 0.0 {
            m.push(("instance_noise".into(), sigma));
        }
        Ok(m)
    }

    /// A data-space batch in network space, its item shape checked.
    pub fn network_batch(&self, x: &Tensor) -> Result<Tensor> {
        let want = &self.cfg.model.data_shape;
        if x.rank() < 1 || &x.dims()[1..] != want.as_slice() {
            return Err(Error::Shape {
                what: "batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: want.clone(),
            });
        }
        self.gen.to_network_space(x)
    }

    /// The gradient-penalty mixing weights `(n, 1, ...)` ~ U[0, 1) (WGAN-GP only).
    pub fn penalty_mix(&self, n: usize, rng: &mut GmRng) -> Result<Option<Tensor>> {
        Ok(match self.cfg.objective {
            Objective::WganGp { .. } => {
                let mut shape = vec![n];
                shape.extend(std::iter::repeat_n(1, self.cfg.model.data_shape.len()));
                Some(rng.uniform(shape, 0.0, 1.0, &self.device)?)
            }
            _ => None,
        })
    }

    /// The critic's loss (with the weighted gradient penalty when `eps` is given) on a
    /// network-space batch and the items generated from `z`.
    fn critic_total(
        &self,
        c: &Critic,
        real_in: &Tensor,
        fake_in: &Tensor,
        eps: Option<&Tensor>,
        m: &mut Vec<(String, Tensor)>,
    ) -> Result<Tensor> {
        let target = self.cfg.tricks.real_target();
        let v_real = c.net.forward(real_in)?;
        let v_fake = c.net.forward(fake_in)?;
        let mut loss = self.cfg.objective.critic_loss(&v_real, &v_fake, target)?;
        m.push(("d_loss".into(), loss.detach()));
        if let (Some(eps), Objective::WganGp { penalty }) = (eps, &self.cfg.objective) {
            let gp = gradient_penalty(|t| c.net.forward(t), real_in, fake_in, eps)?;
            m.push(("gradient_penalty".into(), gp.detach()));
            loss = (loss + gp.affine(*penalty, 0.0)?)?;
        }
        for (name, gamma, x) in [
            ("r1", self.cfg.tricks.r1, real_in),
            ("r2", self.cfg.tricks.r2, fake_in),
        ] {
            if gamma > 0.0 {
                let p = gradient_norm_penalty(|t| c.net.forward(t), x)?;
                m.push((name.into(), p.detach()));
                loss = (loss + p.affine(gamma / 2.0, 0.0)?)?;
            }
        }
        if matches!(
            self.cfg.objective,
            Objective::Wgan { .. } | Objective::WganGp { .. }
        ) {
            let w = (v_real.mean_all()? - v_fake.mean_all()?)?;
            m.push(("critic_gap".into(), w.detach()));
        }
        Ok(loss)
    }

    /// The critic's loss, penalties included, on `real` (network space) and `G(z)`, with no
    /// augmentation, no instance noise and no update: what [`GanTrainer::critic_step`]
    /// descends.
    pub fn critic_loss_value(
        &self,
        real: &Tensor,
        z: &Tensor,
        eps: Option<&Tensor>,
    ) -> Result<f64> {
        let c = self.critic.as_ref().ok_or_else(no_critic)?;
        let fake = self.gen.forward_t(z, true)?.detach();
        let l = self.critic_total(c, real, &fake, eps, &mut Vec::new())?;
        Ok(l.to_scalar::<f32>()? as f64)
    }

    /// The generator's loss on `G(z)` (against the current critic, or the kernel loss
    /// against `real`), with no update, no augmentation and no unrolling.
    pub fn generator_loss_value(&self, real: &Tensor, z: &Tensor) -> Result<f64> {
        let fake = self.gen.forward_t(z, true)?;
        let l = match &self.critic {
            None => self.cfg.objective.kernel_loss(real, &fake)?,
            Some(c) => self.cfg.objective.generator_loss(&c.net.forward(&fake)?)?,
        };
        Ok(l.to_scalar::<f32>()? as f64)
    }

    /// One critic update on `real` (network space) and `G(z)` (detached); the penalty mixing
    /// weights, then DiffAugment's draws, then the instance noise, come from `rng`.
    pub fn critic_step(&mut self, real: &Tensor, z: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        if let Some(f) = &self.fused {
            let target = self.cfg.tricks.real_target();
            // The draws of `noisy` on the real, then the generated batch.
            let sigma = self.cfg.tricks.noise_std(self.step.max(1));
            let noise = self.instance_noise(real, sigma, 2, rng)?;
            let noise = noise.as_ref().map(|v| (&v[0], &v[1]));
            let c = self.critic.as_mut().ok_or_else(no_critic)?;
            let m = f.critic_step(&self.cfg.objective, real, z, target, noise, &mut c.opt)?;
            self.clip_critic()?;
            return Ok(m);
        }
        let n = real.dim(0)?;
        let sigma = self.cfg.tricks.noise_std(self.step.max(1));
        let fake = self.gen.forward_t(z, true)?.detach();
        let eps = self.penalty_mix(n, rng)?;
        let real_aug = self.augmented(real, rng)?;
        let fake_aug = self.augmented(&fake, rng)?;
        let real_in = self.noisy(&real_aug, sigma, rng)?;
        let fake_in = self.noisy(&fake_aug, sigma, rng)?;
        let mut m = Vec::new();
        let c = self.critic.as_ref().ok_or_else(no_critic)?;
        c.net.power_iteration()?;
        let mut loss = self.critic_total(c, &real_in, &fake_in, eps.as_ref(), &mut m)?;
        if let Some(h) = &c.hist {
            let p = h.penalty(&c.store)?;
            loss = (loss + p.affine(self.cfg.tricks.historical_averaging, 0.0)?)?;
        }
        let c = self.critic.as_mut().ok_or_else(no_critic)?;
        c.opt.backward_step(&loss)?;
        self.clip_critic()?;
        let c = self.critic.as_mut().ok_or_else(no_critic)?;
        if let Some(h) = &mut c.hist {
            h.update(&c.store)?;
        }
        read_metrics(m)
    }

    /// WGAN's clipping of the critic's weights to `[-clip, clip]` (other objectives: nothing).
    fn clip_critic(&self) -> Result<()> {
        if let (Objective::Wgan { clip }, Some(c)) = (&self.cfg.objective, &self.critic) {
            for (name, var) in c.store.vars() {
                if !name.contains("running_") {
                    var.set(&var.as_tensor().clamp(-*clip, *clip)?)?;
                }
            }
        }
        Ok(())
    }

    /// One generator update on `G(z)`; `real` (network space) feeds feature matching, the
    /// unrolled look-ahead and the kernel losses; instance noise is drawn from `rng`.
    /// Returns the loss before the update.
    pub fn generator_step(&mut self, real: &Tensor, z: &Tensor, rng: &mut GmRng) -> Result<f64> {
        if let Some(f) = &self.fused {
            // As the autograd path: noise drawn for the real batch (unused), then the fake one.
            let sigma = self.cfg.tricks.noise_std(self.step.max(1));
            let noise = self.instance_noise(real, sigma, 2, rng)?;
            let fake_noise = noise.as_ref().map(|v| &v[1]);
            let value = f.generator_step(&self.cfg.objective, z, fake_noise, &mut self.g_opt)?;
            self.after_generator_update()?;
            return Ok(value);
        }
        let fake = self.gen.forward_t(z, true)?;
        let loss = match &self.critic {
            None => self.cfg.objective.kernel_loss(real, &fake)?,
            Some(c) => {
                let sigma = self.cfg.tricks.noise_std(self.step.max(1));
                let real_aug = self.augmented(real, rng)?;
                let fake_aug = self.augmented(&fake, rng)?;
                let real_in = self.noisy(&real_aug, sigma, rng)?;
                let fake_in = self.noisy(&fake_aug, sigma, rng)?;
                if self.cfg.tricks.feature_matching {
                    let (f_real, _) = c.net.features_and_output(&real_in)?;
                    let (f_fake, _) = c.net.features_and_output(&fake_in)?;
                    let d = (f_real.detach().mean(0)? - f_fake.mean(0)?)?;
                    d.sqr()?.sum_all()?
                } else if let Some(u) = &self.cfg.unrolled {
                    let target = self.cfg.tricks.real_target();
                    let p = unrolled_params(
                        &c.net,
                        &self.cfg.objective,
                        &real_in,
                        &fake_in,
                        target,
                        u,
                        Some(&c.opt),
                    )?;
                    self.cfg
                        .objective
                        .generator_loss(&c.net.forward_with(&p, &fake_in)?)?
                } else {
                    self.cfg
                        .objective
                        .generator_loss(&c.net.forward(&fake_in)?)?
                }
            }
        };
        // Read after the update, so that a device runs the step without waiting on the host.
        let value = loss.detach();
        self.generator_update(loss)?;
        Ok(value.to_scalar::<f32>()? as f64)
    }

    fn generator_update(&mut self, loss: Tensor) -> Result<()> {
        let loss = match &self.g_hist {
            Some(h) => {
                let p = h.penalty(&self.g_store)?;
                (loss + p.affine(self.cfg.tricks.historical_averaging, 0.0)?)?
            }
            None => loss,
        };
        self.g_opt.backward_step(&loss)?;
        self.after_generator_update()
    }

    /// Historical averaging's and the weight average's bookkeeping after an update.
    fn after_generator_update(&mut self) -> Result<()> {
        if let Some(h) = &mut self.g_hist {
            h.update(&self.g_store)?;
        }
        if let Some(e) = &mut self.ema {
            let t = &self.cfg.tricks;
            e.update(&self.g_store, t.ema_decay, t.ema_start)?;
        }
        Ok(())
    }
}

/// The metrics' scalar tensors, read after the update with one transfer from the device (in
/// their order), so that a GPU step is not stopped by a read before its backward pass.
fn read_metrics(pending: Vec<(String, Tensor)>) -> Result<Metrics> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let scalars = pending
        .iter()
        .map(|(_, t)| t.to_dtype(candle_core::DType::F32)?.reshape(()))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let values = Tensor::stack(&scalars, 0)?.to_vec1::<f32>()?;
    Ok(pending
        .into_iter()
        .zip(values)
        .map(|((name, _), v)| (name, v as f64))
        .collect())
}

fn no_critic() -> Error {
    Error::config("objective", "non-adversarial", "no critic to train")
}
