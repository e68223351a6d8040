//! [`BiganTrainer`]: the critic step on joint pairs, then one shared step of `G` and `E`.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::data::Batch;
use gm_core::{Adam, GmRng, Metrics, ParamStore, TrainState, Trainer};

use super::{BiganConfig, Encoder, JointDiscriminator};
use crate::error::to_core;
use crate::nets::GanGenerator;
use crate::{Error, Result};

/// Trains a BiGAN: a [`GanGenerator`], an [`Encoder`] (one [`ParamStore`] and one Adam for
/// both, as one player) and a [`JointDiscriminator`] (its own store and Adam).
pub struct BiganTrainer {
    cfg: BiganConfig,
    gen: GanGenerator,
    enc: Encoder,
    ge_store: ParamStore,
    ge_opt: Adam,
    disc: JointDiscriminator,
    d_store: ParamStore,
    d_opt: Adam,
    step: u64,
    device: Device,
}

impl BiganTrainer {
    /// Fresh networks: generator and encoder from `seed` (names `generator.*`, `encoder.*`),
    /// the discriminator from `seed + 1`.
    pub fn new(cfg: BiganConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let ge_store = ParamStore::new(seed);
        let vb = ge_store.var_builder(device);
        let gen = GanGenerator::new(&cfg.generator_config(), vb.pp("generator"))?;
        let enc = Encoder::new(
            cfg.data_dim(),
            &cfg.encoder_hidden,
            cfg.latent_dim,
            vb.pp("encoder"),
        )?;
        let ge_opt = Adam::new(&ge_store, cfg.adam_ge)?;
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let disc = JointDiscriminator::new(
            cfg.joint_dim(),
            &cfg.discriminator_hidden,
            cfg.discriminator_dropout,
            d_store.var_builder(device),
        )?;
        let d_opt = Adam::new(&d_store, cfg.adam_d)?;
        Ok(Self {
            cfg,
            gen,
            enc,
            ge_store,
            ge_opt,
            disc,
            d_store,
            d_opt,
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
        let n = x.dim(0)?;
        let mut out = Vec::new();
        for lo in (0..n).step_by(500) {
            let xs = self.network_batch(&x.narrow(0, lo, 500.min(n - lo))?)?;
            out.push(self.enc.forward(&xs)?.detach());
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

    /// The discriminator's loss on `(x, E(x))` (real) against `(G(z), z)` (fake), both
    /// detached from `E` and `G`; `x` in network space; dropout masks from `rng`, if given.
    fn critic_loss(&self, x: &Tensor, z: &Tensor, mut rng: Option<&mut GmRng>) -> Result<Tensor> {
        let ex = self.enc.forward(x)?.detach();
        let gz = self.gen.forward_t(z, true)?.detach();
        let v_enc = self.disc.forward(x, &ex, rng.as_deref_mut())?;
        let v_gen = self.disc.forward(&gz, z, rng)?;
        self.cfg.objective.critic_loss(&v_enc, &v_gen, 1.0)
    }

    /// The loss of the `(G, E)` player: the generator loss on `(G(z), z)` plus the same loss
    /// with the label swapped on `(x, E(x))`. Negating a logit swaps the label of the
    /// logistic loss (`sigmoid(-v) = 1 - sigmoid(v)`), so both GAN generator losses keep
    /// their form: `-log(1 - D(x, E(x)))` for the non-saturating one.
    fn encoder_generator_loss(
        &self,
        x: &Tensor,
        z: &Tensor,
        mut rng: Option<&mut GmRng>,
    ) -> Result<Tensor> {
        let ex = self.enc.forward(x)?;
        let gz = self.gen.forward_t(z, true)?;
        let v_enc = self.disc.forward(x, &ex, rng.as_deref_mut())?;
        let v_gen = self.disc.forward(&gz, z, rng)?;
        let obj = &self.cfg.objective;
        Ok((obj.generator_loss(&v_gen)? + obj.generator_loss(&v_enc.neg()?)?)?)
    }

    /// The discriminator's loss on network-space `x` and latents `z`, with no update and no
    /// dropout.
    pub fn critic_loss_value(&self, x: &Tensor, z: &Tensor) -> Result<f64> {
        Ok(self.critic_loss(x, z, None)?.to_scalar::<f32>()? as f64)
    }

    /// The `(G, E)` loss on network-space `x` and latents `z`, with no update and no dropout.
    pub fn encoder_generator_loss_value(&self, x: &Tensor, z: &Tensor) -> Result<f64> {
        Ok(self
            .encoder_generator_loss(x, z, None)?
            .to_scalar::<f32>()? as f64)
    }

    /// One discriminator update (dropout masks from `rng`); returns the loss before it.
    pub fn critic_step(&mut self, x: &Tensor, z: &Tensor, rng: &mut GmRng) -> Result<f64> {
        let loss = self.critic_loss(x, z, Some(rng))?;
        let v = loss.to_scalar::<f32>()? as f64;
        self.d_opt.backward_step(&loss)?;
        Ok(v)
    }

    /// One shared update of `G` and `E` (dropout masks from `rng`); returns the loss before
    /// it.
    pub fn encoder_generator_step(
        &mut self,
        x: &Tensor,
        z: &Tensor,
        rng: &mut GmRng,
    ) -> Result<f64> {
        let loss = self.encoder_generator_loss(x, z, Some(rng))?;
        let v = loss.to_scalar::<f32>()? as f64;
        self.ge_opt.backward_step(&loss)?;
        Ok(v)
    }

    /// One step on a data-space batch: a discriminator update, then a `(G, E)` update on a
    /// fresh latent batch.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let x = self.network_batch(x)?;
        let n = x.dim(0)?;
        let z = self.latents(n, rng)?;
        let d = self.critic_step(&x, &z, rng)?;
        let z = self.latents(n, rng)?;
        let ge = self.encoder_generator_step(&x, &z, rng)?;
        self.step += 1;
        Ok(vec![("d_loss".into(), d), ("ge_loss".into(), ge)])
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
        st.insert_network("ge", &self.ge_store, &self.ge_opt)?;
        st.insert_network("d", &self.d_store, &self.d_opt)?;
        st.scalars.insert("step".into(), self.step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        state.load_network("ge", &self.ge_store, &mut self.ge_opt)?;
        state.load_network("d", &self.d_store, &mut self.d_opt)?;
        self.step = state.scalar("step")?;
        Ok(())
    }

    /// `generator.*` and `encoder.*` (their store's own names) and `discriminator.*`.
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = self.ge_store.tensors();
        w.extend(
            self.d_store
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
