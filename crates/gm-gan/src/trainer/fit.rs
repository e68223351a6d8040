//! [`GanTrainer`] as a [`Trainer`] of gm-core's `fit`: steps, checkpoints (both networks,
//! their Adam states, historical averages, the generator average), saved weights and grids.

use std::collections::BTreeMap;

use candle_core::Tensor;
use gm_core::data::Batch;
use gm_core::{GmRng, Metrics, TrainState, Trainer};

use super::{run_weights, scatter_image, strip_prefix, GanTrainer};
use crate::error::to_core;

impl Trainer for GanTrainer {
    fn model_name(&self) -> String {
        format!("gan/{}", self.cfg.objective.name())
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg.model).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        self.g.insert_state(&mut st, "g")?;
        if let Some(e) = &self.ema {
            st.tensors.extend(
                e.store
                    .tensors()
                    .into_iter()
                    .map(|(k, v)| (format!("ema_g.{k}"), v)),
            );
            st.scalars
                .insert("ema_g.updates".into(), e.updates.to_string());
        }
        if let Some(c) = &self.critic {
            c.player.insert_state(&mut st, "d")?;
        }
        st.scalars.insert("step".into(), self.step.to_string());
        st.scalars
            .insert("last_g_loss".into(), self.last_g_loss.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.g.load_state(state, "g")?;
        if let Some(e) = &mut self.ema {
            let t = strip_prefix(&state.tensors, "ema_g.");
            e.store.load(&t, "checkpoint (generator average)")?;
            e.updates = state.scalar("ema_g.updates")?;
        }
        if let Some(c) = &mut self.critic {
            c.player.load_state(state, "d")?;
        }
        self.step = state.scalar("step")?;
        self.last_g_loss = state.scalar("last_g_loss")?;
        Ok(())
    }

    /// The generator's weights as `generator.*` (the weight average when it is on) and the
    /// critic's as `discriminator.*`.
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(run_weights(
            self.sampling_store(),
            self.critic.as_ref().map(|c| c.player.store()),
        ))
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        let is_2d = self.cfg.model.data_shape == [2];
        let n = if is_2d { 2_000 } else { self.cfg.grid_samples };
        if n == 0 {
            return Ok(None);
        }
        let s = self.samples(n, rng).map_err(to_core)?;
        if is_2d {
            let img = scatter_image(&s, 5.0, 128).map_err(to_core)?;
            return Ok(Some((img, false)));
        }
        if self.cfg.model.data_shape.len() == 3 {
            return Ok(Some((s, false)));
        }
        Ok(None)
    }
}
