//! Adam (Kingma and Ba, 2015) with optional decoupled weight decay (AdamW, Loshchilov and
//! Hutter), whose moments are saveable so that a resumed run is bit-identical:
//!
//! m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
//! p <- p - lr (wd p + (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)).
//!
//! On the CPU the update of each parameter is one pass over flat f32 buffers.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

use crate::rng::ParamStore;
use crate::{Error, Result};

/// Adam hyperparameters (PyTorch's defaults; weight decay 0).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Learning rate, positive and finite.
    pub lr: f64,
    /// Decay rate of the first-moment (mean) estimate, in `[0, 1)`.
    pub beta1: f64,
    /// Decay rate of the second-moment (uncentred variance) estimate, in `[0, 1)`.
    pub beta2: f64,
    /// Added to the denominator `sqrt(v)` for numerical stability, positive.
    pub eps: f64,
    /// Decoupled weight decay (0 = plain Adam).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, v: f64, reason: &'static str| Error::Config {
            field,
            value: v.to_string(),
            reason,
        };
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(bad(
                "lr",
                self.lr,
                "learning rate must be positive and finite",
            ));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(bad("beta1", self.beta1, "must lie in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return Err(bad("beta2", self.beta2, "must lie in [0, 1)"));
        }
        if self.eps.is_nan() || self.eps <= 0.0 {
            return Err(bad("eps", self.eps, "must be positive"));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(bad(
                "weight_decay",
                self.weight_decay,
                "must be non-negative",
            ));
        }
        Ok(())
    }
}

enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device { m: Tensor, v: Tensor },
}

/// Adam over the variables of one [`ParamStore`].
pub struct Adam {
    cfg: AdamConfig,
    params: Vec<(String, Var)>,
    moments: Vec<Moments>,
    t: u64,
}

impl Adam {
    /// Adam with zero moments over the variables `store` holds now (build the model first),
    /// after validating `cfg`.
    pub fn new(store: &ParamStore, cfg: AdamConfig) -> Result<Self> {
        cfg.validate()?;
        let params = store.vars();
        let moments = params
            .iter()
            .map(|(_, v)| -> Result<Moments> {
                let n = v.elem_count();
                Ok(if v.device().is_cpu() {
                    Moments::Host {
                        m: vec![0.0; n],
                        v: vec![0.0; n],
                    }
                } else {
                    Moments::Device {
                        m: v.zeros_like()?,
                        v: v.zeros_like()?,
                    }
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            cfg,
            params,
            moments,
            t: 0,
        })
    }

    /// The hyperparameters, with the learning rate last set by [`Adam::set_lr`].
    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    /// Sets the learning rate of the following steps (for a schedule).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Computes the gradients of `loss` and applies one update.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// Applies one update from `grads`; a parameter without gradient is left unchanged
    /// (its moments too).
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.t += 1;
        let c = self.cfg;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        for ((_, var), mom) in self.params.iter().zip(self.moments.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            match mom {
                Moments::Host { m, v } => {
                    let g = g.flatten_all()?.to_vec1::<f32>()?;
                    host_update(&c, bc1, bc2, var, &g, m, v)?;
                }
                Moments::Device { m, v } => {
                    let nm = ((m.affine(c.beta1, 0.0)? + g.affine(1.0 - c.beta1, 0.0)?)?).detach();
                    let nv = ((v.affine(c.beta2, 0.0)? + g.sqr()?.affine(1.0 - c.beta2, 0.0)?)?)
                        .detach();
                    let denom = (nv.affine(1.0 / bc2, 0.0)?.sqrt()? + c.eps)?;
                    let upd = nm.affine(c.lr / bc1, 0.0)?.div(&denom)?;
                    let p = var
                        .as_tensor()
                        .affine(1.0 - c.lr * c.weight_decay, 0.0)?
                        .sub(&upd)?;
                    var.set(&p)?;
                    *m = nm;
                    *v = nv;
                }
            }
        }
        Ok(())
    }

    /// Applies one update from gradients computed on the host (row-major, laid out as the
    /// parameter), each given beside the parameter's tensor; the parameters not listed are
    /// left unchanged. The same arithmetic as [`Adam::step`] on the CPU; an error for a
    /// parameter kept on another device, a tensor that is not one of this optimizer's, or a
    /// gradient of the wrong length.
    pub fn step_host(&mut self, grads: &[(&Tensor, &[f32])]) -> Result<()> {
        let index: Vec<usize> = grads
            .iter()
            .map(|(t, g)| {
                let i = self
                    .params
                    .iter()
                    .position(|(_, v)| v.as_tensor().id() == t.id())
                    .ok_or_else(|| {
                        Error::Msg("host gradient for a tensor Adam does not train".into())
                    })?;
                let (name, var) = &self.params[i];
                if g.len() != var.elem_count() {
                    return Err(Error::Size {
                        what: format!("host gradient of `{name}`"),
                        got: g.len(),
                        expected: var.elem_count(),
                    });
                }
                Ok(i)
            })
            .collect::<Result<_>>()?;
        self.t += 1;
        let c = self.cfg;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        for (i, (_, g)) in index.into_iter().zip(grads) {
            let (name, var) = &self.params[i];
            let Moments::Host { m, v } = &mut self.moments[i] else {
                return Err(Error::Msg(format!(
                    "`{name}` lives on {:?}: host gradients update CPU parameters only",
                    var.device()
                )));
            };
            host_update(&c, bc1, bc2, var, g, m, v)?;
        }
        Ok(())
    }

    /// The moments as tensors named `{prefix}m.{param}` / `{prefix}v.{param}`.
    pub fn state_tensors(&self, prefix: &str) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for ((name, var), mom) in self.params.iter().zip(&self.moments) {
            let (m, v) = match mom {
                Moments::Host { m, v } => (
                    Tensor::from_vec(m.clone(), var.shape(), &Device::Cpu)?,
                    Tensor::from_vec(v.clone(), var.shape(), &Device::Cpu)?,
                ),
                Moments::Device { m, v } => (m.clone(), v.clone()),
            };
            out.insert(format!("{prefix}m.{name}"), m);
            out.insert(format!("{prefix}v.{name}"), v);
        }
        Ok(out)
    }

    /// Restores moments saved by [`Adam::state_tensors`] and the step count `t`.
    pub fn load_state(
        &mut self,
        tensors: &BTreeMap<String, Tensor>,
        prefix: &str,
        t: u64,
    ) -> Result<()> {
        for ((name, var), mom) in self.params.iter().zip(self.moments.iter_mut()) {
            let get = |k: String| -> Result<Tensor> {
                let x = tensors
                    .get(&k)
                    .ok_or_else(|| Error::Msg(format!("optimizer state `{k}` is missing")))?;
                if x.dims() != var.dims() {
                    return Err(Error::Msg(format!(
                        "optimizer state `{k}` has shape {:?}, expected {:?}",
                        x.dims(),
                        var.dims()
                    )));
                }
                Ok(x.clone())
            };
            let (m, v) = (
                get(format!("{prefix}m.{name}"))?,
                get(format!("{prefix}v.{name}"))?,
            );
            *mom = match mom {
                Moments::Host { .. } => Moments::Host {
                    m: m.flatten_all()?.to_vec1::<f32>()?,
                    v: v.flatten_all()?.to_vec1::<f32>()?,
                },
                Moments::Device { .. } => Moments::Device {
                    m: m.to_device(var.device())?,
                    v: v.to_device(var.device())?,
                },
            };
        }
        self.t = t;
        Ok(())
    }
}

/// One Adam update of a CPU parameter from its host gradient `g` and moments `m`, `v`, with
/// the bias corrections `bc1 = 1 - beta1^t`, `bc2 = 1 - beta2^t`.
fn host_update(
    c: &AdamConfig,
    bc1: f64,
    bc2: f64,
    var: &Var,
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) -> Result<()> {
    let mut p = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
    let (b1, b2) = (c.beta1 as f32, c.beta2 as f32);
    let step = (c.lr / bc1) as f32;
    let inv_bc2 = (1.0 / bc2) as f32;
    let decay = (1.0 - c.lr * c.weight_decay) as f32;
    let eps = c.eps as f32;
    for i in 0..p.len() {
        let gi = g[i];
        let mi = b1 * m[i] + (1.0 - b1) * gi;
        let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / ((vi * inv_bc2).sqrt() + eps);
    }
    var.set(&Tensor::from_vec(p, var.shape(), &Device::Cpu)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent scalar f64 transcription of Algorithm 1 of Kingma and Ba (2015).
    fn adam_reference(mut p: f64, grad: impl Fn(f64) -> f64, lr: f64, steps: u32) -> f64 {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let (mut m, mut v) = (0.0, 0.0);
        for t in 1..=steps as i32 {
            let g = grad(p);
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            p -= lr * (m / (1.0 - b1.powi(t))) / ((v / (1.0 - b2.powi(t))).sqrt() + eps);
        }
        p
    }

    #[test]
    fn matches_the_algorithm_on_a_quadratic() {
        let store = ParamStore::new(0);
        let vb = store.var_builder(&Device::Cpu);
        let p = vb
            .get_with_hints(2, "p", candle_nn::init::Init::Const(0.0))
            .unwrap();
        store.varmap().data().lock().unwrap()["p"]
            .set(&Tensor::new(&[1f32, -2.0], &Device::Cpu).unwrap())
            .unwrap();
        let mut opt = Adam::new(
            &store,
            AdamConfig {
                lr: 0.1,
                ..Default::default()
            },
        )
        .unwrap();
        for _ in 0..10 {
            let loss = p.sqr().unwrap().sum_all().unwrap();
            opt.backward_step(&loss).unwrap();
        }
        let v = p.to_vec1::<f32>().unwrap();
        let r0 = adam_reference(1.0, |x| 2.0 * x, 0.1, 10);
        let r1 = adam_reference(-2.0, |x| 2.0 * x, 0.1, 10);
        assert!((v[0] as f64 - r0).abs() < 1e-5, "{v:?} vs {r0}");
        assert!((v[1] as f64 - r1).abs() < 1e-5, "{v:?} vs {r1}");
        assert!(r0.abs() < 1.0 && r1.abs() < 2.0);
    }

    /// Host gradients take the same arithmetic as a backward pass; a gradient of the wrong
    /// length or for a tensor the optimizer does not hold is refused.
    #[test]
    fn host_gradients_update_as_backward_does() {
        let run = |host: bool| {
            let store = ParamStore::new(0);
            let vb = store.var_builder(&Device::Cpu);
            let init = candle_nn::init::Init::Const(0.5);
            let p = vb.get_with_hints(3, "p", init).unwrap();
            let q = vb.get_with_hints(2, "q", init).unwrap();
            let mut opt = Adam::new(&store, AdamConfig::default()).unwrap();
            for _ in 0..5 {
                // loss = sum p^3 (q untouched): gradient 3 p^2.
                if host {
                    let g: Vec<f32> = p
                        .to_vec1::<f32>()
                        .unwrap()
                        .iter()
                        .map(|x| 3.0 * x * x)
                        .collect();
                    opt.step_host(&[(&p, &g)]).unwrap();
                } else {
                    opt.backward_step(&p.powf(3.0).unwrap().sum_all().unwrap())
                        .unwrap();
                }
            }
            let short = opt.step_host(&[(&p, &[1.0f32][..])]);
            assert!(matches!(
                short,
                Err(Error::Size {
                    got: 1,
                    expected: 3,
                    ..
                })
            ));
            let stranger = Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap();
            assert!(opt.step_host(&[(&stranger, &[0.0f32; 3][..])]).is_err());
            (
                p.to_vec1::<f32>().unwrap(),
                q.to_vec1::<f32>().unwrap(),
                opt.steps(),
            )
        };
        let (a, b) = (run(true), run(false));
        assert_eq!(a.1, vec![0.5, 0.5]);
        assert_eq!(a.2, 5);
        for (x, y) in a.0.iter().zip(&b.0) {
            assert!((x - y).abs() <= 1e-6, "{:?} vs {:?}", a.0, b.0);
        }
    }

    #[test]
    fn bad_hyperparameters_are_named() {
        for (cfg, field) in [
            (
                AdamConfig {
                    lr: -1.0,
                    ..Default::default()
                },
                "lr",
            ),
            (
                AdamConfig {
                    lr: 0.0,
                    ..Default::default()
                },
                "lr",
            ),
            (
                AdamConfig {
                    beta1: 1.0,
                    ..Default::default()
                },
                "beta1",
            ),
            (
                AdamConfig {
                    beta2: -0.1,
                    ..Default::default()
                },
                "beta2",
            ),
            (
                AdamConfig {
                    eps: 0.0,
                    ..Default::default()
                },
                "eps",
            ),
            (
                AdamConfig {
                    weight_decay: -1.0,
                    ..Default::default()
                },
                "weight_decay",
            ),
        ] {
            let e = cfg.validate().unwrap_err();
            assert!(
                matches!(e, Error::Config { field: f, .. } if f == field),
                "{e}"
            );
        }
    }
}
