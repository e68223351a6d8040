//! [`ProgressiveTrainer`]: stage by stage, fade-in over the first half of each.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::nets::fade;
use super::{ProgressiveConfig, ProgressiveDiscriminator, ProgressiveGenerator};
use crate::adversarial::{read_metrics, Game, Player};
use crate::error::to_core;
use crate::lapgan::upsample;
use crate::{Error, Result};

/// Trains a [`ProgressiveGenerator`] and [`ProgressiveDiscriminator`] one stage at a time:
/// `fit` runs a stage, [`ProgressiveTrainer::grow`] moves to the next. Batches are
/// `(n, c, F, F)` images in `[0, 1]` at the final side `F`.
pub struct ProgressiveTrainer {
    cfg: ProgressiveConfig,
    gen: ProgressiveGenerator,
    disc: ProgressiveDiscriminator,
    g: Player,
    d: Player,
    stage: usize,
    /// Steps taken in the current stage.
    stage_step: u64,
    device: Device,
}

impl ProgressiveTrainer {
    /// Fresh networks at the first stage: G's weights from `seed`, D's from `seed + 1`. A
    /// second-order game (WGAN-GP, R1, R2) sets `CANDLE_GRAD_DO_NOT_DETACH=1` and fails if
    /// this thread already ran a backward pass without it.
    pub fn new(cfg: ProgressiveConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        Game::new(&cfg.objective, &cfg.tricks).enable_second_order("progressive growing")?;
        let g_store = ParamStore::new(seed);
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let gen = ProgressiveGenerator::new(&cfg, g_store.var_builder(device))?;
        let disc = ProgressiveDiscriminator::new(&cfg, d_store.var_builder(device))?;
        let ha = cfg.tricks.historical_averaging > 0.0;
        Ok(Self {
            g: Player::new(g_store, cfg.adam, ha)?,
            d: Player::new(d_store, cfg.adam, ha)?,
            cfg,
            gen,
            disc,
            stage: 0,
            stage_step: 0,
            device: device.clone(),
        })
    }

    /// The configuration of the run.
    pub fn config(&self) -> &ProgressiveConfig {
        &self.cfg
    }
    /// The growing generator.
    pub fn generator(&self) -> &ProgressiveGenerator {
        &self.gen
    }
    /// The growing discriminator.
    pub fn discriminator(&self) -> &ProgressiveDiscriminator {
        &self.disc
    }
    /// The current stage (0 = `start_size`).
    pub fn stage(&self) -> usize {
        self.stage
    }
    /// Side of the current stage's images.
    pub fn resolution(&self) -> usize {
        self.cfg.resolution(self.stage)
    }
    /// Steps taken in the current stage.
    pub fn stage_steps_done(&self) -> u64 {
        self.stage_step
    }

    /// The fade-in weight of the next step: `t / (stage_steps / 2)` capped at 1 (1 in the
    /// first stage, which fades nothing in).
    pub fn alpha(&self) -> f64 {
        if self.stage == 0 {
            return 1.0;
        }
        let half = (self.cfg.stage_steps / 2).max(1) as f64;
        (self.stage_step as f64 / half).min(1.0)
    }

    /// Moves to the next resolution: the new layers start fading in, and both Adams restart
    /// (the paper's reset of the moments at each new resolution).
    pub fn grow(&mut self) -> Result<()> {
        if self.stage + 1 >= self.cfg.stages() {
            return Err(Error::config(
                "stage",
                self.stage + 1,
                "the configuration has no further stage",
            ));
        }
        self.stage += 1;
        self.stage_step = 0;
        self.g.restart_optimizer(self.cfg.adam)?;
        self.d.restart_optimizer(self.cfg.adam)?;
        Ok(())
    }

    /// Real data `(n, c, F, F)` in `[0, 1]` as the current stage's network-space batch:
    /// `2 x - 1` average-pooled to the stage's side, and during a fade-in blended with its
    /// own 2x coarser version, `(1 - alpha) u(d(x_r)) + alpha x_r`, like G's output.
    pub fn real_batch(&self, x: &Tensor, alpha: f64) -> Result<Tensor> {
        let f = self.cfg.final_size();
        let shape = self.cfg.image_shape();
        if x.rank() != 4 || x.dims()[1..] != shape[..] {
            return Err(Error::Shape {
                what: "progressive GAN batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: shape,
            });
        }
        let r = self.resolution();
        let mut y = x.affine(2.0, -1.0)?;
        if r < f {
            y = y.avg_pool2d(f / r)?;
        }
        if self.stage > 0 && alpha < 1.0 {
            let coarse = upsample(&y.avg_pool2d(2)?)?;
            y = fade(&coarse, &y, alpha)?;
        }
        Ok(y)
    }

    fn latents(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(rng.normal((n, self.cfg.latent_dim), 0.0, 1.0, &self.device)?)
    }

    /// The rules both players follow.
    fn game(&self) -> Game<'_> {
        Game::new(&self.cfg.objective, &self.cfg.tricks)
    }

    /// The critic loss on a network-space batch and `G(z)`, at fade-in weight `alpha`: the
    /// game's loss with R1/R2 but no WGAN-GP mixing, augmentation or noise.
    pub fn critic_loss(&self, real: &Tensor, z: &Tensor, alpha: f64) -> Result<Tensor> {
        let inputs = crate::adversarial::CriticInputs {
            real: real.clone(),
            fake: self.gen.forward(z, self.stage, alpha)?.detach(),
            eps: None,
        };
        let (stage, disc) = (self.stage, &self.disc);
        let score = |t: &Tensor| disc.forward(t, stage, alpha);
        self.game().critic_loss(&score, &inputs, &mut Vec::new())
    }

    /// The generator loss on `G(z)` at fade-in weight `alpha`.
    pub fn generator_loss(&self, z: &Tensor, alpha: f64) -> Result<Tensor> {
        let fake = self.gen.forward(z, self.stage, alpha)?;
        self.game()
            .generator_loss(&self.disc.forward(&fake, self.stage, alpha)?)
    }

    /// One critic update alone on `x` (data space) and fakes from fresh latents (then the
    /// game's draws: penalty mix, DiffAugment, instance noise); returns its metrics before
    /// it (`d_loss` first).
    pub fn critic_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let alpha = self.alpha();
        let real = self.real_batch(x, alpha)?;
        let z = self.latents(real.dim(0)?, rng)?;
        let fake = self.gen.forward(&z, self.stage, alpha)?.detach();
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        let inputs = game.critic_inputs(&real, &fake, self.stage_step + 1, rng)?;
        let (stage, disc) = (self.stage, &self.disc);
        let score = |t: &Tensor| disc.forward(t, stage, alpha);
        let mut m = Vec::new();
        let loss = game.critic_loss(&score, &inputs, &mut m)?;
        game.critic_update(&mut self.d, &loss)?;
        read_metrics(m)
    }

    /// One critic update, then (every `tricks.n_critic` steps of the stage) one generator
    /// update on fresh latents, at the current fade-in weight; metrics `d_loss`, `g_loss`
    /// (on generator steps), the penalties, `alpha`.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let alpha = self.alpha();
        let mut m = self.critic_step(x, rng)?;
        self.stage_step += 1;
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        if game.generator_turn(self.stage_step) {
            let z = self.latents(x.dim(0)?, rng)?;
            let fake = self.gen.forward(&z, self.stage, alpha)?;
            let fake = game.seen_one(&fake, self.stage_step, rng)?;
            let loss = game.generator_loss(&self.disc.forward(&fake, self.stage, alpha)?)?;
            game.generator_update(&mut self.g, &loss)?;
            m.insert(1, ("g_loss".into(), loss.to_scalar::<f32>()? as f64));
        }
        m.push(("alpha".into(), alpha));
        Ok(m)
    }

    /// `n` samples `(n, c, r, r)` of the current stage in data space (`(y + 1) / 2`, not
    /// clamped), at the current fade-in weight.
    pub fn samples(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        let z = self.latents(n, rng)?;
        let y = self.gen.forward(&z, self.stage, self.alpha())?;
        Ok(y.affine(0.5, 0.5)?.detach())
    }
}

impl Trainer for ProgressiveTrainer {
    /// `progressive/<r>x<r>`: a stage's checkpoint resumes only that stage.
    fn model_name(&self) -> String {
        let r = self.resolution();
        format!("progressive/{r}x{r}")
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.g.insert_state(&mut st, "g")?;
        self.d.insert_state(&mut st, "d")?;
        st.scalars.insert("stage".into(), self.stage.to_string());
        st.scalars
            .insert("stage_step".into(), self.stage_step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        let stage: usize = state.scalar("stage")?;
        if stage >= self.cfg.stages() {
            return Err(gm_core::Error::Msg(format!(
                "training state: stage {stage} is beyond the configuration's {}",
                self.cfg.stages()
            )));
        }
        self.g.load_state(state, "g")?;
        self.d.load_state(state, "d")?;
        self.stage = stage;
        self.stage_step = state.scalar("stage_step")?;
        Ok(())
    }

    /// The generator's weights as `generator.*` and the critic's as `discriminator.*` (all
    /// stages' layers, the unused ones at their initial values).
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(crate::trainer::run_weights(
            self.g.store(),
            Some(self.d.store()),
        ))
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        if self.cfg.grid_samples == 0 {
            return Ok(None);
        }
        let s = self.samples(self.cfg.grid_samples, rng).map_err(to_core)?;
        Ok(Some((s, false)))
    }
}
