//! The updates of [`GanTrainer`]: one training step (a critic update, then every `n_critic`
//! steps a generator update), the critic and generator steps on the autograd path or the
//! fused one, the losses they descend (penalties included) and their values without an
//! update, and the noise, augmentation and bookkeeping (weight clipping, historical
//! averaging, the generator average) around them.

use candle_core::Tensor;
use gm_core::{GmRng, Metrics};

use super::{Critic, GanTrainer};
use crate::adversarial::{read_metrics, CriticInputs, Game, PendingMetrics};
use crate::unrolled::unrolled_params;
use crate::{Error, Result};

impl GanTrainer {
    fn latents(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(rng.normal((n, self.cfg.model.latent_dim), 0.0, 1.0, &self.device)?)
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
        if self.game().generator_turn(self.step) {
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
        let rank = self.cfg.model.data_shape.len();
        self.game().penalty_mix(n, rank, &self.device, rng)
    }

    /// The critic's loss (with the penalties; WGAN-GP's when `eps` is given) on network-space
    /// batches as the critic sees them.
    fn critic_total(
        &self,
        c: &Critic,
        real_in: &Tensor,
        fake_in: &Tensor,
        eps: Option<&Tensor>,
        m: &mut PendingMetrics,
    ) -> Result<Tensor> {
        let inputs = CriticInputs {
            real: real_in.clone(),
            fake: fake_in.clone(),
            eps: eps.cloned(),
        };
        self.game()
            .critic_loss(&|t: &Tensor| c.net.forward(t), &inputs, m)
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
            let opt = c.player.optimizer_mut();
            let m = f.critic_step(&self.cfg.objective, real, z, target, noise, opt)?;
            self.clip_critic()?;
            return Ok(m);
        }
        let fake = self.gen.forward_t(z, true)?.detach();
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        let inputs = game.critic_inputs(real, &fake, self.step, rng)?;
        let mut m = Vec::new();
        let c = self.critic.as_mut().ok_or_else(no_critic)?;
        c.net.power_iteration()?;
        let loss = game.critic_loss(&|t: &Tensor| c.net.forward(t), &inputs, &mut m)?;
        game.critic_update(&mut c.player, &loss)?;
        read_metrics(m)
    }

    /// WGAN's clipping of the critic's weights to `[-clip, clip]` (other objectives: nothing).
    fn clip_critic(&self) -> Result<()> {
        match &self.critic {
            Some(c) => self.game().clip(&c.player),
            None => Ok(()),
        }
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
            let opt = self.g.optimizer_mut();
            let value = f.generator_step(&self.cfg.objective, z, fake_noise, opt)?;
            self.after_ema()?;
            return Ok(value);
        }
        let fake = self.gen.forward_t(z, true)?;
        let loss = match &self.critic {
            None => self.cfg.objective.kernel_loss(real, &fake)?,
            Some(c) => {
                let (real_in, fake_in) = self.game().seen(real, &fake, self.step, rng)?;
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
                        Some(c.player.optimizer()),
                    )?;
                    self.game()
                        .generator_loss(&c.net.forward_with(&p, &fake_in)?)?
                } else {
                    self.game().generator_loss(&c.net.forward(&fake_in)?)?
                }
            }
        };
        // Read after the update, so that a device runs the step without waiting on the host.
        let value = loss.detach();
        self.generator_update(loss)?;
        Ok(value.to_scalar::<f32>()? as f64)
    }

    fn generator_update(&mut self, loss: Tensor) -> Result<()> {
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        game.generator_update(&mut self.g, &loss)?;
        self.after_ema()
    }

    /// The weight average's bookkeeping after an update (historical averaging has none on
    /// the written-out path, which refuses it).
    fn after_ema(&mut self) -> Result<()> {
        if let Some(e) = &mut self.ema {
            let t = &self.cfg.tricks;
            e.update(self.g.store(), t.ema_decay, t.ema_start)?;
        }
        Ok(())
    }
}

fn no_critic() -> Error {
    Error::config("objective", "non-adversarial", "no critic to train")
}
