//! The written-out training step of the multi-scale image flow on the CPU: the forward pass
//! of every layer on host memory keeps what its backward pass needs, the backward pass is
//! written out layer by layer ([`steps`]), the coupling networks' convolutions are im2col
//! matrix products over the whole batch ([`conv`]), and Adam updates from the host
//! gradients. candle's autograd creates a zeroed buffer and an addition for every graph node
//! and broadcasts every mask and per-channel scale; on this flow that bookkeeping costs more
//! than the products. candle's autograd stays the general path (other devices and
//! precisions, the 2-D flows) and the reference the tests compare this one with.

pub(crate) mod conv;
pub(crate) mod steps;

use candle_core::{DType, Tensor};
use gm_core::Adam;

use crate::layers::{Mask, ScaleFn};
use crate::Result;
use conv::{Grid, HostConv, HostConvNet};
use steps::{HostScale, LuParams, Planes, Split, Step, Totals};

/// A layer of the flow as the written-out step sees it: its kind and its parameters.
#[derive(Debug, Clone)]
pub(crate) enum HostLayer {
    ActNorm {
        bias: Tensor,
        logs: Tensor,
    },
    InvConv {
        lower: Tensor,
        upper: Tensor,
        log_s: Tensor,
        perm: Tensor,
        sign: Tensor,
    },
    /// An image coupling with a 3x3 / 1x1 / 3x3 convolutional conditioner, `(weight, bias)`
    /// each.
    Coupling {
        mask: Mask,
        scale_fn: ScaleFn,
        scale: Option<Tensor>,
        convs: [(Tensor, Tensor); 3],
    },
    Squeeze,
    /// The first `k` channels leave for the latent.
    FactorOut(usize),
}

/// The flow's layers over host copies of its parameters.
#[derive(Debug)]
pub(crate) struct FusedFlow {
    params: Vec<Tensor>,
    /// Whether Adam trains the parameter (the 1x1 convolutions' permutations and signs are
    /// fixed).
    trained: Vec<bool>,
    steps: Vec<Step>,
}

/// The mean negative log-likelihood before the update and the gradients of the loss.
pub(crate) struct FusedLoss {
    /// `1/n sum_i -log p(y_i)` of the continuous density (nats per image), the logit
    /// transform's log-determinant included.
    pub nll: f64,
    grads: Vec<Vec<f32>>,
}

impl FusedFlow {
    /// The written-out step over `layers`, or `None` where a parameter is not an f32 tensor
    /// on the CPU or a layer has no written-out form.
    pub fn new(layers: &[HostLayer]) -> Option<Self> {
        let mut f = Self {
            params: Vec::new(),
            trained: Vec::new(),
            steps: Vec::with_capacity(layers.len()),
        };
        for layer in layers {
            let step = match layer {
                HostLayer::ActNorm { bias, logs } => Step::ActNorm {
                    bias: f.register(bias, true)?,
                    logs: f.register(logs, true)?,
                },
                HostLayer::InvConv {
                    lower,
                    upper,
                    log_s,
                    perm,
                    sign,
                } => Step::InvConv {
                    c: log_s.elem_count(),
                    lu: LuParams {
                        lower: f.register(lower, true)?,
                        upper: f.register(upper, true)?,
                        log_s: f.register(log_s, true)?,
                        perm: f.register(perm, false)?,
                        sign: f.register(sign, false)?,
                    },
                },
                HostLayer::Coupling {
                    mask,
                    scale_fn,
                    scale,
                    convs,
                } => {
                    let scale = match (scale_fn, scale) {
                        (ScaleFn::Tanh, Some(a)) => HostScale::Tanh(f.register(a, true)?),
                        (ScaleFn::Sigmoid, _) => HostScale::Sigmoid,
                        (ScaleFn::Tanh, None) => return None,
                    };
                    let mut host = [None; 3];
                    for (slot, (w, b)) in host.iter_mut().zip(convs) {
                        let (c_out, c_in, k, k2) = w.dims4().ok()?;
                        if k != k2 || !(k == 1 || k == 3) {
                            return None;
                        }
                        *slot = Some(HostConv {
                            weight: f.register(w, true)?,
                            bias: f.register(b, true)?,
                            c_in,
                            c_out,
                            k,
                        });
                    }
                    let net = HostConvNet {
                        convs: [host[0]?, host[1]?, host[2]?],
                    };
                    match *mask {
                        Mask::Checkerboard { odd } => Step::Coupling {
                            split: Split::Checkerboard(odd),
                            scale,
                            net,
                        },
                        Mask::Channel { flip } => Step::Coupling {
                            split: Split::Channel(flip),
                            scale,
                            net,
                        },
                        Mask::Alternating { .. } => return None,
                    }
                }
                HostLayer::Squeeze => Step::Squeeze,
                HostLayer::FactorOut(k) => Step::FactorOut(*k),
            };
            f.steps.push(step);
        }
        Some(f)
    }

    fn register(&mut self, t: &Tensor, trained: bool) -> Option<usize> {
        if t.dtype() != DType::F32 || !t.device().is_cpu() || (trained && !t.is_variable()) {
            return None;
        }
        self.params.push(t.clone());
        self.trained.push(trained);
        Some(self.params.len() - 1)
    }

    /// The loss `1/(n D) sum_i -log p(y_i)` and its gradients at the logit-space images `h
    /// (n, c, height, width)`, given the logit transform's log-determinant summed over the
    /// batch (`logit_logdet`; no parameter depends on it).
    pub fn loss(&self, h: &Tensor, logit_logdet: f64) -> Result<FusedLoss> {
        let (n, c, height, width) = h.dims4()?;
        let g = Grid {
            n,
            h: height,
            w: width,
        };
        let data = h
            .transpose(0, 1)?
            .contiguous()?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let p: Vec<Vec<f32>> = self
            .params
            .iter()
            .map(|t| t.flatten_all().and_then(|t| t.to_vec1::<f32>()))
            .collect::<candle_core::Result<_>>()?;
        let d = c * height * width;
        let latent_scale = 1.0 / (n * d) as f32;
        let mut totals = Totals::default();
        let mut inputs = Vec::with_capacity(self.steps.len());
        let mut tapes = Vec::with_capacity(self.steps.len());
        let mut x = Planes { data, c, g };
        for step in &self.steps {
            let (next, tape) = step.forward(&p, &x, &mut totals);
            inputs.push(x);
            tapes.push(tape);
            x = next;
        }
        totals.latent_sq += x
            .data
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>();
        let mut grads: Vec<Vec<f32>> = p.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut dz: Vec<f32> = x.data.iter().map(|&v| v * latent_scale).collect();
        for ((step, x), tape) in self.steps.iter().zip(&inputs).zip(&tapes).rev() {
            dz = step.backward(&p, &mut grads, (x, tape), dz, latent_scale);
        }
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let nll = (0.5 * totals.latent_sq - totals.logdet - logit_logdet) / n as f64
            + d as f64 * half_log_2pi;
        Ok(FusedLoss { nll, grads })
    }

    /// One Adam step from the gradients of [`FusedFlow::loss`].
    pub fn update(&self, opt: &mut Adam, loss: &FusedLoss) -> Result<()> {
        let pairs: Vec<(&Tensor, &[f32])> = self
            .params
            .iter()
            .zip(&loss.grads)
            .zip(&self.trained)
            .filter(|(_, &t)| t)
            .map(|((p, g), _)| (p, g.as_slice()))
            .collect();
        Ok(opt.step_host(&pairs)?)
    }

    /// The gradient of the loss with respect to each trained parameter, beside it.
    #[cfg(test)]
    pub fn gradients<'a>(&'a self, loss: &'a FusedLoss) -> Vec<(&'a Tensor, &'a [f32])> {
        self.params
            .iter()
            .zip(&loss.grads)
            .zip(&self.trained)
            .filter(|(_, &t)| t)
            .map(|((p, g), _)| (p, g.as_slice()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
