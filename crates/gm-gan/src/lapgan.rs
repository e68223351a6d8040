//! LAPGAN: a Laplacian pyramid of generative adversarial networks (Denton, Chintala, Szlam
//! and Fergus 2015, "Deep generative image models using a Laplacian pyramid of adversarial
//! networks").
//!
//! An image `I_0` is decomposed by a downsampling `d` (2x2 average pooling) and an upsampling
//! `u` (nearest neighbour) into the low-pass images `I_{k+1} = d(I_k)` and the band-pass
//! residuals `h_k = I_k - u(I_{k+1})` (the paper's equation 3); the image is rebuilt exactly
//! by `I_k = u(I_{k+1}) + h_k` (equation 4). At the coarsest level an unconditional GAN (a
//! fully connected pair, as the paper's 8x8 CIFAR-10 model; here part 1's [`GanTrainer`])
//! learns `I_{K}`; at each finer level `k` a conditional GAN learns the residual given the
//! upsampled coarser image, `h~_k = G_k(z_k, u(I_{k+1}))`, its discriminator scoring
//! `(h_k, u(I_{k+1}))` pairs. All levels train on the same batches, each on its own pyramid
//! level of the real data; sampling runs coarse to fine (equation 5):
//! `I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1}))`.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use gm_core::data::{Batch, Dataset};
use gm_core::nn::conv::{conv2d, Conv2d, ConvConfig};
use gm_core::{fit, Adam, AdamConfig, FitConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use crate::error::to_core;
use crate::nets::{Activation, Architecture, GanConfig, MlpInit, OutputActivation};
use crate::objective::Objective;
use crate::trainer::{GanTrainConfig, GanTrainer};
use crate::tricks::Tricks;
use crate::zoo::{crop_32_to_28, pad_28_to_32, ZooOptions, ZooRow};
use crate::{Error, Result};

/// The pyramid's downsampling `d`: 2x2 average pooling, `(n, c, h, w) -> (n, c, h/2, w/2)`.
pub fn downsample(x: &Tensor) -> Result<Tensor> {
    Ok(x.avg_pool2d(2)?)
}

/// The pyramid's upsampling `u`: nearest neighbour, `(n, c, h, w) -> (n, c, 2h, 2w)`.
/// Written as a broadcast, whose backward pass (a sum) is several times faster on the CPU
/// than that of candle's `upsample_nearest2d`.
pub fn upsample(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    Ok(x.reshape((n, c, h, 1, w, 1))?
        .broadcast_as((n, c, h, 2, w, 2))?
        .reshape((n, c, 2 * h, 2 * w))?)
}

/// LeakyReLU as `slope x + (1 - slope) relu(x)`: the same function as candle-nn's, whose
/// backward pass is several times slower on the CPU.
pub(crate) fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    Ok(gm_core::nn::leaky_relu(x, slope)?)
}

/// The Laplacian pyramid of a batch `(n, c, H, W)`: band-pass residuals `h_0, ..., h_{K-1}`
/// (finest first) and the low-pass images `I_0 = x, ..., I_K` of `K + 1 = levels` levels.
#[derive(Debug, Clone)]
pub struct LaplacianPyramid {
    images: Vec<Tensor>,
    bands: Vec<Tensor>,
}

impl LaplacianPyramid {
    /// Decomposes `x` into `levels` levels (`levels - 1` residuals and the coarse image);
    /// the sides must be divisible by `2^(levels - 1)`.
    pub fn build(x: &Tensor, levels: usize) -> Result<Self> {
        if levels == 0 {
            return Err(Error::config("levels", levels, "must be at least 1"));
        }
        let (_, _, h, w) = x.dims4()?;
        let f = 1usize
            .checked_shl((levels - 1) as u32)
            .filter(|f| *f <= h.max(w))
            .ok_or_else(|| Error::config("levels", levels, "too many levels for the image"))?;
        if h % f != 0 || w % f != 0 {
            return Err(Error::Shape {
                what: "pyramid images (sides must be divisible by 2^(levels - 1))",
                got: x.dims().to_vec(),
                expected: vec![x.dim(0)?, x.dim(1)?, h / f * f, w / f * f],
            });
        }
        let mut images = vec![x.clone()];
        let mut bands = Vec::with_capacity(levels - 1);
        for k in 0..levels - 1 {
            let coarse = downsample(&images[k])?;
            bands.push((&images[k] - upsample(&coarse)?)?);
            images.push(coarse);
        }
        Ok(Self { images, bands })
    }

    /// Number of levels (`bands().len() + 1`).
    pub fn levels(&self) -> usize {
        self.images.len()
    }

    /// The band-pass residuals `h_k = I_k - u(I_{k+1})`, finest first.
    pub fn bands(&self) -> &[Tensor] {
        &self.bands
    }

    /// The low-pass images `I_k`, finest (the input) first.
    pub fn images(&self) -> &[Tensor] {
        &self.images
    }

    /// The coarsest image `I_K`.
    pub fn coarse(&self) -> &Tensor {
        // `build` always keeps the input, so the list is never empty.
        &self.images[self.images.len() - 1]
    }

    /// `I_0` rebuilt from the coarse image and the residuals alone: `I_k = u(I_{k+1}) + h_k`.
    pub fn reconstruct(&self) -> Result<Tensor> {
        let mut img = self.coarse().clone();
        for h in self.bands.iter().rev() {
            img = (upsample(&img)? + h)?;
        }
        Ok(img)
    }
}

/// Hyperparameters of a LAPGAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapganConfig {
    /// Side of the (square, one-channel) finest images.
    pub image_size: usize,
    /// Pyramid levels: one unconditional GAN and `levels - 1` conditional ones.
    pub levels: usize,
    /// Noise dimensions of the coarse generator.
    pub latent_dim: usize,
    /// Hidden widths of the coarse (fully connected) generator and discriminator.
    pub coarse_hidden: Vec<usize>,
    /// Feature maps of each conditional level's convolutional networks, finest level first
    /// (one entry per level but the coarsest).
    pub channels: Vec<usize>,
    pub objective: Objective,
    /// Adam of every network.
    pub adam: AdamConfig,
    /// Images in the periodic sample grid.
    pub grid_samples: usize,
}

impl Default for LapganConfig {
    /// 32x32 digits in three levels (32, 16, 8) with 8 and 16 feature maps at 32 and 16
    /// (sized for two CPU cores), the non-saturating GAN loss, and the DCGAN Adam (lr 2e-4,
    /// beta1 0.5).
    fn default() -> Self {
        Self {
            image_size: 32,
            levels: 3,
            latent_dim: 64,
            coarse_hidden: vec![256, 256],
            channels: vec![8, 16],
            objective: Objective::default(),
            adam: AdamConfig {
                lr: 2e-4,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            grid_samples: 64,
        }
    }
}

impl LapganConfig {
    /// Side of the coarsest level.
    pub fn coarse_size(&self) -> usize {
        self.image_size >> self.levels.saturating_sub(1).min(usize::BITS as usize - 1)
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.levels < 2 {
            return Err(Error::config(
                "levels",
                self.levels,
                "a Laplacian pyramid of GANs needs at least 2 levels",
            ));
        }
        let f = 1usize.checked_shl((self.levels - 1) as u32).unwrap_or(0);
        if f == 0 || self.image_size % f != 0 || self.image_size / f < 2 {
            return Err(Error::config(
                "image_size",
                self.image_size,
                "must be divisible by 2^(levels - 1) with a coarsest side of at least 2",
            ));
        }
        if self.channels.len() != self.levels - 1 || self.channels.contains(&0) {
            return Err(Error::config(
                "channels",
                format!("{:?}", self.channels),
                "one positive entry per conditional level (levels - 1)",
            ));
        }
        if !self.objective.is_adversarial()
            || matches!(
                self.objective,
                Objective::Wgan { .. } | Objective::WganGp { .. }
            )
        {
            return Err(Error::config(
                "objective",
                self.objective.name(),
                "the conditional levels take the GAN, f-GAN and omega/rho objectives \
                 (no weight clipping, no gradient penalty)",
            ));
        }
        self.adam.validate()?;
        self.coarse_config().validate()
    }

    /// The coarse level's GAN: part 1's trainer on the `coarse_size` images.
    pub fn coarse_config(&self) -> GanTrainConfig {
        let s = self.coarse_size();
        GanTrainConfig {
            model: GanConfig {
                latent_dim: self.latent_dim,
                data_shape: vec![1, s, s],
                generator: Architecture::Mlp {
                    hidden: self.coarse_hidden.clone(),
                    activation: Activation::Relu,
                },
                discriminator: Architecture::Mlp {
                    hidden: self.coarse_hidden.iter().rev().cloned().collect(),
                    activation: Activation::LeakyRelu,
                },
                output: OutputActivation::Tanh,
                mlp_init: MlpInit::Default,
            },
            objective: self.objective.clone(),
            adam_g: self.adam,
            adam_d: self.adam,
            tricks: Tricks::default(),
            unrolled: None,
            grid_samples: 0,
        }
    }
}

const SAME: ConvConfig = ConvConfig {
    stride: 1,
    padding: 1,
    output_padding: 0,
};
const DOWN: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

/// `G_k(z, l)`: the residual `h~ = G_k(z, l)` from the upsampled coarser image `l` and a noise
/// plane `z` stacked as a second channel (the paper's conditioning), three 3x3 convolutions,
/// ReLU, and a tanh output (residuals of `[0, 1]` images lie in `(-1, 1)`).
#[derive(Debug, Clone)]
struct ResidualGenerator {
    c0: Conv2d,
    c1: Conv2d,
    c2: Conv2d,
}

impl ResidualGenerator {
    fn new(ch: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            c0: conv2d(2, ch, 3, SAME, vb.pp("c0"))?,
            c1: conv2d(ch, ch, 3, SAME, vb.pp("c1"))?,
            c2: conv2d(ch, 1, 3, SAME, vb.pp("c2"))?,
        })
    }

    /// The residual (data space) for the conditioning image `cond` (data space).
    fn forward(&self, cond: &Tensor, noise: &Tensor) -> Result<Tensor> {
        let x = Tensor::cat(&[&cond.affine(2.0, -1.0)?, noise], 1)?;
        let h = self.c0.forward(&x)?.relu()?;
        let h = self.c1.forward(&h)?.relu()?;
        Ok(self.c2.forward(&h)?.tanh()?)
    }
}

/// `D_k(h, l)`: one logit for a (residual, conditioning image) pair, two strided 4x4
/// convolutions with LeakyReLU(0.2) and a linear read-out.
#[derive(Debug, Clone)]
struct ResidualDiscriminator {
    c0: Conv2d,
    c1: Conv2d,
    out: Linear,
}

impl ResidualDiscriminator {
    fn new(ch: usize, side: usize, vb: VarBuilder) -> Result<Self> {
        let q = side.div_ceil(4);
        Ok(Self {
            c0: conv2d(2, ch, 4, DOWN, vb.pp("c0"))?,
            c1: conv2d(ch, 2 * ch, 4, DOWN, vb.pp("c1"))?,
            out: linear(2 * ch * q * q, 1, vb.pp("out"))?,
        })
    }

    /// Both inputs in data space; the residual is doubled and the image mapped by `2 l - 1`,
    /// so that the pair lives in the same network space as the generators' outputs.
    fn forward(&self, residual: &Tensor, cond: &Tensor) -> Result<Tensor> {
        let x = Tensor::cat(&[&residual.affine(2.0, 0.0)?, &cond.affine(2.0, -1.0)?], 1)?;
        let h = leaky_relu(&self.c0.forward(&x)?, 0.2)?;
        let h = leaky_relu(&self.c1.forward(&h)?, 0.2)?;
        Ok(self.out.forward(&h.flatten_from(1)?)?)
    }
}

/// One conditional level: its two networks, their stores and optimisers.
struct ConditionalLevel {
    side: usize,
    gen: ResidualGenerator,
    disc: ResidualDiscriminator,
    g_store: ParamStore,
    d_store: ParamStore,
    g_opt: Adam,
    d_opt: Adam,
}

impl ConditionalLevel {
    fn new(cfg: &LapganConfig, k: usize, seed: u64, device: &Device) -> Result<Self> {
        let side = cfg.image_size >> k;
        let ch = cfg.channels[k];
        let g_store = ParamStore::new(seed);
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let gen = ResidualGenerator::new(ch, g_store.var_builder(device))?;
        let disc = ResidualDiscriminator::new(ch, side, d_store.var_builder(device))?;
        Ok(Self {
            side,
            g_opt: Adam::new(&g_store, cfg.adam)?,
            d_opt: Adam::new(&d_store, cfg.adam)?,
            gen,
            disc,
            g_store,
            d_store,
        })
    }

    fn noise(&self, n: usize, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        Ok(rng.normal((n, 1, self.side, self.side), 0.0, 1.0, device)?)
    }

    /// A sampled residual for the conditioning images `cond`, detached.
    fn residual(&self, cond: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let z = self.noise(cond.dim(0)?, rng, cond.device())?;
        Ok(self.gen.forward(cond, &z)?.detach())
    }

    fn critic_loss(
        &self,
        obj: &Objective,
        band: &Tensor,
        cond: &Tensor,
        z: &Tensor,
    ) -> Result<Tensor> {
        let fake = self.gen.forward(cond, z)?.detach();
        let v_real = self.disc.forward(band, cond)?;
        let v_fake = self.disc.forward(&fake, cond)?;
        obj.critic_loss(&v_real, &v_fake, 1.0)
    }

    /// One critic update against fakes from fresh noise; returns the loss before it.
    fn critic_step(
        &mut self,
        obj: &Objective,
        band: &Tensor,
        cond: &Tensor,
        rng: &mut GmRng,
    ) -> Result<f64> {
        let z = self.noise(band.dim(0)?, rng, band.device())?;
        let loss = self.critic_loss(obj, band, cond, &z)?;
        self.d_opt.backward_step(&loss)?;
        Ok(loss.to_scalar::<f32>()? as f64)
    }

    /// One generator update on fresh noise; returns the loss before it.
    fn generator_step(&mut self, obj: &Objective, cond: &Tensor, rng: &mut GmRng) -> Result<f64> {
        let z = self.noise(cond.dim(0)?, rng, cond.device())?;
        let fake = self.gen.forward(cond, &z)?;
        let loss = obj.generator_loss(&self.disc.forward(&fake, cond)?)?;
        self.g_opt.backward_step(&loss)?;
        Ok(loss.to_scalar::<f32>()? as f64)
    }
}

/// A LAPGAN sample with its intermediate steps, coarsest first: `images[0]` is the coarse
/// GAN's sample, `residuals[k]` the residual added to `u(images[k])` to give `images[k + 1]`.
#[derive(Debug, Clone)]
pub struct LapganChain {
    pub images: Vec<Tensor>,
    pub residuals: Vec<Tensor>,
}

impl LapganChain {
    /// The finest images `(n, 1, S, S)` in data space.
    pub fn finest(&self) -> &Tensor {
        // `sample_chain` always pushes the coarse sample.
        &self.images[self.images.len() - 1]
    }

    /// One row per sample, all at the finest side (nearest upsampling): the coarse image,
    /// then for each level its residual (drawn as `0.5 + h`) and the image it gives, as a
    /// batch for [`gm_core::viz::save_grid`] with `columns()` columns.
    pub fn picture(&self) -> Result<Tensor> {
        let side = self.finest().dim(3)?;
        let big = |t: &Tensor| -> Result<Tensor> {
            if t.dim(3)? == side {
                Ok(t.clone())
            } else {
                Ok(t.upsample_nearest2d(side, side)?)
            }
        };
        let mut cols = vec![big(&self.images[0])?];
        for (h, img) in self.residuals.iter().zip(&self.images[1..]) {
            cols.push(big(&h.affine(1.0, 0.5)?)?);
            cols.push(big(img)?);
        }
        // (columns, n, 1, S, S) -> (n, columns, 1, S, S): one sample per row.
        let n = self.finest().dim(0)?;
        let k = cols.len();
        Ok(Tensor::stack(&cols, 1)?.reshape((n * k, 1, side, side))?)
    }

    /// Columns of [`LapganChain::picture`].
    pub fn columns(&self) -> usize {
        1 + 2 * self.residuals.len()
    }
}

/// Trains a LAPGAN: the coarse GAN (part 1's [`GanTrainer`]) and the conditional levels, one
/// update of each per batch. Batches are `(n, 1, S, S)` in `[0, 1]`.
pub struct LapganTrainer {
    cfg: LapganConfig,
    coarse: GanTrainer,
    /// Finest first, matching [`LaplacianPyramid::bands`].
    levels: Vec<ConditionalLevel>,
    device: Device,
}

impl LapganTrainer {
    /// Fresh networks: the coarse pair from `seed` and `seed + 1`, level `k` from
    /// `seed + 2 + 2k` and `seed + 3 + 2k`.
    pub fn new(cfg: LapganConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let coarse = GanTrainer::new(cfg.coarse_config(), seed, device)?;
        let levels = (0..cfg.levels - 1)
            .map(|k| {
                let s = seed.wrapping_add(2 + 2 * k as u64);
                ConditionalLevel::new(&cfg, k, s, device)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            cfg,
            coarse,
            levels,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &LapganConfig {
        &self.cfg
    }

    /// The coarse level's trainer.
    pub fn coarse(&self) -> &GanTrainer {
        &self.coarse
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let s = self.cfg.image_size;
        if x.rank() != 4 || x.dims()[1..] != [1, s, s] {
            return Err(Error::Shape {
                what: "LAPGAN batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: vec![1, s, s],
            });
        }
        Ok(())
    }

    /// One update of every level on the pyramid of `x` (each critic, then each generator);
    /// metrics `d_loss_<side>` and `g_loss_<side>`, coarse first.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let mut m = Vec::new();
        let s = self.cfg.coarse_size();
        for (name, v) in self.coarse.train_step(pyr.coarse(), rng)? {
            m.push((format!("{name}_{s}"), v));
        }
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let obj = &self.cfg.objective;
            let level = &mut self.levels[k];
            let d = level.critic_step(obj, &pyr.bands()[k], &cond, rng)?;
            let g = level.generator_step(obj, &cond, rng)?;
            m.push((format!("d_loss_{}", level.side), d));
            m.push((format!("g_loss_{}", level.side), g));
        }
        Ok(m)
    }

    /// One update of every critic alone (the generators fixed) on the pyramid of `x`;
    /// returns each level's critic loss before it, coarse first.
    pub fn critic_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Vec<f64>> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let real = self.coarse.network_batch(pyr.coarse())?;
        let z = rng.normal((x.dim(0)?, self.cfg.latent_dim), 0.0, 1.0, &self.device)?;
        let cm = self.coarse.critic_step(&real, &z, rng)?;
        let mut out = vec![cm.first().map(|(_, v)| *v).unwrap_or(f64::NAN)];
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let level = &mut self.levels[k];
            out.push(level.critic_step(&self.cfg.objective, &pyr.bands()[k], &cond, rng)?);
        }
        Ok(out)
    }

    /// The critic loss of each level on the pyramid of `x` and fakes from `rng`'s noise, with
    /// no update, coarse first: what each critic update descends.
    pub fn critic_loss_values(&self, x: &Tensor, rng: &mut GmRng) -> Result<Vec<f64>> {
        self.check(x)?;
        let pyr = LaplacianPyramid::build(x, self.cfg.levels)?;
        let n = x.dim(0)?;
        let lat = self.cfg.latent_dim;
        let z = rng.normal((n, lat), 0.0, 1.0, &self.device)?;
        let real = self.coarse.network_batch(pyr.coarse())?;
        let mut out = vec![self.coarse.critic_loss_value(&real, &z, None)?];
        for k in (0..self.levels.len()).rev() {
            let cond = upsample(&pyr.images()[k + 1])?;
            let level = &self.levels[k];
            let z = level.noise(n, rng, &self.device)?;
            let l = level.critic_loss(&self.cfg.objective, &pyr.bands()[k], &cond, &z)?;
            out.push(l.to_scalar::<f32>()? as f64);
        }
        Ok(out)
    }

    /// `n` samples with their intermediate levels, coarse to fine (equation 5).
    pub fn sample_chain(&self, n: usize, rng: &mut GmRng) -> Result<LapganChain> {
        let mut img = self.coarse.samples(n, rng)?;
        let mut images = vec![img.clone()];
        let mut residuals = Vec::new();
        for level in self.levels.iter().rev() {
            let cond = upsample(&img)?;
            let h = level.residual(&cond, rng)?;
            img = (cond + &h)?;
            residuals.push(h);
            images.push(img.clone());
        }
        Ok(LapganChain { images, residuals })
    }

    /// `n` samples `(n, 1, S, S)` in data space (not clamped: a residual may overshoot).
    pub fn samples(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(self.sample_chain(n, rng)?.finest().clone())
    }
}

impl Trainer for LapganTrainer {
    fn model_name(&self) -> String {
        "lapgan".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = self.coarse.state()?.prefixed("coarse.");
        for l in &self.levels {
            let mut level = TrainState::default();
            level.insert_network("g", &l.g_store, &l.g_opt)?;
            level.insert_network("d", &l.d_store, &l.d_opt)?;
            st.extend(level.prefixed(&format!("level{}.", l.side)));
        }
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        self.coarse.load_state(&state.nested("coarse."))?;
        for l in &mut self.levels {
            let level = state.nested(&format!("level{}.", l.side));
            level.load_network("g", &l.g_store, &mut l.g_opt)?;
            level.load_network("d", &l.d_store, &mut l.d_opt)?;
        }
        Ok(())
    }

    /// `coarse.generator.*`, `coarse.discriminator.*`, `level<side>.generator.*`, ...
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = prefixed(&self.coarse.weights()?, "coarse.");
        for l in &self.levels {
            let p = format!("level{}.", l.side);
            w.extend(prefixed(&l.g_store.tensors(), &format!("{p}generator.")));
            w.extend(prefixed(
                &l.d_store.tensors(),
                &format!("{p}discriminator."),
            ));
        }
        Ok(w)
    }

    fn grid_images(&mut self, rng: &mut GmRng) -> gm_core::Result<Option<(Tensor, bool)>> {
        if self.cfg.grid_samples == 0 {
            return Ok(None);
        }
        let s = self.samples(self.cfg.grid_samples, rng).map_err(to_core)?;
        Ok(Some((s, false)))
    }
}

fn prefixed(t: &BTreeMap<String, Tensor>, p: &str) -> BTreeMap<String, Tensor> {
    t.iter()
        .map(|(k, v)| (format!("{p}{k}"), v.clone()))
        .collect()
}

/// The epochs and the number of leading items of an `n`-item data set that make `fit` run
/// `steps` steps of `batch` items in epochs of equal length: `steps` exactly when a divisor
/// fits (1,500 steps of 64 over 8,000 items: 12 epochs of all 8,000), else rounded up to
/// whole epochs.
pub(crate) fn epoch_plan(steps: usize, batch: usize, n: usize) -> Result<(usize, usize)> {
    let most = n / batch.max(1);
    if batch == 0 || most == 0 {
        return Err(Error::config(
            "batch_size",
            batch,
            "must be at least 1 and at most the data set's size",
        ));
    }
    let epochs = steps.max(1).div_ceil(most);
    let per_epoch = steps.max(1).div_ceil(epochs);
    Ok((epochs, per_epoch * batch))
}

/// The first `items` items of `data`.
pub(crate) fn head_dataset(data: &Dataset, items: usize) -> Result<Dataset> {
    let rest = data.len().saturating_sub(items);
    Ok(data.split_off(rest)?.0)
}

/// The 8,000 embedded training digits zero-padded to `(1, 32, 32)`.
pub(crate) fn padded_mnist_train(device: &Device) -> Result<Dataset> {
    let train = gm_core::data::mnist_embedded()?.train;
    let x = train.head(train.len(), device)?.x;
    let x = pad_28_to_32(&x)?;
    Dataset::new(
        "mnist-10k/train (padded to 32x32)",
        vec![1, 32, 32],
        x.flatten_all()?.to_vec1::<f32>()?,
        train.labels.clone(),
    )
    .map_err(Error::from)
}

/// `(n, 1, 32, 32)` samples in data space as `(n, 1, 28, 28)` digits in `[0, 1]`.
pub(crate) fn as_mnist(x: &Tensor) -> Result<Tensor> {
    Ok(crop_32_to_28(x)?.clamp(0f32, 1f32)?)
}

/// The MNIST FD of `n` samples drawn `chunk` at a time by `draw`.
pub(crate) fn sampled_fd(
    fd: &gm_eval::MnistEvaluator,
    n: usize,
    mut draw: impl FnMut(usize) -> Result<Tensor>,
) -> Result<f64> {
    let mut parts = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(500);
        parts.push(as_mnist(&draw(k)?)?);
        left -= k;
    }
    Ok(fd.frechet_distance(&Tensor::cat(&parts, 0)?)?)
}

/// Updates of every level in the zoo: `opts.steps`, the generator updates DCGAN gets (each
/// LAPGAN step updates all three levels' generators once).
pub fn zoo_steps(opts: &ZooOptions) -> usize {
    opts.steps
}

/// Trains LAPGAN on the embedded training digits (padded to 32x32) for [`zoo_steps`] updates
/// of every level, writes its run folder under `opts.out_dir/lapgan` (sample grids, the
/// coarse-to-fine chain `chain.png`, metrics, report) and returns the MNIST FD row.
pub fn zoo_rows(opts: &ZooOptions, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = Instant::now();
    let run_dir = opts.out_dir.join("lapgan");
    let data = padded_mnist_train(device)?;
    let (epochs, items) = epoch_plan(zoo_steps(opts), opts.batch_size, data.len())?;
    let steps = epochs * (items / opts.batch_size);
    let data = head_dataset(&data, items)?;
    let mut trainer = LapganTrainer::new(LapganConfig::default(), opts.seed, device)?;
    let fit_cfg = FitConfig {
        epochs,
        batch_size: opts.batch_size,
        seed: opts.seed,
        grid_every: epochs.div_ceil(4).max(1),
        resume: opts.resume,
        progress: !opts.quick,
        ..FitConfig::default()
    };
    fit(&mut trainer, &data, &fit_cfg, &run_dir, device)?;

    let mut rng = GmRng::derive(opts.seed, 1);
    let chain = trainer.sample_chain(8, &mut rng)?;
    gm_core::viz::save_grid(
        &chain.picture()?,
        chain.columns(),
        false,
        run_dir.join("chain.png"),
    )?;
    gm_core::viz::save_grid(
        &trainer.samples(64, &mut rng)?,
        8,
        false,
        run_dir.join("samples.png"),
    )?;
    let fd = gm_eval::MnistEvaluator::new(device)?;
    let value = sampled_fd(&fd, opts.fd_samples, |k| trainer.samples(k, &mut rng))?;
    gm_core::viz::update_report(
        &run_dir,
        "lapgan",
        &[(
            format!("MNIST FD ({} samples)", opts.fd_samples),
            format!("{value:.3}"),
        )],
    )?;
    Ok(vec![ZooRow {
        model: "LAPGAN (Denton et al. 2015)".into(),
        metric: format!("MNIST FD ({steps} updates per level)"),
        value: format!("{value:.2}"),
        reference: "DCGAN at the same budget: see its row".into(),
        wall_s: started.elapsed().as_secs_f64(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::D;

    #[test]
    fn epoch_plan_is_exact_when_a_divisor_fits() {
        assert_eq!(epoch_plan(1_500, 64, 8_000).unwrap(), (12, 8_000));
        assert_eq!(epoch_plan(60, 64, 8_000).unwrap(), (1, 3_840));
        // 1,499 is prime: 12 epochs of 125 steps, one more than asked.
        assert_eq!(epoch_plan(1_499, 64, 8_000).unwrap(), (12, 8_000));
        assert!(epoch_plan(10, 64, 63).is_err());
    }

    #[test]
    fn downsample_then_upsample_keeps_block_means() {
        let x = Tensor::arange(0f32, 16.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 4, 4))
            .unwrap();
        let d = downsample(&x).unwrap();
        assert_eq!(
            d.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![2.5, 4.5, 10.5, 12.5]
        );
        let u = upsample(&d).unwrap();
        assert_eq!(u.dims(), &[1, 1, 4, 4]);
        let row0 = u.get(0).unwrap().get(0).unwrap().get(0).unwrap();
        assert_eq!(row0.to_vec1::<f32>().unwrap(), vec![2.5, 2.5, 4.5, 4.5]);
        // Each band of the pyramid has zero mean over every 2x2 block.
        let h = (&x - &u).unwrap();
        let m = downsample(&h)
            .unwrap()
            .abs()
            .unwrap()
            .max_keepdim(D::Minus1)
            .unwrap();
        assert_eq!(m.max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
