//! Stabilisation tricks, as options of the one trainer:
//!
//! - `n_critic` critic updates per generator update (Arjovsky et al. 2017 use 5);
//! - feature matching (Salimans et al. 2016, section 3.1): the generator matches the mean of
//!   the critic's last hidden layer on real data, `|| E f(x) - E f(G(z)) ||^2`;
//! - historical averaging (Salimans et al. 2016, section 3.3): `lambda || theta - mean_t
//!   theta_t ||^2` added to each network's loss;
//! - instance noise (Sonderby et al. 2017; Arjovsky and Bottou 2017): `N(0, sigma_t^2)` added
//!   to every critic input, `sigma_t` annealed linearly to 0;
//! - one-sided label smoothing (Salimans et al. 2016, section 3.4): real targets `1 - s`;
//! - an exponential moving average of the generator's weights (Karras et al. 2018; Yazici et
//!   al. 2019), `theta_ema <- beta theta_ema + (1 - beta) theta` after each generator update
//!   (a copy before `ema_start`), which sampling, grids, evaluation and exports use;
//! - the R1 and R2 penalties (Mescheder et al. 2018): `gamma / 2 E ||grad_x D(x)||^2` on the
//!   real (R1) or the generated (R2) items, added to the critic's loss (second order);
//! - DiffAugment (Zhao et al. 2020, [`crate::augment`]): the same random transformations
//!   applied to every batch the critic sees, real and generated, in both players' losses;
//! - spectral normalization of the critic's weights (Miyato et al. 2018,
//!   [`crate::spectral`]), one power iteration per critic update.

use std::collections::BTreeMap;

use candle_core::Tensor;
use gm_core::ParamStore;
use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::{Error, Result};

/// The tricks; the default turns all of them off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tricks {
    /// Critic updates per generator update (1 = alternate).
    pub n_critic: usize,
    /// Replace the generator's loss by feature matching.
    pub feature_matching: bool,
    /// Weight of the historical-averaging penalty (0 = off).
    pub historical_averaging: f64,
    /// Initial standard deviation of the instance noise (0 = off).
    pub instance_noise: f64,
    /// Steps over which the instance noise falls linearly to 0.
    pub instance_noise_anneal_steps: u64,
    /// One-sided label smoothing `s` (0 = off): real targets become `1 - s`.
    pub label_smoothing: f64,
    /// Decay `beta` of the generator's weight average (0 = off; 0.999 is usual).
    pub ema_decay: f64,
    /// Generator updates during which the average is a plain copy of the weights.
    pub ema_start: u64,
    /// Weight `gamma` of the R1 penalty on real items (0 = off).
    pub r1: f64,
    /// Weight `gamma` of the R2 penalty on generated items (0 = off).
    pub r2: f64,
    /// DiffAugment's policy, applied in this order (empty = off).
    pub diff_augment: Vec<Augment>,
    /// Spectral normalization of every critic layer.
    pub spectral_norm: bool,
}

impl Default for Tricks {
    fn default() -> Self {
        Self {
            n_critic: 1,
            feature_matching: false,
            historical_averaging: 0.0,
            instance_noise: 0.0,
            instance_noise_anneal_steps: 1,
            label_smoothing: 0.0,
            ema_decay: 0.0,
            ema_start: 0,
            r1: 0.0,
            r2: 0.0,
            diff_augment: Vec::new(),
            spectral_norm: false,
        }
    }
}

impl Tricks {
    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        if self.n_critic == 0 {
            return Err(Error::config("tricks.n_critic", 0, "must be at least 1"));
        }
        if !(self.historical_averaging.is_finite() && self.historical_averaging >= 0.0) {
            return Err(Error::config(
                "tricks.historical_averaging",
                self.historical_averaging,
                "must be finite and >= 0",
            ));
        }
        if !(self.instance_noise.is_finite() && self.instance_noise >= 0.0) {
            return Err(Error::config(
                "tricks.instance_noise",
                self.instance_noise,
                "must be finite and >= 0",
            ));
        }
        if self.instance_noise > 0.0 && self.instance_noise_anneal_steps == 0 {
            return Err(Error::config(
                "tricks.instance_noise_anneal_steps",
                0,
                "must be at least 1 when instance noise is on",
            ));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(Error::config(
                "tricks.label_smoothing",
                self.label_smoothing,
                "must lie in [0, 0.5)",
            ));
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return Err(Error::config(
                "tricks.ema_decay",
                self.ema_decay,
                "must lie in [0, 1) (0 turns the average off)",
            ));
        }
        for (field, v) in [("tricks.r1", self.r1), ("tricks.r2", self.r2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(field, v, "must be finite and >= 0"));
            }
        }
        Ok(())
    }

    /// Whether a penalty of these tricks differentiates a gradient (R1, R2).
    pub fn needs_second_order(&self) -> bool {
        self.r1 > 0.0 || self.r2 > 0.0
    }

    /// The instance-noise standard deviation at (1-based) step `step`.
    pub fn noise_std(&self, step: u64) -> f64 {
        if self.instance_noise == 0.0 {
            return 0.0;
        }
        let left = 1.0 - (step.saturating_sub(1)) as f64 / self.instance_noise_anneal_steps as f64;
        self.instance_noise * left.max(0.0)
    }

    /// The critic's target for real items.
    pub fn real_target(&self) -> f64 {
        1.0 - self.label_smoothing
    }
}

/// The running mean of a network's trainable parameters (running batch-norm statistics are
/// left out: they are not trained by gradient).
#[derive(Debug, Clone)]
pub struct HistoricalAverage {
    mean: BTreeMap<String, Tensor>,
    count: u64,
}

fn trainable(name: &str) -> bool {
    !name.contains("running_")
}

impl HistoricalAverage {
    /// Starts from the current parameters (count 1).
    pub fn new(store: &ParamStore) -> Result<Self> {
        let mean = store
            .tensors()
            .into_iter()
            .filter(|(k, _)| trainable(k))
            // A detached copy: a variable's storage is overwritten in place by each update,
            // and a copy that kept the variable in its graph would make every later mean a
            // graph over the whole history (memory and backward time growing with each step,
            // and a gradient scaled by 1 - 1/count).
            .map(|(k, v)| v.detach().copy().map(|c| (k, c)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self { mean, count: 1 })
    }

    /// Folds the current parameters into the mean.
    pub fn update(&mut self, store: &ParamStore) -> Result<()> {
        self.count += 1;
        let w = 1.0 / self.count as f64;
        for (name, var) in store.vars() {
            if let Some(m) = self.mean.get_mut(&name) {
                let d = (var.as_tensor().detach() - &*m)?;
                *m = (&*m + d.affine(w, 0.0)?)?.detach();
            }
        }
        Ok(())
    }

    /// `sum || theta - mean ||^2` over the parameters, differentiable in `theta`.
    pub fn penalty(&self, store: &ParamStore) -> Result<Tensor> {
        let mut total: Option<Tensor> = None;
        for (name, var) in store.vars() {
            if let Some(m) = self.mean.get(&name) {
                let s = (var.as_tensor() - m)?.sqr()?.sum_all()?;
                total = Some(match total {
                    Some(t) => (t + s)?,
                    None => s,
                });
            }
        }
        total.ok_or_else(|| Error::config("historical_averaging", "no parameters", "empty store"))
    }

    /// The mean as tensors named `{prefix}{param}`, and the count.
    pub fn state(&self, prefix: &str) -> (BTreeMap<String, Tensor>, u64) {
        (
            self.mean
                .iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
                .collect(),
            self.count,
        )
    }

    /// Restores a state written by [`HistoricalAverage::state`].
    pub fn load(
        &mut self,
        tensors: &BTreeMap<String, Tensor>,
        prefix: &str,
        count: u64,
    ) -> Result<()> {
        for (k, v) in self.mean.iter_mut() {
            let key = format!("{prefix}{k}");
            let t = tensors.get(&key).ok_or_else(|| {
                Error::config(
                    "checkpoint",
                    key.clone(),
                    "historical average tensor missing",
                )
            })?;
            *v = t.clone();
        }
        self.count = count;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_critic_cannot_be_zero() {
        let t = Tricks {
            n_critic: 0,
            ..Default::default()
        };
        assert!(matches!(
            t.validate(),
            Err(Error::Config {
                field: "tricks.n_critic",
                ..
            })
        ));
    }

    #[test]
    fn label_smoothing_must_be_below_half() {
        for s in [-0.1, 0.5, f64::NAN] {
            let t = Tricks {
                label_smoothing: s,
                ..Default::default()
            };
            assert!(matches!(
                t.validate(),
                Err(Error::Config {
                    field: "tricks.label_smoothing",
                    ..
                })
            ));
        }
    }

    #[test]
    fn negative_noise_and_averaging_are_refused() {
        let t = Tricks {
            instance_noise: -1.0,
            ..Default::default()
        };
        assert!(t.validate().is_err());
        let t = Tricks {
            historical_averaging: -1.0,
            ..Default::default()
        };
        assert!(matches!(
            t.validate(),
            Err(Error::Config {
                field: "tricks.historical_averaging",
                ..
            })
        ));
    }

    #[test]
    fn ema_decay_and_penalties_are_checked() {
        for (t, field) in [
            (
                Tricks {
                    ema_decay: 1.0,
                    ..Default::default()
                },
                "tricks.ema_decay",
            ),
            (
                Tricks {
                    r1: -1.0,
                    ..Default::default()
                },
                "tricks.r1",
            ),
            (
                Tricks {
                    r2: f64::INFINITY,
                    ..Default::default()
                },
                "tricks.r2",
            ),
        ] {
            match t.validate() {
                Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // An old config without the new fields still reads, with every trick off.
        let t: Tricks = serde_json::from_str(r#"{"n_critic": 5}"#).unwrap();
        assert_eq!(t.n_critic, 5);
        assert_eq!((t.ema_decay, t.r1, t.r2), (0.0, 0.0, 0.0));
        assert!(t.diff_augment.is_empty() && !t.needs_second_order());
    }

    #[test]
    fn noise_anneals_linearly_to_zero() {
        let t = Tricks {
            instance_noise: 0.4,
            instance_noise_anneal_steps: 4,
            ..Default::default()
        };
        let s: Vec<f64> = (1..=6).map(|k| t.noise_std(k)).collect();
        let want = [0.4, 0.3, 0.2, 0.1, 0.0, 0.0];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{s:?}");
        }
    }

    #[test]
    fn historical_average_is_the_running_mean() {
        let dev = candle_core::Device::Cpu;
        let store = ParamStore::new(0);
        let _ = candle_nn::linear(2, 1, store.var_builder(&dev).pp("fc")).unwrap();
        let vars = store.vars();
        let set = |v: f32| {
            for (_, var) in &vars {
                var.set(
                    &var.as_tensor()
                        .ones_like()
                        .unwrap()
                        .affine(v as f64, 0.0)
                        .unwrap(),
                )
                .unwrap();
            }
        };
        set(1.0);
        let mut h = HistoricalAverage::new(&store).unwrap();
        set(2.0);
        h.update(&store).unwrap();
        set(6.0);
        h.update(&store).unwrap();
        // mean of 1, 2, 6 = 3; penalty = 3 params * (6 - 3)^2 = 27.
        let penalty = h.penalty(&store).unwrap();
        let p = penalty.to_scalar::<f32>().unwrap();
        assert!((p - 27.0).abs() < 1e-4, "{p}");
        // The mean is a constant: d penalty / d theta = 2 (theta - mean) = 6 for every
        // parameter, and the mean carries no graph.
        let grads = penalty.backward().unwrap();
        for (name, var) in &vars {
            let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
            for x in g.to_vec1::<f32>().unwrap() {
                assert!((x - 6.0).abs() < 1e-4, "{name}: {x}");
            }
        }
        assert!(h.mean.values().all(|m| !m.track_op()));
    }
}
