//! One adversarial step for every model of gm-gan: a [`Player`] (its parameters, its Adam
//! and, when historical averaging is on, the running mean of its weights) and a [`Game`]
//! (the objective and the [`Tricks`] both players follow), which owns the critic's loss with
//! its penalties (WGAN-GP's gradient penalty, R1, R2), one-sided label smoothing, weight
//! clipping, instance noise, DiffAugment, the n-critic schedule and the updates themselves.
//!
//! A model computes its critic's scores its own way (a joint critic, a conditional one, a
//! growing one) and hands them, with a closure that scores a single input batch, to
//! [`Game::critic_loss`]; it may add its own terms (ACGAN's classes, CycleGAN's cycle loss)
//! before [`Game::critic_update`] / [`Game::generator_update`]. So every objective works with
//! every model whose critic takes the item as a tensor it can be differentiated in.
//!
//! Random draws come from the loop's [`GmRng`] in a fixed order, and a trick that is off
//! draws nothing, so a model trained without tricks follows the same stream as before.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use gm_core::{AdamConfig, GmRng, ParamStore};
//! use gm_gan::adversarial::{Game, Player};
//! use gm_gan::{Objective, Tricks};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dev = Device::Cpu;
//! let store = ParamStore::new(0);
//! let critic = candle_nn::linear(2, 1, store.var_builder(&dev).pp("l"))?;
//! let mut player = Player::new(store, AdamConfig::default(), false)?;
//! let objective = Objective::WganGp { penalty: 10.0 };
//! let tricks = Tricks::default();
//! let game = Game::new(&objective, &tricks);
//! game.enable_second_order("a linear critic")?;
//! let mut rng = GmRng::new(1);
//! let real = rng.normal((8, 2), 1.0, 1.0, &dev)?;
//! let fake = rng.normal((8, 2), 0.0, 1.0, &dev)?;
//! let inputs = game.critic_inputs(&real, &fake, 1, &mut rng)?;
//! let score = |x: &Tensor| Ok(candle_nn::Module::forward(&critic, x)?);
//! let mut metrics = Vec::new();
//! let loss = game.critic_loss(&score, &inputs, &mut metrics)?;
//! game.critic_update(&mut player, &loss)?;
//! assert!(metrics.iter().any(|(name, _)| name == "gradient_penalty"));
//! # Ok(())
//! # }
//! ```

use candle_core::{DType, Device, Tensor};
use gm_core::{Adam, AdamConfig, GmRng, Metrics, ParamStore, TrainState};

use crate::augment::diff_augment;
use crate::objective::{enable_second_order, gradient_norm_penalty, gradient_penalty, Objective};
use crate::tricks::{HistoricalAverage, Tricks};
use crate::{Error, Result};

/// One network's side of the game: its parameters, its optimizer and, with historical
/// averaging, the running mean of its weights.
pub struct Player {
    store: ParamStore,
    opt: Adam,
    hist: Option<HistoricalAverage>,
}

impl Player {
    /// A player over `store` (its networks already built from it), with a fresh Adam, and
    /// the historical average of its weights when `historical` is set.
    pub fn new(store: ParamStore, adam: AdamConfig, historical: bool) -> Result<Self> {
        let opt = Adam::new(&store, adam)?;
        let hist = if historical {
            Some(HistoricalAverage::new(&store)?)
        } else {
            None
        };
        Ok(Self { store, opt, hist })
    }

    /// The player's parameters.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }
    /// The player's optimizer.
    pub fn optimizer(&self) -> &Adam {
        &self.opt
    }
    /// The player's optimizer, mutable (a look-ahead continues from its state).
    pub fn optimizer_mut(&mut self) -> &mut Adam {
        &mut self.opt
    }
    /// The historical average of the weights, when on.
    pub fn historical(&self) -> Option<&HistoricalAverage> {
        self.hist.as_ref()
    }

    /// A fresh optimizer with `adam`'s settings (progressive growing resets the moments at
    /// each new resolution).
    pub fn restart_optimizer(&mut self, adam: AdamConfig) -> Result<()> {
        self.opt = Adam::new(&self.store, adam)?;
        Ok(())
    }

    /// One descent step on `loss` plus `historical_weight` times the historical-averaging
    /// penalty (when the average is on), then the new weights folded into the average.
    pub fn update(&mut self, loss: &Tensor, historical_weight: f64) -> Result<()> {
        self.descend(loss, historical_weight)?;
        self.fold()
    }

    /// The descent step of [`Player::update`] alone.
    fn descend(&mut self, loss: &Tensor, historical_weight: f64) -> Result<()> {
        let loss = match &self.hist {
            Some(h) => (loss + h.penalty(&self.store)?.affine(historical_weight, 0.0)?)?,
            None => loss.clone(),
        };
        self.opt.backward_step(&loss)?;
        Ok(())
    }

    /// Folds the current weights into the historical average (when on).
    fn fold(&mut self) -> Result<()> {
        if let Some(h) = &mut self.hist {
            h.update(&self.store)?;
        }
        Ok(())
    }

    /// Writes the weights and the Adam state under `key` (as
    /// [`TrainState::insert_network`]) and the historical average under `hist_<key>.`.
    pub fn insert_state(&self, st: &mut TrainState, key: &str) -> gm_core::Result<()> {
        st.insert_network(key, &self.store, &self.opt)?;
        if let Some(h) = &self.hist {
            let (t, n) = h.state(&format!("hist_{key}."));
            st.tensors.extend(t);
            st.scalars
                .insert(format!("hist_{key}.count"), n.to_string());
        }
        Ok(())
    }

    /// Restores what [`Player::insert_state`] wrote under `key`.
    pub fn load_state(&mut self, st: &TrainState, key: &str) -> gm_core::Result<()> {
        st.load_network(key, &self.store, &mut self.opt)?;
        if let Some(h) = &mut self.hist {
            let prefix = format!("hist_{key}.");
            h.load(&st.tensors, &prefix, st.scalar(&format!("{prefix}count"))?)
                .map_err(gm_core::Error::from)?;
        }
        Ok(())
    }
}

/// The batches a critic sees in one update or one generator loss: real and generated items
/// after DiffAugment and instance noise, and WGAN-GP's mixing weights (critic updates only).
#[derive(Debug, Clone)]
pub struct CriticInputs {
    /// The real items as the critic sees them.
    pub real: Tensor,
    /// The generated items as the critic sees them.
    pub fake: Tensor,
    /// The gradient-penalty mixing weights `(n, 1, ...)` ~ U[0, 1) (WGAN-GP only).
    pub eps: Option<Tensor>,
}

/// A critic's score of one batch of items, for the penalties to differentiate.
pub type Scorer<'a> = &'a dyn Fn(&Tensor) -> Result<Tensor>;

/// Metric tensors waiting to be read after an update ([`read_metrics`]).
pub type PendingMetrics = Vec<(String, Tensor)>;

/// The rules of one adversarial game: the objective and the tricks both players follow.
#[derive(Debug, Clone, Copy)]
pub struct Game<'a> {
    objective: &'a Objective,
    tricks: &'a Tricks,
}

impl<'a> Game<'a> {
    /// The game of `objective` under `tricks`.
    pub fn new(objective: &'a Objective, tricks: &'a Tricks) -> Self {
        Self { objective, tricks }
    }

    /// The objective.
    pub fn objective(&self) -> &'a Objective {
        self.objective
    }
    /// The tricks.
    pub fn tricks(&self) -> &'a Tricks {
        self.tricks
    }

    /// Whether the critic's loss differentiates a gradient (WGAN-GP, R1, R2).
    pub fn needs_second_order(&self) -> bool {
        self.objective.needs_second_order() || self.tricks.needs_second_order()
    }

    /// Turns on second-order gradients when the game needs them (see
    /// [`enable_second_order`]); `model` names the model in the error.
    pub fn enable_second_order(&self, model: &str) -> Result<()> {
        if !self.needs_second_order() {
            return Ok(());
        }
        let what = if self.objective.needs_second_order() {
            self.objective.name()
        } else {
            "the R1/R2 penalty".into()
        };
        enable_second_order(&format!("{what} ({model})"))
    }

    /// Checks that the tricks fit the objective, and that `model` supports the tricks it
    /// would need its own networks for (`network_tricks`: whether it has feature matching,
    /// spectral normalization and the weight average); each refusal names the field.
    pub fn validate(&self, model: &str, network_tricks: bool) -> Result<()> {
        self.objective.validate()?;
        self.tricks.validate()?;
        let t = self.tricks;
        if t.label_smoothing > 0.0 && !self.objective.supports_label_smoothing() {
            return Err(Error::config(
                "tricks.label_smoothing",
                t.label_smoothing,
                "one-sided label smoothing needs the GAN objective (logistic targets)",
            ));
        }
        if !self.objective.is_adversarial() {
            return Err(Error::config(
                "objective",
                format!("{} ({model})", self.objective.name()),
                "this model trains a critic: it needs an adversarial objective",
            ));
        }
        if !network_tricks {
            for (field, on) in [
                ("tricks.feature_matching", t.feature_matching),
                ("tricks.spectral_norm", t.spectral_norm),
                ("tricks.ema_decay", t.ema_decay > 0.0),
            ] {
                if on {
                    return Err(Error::config(
                        field,
                        format!("on ({model})"),
                        "this model's networks do not support it",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether (1-based) step `step` ends with a generator update (every `n_critic` steps).
    pub fn generator_turn(&self, step: u64) -> bool {
        step.is_multiple_of(self.tricks.n_critic as u64)
    }

    /// The critic's target for real items (`1 - s` with label smoothing).
    pub fn real_target(&self) -> f64 {
        self.tricks.real_target()
    }

    /// The gradient-penalty mixing weights for `n` items of rank `item_rank`,
    /// `(n, 1, ...)` ~ U[0, 1) (WGAN-GP only; nothing drawn otherwise).
    pub fn penalty_mix(
        &self,
        n: usize,
        item_rank: usize,
        device: &Device,
        rng: &mut GmRng,
    ) -> Result<Option<Tensor>> {
        Ok(match self.objective {
            Objective::WganGp { .. } => {
                let mut shape = vec![n];
                shape.extend(std::iter::repeat_n(1, item_rank));
                Some(rng.uniform(shape, 0.0, 1.0, device)?)
            }
            _ => None,
        })
    }

    /// The real and generated items as the critic sees them at (1-based) step `step`:
    /// DiffAugment on each, then instance noise on each. Draws, in this order: DiffAugment's
    /// on `real`, on `fake`, the noise on `real`, on `fake` (none for a trick that is off).
    pub fn seen(
        &self,
        real: &Tensor,
        fake: &Tensor,
        step: u64,
        rng: &mut GmRng,
    ) -> Result<(Tensor, Tensor)> {
        let policy = &self.tricks.diff_augment;
        let real = diff_augment(real, policy, rng)?;
        let fake = diff_augment(fake, policy, rng)?;
        let sigma = self.tricks.noise_std(step.max(1));
        let real = noisy(&real, sigma, rng)?;
        let fake = noisy(&fake, sigma, rng)?;
        Ok((real, fake))
    }

    /// One batch as the critic sees it at (1-based) step `step`: DiffAugment, then instance
    /// noise (for a generator loss that needs no real batch).
    pub fn seen_one(&self, x: &Tensor, step: u64, rng: &mut GmRng) -> Result<Tensor> {
        let x = diff_augment(x, &self.tricks.diff_augment, rng)?;
        noisy(&x, self.tricks.noise_std(step.max(1)), rng)
    }

    /// The inputs of a critic update: the penalty's mixing weights first, then
    /// [`Game::seen`].
    pub fn critic_inputs(
        &self,
        real: &Tensor,
        fake: &Tensor,
        step: u64,
        rng: &mut GmRng,
    ) -> Result<CriticInputs> {
        let item_rank = real.rank().saturating_sub(1);
        let eps = self.penalty_mix(real.dim(0)?, item_rank, real.device(), rng)?;
        let (real, fake) = self.seen(real, fake, step, rng)?;
        Ok(CriticInputs { real, fake, eps })
    }

    /// The critic's loss on its inputs, scored by `critic`: the objective's loss (label
    /// smoothing included), plus `lambda` times WGAN-GP's penalty when the mixing weights are
    /// given, plus `gamma / 2` times R1 (on the real items) and R2 (on the generated ones).
    /// Pushes `d_loss`, the penalties and, for WGAN, `critic_gap` onto `m`.
    pub fn critic_loss(
        &self,
        critic: Scorer<'_>,
        inputs: &CriticInputs,
        m: &mut PendingMetrics,
    ) -> Result<Tensor> {
        let v_real = critic(&inputs.real)?;
        let v_fake = critic(&inputs.fake)?;
        self.critic_loss_from_scores(critic, &v_real, &v_fake, inputs, m)
    }

    /// [`Game::critic_loss`] with the scores of the real and generated items already
    /// computed (by a critic with more outputs than the score); `critic` still scores the
    /// penalties' inputs.
    pub fn critic_loss_from_scores(
        &self,
        critic: Scorer<'_>,
        v_real: &Tensor,
        v_fake: &Tensor,
        inputs: &CriticInputs,
        m: &mut PendingMetrics,
    ) -> Result<Tensor> {
        self.critic_loss_conditioned([critic, critic], v_real, v_fake, inputs, m)
    }

    /// [`Game::critic_loss_from_scores`] for a critic with a context per item (a class
    /// label): `critics[0]` scores items with the real items' context (WGAN-GP's
    /// interpolates and R1), `critics[1]` with the generated items' (R2).
    pub fn critic_loss_conditioned(
        &self,
        critics: [Scorer<'_>; 2],
        v_real: &Tensor,
        v_fake: &Tensor,
        inputs: &CriticInputs,
        m: &mut PendingMetrics,
    ) -> Result<Tensor> {
        let mut loss = self
            .objective
            .critic_loss(v_real, v_fake, self.real_target())?;
        m.push(("d_loss".into(), loss.detach()));
        if let (Some(eps), Objective::WganGp { penalty }) = (&inputs.eps, self.objective) {
            let gp = gradient_penalty(critics[0], &inputs.real, &inputs.fake, eps)?;
            m.push(("gradient_penalty".into(), gp.detach()));
            loss = (loss + gp.affine(*penalty, 0.0)?)?;
        }
        for (name, gamma, x, critic) in [
            ("r1", self.tricks.r1, &inputs.real, critics[0]),
            ("r2", self.tricks.r2, &inputs.fake, critics[1]),
        ] {
            if gamma > 0.0 {
                let p = gradient_norm_penalty(critic, x)?;
                m.push((name.into(), p.detach()));
                loss = (loss + p.affine(gamma / 2.0, 0.0)?)?;
            }
        }
        if matches!(
            self.objective,
            Objective::Wgan { .. } | Objective::WganGp { .. }
        ) {
            let w = (v_real.mean_all()? - v_fake.mean_all()?)?;
            m.push(("critic_gap".into(), w.detach()));
        }
        Ok(loss)
    }

    /// The generator's loss on the critic's scores of generated items.
    pub fn generator_loss(&self, v_fake: &Tensor) -> Result<Tensor> {
        self.objective.generator_loss(v_fake)
    }

    /// One critic update on `loss` (historical averaging added when on), then WGAN's
    /// clipping of its weights, then the clipped weights folded into the average.
    pub fn critic_update(&self, critic: &mut Player, loss: &Tensor) -> Result<()> {
        critic.descend(loss, self.tricks.historical_averaging)?;
        self.clip(critic)?;
        critic.fold()
    }

    /// One generator update on `loss` (historical averaging added when on).
    pub fn generator_update(&self, generator: &mut Player, loss: &Tensor) -> Result<()> {
        generator.update(loss, self.tricks.historical_averaging)
    }

    /// WGAN's clipping of the critic's weights to `[-clip, clip]` (running statistics
    /// excepted); nothing for other objectives.
    pub fn clip(&self, critic: &Player) -> Result<()> {
        self.clip_except(critic, &[])
    }

    /// [`Game::clip`] leaving out, besides running statistics, the parameters whose names
    /// contain one of `unclipped` (MIX+GAN's mixture logits).
    pub fn clip_except(&self, critic: &Player, unclipped: &[&str]) -> Result<()> {
        if let Objective::Wgan { clip } = self.objective {
            for (name, var) in critic.store.vars() {
                let left_out = unclipped.iter().any(|u| name.contains(u));
                if !name.contains("running_") && !left_out {
                    var.set(&var.as_tensor().clamp(-*clip, *clip)?)?;
                }
            }
        }
        Ok(())
    }
}

/// `x` plus `N(0, std^2)` noise drawn from `rng` (unchanged, and no draw, when `std` is 0).
pub fn noisy(x: &Tensor, std: f64, rng: &mut GmRng) -> Result<Tensor> {
    if std == 0.0 {
        return Ok(x.clone());
    }
    Ok((x + rng.normal(x.shape(), 0.0, std, x.device())?)?)
}

/// Reads pending metric tensors with one transfer from the device (in their order), after
/// the update, so that a GPU step is not stopped by a read before its backward pass.
pub fn read_metrics(pending: PendingMetrics) -> Result<Metrics> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let scalars = pending
        .iter()
        .map(|(_, t)| t.to_dtype(DType::F32)?.reshape(()))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let values = Tensor::stack(&scalars, 0)?.to_vec1::<f32>()?;
    Ok(pending
        .into_iter()
        .zip(values)
        .map(|((name, _), v)| (name, v as f64))
        .collect())
}

#[cfg(test)]
mod tests;
