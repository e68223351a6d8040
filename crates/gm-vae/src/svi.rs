//! Amortized versus per-datapoint variational inference.
//!
//! Stochastic variational inference (Hoffman, Blei, Wang and Paisley, 2013) keeps free
//! variational parameters phi_i = (mu_i, logvar_i) for every data point: for each minibatch
//! it takes `inner_steps` gradient steps on the phi_i (decoder fixed), then one step on the
//! decoder theta (phi fixed), both on the ELBO
//! log p(x_i|z) - KL(N(mu_i, diag e^{logvar_i}) || N(0, I)), z = mu_i + sigma_i eps.
//! A VAE instead amortizes: phi_i = encoder(x_i), one network for all points (Kingma and
//! Welling, 2014). [`refine_local`] also measures the amortization gap (Cremer, Li and
//! Duvenaud, 2018): the ELBO gained by optimising phi_i from the encoder's output.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Tensor};
use gm_core::{Adam, AdamConfig, GmRng, ParamStore};
use serde::{Deserialize, Serialize};

use crate::bound::{kl_standard_normal, observation_log_likelihood, reparameterize};
use crate::config::VaeConfig;
use crate::model::Decoder;
use crate::{Error, Result};

/// Hyperparameters of per-datapoint SVI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SviConfig {
    /// Passes over the data, at least 1.
    pub epochs: usize,
    /// Data points per minibatch, at least 1.
    pub batch_size: usize,
    /// Gradient steps on the local phi_i per minibatch, before the step on theta.
    pub inner_steps: usize,
    /// Adam for the local parameters (a fresh optimizer per minibatch visit).
    pub local_adam: AdamConfig,
    /// Adam for the decoder.
    pub adam: AdamConfig,
    /// Standard deviation of the initial mu_i (logvar_i starts at 0).
    pub init_std: f64,
}

impl Default for SviConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 100,
            inner_steps: 5,
            local_adam: AdamConfig {
                lr: 1e-1,
                ..Default::default()
            },
            adam: AdamConfig::default(),
            init_std: 0.01,
        }
    }
}

impl SviConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", 0, "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", 0, "must be at least 1"));
        }
        if self.inner_steps == 0 {
            return Err(Error::config("inner_steps", 0, "must be at least 1"));
        }
        if !(self.init_std >= 0.0 && self.init_std.is_finite()) {
            return Err(Error::config(
                "init_std",
                self.init_std,
                "must be non-negative and finite",
            ));
        }
        self.local_adam.validate()?;
        self.adam.validate()?;
        Ok(())
    }
}

/// Per-image one-sample ELBO `(n,)` of flat `x` under free (mu, logvar).
pub fn local_elbo(
    decoder: &Decoder,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    rng: &mut GmRng,
) -> Result<Tensor> {
    let eps = rng.normal(mu.shape(), 0.0, 1.0, x.device())?;
    let z = reparameterize(mu, logvar, &eps)?;
    let out = decoder.decode(&z)?;
    let lpx = observation_log_likelihood(decoder.config().likelihood, x, &out)?;
    Ok((lpx - kl_standard_normal(mu, logvar)?)?)
}

/// Mean ELBO (nats per image) of flat `x` under (mu, logvar), averaged over `samples` draws.
pub fn mean_local_elbo(
    decoder: &Decoder,
    x: &Tensor,
    mu: &Tensor,
    logvar: &Tensor,
    samples: usize,
    rng: &mut GmRng,
) -> Result<f64> {
    let mut acc = 0.0;
    for _ in 0..samples.max(1) {
        acc += local_elbo(decoder, x, mu, logvar, rng)?
            .mean_all()?
            .to_scalar::<f32>()? as f64;
    }
    Ok(acc / samples.max(1) as f64)
}

/// `steps` Adam steps on free (mu, logvar) of flat `x` from `(mu0, logvar0)`, the decoder
/// fixed; returns the optimised pair.
pub fn refine_local(
    decoder: &Decoder,
    x: &Tensor,
    mu0: &Tensor,
    logvar0: &Tensor,
    steps: usize,
    adam: AdamConfig,
    rng: &mut GmRng,
) -> Result<(Tensor, Tensor)> {
    let store = ParamStore::new(0);
    let vb = store.var_builder(x.device());
    let shape = mu0.dims().to_vec();
    let mu = vb.get_with_hints(shape.clone(), "mu", candle_nn::Init::Const(0.0))?;
    let lv = vb.get_with_hints(shape, "logvar", candle_nn::Init::Const(0.0))?;
    let init = BTreeMap::from([
        ("mu".to_string(), mu0.detach()),
        ("logvar".to_string(), logvar0.detach()),
    ]);
    store.load(&init, "refine_local")?;
    let mut opt = Adam::new(&store, adam)?;
    for _ in 0..steps {
        let loss = local_elbo(decoder, x, &mu, &lv, rng)?.mean_all()?.neg()?;
        opt.backward_step(&loss)?;
    }
    Ok((mu.detach(), lv.detach()))
}

/// What a per-datapoint SVI run produced.
#[derive(Debug, Clone)]
pub struct SviRun {
    /// The fitted decoder p(x|z).
    pub decoder: Decoder,
    /// The decoder's parameters, under `decoder.*`.
    pub decoder_store: ParamStore,
    /// The local parameters `(N, d)`.
    pub mu: Tensor,
    /// The local log-variances `(N, d)`, matching `mu`.
    pub logvar: Tensor,
    /// Mean training ELBO per epoch (nats per image, one sample, during training).
    pub epoch_elbo: Vec<f64>,
    /// Gradient evaluations (backward passes) in all.
    pub backward_passes: usize,
    /// Wall-clock duration of the whole fit, in seconds.
    pub wall_seconds: f64,
}

/// Fits the decoder of `model` to the flat data `x` `(N, D)` with per-datapoint SVI.
pub fn fit_svi(
    model: &VaeConfig,
    cfg: &SviConfig,
    x: &Tensor,
    seed: u64,
    device: &Device,
) -> Result<SviRun> {
    cfg.validate()?;
    model.validate()?;
    let started = Instant::now();
    let (n, dim) = x.dims2()?;
    if dim != model.data_dim() {
        return Err(Error::Shape {
            what: "SVI data",
            got: vec![n, dim],
            expected: vec![n, model.data_dim()],
        });
    }
    if n == 0 {
        return Err(Error::TooFewPoints {
            what: "SVI",
            need: 1,
            got: 0,
        });
    }
    let d = model.latent_dim;
    let store = ParamStore::new(seed);
    let decoder = Decoder::new(model, store.var_builder(device).pp("decoder"))?;
    let mut opt = Adam::new(&store, cfg.adam)?;
    let mut rng = GmRng::derive(seed, 2);
    let mut mu = rng.normal((n, d), 0.0, cfg.init_std, device)?;
    let mut logvar = Tensor::zeros((n, d), candle_core::DType::F32, device)?;
    let mut epoch_elbo = Vec::with_capacity(cfg.epochs);
    let mut backward_passes = 0;
    for _ in 0..cfg.epochs {
        let order = rng.permutation(n);
        let mut acc = 0.0;
        for chunk in order.chunks(cfg.batch_size) {
            let idx = Tensor::from_vec(
                chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                chunk.len(),
                device,
            )?;
            let xb = x.index_select(&idx, 0)?;
            let (m, l) = refine_local(
                &decoder,
                &xb,
                &mu.index_select(&idx, 0)?,
                &logvar.index_select(&idx, 0)?,
                cfg.inner_steps,
                cfg.local_adam,
                &mut rng,
            )?;
            let elbo = local_elbo(&decoder, &xb, &m, &l, &mut rng)?.mean_all()?;
            opt.backward_step(&elbo.neg()?)?;
            backward_passes += cfg.inner_steps + 1;
            acc += elbo.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            mu = mu.index_add(&idx, &(&m - mu.index_select(&idx, 0)?)?, 0)?;
            logvar = logvar.index_add(&idx, &(&l - logvar.index_select(&idx, 0)?)?, 0)?;
        }
        epoch_elbo.push(acc / n as f64);
    }
    Ok(SviRun {
        decoder,
        decoder_store: store,
        mu,
        logvar,
        epoch_elbo,
        backward_passes,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(c: SviConfig) -> &'static str {
        match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = SviConfig::default();
        ok.validate().unwrap();
        assert_eq!(field_of(SviConfig { epochs: 0, ..ok }), "epochs");
        assert_eq!(
            field_of(SviConfig {
                batch_size: 0,
                ..ok
            }),
            "batch_size"
        );
        assert_eq!(
            field_of(SviConfig {
                inner_steps: 0,
                ..ok
            }),
            "inner_steps"
        );
        assert_eq!(
            field_of(SviConfig {
                init_std: f64::NAN,
                ..ok
            }),
            "init_std"
        );
    }

    #[test]
    fn refinement_raises_the_elbo() {
        let dev = Device::Cpu;
        let cfg = VaeConfig {
            latent_dim: 4,
            decoder_hidden: vec![32],
            encoder_hidden: vec![32],
            ..VaeConfig::default()
        };
        let store = ParamStore::new(3);
        let dec = Decoder::new(&cfg, store.var_builder(&dev)).unwrap();
        let x = gm_core::data::mnist_embedded()
            .unwrap()
            .train
            .head(16, &dev)
            .unwrap()
            .x
            .flatten_from(1)
            .unwrap();
        let x = crate::model::binarize(&x, &mut GmRng::new(1)).unwrap();
        let z0 = Tensor::zeros((16, 4), candle_core::DType::F32, &dev).unwrap();
        let before = mean_local_elbo(&dec, &x, &z0, &z0, 20, &mut GmRng::new(5)).unwrap();
        let adam = AdamConfig {
            lr: 0.1,
            ..Default::default()
        };
        let (m, l) = refine_local(&dec, &x, &z0, &z0, 50, adam, &mut GmRng::new(6)).unwrap();
        let after = mean_local_elbo(&dec, &x, &m, &l, 20, &mut GmRng::new(5)).unwrap();
        assert!(after > before + 1.0, "before {before}, after {after}");
    }

    #[test]
    fn fit_svi_raises_each_points_elbo() {
        // Against the starting point phi_i = (0, 0) (init_std 0), under the fitted decoder.
        let dev = Device::Cpu;
        let model = VaeConfig {
            latent_dim: 2,
            decoder_hidden: vec![16],
            encoder_hidden: vec![16],
            ..VaeConfig::default()
        };
        let x = gm_core::data::mnist_embedded()
            .unwrap()
            .train
            .head(8, &dev)
            .unwrap()
            .x
            .flatten_from(1)
            .unwrap();
        let x = crate::model::binarize(&x, &mut GmRng::new(1)).unwrap();
        let cfg = SviConfig {
            epochs: 4,
            batch_size: 4,
            inner_steps: 10,
            init_std: 0.0,
            ..SviConfig::default()
        };
        let run = fit_svi(&model, &cfg, &x, 4, &dev).unwrap();
        let per_point = |mu: &Tensor, lv: &Tensor| -> Vec<f64> {
            let mut rng = GmRng::new(9);
            let samples = 32;
            let mut acc = vec![0.0; 8];
            for _ in 0..samples {
                let e = local_elbo(&run.decoder, &x, mu, lv, &mut rng)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                for (a, v) in acc.iter_mut().zip(e) {
                    *a += v as f64 / samples as f64;
                }
            }
            acc
        };
        let z0 = Tensor::zeros((8, 2), candle_core::DType::F32, &dev).unwrap();
        let before = per_point(&z0, &z0);
        let after = per_point(&run.mu, &run.logvar);
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            assert!(a > b, "point {i}: before {b}, after {a}");
        }
    }
}
