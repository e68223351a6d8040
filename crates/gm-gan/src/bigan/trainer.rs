//! [`BiganTrainer`]: the critic step on joint pairs, then one shared step of `G` and `E`.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::{BiganConfig, Encoder, JointDiscriminator};
use crate::adversarial::{read_metrics, CriticInputs, Game, Player};
use crate::error::to_core;
use crate::nets::GanGenerator;
use crate::{Error, Result};

/// Trains a BiGAN: a [`GanGenerator`] and an [`Encoder`] (one [`ParamStore`] and one Adam
/// for both: one [`Player`]) against a [`JointDiscriminator`] (the other player), under the
/// [`Game`] of the configuration's objective and tricks.
pub struct BiganTrainer {
    cfg: BiganConfig,
    gen: GanGenerator,
    enc: Encoder,
    ge: Player,
    disc: JointDiscriminator,
    d: Player,
    step: u64,
    device: Device,
}

impl BiganTrainer {
    /// Fresh networks: generator and encoder from `seed` (names `generator.*`, `encoder.*`),
    /// the discriminator from `seed + 1`. A second-order game (WGAN-GP, R1, R2) sets
    /// `CANDLE_GRAD_DO_NOT_DETACH=1` and fails if this thread already ran a backward pass
    /// without it.
    pub fn new(cfg: BiganConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        Game::new(&cfg.objective, &cfg.tricks).enable_second_order("BiGAN")?;
        let ha = cfg.tricks.historical_averaging > 0.0;
        let ge_store = ParamStore::new(seed);
        let vb = ge_store.var_builder(device);
        let gen = GanGenerator::new(&cfg.generator_config(), vb.pp("generator"))?;
        let enc = Encoder::new(
            cfg.data_dim(),
            &cfg.encoder_hidden,
            cfg.latent_dim,
            vb.pp("encoder"),
        )?;
        let ge = Player::new(ge_store, cfg.adam_ge, ha)?;
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let disc = JointDiscriminator::new(
            cfg.joint_dim(),
            &cfg.discriminator_hidden,
            cfg.discriminator_dropout,
            d_store.var_builder(device),
        )?;
        let d = Player::new(d_store, cfg.adam_d, ha)?;
        Ok(Self {
            cfg,
            gen,
            enc,
            ge,
            disc,
            d,
            step: 0,
            device: device.clone(),
        })
    }

    /// The configuration of the run.
    pub fn config(&self) -> &BiganConfig {
        &self.cfg
    }
    /// The generator `G(z)`.
    pub fn generator(&self) -> &GanGenerator {
        &self.gen
    }
    /// The encoder `E(x)`, trained with the generator to invert it.
    pub fn encoder(&self) -> &Encoder {
        &self.enc
    }
    /// Training steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// A data-space batch `(n, data_shape...)` in network space (`2 x - 1`), its item shape
    /// checked.
    pub fn network_batch(&self, x: &Tensor) -> Result<Tensor> {
        let want = &self.cfg.data_shape;
        if x.rank() < 1 || &x.dims()[1..] != want.as_slice() {
            return Err(Error::Shape {
                what: "batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: want.clone(),
            });
        }
        self.gen.to_network_space(x)
    }

    /// Raw joint scores `D(x, z)` `(n, 1)` of network-space items and latents (no dropout).
    pub fn discriminate(&self, x: &Tensor, z: &Tensor) -> Result<Tensor> {
        self.disc.forward(x, z, None)
    }

    /// `E(x)` of data-space items, in chunks of 500, detached.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        self.in_chunks(x, |xs| self.enc.forward(xs))
    }

    /// The encoder's last hidden layer ([`Encoder::features`]) of data-space items, in
    /// chunks of 500, detached.
    pub fn encoder_features(&self, x: &Tensor) -> Result<Tensor> {
        self.in_chunks(x, |xs| self.enc.features(xs))
    }

    /// `f` of network-space chunks of 500 of data-space items, detached and concatenated.
    fn in_chunks(&self, x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        let n = x.dim(0)?;
        let mut out = Vec::new();
        for lo in (0..n).step_by(500) {
            let xs = self.network_batch(&x.narrow(0, lo, 500.min(n - lo))?)?;
            out.push(f(&xs)?.detach());
        }
        Ok(Tensor::cat(&out, 0)?)
    }

    /// `G(E(x))` of data-space items, in data space, detached.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.encode(x)?;
        let y = self.gen.forward_t(&z, false)?;
        Ok(self.gen.to_data_space(&y)?.detach())
    }

    fn latents(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(rng.normal((n, self.cfg.latent_dim), 0.0, 1.0, &self.device)?)
    }

    fn game(&self) -> Game<'_> {
        Game::new(&self.cfg.objective, &self.cfg.tricks)
    }

    /// The joint pairs `[x, E(x)]` and `[G(z), z]` (flattened items), `x` in network space.
    fn joint_pairs(&self, x: &Tensor, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let ex = self.enc.forward(x)?;
        let gz = self.gen.forward_t(z, true)?;
        let real = Tensor::cat(&[&x.flatten_from(1)?, &ex], 1)?;
        let fake = Tensor::cat(&[&gz.flatten_from(1)?, z], 1)?;
        Ok((real, fake))
    }

    /// `D` on joint pairs `(n, d + k)`; dropout masks from `rng`, if given.
    fn joint_score(&self, pairs: &Tensor, rng: Option<&mut GmRng>) -> Result<Tensor> {
        let d = self.cfg.data_dim();
        let x = pairs.narrow(1, 0, d)?;
        let z = pairs.narrow(1, d, pairs.dim(1)? - d)?;
        self.disc.forward(&x, &z, rng)
    }

    /// The discriminator's loss on `(x, E(x))` (real) against `(G(z), z)` (fake), both
    /// detached from `E` and `G`, with the game's penalties on the joint pairs (WGAN-GP's
    /// when `eps` is drawn; the penalties' critic without dropout); `x` in network space;
    /// the game's draws (penalty mix, instance noise at `step`) and the dropout masks from
    /// `rng`, if given.
    fn critic_loss(
        &self,
        x: &Tensor,
        z: &Tensor,
        step: u64,
        mut rng: Option<&mut GmRng>,
        m: &mut Vec<(String, Tensor)>,
    ) -> Result<Tensor> {
        let (real, fake) = self.joint_pairs(x, z)?;
        let (real, fake) = (real.detach(), fake.detach());
        let inputs = match rng.as_deref_mut() {
            Some(r) => self.game().critic_inputs(&real, &fake, step, r)?,
            None => CriticInputs {
                real,
                fake,
                eps: None,
            },
        };
        let v_enc = self.joint_score(&inputs.real, rng.as_deref_mut())?;
        let v_gen = self.joint_score(&inputs.fake, rng)?;
        let score = |t: &Tensor| self.joint_score(t, None);
        self.game()
            .critic_loss_from_scores(&score, &v_enc, &v_gen, &inputs, m)
    }

    /// The loss of the `(G, E)` player: the generator loss on `(G(z), z)` plus the same loss
    /// with the label swapped on `(x, E(x))`. Negating a score swaps the label of the
    /// logistic loss (`sigmoid(-v) = 1 - sigmoid(v)`), so both GAN generator losses keep
    /// their form (`-log(1 - D(x, E(x)))` for the non-saturating one); for WGAN and hinge,
    /// `-mean(-v) = mean(v)` is the encoder's side of the critic's loss.
    fn encoder_generator_loss(
        &self,
        x: &Tensor,
        z: &Tensor,
        step: u64,
        mut rng: Option<&mut GmRng>,
    ) -> Result<Tensor> {
        let (real, fake) = self.joint_pairs(x, z)?;
        let (real, fake) = match rng.as_deref_mut() {
            Some(r) => self.game().seen(&real, &fake, step, r)?,
            None => (real, fake),
        };
        let v_enc = self.joint_score(&real, rng.as_deref_mut())?;
        let v_gen = self.joint_score(&fake, rng)?;
        let game = self.game();
        Ok((game.generator_loss(&v_gen)? + game.generator_loss(&v_enc.neg()?)?)?)
    }

    /// The discriminator's loss on network-space `x` and latents `z`, with no update, no
    /// dropout and no penalty.
    pub fn critic_loss_value(&self, x: &Tensor, z: &Tensor) -> Result<f64> {
        let l = self.critic_loss(x, z, 1, None, &mut Vec::new())?;
        Ok(l.to_scalar::<f32>()? as f64)
    }

    /// The `(G, E)` loss on network-space `x` and latents `z`, with no update and no dropout.
    pub fn encoder_generator_loss_value(&self, x: &Tensor, z: &Tensor) -> Result<f64> {
        Ok(self
            .encoder_generator_loss(x, z, 1, None)?
            .to_scalar::<f32>()? as f64)
    }

    /// One discriminator update (the game's draws, then the dropout masks, from `rng`);
    /// returns its metrics before it (`d_loss` first, then the penalties).
    pub fn critic_step(&mut self, x: &Tensor, z: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let mut m = Vec::new();
        let loss = self.critic_loss(x, z, self.step + 1, Some(rng), &mut m)?;
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        game.critic_update(&mut self.d, &loss)?;
        read_metrics(m)
    }

    /// One shared update of `G` and `E` (dropout masks from `rng`); returns the loss before
    /// it.
    pub fn encoder_generator_step(
        &mut self,
        x: &Tensor,
        z: &Tensor,
        rng: &mut GmRng,
    ) -> Result<f64> {
        let loss = self.encoder_generator_loss(x, z, self.step + 1, Some(rng))?;
        let v = loss.to_scalar::<f32>()? as f64;
        let game = Game::new(&self.cfg.objective, &self.cfg.tricks);
        game.generator_update(&mut self.ge, &loss)?;
        Ok(v)
    }

    /// One step on a data-space batch: a discriminator update, then (every
    /// `tricks.n_critic` steps) a `(G, E)` update on a fresh latent batch.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let x = self.network_batch(x)?;
        let n = x.dim(0)?;
        let z = self.latents(n, rng)?;
        let mut m = self.critic_step(&x, &z, rng)?;
        if self.game().generator_turn(self.step + 1) {
            let z = self.latents(n, rng)?;
            let ge = self.encoder_generator_step(&x, &z, rng)?;
            m.insert(1, ("ge_loss".into(), ge));
        }
        self.step += 1;
        Ok(m)
    }
}

impl Trainer for BiganTrainer {
    fn model_name(&self) -> String {
        "bigan".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.ge.insert_state(&mut st, "ge")?;
        self.d.insert_state(&mut st, "d")?;
        st.scalars.insert("step".into(), self.step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.ge.load_state(state, "ge")?;
        self.d.load_state(state, "d")?;
        self.step = state.scalar("step")?;
        Ok(())
    }

    /// `generator.*` and `encoder.*` (their store's own names) and `discriminator.*`.
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = self.ge.store().tensors();
        w.extend(
            self.d
                .store()
                .tensors()
                .into_iter()
                .map(|(k, v)| (format!("discriminator.{k}"), v)),
        );
        Ok(w)
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        if self.cfg.grid_samples == 0 || self.cfg.data_shape.len() != 3 {
            return Ok(None);
        }
        let z = self.latents(self.cfg.grid_samples, rng).map_err(to_core)?;
        let x = self.gen.forward_t(&z, false).map_err(to_core)?;
        Ok(Some((x.detach(), true)))
    }
}
