//! The written-out training step of MLP VAEs with Bernoulli pixels on the CPU: the ELBO of
//! Kingma and Welling (2014) with the analytic KL term,
//!
//! ```text
//! -L = 1/n sum_i [ sum_j softplus(l_ij) - x_ij l_ij + 1/2 sum_k (mu_ik^2 + e^lv_ik - 1 - lv_ik) ],
//! z = mu + e^(lv / 2) eps,  l = dec(z),  (mu, lv) = enc(x),
//! ```
//!
//! differentiated by hand: `dL/dl = (sigmoid(l) - x) / n` through the decoder's
//! [`DenseStack`] to `dL/dz`, then `dL/dmu = dL/dz + mu / n` and
//! `dL/dlv = dL/dz eps e^(lv / 2) / 2 + (e^lv - 1) / (2 n)` through the encoder, whose two
//! heads run as one layer of `2 d` outputs. The noise is drawn as the autograd path draws it,
//! so the two paths see the same `eps`; candle's autograd stays the general path (other
//! likelihoods, the Monte Carlo KL, IWAE, convolutions) and the reference of the tests.

use candle_core::{DType, Device, Tensor};
use gm_core::nn::{DenseActivation, DenseStack};
use gm_core::{Adam, GmRng};

use crate::bound::KlEstimator;
use crate::config::Likelihood;
use crate::model::Vae;
use crate::trainer::Objective;
use crate::Result;

/// The encoder (hidden layers and both heads) and the decoder as dense stacks over the
/// model's candle parameters.
pub(crate) struct FusedVae {
    enc: DenseStack,
    dec: DenseStack,
    /// `[w0, b0, ...]` of the encoder's hidden layers, then mu's `[w, b]`, then logvar's.
    enc_params: Vec<Tensor>,
    dec_params: Vec<Tensor>,
    latent: usize,
}

/// The ELBO's means over the batch before the update, and the gradients of its negation.
pub(crate) struct FusedElbo {
    pub elbo: f64,
    pub kl: f64,
    enc_grads: Vec<Vec<f32>>,
    dec_grads: Vec<Vec<f32>>,
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

impl FusedVae {
    /// The fused step for `vae` trained on `objective`, or `None` where the model, the
    /// objective, the device or the precision need the autograd path.
    pub(crate) fn new(vae: &Vae, objective: Objective, device: &Device) -> Result<Option<Self>> {
        let cfg = vae.config();
        let analytic = matches!(
            objective,
            Objective::Elbo {
                kl: KlEstimator::Analytic
            }
        );
        if !device.is_cpu() || !analytic || cfg.likelihood != Likelihood::Bernoulli {
            return Ok(None);
        }
        let (Some((hidden, mu, logvar)), Some(dec_params)) =
            (vae.encoder().dense_parts()?, vae.decoder().dense_parts()?)
        else {
            return Ok(None);
        };
        let mut enc_params = hidden;
        enc_params.extend(mu);
        enc_params.extend(logvar);
        if enc_params
            .iter()
            .chain(&dec_params)
            .any(|p| p.dtype() != DType::F32)
        {
            return Ok(None);
        }
        let d = cfg.latent_dim;
        let mut ew = vec![cfg.data_dim()];
        ew.extend(&cfg.encoder_hidden);
        ew.push(2 * d);
        let mut dw = vec![d];
        dw.extend(&cfg.decoder_hidden);
        dw.push(cfg.data_dim());
        let act = cfg.activation.dense();
        Ok(Some(Self {
            enc: DenseStack::new(&ew, act, DenseActivation::Identity)?,
            dec: DenseStack::new(&dw, act, DenseActivation::Identity)?,
            enc_params,
            dec_params,
            latent: d,
        }))
    }

    /// The encoder's parameters as its stack takes them: the two heads stacked into one
    /// layer (mu's rows first).
    fn enc_host(&self) -> Result<Vec<Vec<f32>>> {
        let k = self.enc_params.len();
        let mut p = self.enc_params[..k - 4]
            .iter()
            .map(host)
            .collect::<Result<Vec<_>>>()?;
        let (mut w, mut b) = (
            host(&self.enc_params[k - 4])?,
            host(&self.enc_params[k - 3])?,
        );
        w.extend(host(&self.enc_params[k - 2])?);
        b.extend(host(&self.enc_params[k - 1])?);
        p.push(w);
        p.push(b);
        Ok(p)
    }

    /// The ELBO terms of the flat batch `x` `(n, D)` and the gradients of `-mean ELBO`, with
    /// `eps ~ N(0, I)` drawn from `rng` as the autograd path draws it.
    pub(crate) fn elbo_grads(&self, x: &Tensor, rng: &mut GmRng) -> Result<FusedElbo> {
        let (n, dim) = x.dims2()?;
        if dim != self.dec.widths()[self.dec.widths().len() - 1] {
            return Err(crate::Error::config(
                "data_shape",
                dim,
                "does not match the decoder",
            ));
        }
        let d = self.latent;
        let eps = host(&rng.normal((n, d), 0.0, 1.0, &Device::Cpu)?)?;
        let xs = host(x)?;
        let ep = self.enc_host()?;
        let ep: Vec<&[f32]> = ep.iter().map(|v| v.as_slice()).collect();
        let dp = self
            .dec_params
            .iter()
            .map(host)
            .collect::<Result<Vec<_>>>()?;
        let dp: Vec<&[f32]> = dp.iter().map(|v| v.as_slice()).collect();

        let enc = self.enc.forward(&ep, xs, n)?;
        let heads = enc.output();
        let mut z = vec![0f32; n * d];
        let mut std = vec![0f32; n * d];
        let mut kl = 0f64;
        for i in 0..n {
            for k in 0..d {
                let (mu, lv) = (heads[i * 2 * d + k], heads[i * 2 * d + d + k]);
                let s = (0.5 * lv).exp();
                std[i * d + k] = s;
                z[i * d + k] = mu + s * eps[i * d + k];
                kl += 0.5 * (mu * mu + s * s - 1.0 - lv) as f64;
            }
        }
        let dec = self.dec.forward(&dp, z, n)?;
        let inv_n = 1.0 / n as f32;
        let mut rec = 0f64;
        let xs = enc.input();
        let mut d_logits = Vec::with_capacity(n * dim);
        for (&l, &xv) in dec.output().iter().zip(xs.iter()) {
            // One exponential for both: e = exp(-|l|), softplus(l) = max(l, 0) + ln(1 + e),
            // sigmoid(l) = 1 / (1 + e) or e / (1 + e). ln(1 + e) rather than ln_1p(e): e is
            // in (0, 1], where the two differ by under 1e-7, and ln is the faster.
            let e = (-l.abs()).exp();
            let sig = if l >= 0.0 { 1.0 } else { e } / (1.0 + e);
            rec += (l.max(0.0) + (1.0 + e).ln() - xv * l) as f64;
            d_logits.push((sig - xv) * inv_n);
        }
        let mut dec_grads = self.dec.zero_grads();
        let dz = self
            .dec
            .backward(&dp, &dec, d_logits, Some(&mut dec_grads), true)?
            .unwrap_or_default();
        let mut d_heads = vec![0f32; n * 2 * d];
        for i in 0..n {
            for k in 0..d {
                let mu = heads[i * 2 * d + k];
                let (g, s) = (dz.get(i * d + k).copied().unwrap_or(0.0), std[i * d + k]);
                d_heads[i * 2 * d + k] = g + mu * inv_n;
                d_heads[i * 2 * d + d + k] =
                    0.5 * g * eps[i * d + k] * s + 0.5 * (s * s - 1.0) * inv_n;
            }
        }
        let mut stacked = self.enc.zero_grads();
        self.enc
            .backward(&ep, &enc, d_heads, Some(&mut stacked), false)?;
        // Split the stacked heads' gradients back into mu's and logvar's.
        let (bh, wh) = (
            stacked.pop().unwrap_or_default(),
            stacked.pop().unwrap_or_default(),
        );
        let half_w = wh.len() / 2;
        stacked.push(wh[..half_w].to_vec());
        stacked.push(bh[..d.min(bh.len())].to_vec());
        stacked.push(wh[half_w..].to_vec());
        stacked.push(bh[d.min(bh.len())..].to_vec());
        let (rec, kl) = (rec / n as f64, kl / n as f64);
        Ok(FusedElbo {
            elbo: -(rec + kl),
            kl,
            enc_grads: stacked,
            dec_grads,
        })
    }

    /// One Adam step from the gradients of [`FusedVae::elbo_grads`].
    pub(crate) fn update(&self, opt: &mut Adam, g: &FusedElbo) -> Result<()> {
        let pairs: Vec<(&Tensor, &[f32])> = self
            .enc_params
            .iter()
            .zip(&g.enc_grads)
            .chain(self.dec_params.iter().zip(&g.dec_grads))
            .map(|(p, g)| (p, g.as_slice()))
            .collect();
        Ok(opt.step_host(&pairs)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bound::elbo_terms;
    use crate::config::{Activation, VaeConfig};
    use crate::trainer::{VaeTrainConfig, VaeTrainer};
    use gm_core::ParamStore;

    fn config(activation: Activation, hidden: Vec<usize>) -> VaeConfig {
        VaeConfig {
            data_shape: vec![1, 4, 5],
            latent_dim: 3,
            encoder_hidden: hidden.clone(),
            decoder_hidden: hidden,
            activation,
            ..VaeConfig::pytorch_example()
        }
    }

    /// The written-out ELBO and its gradients against candle's autograd on the same model,
    /// batch and noise, for each activation and for a model without hidden layers.
    #[test]
    fn fused_elbo_and_gradients_match_autograd() {
        let dev = Device::Cpu;
        for (act, hidden) in [
            (Activation::Relu, vec![16, 8]),
            (Activation::Tanh, vec![12]),
            (Activation::Softplus, vec![10]),
            (Activation::Relu, vec![]),
        ] {
            let store = ParamStore::new(5);
            let vae = Vae::init(config(act, hidden.clone()), &store, &dev).unwrap();
            let objective = Objective::Elbo {
                kl: KlEstimator::Analytic,
            };
            let f = FusedVae::new(&vae, objective, &dev).unwrap().unwrap();
            let mut rng = GmRng::new(8);
            let x = rng
                .uniform((13, 1, 4, 5), 0.0, 1.0, &dev)
                .unwrap()
                .ge(0.5)
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap();
            let flat = vae.flatten_input(&x).unwrap();
            let got = f.elbo_grads(&flat, &mut rng.clone()).unwrap();
            let t = elbo_terms(&vae, &x, KlEstimator::Analytic, &mut rng).unwrap();
            let (elbo, _, kl) = t.means().unwrap();
            let what = format!("{act:?} {hidden:?}");
            assert!(
                (got.elbo - elbo).abs() <= 1e-5 * elbo.abs(),
                "{what}: {} vs {elbo}",
                got.elbo
            );
            assert!(
                (got.kl - kl).abs() <= 1e-5 * kl.abs().max(1.0),
                "{what}: kl"
            );
            let grads = t
                .elbo
                .mean_all()
                .unwrap()
                .neg()
                .unwrap()
                .backward()
                .unwrap();
            let params = f.enc_params.iter().zip(&got.enc_grads);
            for (i, (p, g)) in params
                .chain(f.dec_params.iter().zip(&got.dec_grads))
                .enumerate()
            {
                let r = host(grads.get(p).unwrap()).unwrap();
                // A gradient is a mean of 13 per-image terms: one term's size bounds the
                // rounding of one that cancels.
                let scale = r.iter().fold(1.0 / 13.0f32, |m, v| m.max(v.abs()));
                for (a, b) in g.iter().zip(&r) {
                    assert!(
                        (a - b).abs() <= 1e-5 * scale,
                        "{what}: parameter {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// Twenty steps on each path follow the same ELBOs; the path applies only where allowed.
    #[test]
    fn fused_training_follows_the_autograd_run_and_applies_only_where_allowed() {
        let dev = Device::Cpu;
        let cfg = VaeTrainConfig {
            model: config(Activation::Relu, vec![16]),
            eval_images: 0,
            ..Default::default()
        };
        let mut fused = VaeTrainer::new(cfg.clone(), 3, None, &dev).unwrap();
        let mut plain = VaeTrainer::new(cfg.clone(), 3, None, &dev).unwrap();
        plain.set_fused(false).unwrap();
        assert!(fused.is_fused() && !plain.is_fused());
        let x = GmRng::new(1)
            .uniform((32, 1, 4, 5), 0.0, 1.0, &dev)
            .unwrap();
        let (mut r1, mut r2) = (GmRng::new(2), GmRng::new(2));
        for step in 0..20 {
            let a = fused.train_step(&x, &mut r1).unwrap();
            let b = plain.train_step(&x, &mut r2).unwrap();
            for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
                assert_eq!(ka, kb);
                assert!(
                    (va - vb).abs() <= 1e-3 * vb.abs().max(1.0),
                    "step {step} {ka}: {va} vs {vb}"
                );
            }
        }
        assert_eq!(r1.state(), r2.state());
        for other in [
            VaeTrainConfig {
                objective: Objective::Iwae { k: 2 },
                ..cfg.clone()
            },
            VaeTrainConfig {
                objective: Objective::Elbo {
                    kl: KlEstimator::MonteCarlo,
                },
                ..cfg.clone()
            },
            VaeTrainConfig {
                model: VaeConfig {
                    likelihood: Likelihood::Gaussian { std: 0.5 },
                    ..cfg.model.clone()
                },
                binarize: false,
                ..cfg.clone()
            },
        ] {
            assert!(!VaeTrainer::new(other, 3, None, &dev).unwrap().is_fused());
        }
    }
}
