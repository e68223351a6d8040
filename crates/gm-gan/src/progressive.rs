//! Progressive growing of GANs (Karras, Aila, Laine and Lehtinen 2018, "Progressive growing
//! of GANs for improved quality, stability, and variation").
//!
//! Training starts at 4x4 and doubles the resolution stage by stage (here up to 32x32
//! padded MNIST). A new generator block fades in smoothly (section 2, figure 2):
//! `G = (1 - alpha) u(toRGB_old(h)) + alpha toRGB_new(block(u(h)))`, with `u` nearest-neighbour
//! upsampling and `alpha` rising linearly from 0 to 1 over the first half of the stage; the
//! discriminator mirrors it, `(1 - alpha) fromRGB_old(d(x)) + alpha block(fromRGB_new(x))`
//! with `d` 2x2 average pooling, and the real images are blended between the two resolutions
//! the same way. The other ingredients of the paper, all here:
//!
//! - pixel-wise feature normalisation in G after each convolution (section 4.2),
//!   `b = a / sqrt(mean_c a_c^2 + 1e-8)`;
//! - the equalised learning rate (section 4.1): weights stored as `N(0, 1)` draws and
//!   multiplied at run time by He's constant `sqrt(2 / fan_in)`, so that Adam's step is the
//!   same for every layer whatever its fan-in;
//! - the minibatch standard deviation (section 3): D's last block gets one more feature map,
//!   the standard deviation of each feature over the batch averaged over features and pixels.
//!
//! The loss is the non-saturating GAN loss (the paper uses WGAN-GP; the option is the
//! config's [`Objective`], without weight clipping or gradient penalty). Adam follows the
//! paper: lr 0.001, beta1 0, beta2 0.99, moments reset at each new resolution.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Module, Tensor};
use candle_nn::init::Init;
use candle_nn::VarBuilder;
use gm_core::data::Batch;
use gm_core::nn::conv::conv2d_op;
use gm_core::{fit, Adam, AdamConfig, FitConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use crate::error::to_core;
use crate::lapgan::{
    epoch_plan, head_dataset, leaky_relu, padded_mnist_train, sampled_fd, upsample,
};
use crate::objective::Objective;
use crate::zoo::{ZooOptions, ZooRow};
use crate::{Error, Result};

/// The floor under the pixel norm's and the minibatch std's square roots.
const EPS: f64 = 1e-8;

/// Pixel-wise feature normalisation of `(n, c, h, w)`: each pixel's feature vector divided by
/// its root mean square over the channels, so that `mean_c b^2 = 1` at every pixel.
pub fn pixel_norm(x: &Tensor) -> Result<Tensor> {
    let rms = (x.sqr()?.mean_keepdim(1)? + EPS)?.sqrt()?;
    Ok(x.broadcast_div(&rms)?)
}

/// The minibatch standard deviation layer: `(n, c, h, w) -> (n, c + 1, h, w)`, the new
/// channel filled with `mean_{c,h,w} sqrt(var_batch(x) + 1e-8)` (the variance over the batch,
/// population form).
pub fn minibatch_stddev(x: &Tensor) -> Result<Tensor> {
    let (n, _, h, w) = x.dims4()?;
    let centred = x.broadcast_sub(&x.mean_keepdim(0)?)?;
    let std = (centred.sqr()?.mean_keepdim(0)? + EPS)?.sqrt()?;
    let s = std.mean_all()?.reshape((1, 1, 1, 1))?;
    let plane = s.broadcast_as((n, 1, h, w))?;
    Ok(Tensor::cat(&[x, &plane], 1)?)
}

fn lrelu(x: &Tensor) -> Result<Tensor> {
    leaky_relu(x, 0.2)
}

fn unit_normal() -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: 1.0,
    }
}

/// A `k x k` convolution (stride 1, "same" padding) with the equalised learning rate: the
/// stored weight is `N(0, 1)`, the applied one `weight * sqrt(2 / (c_in k^2))`; zero bias.
#[derive(Debug, Clone)]
pub struct EqualizedConv2d {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
    pad: usize,
}

/// An [`EqualizedConv2d`] from `c_in` to `c_out` channels (`weight`, `bias` under `vb`).
pub fn equalized_conv2d(
    c_in: usize,
    c_out: usize,
    k: usize,
    vb: VarBuilder,
) -> Result<EqualizedConv2d> {
    let weight = vb.get_with_hints((c_out, c_in, k, k), "weight", unit_normal())?;
    let bias = vb.get_with_hints(c_out, "bias", Init::Const(0.0))?;
    Ok(EqualizedConv2d {
        weight,
        bias,
        scale: (2.0 / (c_in * k * k) as f64).sqrt(),
        pad: k / 2,
    })
}

impl EqualizedConv2d {
    /// He's constant `sqrt(2 / fan_in)` applied to the stored weight at run time.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The stored (unscaled) weight.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Module for EqualizedConv2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.weight.affine(self.scale, 0.0)?;
        let y = conv2d_op(x, &w, 1, self.pad)?;
        y.broadcast_add(&self.bias.reshape((1, self.bias.dim(0)?, 1, 1))?)
    }
}

/// A fully connected layer with the equalised learning rate.
#[derive(Debug, Clone)]
pub struct EqualizedLinear {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
}

/// An [`EqualizedLinear`] from `d_in` to `d_out` features.
pub fn equalized_linear(d_in: usize, d_out: usize, vb: VarBuilder) -> Result<EqualizedLinear> {
    let weight = vb.get_with_hints((d_out, d_in), "weight", unit_normal())?;
    let bias = vb.get_with_hints(d_out, "bias", Init::Const(0.0))?;
    Ok(EqualizedLinear {
        weight,
        bias,
        scale: (2.0 / d_in as f64).sqrt(),
    })
}

impl EqualizedLinear {
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Module for EqualizedLinear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.weight.affine(self.scale, 0.0)?;
        x.matmul(&w.t()?)?.broadcast_add(&self.bias)
    }
}

/// Hyperparameters of a progressively grown GAN on one-channel images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressiveConfig {
    pub latent_dim: usize,
    /// Side of the first stage's images.
    pub start_size: usize,
    /// Feature maps at each stage's resolution (one entry per stage: `start_size`, twice
    /// that, ...); the number of entries sets the final resolution.
    pub channels: Vec<usize>,
    pub objective: Objective,
    pub adam: AdamConfig,
    /// Training steps per stage; the fade-in takes the first half.
    pub stage_steps: usize,
    /// Images in the periodic sample grid.
    pub grid_samples: usize,
}

impl Default for ProgressiveConfig {
    /// 4x4 to 32x32 with 32, 32, 16 and 8 feature maps (sized for two CPU cores).
    fn default() -> Self {
        Self {
            latent_dim: 64,
            start_size: 4,
            channels: vec![32, 32, 16, 8],
            objective: Objective::default(),
            adam: AdamConfig {
                lr: 1e-3,
                beta1: 0.0,
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            stage_steps: 1_500,
            grid_samples: 64,
        }
    }
}

impl ProgressiveConfig {
    /// Number of stages (resolutions).
    pub fn stages(&self) -> usize {
        self.channels.len()
    }

    /// Side of stage `stage`'s images.
    pub fn resolution(&self, stage: usize) -> usize {
        self.start_size << stage
    }

    /// Side of the last stage's images.
    pub fn final_size(&self) -> usize {
        self.resolution(self.stages().saturating_sub(1))
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.start_size < 2 {
            return Err(Error::config(
                "start_size",
                self.start_size,
                "must be at least 2",
            ));
        }
        if self.channels.is_empty() || self.channels.len() > 8 || self.channels.contains(&0) {
            return Err(Error::config(
                "channels",
                format!("{:?}", self.channels),
                "one to eight stages, each with at least one feature map",
            ));
        }
        if self.stage_steps < 2 {
            return Err(Error::config(
                "stage_steps",
                self.stage_steps,
                "must be at least 2 (the fade-in takes the first half)",
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
                "progressive growing takes the GAN, f-GAN and omega/rho objectives \
                 (no weight clipping, no gradient penalty)",
            ));
        }
        self.adam.validate()?;
        Ok(())
    }
}

/// Two 3x3 equalised convolutions, each followed by LeakyReLU(0.2) (and, in G, the pixel
/// norm).
#[derive(Debug, Clone)]
struct ConvPair {
    a: EqualizedConv2d,
    b: EqualizedConv2d,
}

impl ConvPair {
    fn new(c_in: usize, c_mid: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            a: equalized_conv2d(c_in, c_mid, 3, vb.pp("conv0"))?,
            b: equalized_conv2d(c_mid, c_out, 3, vb.pp("conv1"))?,
        })
    }

    fn forward(&self, x: &Tensor, norm: bool) -> Result<Tensor> {
        let step = |c: &EqualizedConv2d, x: &Tensor| -> Result<Tensor> {
            let y = lrelu(&c.forward(x)?)?;
            if norm {
                pixel_norm(&y)
            } else {
                Ok(y)
            }
        };
        step(&self.b, &step(&self.a, x)?)
    }
}

/// `(1 - alpha) old + alpha new`; exact at both ends (`1 * a + 0 * b = a`).
fn fade(old: &Tensor, new: &Tensor, alpha: f64) -> Result<Tensor> {
    Ok((old.affine(1.0 - alpha, 0.0)? + new.affine(alpha, 0.0)?)?)
}

/// The generator of every stage: a dense layer from the (pixel-normalised) latent to a
/// `start x start` map and a 3x3 convolution, then per stage an upsampling block, and a 1x1
/// toRGB per stage (linear output, network space ~[-1, 1]).
#[derive(Debug, Clone)]
pub struct ProgressiveGenerator {
    start: usize,
    channels: Vec<usize>,
    dense: EqualizedLinear,
    conv0: EqualizedConv2d,
    blocks: Vec<ConvPair>,
    to_rgb: Vec<EqualizedConv2d>,
}

impl ProgressiveGenerator {
    /// Builds all stages' layers (`dense`, `conv0`, `block<s>.conv<i>`, `to_rgb<s>`).
    pub fn new(cfg: &ProgressiveConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let ch = &cfg.channels;
        let s = cfg.start_size;
        let blocks = (1..ch.len())
            .map(|k| ConvPair::new(ch[k - 1], ch[k], ch[k], vb.pp(format!("block{k}"))))
            .collect::<Result<_>>()?;
        let to_rgb = (0..ch.len())
            .map(|k| equalized_conv2d(ch[k], 1, 1, vb.pp(format!("to_rgb{k}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            start: s,
            channels: ch.clone(),
            dense: equalized_linear(cfg.latent_dim, ch[0] * s * s, vb.pp("dense"))?,
            conv0: equalized_conv2d(ch[0], ch[0], 3, vb.pp("conv0"))?,
            blocks,
            to_rgb,
        })
    }

    fn check_stage(&self, stage: usize) -> Result<()> {
        if stage >= self.channels.len() {
            return Err(Error::config(
                "stage",
                stage,
                "beyond the last stage of the configuration",
            ));
        }
        Ok(())
    }

    /// The feature maps at stage `stage`'s resolution (every block at full strength).
    fn features(&self, z: &Tensor, stage: usize) -> Result<Tensor> {
        let n = z.dim(0)?;
        let s = self.start;
        let h = self
            .dense
            .forward(&pixel_norm(&z.reshape((n, (), 1, 1))?)?.flatten_from(1)?)?;
        let h = pixel_norm(&lrelu(&h.reshape((n, self.channels[0], s, s))?)?)?;
        let mut h = pixel_norm(&lrelu(&self.conv0.forward(&h)?)?)?;
        for block in &self.blocks[..stage] {
            h = block.forward(&upsample(&h)?, true)?;
        }
        Ok(h)
    }

    /// The two paths of stage `stage >= 1`'s fade-in: the previous stage's image upsampled,
    /// and the new block's image.
    pub fn branches(&self, z: &Tensor, stage: usize) -> Result<(Tensor, Tensor)> {
        self.check_stage(stage)?;
        if stage == 0 {
            return Err(Error::config(
                "stage",
                0,
                "the first stage fades nothing in",
            ));
        }
        let h = self.features(z, stage - 1)?;
        let old = upsample(&self.to_rgb[stage - 1].forward(&h)?)?;
        let new =
            self.to_rgb[stage].forward(&self.blocks[stage - 1].forward(&upsample(&h)?, true)?)?;
        Ok((old, new))
    }

    /// Images `(n, 1, r, r)` in network space at stage `stage` with fade-in weight `alpha`.
    pub fn forward(&self, z: &Tensor, stage: usize, alpha: f64) -> Result<Tensor> {
        self.check_stage(stage)?;
        if stage == 0 {
            return Ok(self.to_rgb[0].forward(&self.features(z, 0)?)?);
        }
        if alpha >= 1.0 {
            let h = self.features(z, stage)?;
            return Ok(self.to_rgb[stage].forward(&h)?);
        }
        let (old, new) = self.branches(z, stage)?;
        fade(&old, &new, alpha)
    }
}

/// The discriminator of every stage: a 1x1 fromRGB per stage, per stage a downsampling block
/// (two 3x3 convolutions, 2x2 average pooling), and the last block: minibatch std, a 3x3
/// convolution, a dense layer and the linear score.
#[derive(Debug, Clone)]
pub struct ProgressiveDiscriminator {
    from_rgb: Vec<EqualizedConv2d>,
    blocks: Vec<ConvPair>,
    last_conv: EqualizedConv2d,
    dense: EqualizedLinear,
    out: EqualizedLinear,
}

impl ProgressiveDiscriminator {
    /// Builds all stages' layers (`from_rgb<s>`, `block<s>.conv<i>`, `last_conv`, `dense`,
    /// `out`).
    pub fn new(cfg: &ProgressiveConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let ch = &cfg.channels;
        let s = cfg.start_size;
        let from_rgb = (0..ch.len())
            .map(|k| equalized_conv2d(1, ch[k], 1, vb.pp(format!("from_rgb{k}"))))
            .collect::<Result<_>>()?;
        let blocks = (1..ch.len())
            .map(|k| ConvPair::new(ch[k], ch[k], ch[k - 1], vb.pp(format!("block{k}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            from_rgb,
            blocks,
            last_conv: equalized_conv2d(ch[0] + 1, ch[0], 3, vb.pp("last_conv"))?,
            dense: equalized_linear(ch[0] * s * s, ch[0], vb.pp("dense"))?,
            out: equalized_linear(ch[0], 1, vb.pp("out"))?,
        })
    }

    fn block(&self, k: usize, h: &Tensor) -> Result<Tensor> {
        Ok(self.blocks[k - 1].forward(h, false)?.avg_pool2d(2)?)
    }

    /// Scores `(n, 1)` of network-space images `(n, 1, r, r)` at stage `stage` with fade-in
    /// weight `alpha`.
    pub fn forward(&self, x: &Tensor, stage: usize, alpha: f64) -> Result<Tensor> {
        if stage >= self.from_rgb.len() {
            return Err(Error::config(
                "stage",
                stage,
                "beyond the last stage of the configuration",
            ));
        }
        let mut h = lrelu(&self.from_rgb[stage].forward(x)?)?;
        if stage > 0 {
            h = self.block(stage, &h)?;
            if alpha < 1.0 {
                let old = lrelu(&self.from_rgb[stage - 1].forward(&x.avg_pool2d(2)?)?)?;
                h = fade(&old, &h, alpha)?;
            }
            for k in (1..stage).rev() {
                h = self.block(k, &h)?;
            }
        }
        let h = lrelu(&self.last_conv.forward(&minibatch_stddev(&h)?)?)?;
        let h = lrelu(&self.dense.forward(&h.flatten_from(1)?)?)?;
        Ok(self.out.forward(&h)?)
    }
}

/// Trains a [`ProgressiveGenerator`] and [`ProgressiveDiscriminator`] one stage at a time:
/// `fit` runs a stage, [`ProgressiveTrainer::grow`] moves to the next. Batches are
/// `(n, 1, F, F)` digits in `[0, 1]` at the final side `F`.
pub struct ProgressiveTrainer {
    cfg: ProgressiveConfig,
    gen: ProgressiveGenerator,
    disc: ProgressiveDiscriminator,
    g_store: ParamStore,
    d_store: ParamStore,
    g_opt: Adam,
    d_opt: Adam,
    stage: usize,
    /// Steps taken in the current stage.
    stage_step: u64,
    device: Device,
}

impl ProgressiveTrainer {
    /// Fresh networks at the first stage: G's weights from `seed`, D's from `seed + 1`.
    pub fn new(cfg: ProgressiveConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let g_store = ParamStore::new(seed);
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let gen = ProgressiveGenerator::new(&cfg, g_store.var_builder(device))?;
        let disc = ProgressiveDiscriminator::new(&cfg, d_store.var_builder(device))?;
        Ok(Self {
            g_opt: Adam::new(&g_store, cfg.adam)?,
            d_opt: Adam::new(&d_store, cfg.adam)?,
            cfg,
            gen,
            disc,
            g_store,
            d_store,
            stage: 0,
            stage_step: 0,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &ProgressiveConfig {
        &self.cfg
    }
    pub fn generator(&self) -> &ProgressiveGenerator {
        &self.gen
    }
    pub fn discriminator(&self) -> &ProgressiveDiscriminator {
        &self.disc
    }
    /// The current stage (0 = `start_size`).
    pub fn stage(&self) -> usize {
        self.stage
    }
    /// Side of the current stage's images.
    pub fn resolution(&self) -> usize {
        self.cfg.resolution(self.stage)
    }
    /// Steps taken in the current stage.
    pub fn stage_steps_done(&self) -> u64 {
        self.stage_step
    }

    /// The fade-in weight of the next step: `t / (stage_steps / 2)` capped at 1 (1 in the
    /// first stage, which fades nothing in).
    pub fn alpha(&self) -> f64 {
        if self.stage == 0 {
            return 1.0;
        }
        let half = (self.cfg.stage_steps / 2).max(1) as f64;
        (self.stage_step as f64 / half).min(1.0)
    }

    /// Moves to the next resolution: the new layers start fading in, and both Adams restart
    /// (the paper's reset of the moments at each new resolution).
    pub fn grow(&mut self) -> Result<()> {
        if self.stage + 1 >= self.cfg.stages() {
            return Err(Error::config(
                "stage",
                self.stage + 1,
                "the configuration has no further stage",
            ));
        }
        self.stage += 1;
        self.stage_step = 0;
        self.g_opt = Adam::new(&self.g_store, self.cfg.adam)?;
        self.d_opt = Adam::new(&self.d_store, self.cfg.adam)?;
        Ok(())
    }

    /// Real data `(n, 1, F, F)` in `[0, 1]` as the current stage's network-space batch:
    /// `2 x - 1` average-pooled to the stage's side, and during a fade-in blended with its
    /// own 2x coarser version, `(1 - alpha) u(d(x_r)) + alpha x_r`, like G's output.
    pub fn real_batch(&self, x: &Tensor, alpha: f64) -> Result<Tensor> {
        let f = self.cfg.final_size();
        if x.rank() != 4 || x.dims()[1..] != [1, f, f] {
            return Err(Error::Shape {
                what: "progressive GAN batch items",
                got: x.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: vec![1, f, f],
            });
        }
        let r = self.resolution();
        let mut y = x.affine(2.0, -1.0)?;
        if r < f {
            y = y.avg_pool2d(f / r)?;
        }
        if self.stage > 0 && alpha < 1.0 {
            let coarse = upsample(&y.avg_pool2d(2)?)?;
            y = fade(&coarse, &y, alpha)?;
        }
        Ok(y)
    }

    fn latents(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        Ok(rng.normal((n, self.cfg.latent_dim), 0.0, 1.0, &self.device)?)
    }

    /// The critic loss on a network-space batch and `G(z)`, at fade-in weight `alpha`.
    pub fn critic_loss(&self, real: &Tensor, z: &Tensor, alpha: f64) -> Result<Tensor> {
        let fake = self.gen.forward(z, self.stage, alpha)?.detach();
        let v_real = self.disc.forward(real, self.stage, alpha)?;
        let v_fake = self.disc.forward(&fake, self.stage, alpha)?;
        self.cfg.objective.critic_loss(&v_real, &v_fake, 1.0)
    }

    /// The generator loss on `G(z)` at fade-in weight `alpha`.
    pub fn generator_loss(&self, z: &Tensor, alpha: f64) -> Result<Tensor> {
        let fake = self.gen.forward(z, self.stage, alpha)?;
        self.cfg
            .objective
            .generator_loss(&self.disc.forward(&fake, self.stage, alpha)?)
    }

    /// One critic update alone on `x` (data space) and fakes from fresh latents; returns the
    /// loss before it.
    pub fn critic_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<f64> {
        let alpha = self.alpha();
        let real = self.real_batch(x, alpha)?;
        let z = self.latents(real.dim(0)?, rng)?;
        let loss = self.critic_loss(&real, &z, alpha)?;
        self.d_opt.backward_step(&loss)?;
        Ok(loss.to_scalar::<f32>()? as f64)
    }

    /// One critic update, then one generator update on fresh latents, at the current fade-in
    /// weight; metrics `d_loss`, `g_loss`, `alpha`.
    pub fn train_step(&mut self, x: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let alpha = self.alpha();
        let d = self.critic_step(x, rng)?;
        let z = self.latents(x.dim(0)?, rng)?;
        let loss = self.generator_loss(&z, alpha)?;
        self.g_opt.backward_step(&loss)?;
        self.stage_step += 1;
        Ok(vec![
            ("d_loss".into(), d),
            ("g_loss".into(), loss.to_scalar::<f32>()? as f64),
            ("alpha".into(), alpha),
        ])
    }

    /// `n` samples `(n, 1, r, r)` of the current stage in data space (`(y + 1) / 2`, not
    /// clamped), at the current fade-in weight.
    pub fn samples(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        let z = self.latents(n, rng)?;
        let y = self.gen.forward(&z, self.stage, self.alpha())?;
        Ok(y.affine(0.5, 0.5)?.detach())
    }
}

impl Trainer for ProgressiveTrainer {
    /// `progressive/<r>x<r>`: a stage's checkpoint resumes only that stage.
    fn model_name(&self) -> String {
        let r = self.resolution();
        format!("progressive/{r}x{r}")
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.train_step(&batch.x, rng).map_err(to_core)
    }

    fn state(&self) -> gm_core::Result<TrainState> {
        let mut st = TrainState::default();
        st.insert_network("g", &self.g_store, &self.g_opt)?;
        st.insert_network("d", &self.d_store, &self.d_opt)?;
        st.scalars.insert("stage".into(), self.stage.to_string());
        st.scalars
            .insert("stage_step".into(), self.stage_step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        let stage: usize = state.scalar("stage")?;
        if stage >= self.cfg.stages() {
            return Err(gm_core::Error::Msg(format!(
                "training state: stage {stage} is beyond the configuration's {}",
                self.cfg.stages()
            )));
        }
        state.load_network("g", &self.g_store, &mut self.g_opt)?;
        state.load_network("d", &self.d_store, &mut self.d_opt)?;
        self.stage = stage;
        self.stage_step = state.scalar("stage_step")?;
        Ok(())
    }

    /// The generator's weights as `generator.*` and the critic's as `discriminator.*` (all
    /// stages' layers, the unused ones at their initial values).
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w: BTreeMap<String, Tensor> = self
            .g_store
            .tensors()
            .into_iter()
            .map(|(k, v)| (format!("generator.{k}"), v))
            .collect();
        w.extend(
            self.d_store
                .tensors()
                .into_iter()
                .map(|(k, v)| (format!("discriminator.{k}"), v)),
        );
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

/// `(n, 1, r, r)` images upsampled (nearest) to `(n, 1, side, side)`.
fn to_side(x: &Tensor, side: usize) -> Result<Tensor> {
    if x.dim(3)? == side {
        return Ok(x.clone());
    }
    Ok(x.upsample_nearest2d(side, side)?)
}

/// Updates per stage in the zoo: a quarter of `opts.steps`, so that the four stages together
/// take as many generator updates as DCGAN does.
pub fn zoo_steps(opts: &ZooOptions) -> usize {
    (opts.steps / 4).max(2)
}

/// Trains the progressive GAN on the embedded training digits (padded to 32x32) for
/// [`zoo_steps`] updates per stage (4x4, 8x8, 16x16, 32x32), each stage a `fit` run in
/// `opts.out_dir/progressive/<r>x<r>`, with a sample grid `samples_<r>x<r>.png` (upsampled to
/// 32x32) per stage, and returns one MNIST FD row per resolution (samples upsampled to 32 by
/// nearest neighbour, cropped to 28).
pub fn zoo_rows(opts: &ZooOptions, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let root = opts.out_dir.join("progressive");
    let data = padded_mnist_train(device)?;
    let (epochs, items) = epoch_plan(zoo_steps(opts), opts.batch_size, data.len())?;
    let data = head_dataset(&data, items)?;
    let cfg = ProgressiveConfig {
        stage_steps: epochs * (items / opts.batch_size),
        ..ProgressiveConfig::default()
    };
    let mut trainer = ProgressiveTrainer::new(cfg, opts.seed, device)?;
    let fd = gm_eval::MnistEvaluator::new(device)?;
    let fit_cfg = FitConfig {
        epochs,
        batch_size: opts.batch_size,
        seed: opts.seed,
        grid_every: epochs.div_ceil(2).max(1),
        resume: opts.resume,
        progress: !opts.quick,
        ..FitConfig::default()
    };
    let mut rows = Vec::new();
    for stage in 0..trainer.config().stages() {
        let started = Instant::now();
        if stage > 0 {
            trainer.grow()?;
        }
        let r = trainer.resolution();
        let dir = root.join(format!("{r}x{r}"));
        fit(&mut trainer, &data, &fit_cfg, &dir, device)?;
        let mut rng = GmRng::derive(opts.seed, 1 + stage as u64);
        gm_core::viz::save_grid(
            &to_side(&trainer.samples(64, &mut rng)?, 32)?,
            8,
            false,
            root.join(format!("samples_{r}x{r}.png")),
        )?;
        let value = sampled_fd(&fd, opts.fd_samples, |k| {
            to_side(&trainer.samples(k, &mut rng)?, 32)
        })?;
        gm_core::viz::update_report(
            &dir,
            &trainer.model_name(),
            &[(
                format!("MNIST FD ({} samples, upsampled to 32x32)", opts.fd_samples),
                format!("{value:.3}"),
            )],
        )?;
        rows.push(ZooRow {
            model: "Progressive GAN (Karras et al. 2018)".into(),
            metric: format!("FD at {r}x{r}"),
            value: format!("{value:.2}"),
            reference: format!(
                "{} updates per stage; falls as the resolution grows; DCGAN: see its row",
                trainer.config().stage_steps
            ),
            wall_s: started.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}
