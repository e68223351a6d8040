//! [`LapganTrainer`]: every level updated on each batch, sampling coarse to fine (equation 5).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::nets::{ResidualDiscriminator, ResidualGenerator};
use super::{upsample, LapganConfig, LaplacianPyramid};
use crate::adversarial::{read_metrics, CriticInputs, Game, Player};
use crate::error::to_core;
use crate::trainer::GanTrainer;
use crate::{Error, Result};

/// One conditional level: its two networks and their players.
struct ConditionalLevel {
    side: usize,
    gen: ResidualGenerator,
    disc: ResidualDiscriminator,
    g: Player,
    d: Player,
}

impl ConditionalLevel {
    fn new(cfg: &LapganConfig, k: usize, seed: u64, device: &Device) -> Result<Self> {
        let side = cfg.image_size >> k;
        let ch = cfg.channels[k];
        let g_store = ParamStore::new(seed);
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let c = cfg.image_channels;
        let gen = ResidualGenerator::new(c, ch, g_store.var_builder(device))?;
        let disc = ResidualDiscriminator::new(c, ch, side, d_store.var_builder(device))?;
        let ha = cfg.tricks.historical_averaging > 0.0;
        Ok(Self {
            side,
            g: Player::new(g_store, cfg.adam, ha)?,
            d: Player::new(d_store, cfg.adam, ha)?,
            gen,
            disc,
        })
    }

    fn noise(&self, n: usize, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        Ok(rng.normal((n, 1, self.side, self.side), 0.0, 1.0, device)?)
    }

    /// A sampled residual for the conditioning images `cond`, detached.
    fn residual(&self, cond: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let z = self.noise(cond.dim(0)?, rng, cond.device())?;
        Ok(self.gen.forward(cond, &z)?.detach())
    }

    /// The critic's loss on the band and `G(cond, z)` given `cond` (penalties on the band
    /// input; WGAN-GP's when `inputs.eps` is given), pushing its metrics onto `m`.
    fn critic_loss(
        &self,
        game: Game<'_>,
        inputs: &CriticInputs,
        cond: &Tensor,
        m: &mut Vec<(String, Tensor)>,
    ) -> Result<Tensor> {
        let score = |t: &Tensor| self.disc.forward(t, cond);
        game.critic_loss(&score, inputs, m)
    }

    /// One critic update against fakes from fresh noise (then the game's draws); returns the
    /// loss before it.
    fn critic_step(
        &mut self,
        game: Game<'_>,
        band: &Tensor,
        cond: &Tensor,
        step: u64,
        rng: &mut GmRng,
    ) -> Result<f64> {
        let z = self.noise(band.dim(0)?, rng, band.device())?;
        let fake = self.gen.forward(cond, &z)?.detach();
        let inputs = game.critic_inputs(band, &fake, step, rng)?;
        let mut m = Vec::new();
        let loss = self.critic_loss(game, &inputs, cond, &mut m)?;
        game.critic_update(&mut self.d, &loss)?;
        Ok(read_metrics(m)?[0].1)
    }

    /// One generator update on fresh noise (then the game's draws); returns the loss before
    /// it.
    fn generator_step(
        &mut self,
        game: Game<'_>,
        cond: &Tensor,
        step: u64,
        rng: &mut GmRng,
    ) -> Result<f64> {
        let z = self.noise(cond.dim(0)?, rng, cond.device())?;
        let fake = game.seen_one(&self.gen.forward(cond, &z)?, step, rng)?;
        let loss = game.generator_loss(&self.disc.forward(&fake, cond)?)?;
        game.generator_update(&mut self.g, &loss)?;
        Ok(loss.to_scalar::<f32>()? as f64)
    }
}

/// A LAPGAN sample with its intermediate steps, coarsest first: `images[0]` is the coarse
/// GAN's sample, `residuals[k]` the residual added to `u(images[k])` to give `images[k + 1]`.
#[derive(Debug, Clone)]
pub struct LapganChain {
    /// The image at each level `(n, c, s, s)` in data space, coarsest first.
    pub images: Vec<Tensor>,
    /// The residual each conditional level drew, coarsest first (one fewer than `images`).
    pub residuals: Vec<Tensor>,
}

impl LapganChain {
    /// The finest images `(n, c, S, S)` in data space.
    pub fn finest(&self) -> &Tensor {
        // `sample_chain` always pushes the coarse sample.
        &self.images[self.images.len() - 1]
    }

    /// One row per sample, all at the finest side (nearest upsampling): the coarse image,
    /// then for each level its residual (drawn as `0.5 + h`) and the image it gives, as a
    /// batch for [`gm_core::viz::save_grid`] with `columns()` columns.
    pub fn picture(&self) -> Result<Tensor> {
        let side = self.finest().dim(3)?;
        let big = |t: &Tensor| -> Result<Tensor> {
            if t.dim(3)? == side {
                Ok(t.clone())
            } else {
                Ok(t.upsample_nearest2d(side, side)?)
            }
        };
        let mut cols = vec![big(&self.images[0])?];
        for (h, img) in self.residuals.iter().zip(&self.images[1..]) {
            cols.push(big(&h.affine(1.0, 0.5)?)?);
            cols.push(big(img)?);
        }
        // (columns, n, c, S, S) -> (n, columns, c, S, S): one sample per row.
        let n = self.finest().dim(0)?;
        let k = cols.len();
        let c = self.finest().dim(1)?;
        Ok(Tensor::stack(&cols, 1)?.reshape((n * k, c, side, side))?)
    }

    /// Columns of [`LapganChain::picture`].
    pub fn columns(&self) -> usize {
        1 + 2 * self.residuals.len()
    }
}

/// Trains a LAPGAN: the coarse GAN (part 1's [`GanTrainer`]) and the conditional levels, one
/// update of each per batch. Batches are `(n, c, S, S)` in `[0, 1]`.
pub struct LapganTrainer {
    cfg: LapganConfig,
    coarse: GanTrainer,
    /// Finest first, matching [`LaplacianPyramid::bands`].
    levels: Vec<ConditionalLevel>,
    device: Device,
}

impl LapganTrainer {
    /// Fresh networks: the coarse pair from `seed` and `seed + 1`, level `k` from
    /// `seed + 2 + 2k` and `seed + 3 + 2k`.
    pub fn new(cfg: LapganConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let coarse = GanTrainer::new(cfg.coarse_config(), seed, device)?;
        let levels = (0..cfg.levels - 1)
            .map(|k| {
                let s = seed.wrapping_add(2 + 2 * k as u64);
                ConditionalLevel::new(&cfg, k, s, device)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            cfg,
            coarse,
            levels,
            device: device.clone(),
        })
    }

    /// The configuration of the run.
    pub fn config(&self) -> &LapganConfig {
        &self.cfg
    }

    /// The coarse level's trainer.
    pub fn coarse(&self) -> &GanTrainer {
        &self.coarse
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let shape = self.cfg.image_shape();
        if x.rank() != 4 || x.dims()[1..] != shape[..] {
            return Err(Error::Shape {
                what: "LAPGAN batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: shape,
            });
        }
        Ok(())
    }

    /// Batches trained so far: the coarse trainer counts its updates, `coarse_updates` per
    /// batch, so this batch's number is the latest.
    fn batches(&self) -> u64 {
        self.coarse.steps() / self.cfg.coarse_updates as u64
    }

    /// One update of every level on the pyramid of `x` (`coarse_updates` of the coarse GAN,
    /// then each critic, then each generator); metrics `d_loss_<side>` and `g_loss_<side>`,
    /// coarse first (the coarse pair's from its last update).
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let mut m = Vec::new();
        let s = self.cfg.coarse_size();
        let mut coarse = Vec::new();
        for _ in 0..self.cfg.coarse_updates {
            coarse = self.coarse.train_step(pyr.coarse(), rng)?;
        }
        for (name, v) in coarse {
            m.push((format!("{name}_{s}"), v));
        }
        let step = self.batches();
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let level = &mut self.levels[k];
            let d = level.critic_step(game, &pyr.bands()[k], &cond, step, rng)?;
            m.push((format!("d_loss_{}", level.side), d));
            if game.generator_turn(step) {
                let g = level.generator_step(game, &cond, step, rng)?;
                m.push((format!("g_loss_{}", level.side), g));
            }
        }
        Ok(m)
    }

    /// One update of every critic alone (the generators fixed) on the pyramid of `x`;
    /// returns each level's critic loss before it, coarse first.
    pub fn critic_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Vec<f64>> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let real = self.coarse.network_batch(pyr.coarse())?;
        let z = rng.normal((x.dim(0)?, self.cfg.latent_dim), 0.0, 1.0, &self.device)?;
        let cm = self.coarse.critic_step(&real, &z, rng)?;
        let mut out = vec![cm.first().map(|(_, v)| *v).unwrap_or(f64::NAN)];
        let step = self.batches().max(1);
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let level = &mut self.levels[k];
            out.push(level.critic_step(game, &pyr.bands()[k], &cond, step, rng)?);
        }
        Ok(out)
    }

    /// The critic loss of each level on the pyramid of `x` and fakes from `rng`'s noise, with
    /// no update, coarse first: what each critic update descends.
    pub fn critic_loss_values(&self, x: &Tensor, rng: &mut GmRng) -> Result<Vec<f64>> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let n = x.dim(0)?;
        let lat = self.cfg.latent_dim;
        let z = rng.normal((n, lat), 0.0, 1.0, &self.device)?;
        let real = self.coarse.network_batch(pyr.coarse())?;
        let mut out = vec![self.coarse.critic_loss_value(&real, &z, None)?];
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let level = &self.levels[k];
            let z = level.noise(n, rng, &self.device)?;
            let inputs = CriticInputs {
                real: pyr.bands()[k].clone(),
                fake: level.gen.forward(&cond, &z)?.detach(),
                eps: None,
            };
            let l = level.critic_loss(game, &inputs, &cond, &mut Vec::new())?;
            out.push(l.to_scalar::<f32>()? as f64);
        }
        Ok(out)
    }

    /// `n` samples with their intermediate levels, coarse to fine (equation 5).
    pub fn sample_chain(&self, n: usize, rng: &mut GmRng) -> Result<LapganChain> {
        let mut img = self.coarse.samples(n, rng)?;
        let mut images = vec![img.clone()];
        let mut residuals = Vec::new();
        for level in self.levels.iter().rev() {
            let cond = upsample(&img)?;
            let h = level.residual(&cond, rng)?;
            img = (cond + &h)?;
            residuals.push(h);
            images.push(img.clone());
        }
        Ok(LapganChain { images, residuals })
    }

    /// `n` samples `(n, c, S, S)` in data space (not clamped: a residual may overshoot).
    pub fn samples(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(self.sample_chain(n, rng)?.finest().clone())
    }
}

impl Trainer for LapganTrainer {
    fn model_name(&self) -> String {
        "lapgan".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = self.coarse.state()?.prefixed("coarse.");
        for l in &self.levels {
            let mut level = TrainState::default();
            l.g.insert_state(&mut level, "g")?;
            l.d.insert_state(&mut level, "d")?;
            st.extend(level.prefixed(&format!("level{}.", l.side)));
        }
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.coarse.load_state(&state.nested("coarse."))?;
        for l in &mut self.levels {
            let level = state.nested(&format!("level{}.", l.side));
            l.g.load_state(&level, "g")?;
            l.d.load_state(&level, "d")?;
        }
        Ok(())
    }

    /// `coarse.generator.*`, `coarse.discriminator.*`, `level<side>.generator.*`, ...
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = prefixed(&self.coarse.weights()?, "coarse.");
        for l in &self.levels {
            let p = format!("level{}.", l.side);
            w.extend(prefixed(&l.g.store().tensors(), &format!("{p}generator.")));
            w.extend(prefixed(
                &l.d.store().tensors(),
                &format!("{p}discriminator."),
            ));
        }
        Ok(w)
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        if self.cfg.grid_samples == 0 {
            return Ok(None);
        }
        let s = self.samples(self.cfg.grid_samples, rng).map_err(to_core)?;
        Ok(Some((s, false)))
    }
}

fn prefixed(t: &BTreeMap<String, Tensor>, p: &str) -> BTreeMap<String, Tensor> {
    t.iter()
        .map(|(k, v)| (format!("{p}{k}"), v.clone()))
        .collect()
}
