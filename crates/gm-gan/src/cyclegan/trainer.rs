//! [`CycleGanTrainer`]: both translators and both discriminators, one update each per batch.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::{CycleGanConfig, ImagePool, PatchDiscriminator, ResnetGenerator};
use crate::adversarial::{read_metrics, Game, Player};
use crate::error::to_core;
use crate::{Error, Result};

/// The learning rate of update `step` (0-based) in a run of `total` updates: `base` until
/// `start = round(decay_start total)`, then `base (total - step) / (total - start)`, which
/// falls linearly to 0 at `total` (the paper's schedule, per update rather than per epoch).
pub fn linear_decay_lr(base: f64, step: usize, total: usize, decay_start: f64) -> f64 {
    let start = ((decay_start * total as f64).round() as usize).min(total);
    if step < start {
        base
    } else if step >= total {
        0.0
    } else {
        base * (total - step) as f64 / (total - start) as f64
    }
}
/// Trains a CycleGAN on batches `(n, 2, s, s)` of unpaired items: channel 0 from domain X,
/// channel 1 from domain Y, pixels in `[0, 1]` (see [`unpaired_domains`](super::unpaired_domains)).
pub struct CycleGanTrainer {
    cfg: CycleGanConfig,
    g: ResnetGenerator,
    f: ResnetGenerator,
    /// `G` and `F`, one player (one store, one Adam, as in the reference code).
    gf: Player,
    d_x: PatchDiscriminator,
    d_y: PatchDiscriminator,
    /// `D_X` and `D_Y`, the other player.
    d: Player,
    pool_x: ImagePool,
    pool_y: ImagePool,
    step: u64,
}

/// Images per forward pass at evaluation: small chunks keep the im2col buffers in cache.
const TRANSLATE_CHUNK: usize = 50;

/// The generator-side losses of one batch.
struct GeneratorLosses {
    total: Tensor,
    adversarial: f64,
    cycle: f64,
    identity: f64,
    fake_x: Tensor,
    fake_y: Tensor,
}

fn l1(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok((a - b)?.abs()?.mean_all()?)
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_scalar::<f32>()? as f64)
}

impl CycleGanTrainer {
    /// Fresh networks: `G` (`g.*`) and `F` (`f.*`) from `seed`, `D_X` (`d_x.*`) and `D_Y`
    /// (`d_y.*`) from `seed + 1`.
    pub fn new(cfg: CycleGanConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        if let Some(o) = &cfg.objective {
            Game::new(o, &cfg.tricks).enable_second_order("CycleGAN")?;
        }
        let ha = cfg.tricks.historical_averaging > 0.0;
        let g_store = ParamStore::new(seed);
        let vb = g_store.var_builder(device);
        let g = ResnetGenerator::new(&cfg, vb.pp("g"))?;
        let f = ResnetGenerator::new(&cfg, vb.pp("f"))?;
        let gf = Player::new(g_store, cfg.adam, ha)?;
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let vb = d_store.var_builder(device);
        let d_x = PatchDiscriminator::new(&cfg, vb.pp("d_x"))?;
        let d_y = PatchDiscriminator::new(&cfg, vb.pp("d_y"))?;
        let d = Player::new(d_store, cfg.adam, ha)?;
        Ok(Self {
            pool_x: ImagePool::new(cfg.pool_size),
            pool_y: ImagePool::new(cfg.pool_size),
            cfg,
            g,
            f,
            gf,
            d_x,
            d_y,
            d,
            step: 0,
        })
    }

    /// The configuration of the run.
    pub fn config(&self) -> &CycleGanConfig {
        &self.cfg
    }
    /// `G: X -> Y`.
    pub fn g(&self) -> &ResnetGenerator {
        &self.g
    }
    /// `F: Y -> X`.
    pub fn f(&self) -> &ResnetGenerator {
        &self.f
    }
    /// Training steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The two domains of a data-space batch `(n, 2, s, s)`, in network space.
    pub fn split_batch(&self, batch: &Tensor) -> Result<(Tensor, Tensor)> {
        let want = self.cfg.item_shape();
        if batch.rank() != 4 || batch.dims()[1..] != want[..] {
            return Err(Error::Shape {
                what: "two-domain batch items",
                got: batch.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: want,
            });
        }
        let net = batch.affine(2.0, -1.0)?;
        Ok((net.narrow(1, 0, 1)?, net.narrow(1, 1, 1)?))
    }

    /// Applies `net` (`G` or `F`) to data-space images in chunks, back in data space,
    /// detached.
    fn translate(&self, net: &ResnetGenerator, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let mut out = Vec::new();
        for lo in (0..n).step_by(TRANSLATE_CHUNK) {
            let xs = x
                .narrow(0, lo, TRANSLATE_CHUNK.min(n - lo))?
                .affine(2.0, -1.0)?;
            out.push(net.forward(&xs)?.affine(0.5, 0.5)?.detach());
        }
        Ok(Tensor::cat(&out, 0)?)
    }

    /// `G(x)` of data-space images `(n, 1, s, s)`, in data space.
    pub fn translate_x_to_y(&self, x: &Tensor) -> Result<Tensor> {
        self.translate(&self.g, x)
    }

    /// `F(y)` of data-space images `(n, 1, s, s)`, in data space.
    pub fn translate_y_to_x(&self, y: &Tensor) -> Result<Tensor> {
        self.translate(&self.f, y)
    }

    /// The generators' objective on network-space `x`, `y`: adversarial losses of `G`
    /// against `D_Y` and `F` against `D_X`, `lambda L_cyc`, and the weighted identity loss.
    /// Under `objective`, the game's draws (DiffAugment, instance noise at `step`) come from
    /// `seen`'s generator, when given.
    fn generator_losses(
        &self,
        x: &Tensor,
        y: &Tensor,
        seen: Option<&mut (u64, &mut GmRng)>,
    ) -> Result<GeneratorLosses> {
        let fake_y = self.g.forward(x)?;
        let fake_x = self.f.forward(y)?;
        let adversarial = match &self.cfg.objective {
            None => {
                let adv = self.cfg.adversarial;
                (adv.generator_loss(&self.d_y.forward(&fake_y)?)?
                    + adv.generator_loss(&self.d_x.forward(&fake_x)?)?)?
            }
            Some(o) => {
                let game = Game::new(o, &self.cfg.tricks);
                let (seen_y, seen_x) = match seen {
                    Some((step, rng)) => (
                        game.seen_one(&fake_y, *step, rng)?,
                        game.seen_one(&fake_x, *step, rng)?,
                    ),
                    None => (fake_y.clone(), fake_x.clone()),
                };
                (game.generator_loss(&self.d_y.forward(&seen_y)?)?
                    + game.generator_loss(&self.d_x.forward(&seen_x)?)?)?
            }
        };
        let cycle = cycle_loss(x, &self.f.forward(&fake_y)?, y, &self.g.forward(&fake_x)?)?;
        let mut total = (&adversarial + cycle.affine(self.cfg.cycle_weight, 0.0)?)?;
        let mut identity = 0.0;
        if self.cfg.identity_weight > 0.0 {
            let id = (l1(&self.g.forward(y)?, y)? + l1(&self.f.forward(x)?, x)?)?;
            identity = scalar(&id)?;
            total = (total + id.affine(self.cfg.identity_weight, 0.0)?)?;
        }
        Ok(GeneratorLosses {
            adversarial: scalar(&adversarial)?,
            cycle: scalar(&cycle)?,
            identity,
            total,
            fake_x,
            fake_y,
        })
    }

    /// The generators' total loss on network-space `x`, `y`, with no update.
    pub fn generator_loss_value(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        scalar(&self.generator_losses(x, y, None)?.total)
    }

    /// The two discriminators' summed loss on real `x`, `y` and generated `fake_x`,
    /// `fake_y` (all network space, no buffer), with no update.
    pub fn discriminator_loss_value(
        &self,
        x: &Tensor,
        y: &Tensor,
        fake_x: &Tensor,
        fake_y: &Tensor,
    ) -> Result<f64> {
        scalar(&self.discriminator_loss(x, y, fake_x, fake_y)?.0)
    }

    fn discriminator_loss(
        &self,
        x: &Tensor,
        y: &Tensor,
        fake_x: &Tensor,
        fake_y: &Tensor,
    ) -> Result<(Tensor, f64, f64)> {
        let adv = self.cfg.adversarial;
        let l_x = adv.discriminator_loss(&self.d_x.forward(x)?, &self.d_x.forward(fake_x)?)?;
        let l_y = adv.discriminator_loss(&self.d_y.forward(y)?, &self.d_y.forward(fake_y)?)?;
        let (vx, vy) = (scalar(&l_x)?, scalar(&l_y)?);
        Ok(((l_x + l_y)?, vx, vy))
    }

    /// Both discriminators' losses under `objective` through the game (each with its
    /// penalties; the game's draws for `D_X`, then `D_Y`), their sum, and the metrics
    /// `d_x_*` and `d_y_*` waiting to be read.
    fn game_discriminator_loss(
        &self,
        game: Game<'_>,
        real: [&Tensor; 2],
        fake: [&Tensor; 2],
        rng: &mut GmRng,
    ) -> Result<(Tensor, Vec<(String, Tensor)>)> {
        let mut total: Option<Tensor> = None;
        let mut metrics = Vec::new();
        for (i, (name, d)) in [("d_x", &self.d_x), ("d_y", &self.d_y)].iter().enumerate() {
            let inputs = game.critic_inputs(real[i], fake[i], self.step + 1, rng)?;
            let score = |t: &Tensor| d.forward(t);
            let mut m = Vec::new();
            let l = game.critic_loss(&score, &inputs, &mut m)?;
            metrics.extend(m.into_iter().map(|(k, v)| {
                let k = k.strip_prefix("d_").unwrap_or(&k).to_string();
                (format!("{name}_{k}"), v)
            }));
            total = Some(match total {
                Some(t) => (t + l)?,
                None => l,
            });
        }
        let total = total.ok_or_else(|| Error::config("discriminators", 0, "none"))?;
        Ok((total, metrics))
    }

    /// One step on a data-space batch `(n, 2, s, s)`, in the reference code's order: the
    /// generators' update, then the discriminators' on buffered fakes (made before that
    /// update), each at the scheduled learning rate.
    pub fn train_step(&mut self, batch: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let (x, y) = self.split_batch(batch)?;
        let c = &self.cfg;
        let lr = linear_decay_lr(c.adam.lr, self.step as usize, c.total_steps, c.decay_start);
        self.gf.optimizer_mut().set_lr(lr);
        self.d.optimizer_mut().set_lr(lr);
        let game = self
            .cfg
            .objective
            .as_ref()
            .map(|o| Game::new(o, &self.cfg.tricks));
        let generator_turn = game.is_none_or(|g| g.generator_turn(self.step + 1));
        let mut seen = (self.step + 1, &mut *rng);
        let gl = self.generator_losses(&x, &y, game.map(|_| &mut seen))?;
        if generator_turn {
            let hist = self.cfg.tricks.historical_averaging;
            self.gf.update(&gl.total, hist)?;
        }
        let fake_y = self.pool_y.query(&gl.fake_y.detach(), rng)?;
        let fake_x = self.pool_x.query(&gl.fake_x.detach(), rng)?;
        let (d_x, d_y, extra) = match game {
            None => {
                let (d_loss, d_x, d_y) = self.discriminator_loss(&x, &y, &fake_x, &fake_y)?;
                self.d.update(&d_loss, 0.0)?;
                (d_x, d_y, Vec::new())
            }
            Some(game) => {
                let (d_loss, pending) =
                    self.game_discriminator_loss(game, [&x, &y], [&fake_x, &fake_y], rng)?;
                game.critic_update(&mut self.d, &d_loss)?;
                let m = read_metrics(pending)?;
                let get = |k: &str| m.iter().find(|(n, _)| n == k).map_or(f64::NAN, |(_, v)| *v);
                let (d_x, d_y) = (get("d_x_loss"), get("d_y_loss"));
                let rest = m
                    .into_iter()
                    .filter(|(k, _)| k != "d_x_loss" && k != "d_y_loss")
                    .collect::<Vec<_>>();
                (d_x, d_y, rest)
            }
        };
        self.step += 1;
        // The generators' losses on the steps that update them.
        let mut m: Metrics = Vec::new();
        if generator_turn {
            m.push(("g_adversarial".into(), gl.adversarial));
            m.push(("cycle_l1".into(), gl.cycle));
            if self.cfg.identity_weight > 0.0 {
                m.push(("identity_l1".into(), gl.identity));
            }
        }
        m.extend([("d_x_loss".into(), d_x), ("d_y_loss".into(), d_y)]);
        m.extend(extra);
        m.push(("lr".into(), lr));
        Ok(m)
    }
}

/// `L_cyc = mean |F(G(x)) - x| + mean |G(F(y)) - y|` from the images and their round trips.
pub fn cycle_loss(x: &Tensor, x_cycled: &Tensor, y: &Tensor, y_cycled: &Tensor) -> Result<Tensor> {
    Ok((l1(x_cycled, x)? + l1(y_cycled, y)?)?)
}

impl Trainer for CycleGanTrainer {
    fn model_name(&self) -> String {
        "cyclegan".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.gf.insert_state(&mut st, "g")?;
        self.d.insert_state(&mut st, "d")?;
        for (name, pool) in [("pool_x", &self.pool_x), ("pool_y", &self.pool_y)] {
            if let Some(t) = pool.state().map_err(to_core)? {
                st.tensors.insert(name.into(), t);
            }
        }
        st.scalars.insert("step".into(), self.step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.gf.load_state(state, "g")?;
        self.d.load_state(state, "d")?;
        self.pool_x
            .load(state.tensors.get("pool_x"))
            .map_err(to_core)?;
        self.pool_y
            .load(state.tensors.get("pool_y"))
            .map_err(to_core)?;
        self.step = state.scalar("step")?;
        Ok(())
    }

    /// `g.*`, `f.*`, `d_x.*`, `d_y.*`.
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = self.gf.store().tensors();
        w.extend(self.d.store().tensors());
        Ok(w)
    }
}
