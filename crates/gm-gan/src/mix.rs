//! MIX+GAN (Arora, Ge, Liang, Ma and Zhang 2017): `K` generators and `K` discriminators with
//! learned mixture weights `w = softmax(a)` (generators) and `u = softmax(b)` (critics).
//! With `L(G_i, D_j)` the chosen objective's losses, the players minimise
//!
//! ```text
//! critics:    sum_j u_j sum_i w_i L_D(D_j; real, G_i(z))  -  lambda H(u)
//! generators: sum_i w_i sum_j u_j L_G(G_i; D_j)           -  lambda H(w)
//! ```
//!
//! where the entropy regulariser `H(p) = -sum p log p` keeps the weights from collapsing onto
//! one component. Each player (a mixture) has one [`ParamStore`] (`c{i}.*` components and
//! `mix.logits`) and one Adam. Sampling picks component `i` with probability `w_i` through an
//! extra uniform latent coordinate, so [`MixGenerator`] is an ordinary [`Generator`].

use std::collections::BTreeMap;

use candle_core::{Device, Tensor, D};
use gm_core::data::Batch;
use gm_core::{Generator, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use crate::adversarial::{CriticInputs, Game, Player};
use crate::error::to_core;
use crate::nets::{Discriminator, GanGenerator};
use crate::trainer::GanTrainConfig;
use crate::tricks::Tricks;
use crate::{Error, Result};

/// Hyperparameters of a MIX+GAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixGanConfig {
    /// Networks, objective (any adversarial one) and optimisers of every component; of the
    /// tricks, label smoothing, R1 and R2; no unrolling.
    pub base: GanTrainConfig,
    /// Components per player, `K`.
    pub components: usize,
    /// Weight `lambda` of the entropy regulariser.
    pub entropy_weight: f64,
}

impl Default for MixGanConfig {
    fn default() -> Self {
        Self {
            base: GanTrainConfig::default(),
            components: 3,
            entropy_weight: 0.1,
        }
    }
}

/// The most components accepted (the critic step costs `K^2` evaluations).
pub const MAX_COMPONENTS: usize = 16;

impl MixGanConfig {
    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        self.base.validate()?;
        if self.components == 0 || self.components > MAX_COMPONENTS {
            return Err(Error::config(
                "components",
                self.components,
                "must lie in 1..=16",
            ));
        }
        if !(self.entropy_weight.is_finite() && self.entropy_weight >= 0.0) {
            return Err(Error::config(
                "entropy_weight",
                self.entropy_weight,
                "must be finite and >= 0",
            ));
        }
        let t = &self.base.tricks;
        Game::new(&self.base.objective, t).validate("MIX+GAN", false)?;
        let mixture_tricks = Tricks {
            label_smoothing: t.label_smoothing,
            r1: t.r1,
            r2: t.r2,
            ..Tricks::default()
        };
        if self.base.unrolled.is_some() || *t != mixture_tricks {
            return Err(Error::config(
                "base.tricks",
                "set",
                "MIX+GAN takes label smoothing, R1 and R2 of the tricks, and no unrolling",
            ));
        }
        Ok(())
    }
}

/// `softmax(logits)` and `sum p log p` (the negative entropy) of a `(K,)` logit vector.
fn weights_and_neg_entropy(logits: &Tensor) -> Result<(Tensor, Tensor)> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let p = logp.exp()?;
    let neg_h = (&p * &logp)?.sum_all()?;
    Ok((p, neg_h))
}

/// The equilibrium argument behind MIX+GAN on a finite zero-sum game: the row player
/// (generator) mixes its pure strategies with weights `w = softmax(a)` and minimises
/// `w^T A u - lambda H(w)`, the column player (critic) mixes with `u = softmax(b)` and
/// maximises `w^T A u + lambda H(u)`; both take alternating gradient steps of size `lr` on
/// their logits, through the same softmax and entropy as [`MixGanTrainer`]. Returns the
/// final weights `(w, u)`. With a game such as rock-paper-scissors, which has no pure
/// equilibrium, the mixtures reach the mixed one.
pub fn mixed_matrix_game(
    payoff: &[Vec<f64>],
    lambda: f64,
    lr: f64,
    steps: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let dev = Device::Cpu;
    let rows = payoff.len();
    let cols = payoff.first().map_or(0, |r| r.len());
    if rows == 0 || cols == 0 || payoff.iter().any(|r| r.len() != cols) {
        return Err(Error::config(
            "payoff",
            format!("{rows} rows"),
            "a non-empty rectangular matrix",
        ));
    }
    let flat: Vec<f64> = payoff.iter().flatten().copied().collect();
    let a_mat = Tensor::from_vec(flat, (rows, cols), &dev)?;
    // Off-centre starts, so that the dynamics have something to do.
    let start = |k: usize| -> Vec<f64> { (0..k).map(|i| 0.7 * i as f64).collect() };
    let a = candle_core::Var::from_tensor(&Tensor::from_vec(start(rows), rows, &dev)?)?;
    let b = candle_core::Var::from_tensor(&Tensor::from_vec(start(cols), cols, &dev)?)?;
    let value = |a: &Tensor, b: &Tensor| -> Result<(Tensor, Tensor, Tensor)> {
        let (w, neg_hw) = weights_and_neg_entropy(a)?;
        let (u, neg_hu) = weights_and_neg_entropy(b)?;
        let v = w
            .unsqueeze(0)?
            .matmul(&a_mat)?
            .matmul(&u.unsqueeze(1)?)?
            .reshape(())?;
        Ok((v, neg_hw, neg_hu))
    };
    for _ in 0..steps {
        // Row player: minimise v + lambda sum w log w.
        let (v, neg_hw, _) = value(a.as_tensor(), &b.as_tensor().detach())?;
        let g = (v + neg_hw.affine(lambda, 0.0)?)?.backward()?;
        if let Some(g) = g.get(a.as_tensor()) {
            a.set(&(a.as_tensor() - g.affine(lr, 0.0)?)?)?;
        }
        // Column player: maximise v - lambda sum u log u (loss -v + lambda sum u log u).
        let (v, _, neg_hu) = value(&a.as_tensor().detach(), b.as_tensor())?;
        let g = (v.neg()? + neg_hu.affine(lambda, 0.0)?)?.backward()?;
        if let Some(g) = g.get(b.as_tensor()) {
            b.set(&(b.as_tensor() - g.affine(lr, 0.0)?)?)?;
        }
    }
    let w = weights_and_neg_entropy(a.as_tensor())?.0.to_vec1::<f64>()?;
    let u = weights_and_neg_entropy(b.as_tensor())?.0.to_vec1::<f64>()?;
    Ok((w, u))
}

/// The pure strategy pairs `(i, j)` of a zero-sum game (row minimises, column maximises)
/// from which neither player gains by deviating alone: the pure equilibria.
pub fn pure_equilibria(payoff: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, row) in payoff.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let row_best = payoff.iter().all(|r| r[j] >= v);
            let col_best = row.iter().all(|&x| x <= v);
            if row_best && col_best {
                out.push((i, j));
            }
        }
    }
    out
}

/// A mixture of generators: `x = G_i(z)` with `i ~ softmax(a)`.
#[derive(Debug, Clone)]
pub struct MixGenerator {
    components: Vec<GanGenerator>,
    logits: Tensor,
}

impl MixGenerator {
    /// The mixture weights `softmax(a)`.
    pub fn weights(&self) -> Result<Vec<f32>> {
        Ok(candle_nn::ops::softmax(&self.logits, D::Minus1)?.to_vec1::<f32>()?)
    }

    /// The component generators `G_i`, in the order of the weights.
    pub fn components(&self) -> &[GanGenerator] {
        &self.components
    }
}

impl Generator for MixGenerator {
    /// The components' latent size plus one uniform coordinate that picks the component.
    fn latent_dim(&self) -> usize {
        self.components[0].config().latent_dim + 1
    }

    fn output_shape(&self) -> Vec<usize> {
        self.components[0].config().data_shape.clone()
    }

    fn sample_latent(&self, n: usize, rng: &mut GmRng, device: &Device) -> gm_core::Result<Tensor> {
        let d = self.latent_dim() - 1;
        let z = rng.normal((n, d), 0.0, 1.0, device)?;
        let u = rng.uniform((n, 1), 0.0, 1.0, device)?;
        Ok(Tensor::cat(&[&z, &u], 1)?)
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let run = || -> Result<Tensor> {
            let d = self.latent_dim() - 1;
            let n = z.dim(0)?;
            let u = z.narrow(1, d, 1)?.flatten_all()?.to_vec1::<f32>()?;
            let zz = z.narrow(1, 0, d)?;
            let w = self.weights()?;
            let mut cdf = Vec::with_capacity(w.len());
            let mut acc = 0f32;
            for p in &w {
                acc += p;
                cdf.push(acc);
            }
            let pick: Vec<usize> = u
                .iter()
                .map(|&x| cdf.iter().position(|&c| x < c).unwrap_or(w.len() - 1))
                .collect();
            let outs: Vec<Tensor> = self
                .components
                .iter()
                .map(|g| g.generate(&zz).map_err(Error::Core))
                .collect::<Result<_>>()?;
            let rows: Vec<Tensor> = (0..n)
                .map(|r| outs[pick[r]].narrow(0, r, 1))
                .collect::<candle_core::Result<_>>()?;
            Ok(Tensor::cat(&rows, 0)?)
        };
        run().map_err(to_core)
    }
}

/// Trains a MIX+GAN with gm-core's `fit`.
pub struct MixGanTrainer {
    cfg: MixGanConfig,
    gen: MixGenerator,
    critics: Vec<Discriminator>,
    critic_logits: Tensor,
    g: Player,
    d: Player,
    device: Device,
}

impl MixGanTrainer {
    /// Fresh mixtures: generators from `seed`, critics from `seed + 1`.
    pub fn new(cfg: MixGanConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        Game::new(&cfg.base.objective, &cfg.base.tricks).enable_second_order("MIX+GAN")?;
        let k = cfg.components;
        let g_store = ParamStore::new(seed);
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let (gvb, dvb) = (g_store.var_builder(device), d_store.var_builder(device));
        let model = &cfg.base.model;
        let components = (0..k)
            .map(|i| GanGenerator::new(model, gvb.pp(format!("c{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let critics = (0..k)
            .map(|i| Discriminator::new(model, dvb.pp(format!("c{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let zero = candle_nn::Init::Const(0.0);
        let g_logits = gvb.pp("mix").get_with_hints(k, "logits", zero)?;
        let critic_logits = dvb.pp("mix").get_with_hints(k, "logits", zero)?;
        let g = Player::new(g_store, cfg.base.adam_g, false)?;
        let d = Player::new(d_store, cfg.base.adam_d, false)?;
        Ok(Self {
            gen: MixGenerator {
                components,
                logits: g_logits,
            },
            critics,
            critic_logits,
            g,
            d,
            cfg,
            device: device.clone(),
        })
    }

    /// The mixture of generators being trained.
    pub fn generator(&self) -> &MixGenerator {
        &self.gen
    }

    /// The critics' mixture weights `softmax(b)`.
    pub fn critic_weights(&self) -> Result<Vec<f32>> {
        Ok(candle_nn::ops::softmax(&self.critic_logits, D::Minus1)?.to_vec1::<f32>()?)
    }

    /// One critic-mixture update and one generator-mixture update on a data-space batch.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let k = self.cfg.components;
        let game = Game::new(&self.cfg.base.objective, &self.cfg.base.tricks);
        let lambda = self.cfg.entropy_weight;
        let g0 = &self.gen.components[0];
        let real = g0.to_network_space(x)?;
        let n = real.dim(0)?;
        let latent = self.cfg.base.model.latent_dim;
        let rank = self.cfg.base.model.data_shape.len();

        let (w, neg_hw) = weights_and_neg_entropy(&self.gen.logits)?;
        let (u, neg_hu) = weights_and_neg_entropy(&self.critic_logits)?;

        // Critics: fakes detached, generator weights held constant.
        let fakes: Vec<Tensor> = self
            .gen
            .components
            .iter()
            .map(|g| {
                let z = rng.normal((n, latent), 0.0, 1.0, &self.device)?;
                Ok(g.forward_t(&z, true)?.detach())
            })
            .collect::<Result<_>>()?;
        let wd = w.detach();
        let mut d_loss: Option<Tensor> = None;
        for (j, d) in self.critics.iter().enumerate() {
            let v_real = d.forward(&real)?;
            let score = |t: &Tensor| d.forward(t);
            for (i, fake) in fakes.iter().enumerate() {
                // Each pair's loss with its penalties (WGAN-GP's mixing weights per pair).
                let inputs = CriticInputs {
                    real: real.clone(),
                    fake: fake.clone(),
                    eps: game.penalty_mix(n, rank, &self.device, rng)?,
                };
                let v_fake = d.forward(fake)?;
                let l = game.critic_loss_from_scores(
                    &score,
                    &v_real,
                    &v_fake,
                    &inputs,
                    &mut Vec::new(),
                )?;
                let term = l.broadcast_mul(&(wd.get(i)? * u.get(j)?)?)?;
                d_loss = Some(match d_loss {
                    Some(t) => (t + term)?,
                    None => term,
                });
            }
        }
        let d_loss = d_loss.ok_or_else(|| Error::config("components", k, "no components"))?;
        let d_value = d_loss.to_scalar::<f32>()? as f64;
        self.d
            .update(&(d_loss + neg_hu.affine(lambda, 0.0)?)?, 0.0)?;
        // WGAN's clipping of the critics' weights, not of their mixture logits.
        game.clip_except(&self.d, &["mix."])?;

        // Generators: critic weights held constant.
        let (u, _) = weights_and_neg_entropy(&self.critic_logits)?;
        let ud = u.detach();
        let mut g_loss: Option<Tensor> = None;
        for (i, g) in self.gen.components.iter().enumerate() {
            let z = rng.normal((n, latent), 0.0, 1.0, &self.device)?;
            let fake = g.forward_t(&z, true)?;
            for (j, d) in self.critics.iter().enumerate() {
                let l = game.generator_loss(&d.forward(&fake)?)?;
                let term = l.broadcast_mul(&(w.get(i)? * ud.get(j)?)?)?;
                g_loss = Some(match g_loss {
                    Some(t) => (t + term)?,
                    None => term,
                });
            }
        }
        let g_loss = g_loss.ok_or_else(|| Error::config("components", k, "no components"))?;
        let g_value = g_loss.to_scalar::<f32>()? as f64;
        self.g
            .update(&(g_loss + neg_hw.affine(lambda, 0.0)?)?, 0.0)?;

        let ent = |t: &Tensor| -> Result<f64> { Ok(-(t.to_scalar::<f32>()? as f64)) };
        Ok(vec![
            ("d_loss".into(), d_value),
            ("g_loss".into(), g_value),
            ("generator_weight_entropy".into(), ent(&neg_hw)?),
            ("critic_weight_entropy".into(), ent(&neg_hu)?),
        ])
    }
}

impl Trainer for MixGanTrainer {
    fn model_name(&self) -> String {
        format!("mix-gan/{}", self.cfg.base.objective.name())
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.cfg.base.model,
            "components": self.cfg.components,
        })
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.g.insert_state(&mut st, "g")?;
        self.d.insert_state(&mut st, "d")?;
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.g.load_state(state, "g")?;
        self.d.load_state(state, "d")
    }

    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(crate::trainer::run_weights(
            self.g.store(),
            Some(self.d.store()),
        ))
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        let shape = self.cfg.base.model.data_shape.clone();
        if shape == [2] {
            let s = self.gen.sample(2_000, rng, &self.device)?;
            let img = crate::trainer::scatter_image(&s, 5.0, 128).map_err(to_core)?;
            return Ok(Some((img, false)));
        }
        if shape.len() == 3 && self.cfg.base.grid_samples > 0 {
            let s = self
                .gen
                .sample(self.cfg.base.grid_samples, rng, &self.device)?;
            return Ok(Some((s, false)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
