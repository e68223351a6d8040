//! [`CganTrainer`]: one critic update on the labelled batch against generated items of
//! uniformly drawn classes, then one generator update on fresh latents and classes, for
//! gm-core's `fit`.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::nets::{class_cross_entropy, uniform_labels, CriticOutput};
use super::{CganConfig, ConditionalDiscriminator, ConditionalGenerator, Conditioning};
use crate::adversarial::{read_metrics, CriticInputs, Game, PendingMetrics, Player};
use crate::error::to_core;
use crate::{Error, Result};

/// The parts of one player's loss.
#[derive(Debug, Clone)]
pub struct CganLoss {
    /// The whole loss the player descends.
    pub total: Tensor,
    /// ACGAN's class cross-entropy on the real items (critic only).
    pub class_real: Option<Tensor>,
    /// ACGAN's class cross-entropy on the generated items.
    pub class_fake: Option<Tensor>,
}

/// Trains a [`ConditionalGenerator`] and a [`ConditionalDiscriminator`], each with its own
/// [`ParamStore`] and Adam. All noise (latents, the classes of generated items) comes from
/// the loop's `GmRng`, so a run resumes bit for bit on the CPU.
///
/// Losses, `v` the discriminator's score, `CE` [`class_cross_entropy`], `lambda` the class
/// weight, `y` the batch's labels and `y'` uniform classes:
///
/// - projection: critic `L_D(v(x, y), v(G(z, y'), y'))`, generator `L_G(v(G(z, y'), y'))`;
/// - ACGAN: critic `L_D(v(x), v(G(z, y'))) + lambda (CE(x, y) + CE(G(z, y'), y'))` (the
///   second term dropped when `critic_classifies_generated` is off), generator
///   `L_G(v(G(z, y'))) + lambda CE(G(z, y'), y')`,
///
/// with `L_D`, `L_G` the objective's critic and generator losses.
pub struct CganTrainer {
    cfg: CganConfig,
    gen: ConditionalGenerator,
    g: Player,
    disc: ConditionalDiscriminator,
    d: Player,
    step: u64,
    device: Device,
}

impl CganTrainer {
    /// Fresh networks: the generator's weights from `seed`, the discriminator's from
    /// `seed + 1`.
    pub fn new(cfg: CganConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        Game::new(&cfg.objective, &cfg.tricks).enable_second_order("the conditional GAN")?;
        let ha = cfg.tricks.historical_averaging > 0.0;
        let g_store = ParamStore::new(seed);
        let gen = ConditionalGenerator::new(&cfg, g_store.var_builder(device))?;
        let g = Player::new(g_store, cfg.adam_g, ha)?;
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let mut disc = ConditionalDiscriminator::new(&cfg, d_store.var_builder(device))?;
        let d = Player::new(d_store.clone(), cfg.adam_d, ha)?;
        if cfg.spectral_norm {
            disc.enable_spectral_norm(d_store.var_builder(device))?;
        }
        Ok(Self {
            cfg,
            gen,
            g,
            disc,
            d,
            step: 0,
            device: device.clone(),
        })
    }

    /// The configuration of the run.
    pub fn config(&self) -> &CganConfig {
        &self.cfg
    }
    /// The generator `G(z, y)`.
    pub fn generator(&self) -> &ConditionalGenerator {
        &self.gen
    }
    /// The discriminator (projection or ACGAN).
    pub fn discriminator(&self) -> &ConditionalDiscriminator {
        &self.disc
    }
    /// The generator's weights.
    pub fn generator_store(&self) -> &ParamStore {
        self.g.store()
    }
    /// The discriminator's weights.
    pub fn discriminator_store(&self) -> &ParamStore {
        self.d.store()
    }
    /// Training steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// A data-space batch `(n, data_shape...)` in network space (`2 x - 1` for tanh
    /// generators), its item shape checked.
    pub fn network_batch(&self, x: &Tensor) -> Result<Tensor> {
        let want = &self.cfg.model.data_shape;
        if x.rank() < 1 || &x.dims()[1..] != want.as_slice() {
            return Err(Error::Shape {
                what: "batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: want.clone(),
            });
        }
        self.gen.body().to_network_space(x)
    }

    /// The labels of a batch of `n` items, checked: present, `(n,)` and below `n_classes`.
    pub fn batch_labels(&self, labels: Option<&Tensor>, n: usize) -> Result<Tensor> {
        let labels = labels.ok_or_else(|| {
            Error::config(
                "labels",
                "none",
                "a conditional GAN trains on labelled data",
            )
        })?;
        if labels.dims() != [n] {
            return Err(Error::Shape {
                what: "batch labels",
                got: labels.dims().to_vec(),
                expected: vec![n],
            });
        }
        let labels = labels.to_dtype(candle_core::DType::U32)?;
        let v = labels.to_vec1::<u32>()?;
        if let Some(&bad) = v.iter().find(|&&y| y as usize >= self.cfg.n_classes) {
            return Err(Error::config(
                "n_classes",
                format!("{} (the data has label {bad})", self.cfg.n_classes),
                "every label must lie below n_classes",
            ));
        }
        Ok(labels)
    }

    /// `n` latents `z ~ N(0, I)`, then `n` uniform classes, from `rng`.
    pub fn latents_and_labels(&self, n: usize, rng: &mut GmRng) -> Result<(Tensor, Tensor)> {
        let z = rng.normal((n, self.cfg.model.latent_dim), 0.0, 1.0, &self.device)?;
        let y = uniform_labels(n, self.cfg.n_classes, rng, &self.device)?;
        Ok((z, y))
    }

    /// ACGAN's class cross-entropy of an output, `None` for the projection discriminator.
    fn class_loss(out: &CriticOutput, labels: &Tensor) -> Result<Option<Tensor>> {
        out.class_logits
            .as_ref()
            .map(|l| class_cross_entropy(l, labels))
            .transpose()
    }

    /// The critic's loss on `real` (network space) of classes `y_real` against
    /// `G(z, y_fake)` (detached), with no augmentation, noise or gradient penalty (R1 and R2
    /// included). ACGAN's `class_fake` is reported even when the critic does not descend it.
    pub fn critic_loss(
        &self,
        real: &Tensor,
        y_real: &Tensor,
        z: &Tensor,
        y_fake: &Tensor,
    ) -> Result<CganLoss> {
        let inputs = CriticInputs {
            real: real.clone(),
            fake: self.gen.forward_t(z, y_fake, true)?.detach(),
            eps: None,
        };
        self.critic_loss_on(&inputs, y_real, y_fake, &mut Vec::new())
    }

    /// The critic's loss on its inputs (items as the critic sees them), the game's
    /// penalties included, pushing the game's metrics onto `m`.
    fn critic_loss_on(
        &self,
        inputs: &CriticInputs,
        y_real: &Tensor,
        y_fake: &Tensor,
        m: &mut PendingMetrics,
    ) -> Result<CganLoss> {
        let out_real = self.disc.forward(&inputs.real, y_real)?;
        let out_fake = self.disc.forward(&inputs.fake, y_fake)?;
        let with_real = |t: &Tensor| Ok(self.disc.forward(t, y_real)?.score);
        let with_fake = |t: &Tensor| Ok(self.disc.forward(t, y_fake)?.score);
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        let mut total = game.critic_loss_conditioned(
            [&with_real, &with_fake],
            &out_real.score,
            &out_fake.score,
            inputs,
            m,
        )?;
        // InfoGAN's real items carry no code.
        let class_real = match self.cfg.conditioning {
            Conditioning::InfoGan => None,
            _ => Self::class_loss(&out_real, y_real)?,
        };
        let class_fake = Self::class_loss(&out_fake, y_fake)?;
        let class = match (&class_real, &class_fake) {
            (Some(r), Some(f)) if self.cfg.critic_classifies_generated => Some((r + f)?),
            (Some(r), Some(_)) => Some(r.clone()),
            (None, Some(f)) => Some(f.clone()),
            _ => None,
        };
        if let Some(class) = class {
            total = (total + class.affine(self.cfg.class_loss_weight, 0.0)?)?;
        }
        Ok(CganLoss {
            total,
            class_real,
            class_fake,
        })
    }

    /// The generator's loss on `G(z, y)`.
    pub fn generator_loss(&self, z: &Tensor, y: &Tensor) -> Result<CganLoss> {
        self.generator_loss_seen(z, y, None)
    }

    /// The generator's loss on `G(z, y)` as the critic sees it at `step` (the game's draws
    /// from `rng`, when given).
    fn generator_loss_seen(
        &self,
        z: &Tensor,
        y: &Tensor,
        seen: Option<(u64, &mut GmRng)>,
    ) -> Result<CganLoss> {
        let mut fake = self.gen.forward_t(z, y, true)?;
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        if let Some((step, rng)) = seen {
            fake = game.seen_one(&fake, step, rng)?;
        }
        let out = self.disc.forward(&fake, y)?;
        let mut total = game.generator_loss(&out.score)?;
        let class_fake = Self::class_loss(&out, y)?;
        if let Some(c) = &class_fake {
            total = (total + c.affine(self.cfg.class_loss_weight, 0.0)?)?;
        }
        Ok(CganLoss {
            total,
            class_real: None,
            class_fake,
        })
    }

    /// The critic's whole loss, with no update.
    pub fn critic_loss_value(
        &self,
        real: &Tensor,
        y_real: &Tensor,
        z: &Tensor,
        y_fake: &Tensor,
    ) -> Result<f64> {
        scalar(&self.critic_loss(real, y_real, z, y_fake)?.total)
    }

    /// The generator's whole loss, with no update.
    pub fn generator_loss_value(&self, z: &Tensor, y: &Tensor) -> Result<f64> {
        scalar(&self.generator_loss(z, y)?.total)
    }

    /// One critic update (the game's draws from `rng`: penalty mix, DiffAugment, instance
    /// noise); returns its losses before the update (`d_loss`, the penalties, and ACGAN's
    /// `d_class_real`, `d_class_fake`).
    pub fn critic_step(
        &mut self,
        real: &Tensor,
        y_real: &Tensor,
        z: &Tensor,
        y_fake: &Tensor,
        rng: &mut GmRng,
    ) -> Result<Metrics> {
        self.disc.power_iteration()?;
        let fake = self.gen.forward_t(z, y_fake, true)?.detach();
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        let inputs = game.critic_inputs(real, &fake, self.step + 1, rng)?;
        let mut m = Vec::new();
        let loss = self.critic_loss_on(&inputs, y_real, y_fake, &mut m)?;
        if let Some(r) = &loss.class_real {
            m.push(("d_class_real".into(), r.detach()));
        }
        if let Some(f) = &loss.class_fake {
            m.push(("d_class_fake".into(), f.detach()));
        }
        game.critic_update(&mut self.d, &loss.total)?;
        read_metrics(m)
    }

    /// One generator update (the game's draws from `rng`); returns its loss before the
    /// update.
    pub fn generator_step(&mut self, z: &Tensor, y: &Tensor, rng: &mut GmRng) -> Result<f64> {
        let loss = self.generator_loss_seen(z, y, Some((self.step + 1, rng)))?;
        let v = scalar(&loss.total)?;
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        game.generator_update(&mut self.g, &loss.total)?;
        Ok(v)
    }

    /// One step on a labelled data-space batch: a critic update against generated items of
    /// uniform classes, then a generator update on fresh latents and classes.
    pub fn train_step(
        &mut self,
        x: &Tensor,
        labels: Option<&Tensor>,
        rng: &mut GmRng,
    ) -> Result<Metrics> {
        let real = self.network_batch(x)?;
        let n = real.dim(0)?;
        let y_real = match self.cfg.conditioning {
            // Unread: InfoGAN's critic sees no class of a real item.
            Conditioning::InfoGan => Tensor::zeros(n, candle_core::DType::U32, &self.device)?,
            _ => self.batch_labels(labels, n)?,
        };
        let (z, y_fake) = self.latents_and_labels(n, rng)?;
        let mut m = self.critic_step(&real, &y_real, &z, &y_fake, rng)?;
        if Game::new(&self.cfg.objective, &self.cfg.tricks).generator_turn(self.step + 1) {
            let (z, y) = self.latents_and_labels(n, rng)?;
            let g = self.generator_step(&z, &y, rng)?;
            m.insert(1, ("g_loss".into(), g));
        }
        self.step += 1;
        Ok(m)
    }

    /// `per_class` items of each class in data space, class by class (rows `k * per_class
    /// ..`), from one set of `per_class` latents shared by every class; batch norm in
    /// inference mode.
    pub fn class_samples(&self, per_class: usize, rng: &mut GmRng) -> Result<Tensor> {
        let k = self.cfg.n_classes;
        let z = rng.normal(
            (per_class, self.cfg.model.latent_dim),
            0.0,
            1.0,
            &self.device,
        )?;
        let z = z.repeat((k, 1))?;
        let labels: Vec<u32> = (0..k as u32)
            .flat_map(|c| std::iter::repeat_n(c, per_class))
            .collect();
        let y = Tensor::from_vec(labels, k * per_class, &self.device)?;
        Ok(self.gen.generate_class(&z, &y)?.detach())
    }
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()? as f64)
}

impl Trainer for CganTrainer {
    /// `cgan/projection` or `cgan/acgan`: the conditioning changes the discriminator's
    /// weights, so a checkpoint of one does not resume the other.
    fn model_name(&self) -> String {
        format!("cgan/{}", self.cfg.conditioning.name())
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, batch.labels.as_ref(), rng)
            .map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.g.insert_state(&mut st, "g")?;
        self.d.insert_state(&mut st, "d")?;
        st.scalars.insert("step".into(), self.step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.g.load_state(state, "g")?;
        self.d.load_state(state, "d")?;
        self.step = state.scalar("step")?;
        Ok(())
    }

    /// `generator.*` (the body's names and `label_embedding.weight`) and `discriminator.*`
    /// (with `projection.weight` or `class_head.*`).
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(crate::trainer::run_weights(
            self.g.store(),
            Some(self.d.store()),
        ))
    }

    /// A `n_classes x n_classes` grid: row `k` holds class `k`, column `j` the latent `z_j`.
    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        if !self.cfg.class_grid || self.cfg.model.data_shape.len() != 3 {
            return Ok(None);
        }
        let x = self
            .class_samples(self.cfg.n_classes, rng)
            .map_err(to_core)?;
        Ok(Some((x, false)))
    }
}
