//! CycleGAN (Zhu, Park, Isola and Efros 2017, "Unpaired Image-to-Image Translation using
//! Cycle-Consistent Adversarial Networks"): generators `G: X -> Y` and `F: Y -> X` and
//! discriminators `D_X`, `D_Y`, trained on unpaired samples of the two domains with the full
//! objective (eq. 3 of the paper)
//!
//! ```text
//! L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda L_cyc(G, F),
//! L_cyc(G, F)       = E_x |F(G(x)) - x|_1 + E_y |G(F(y)) - y|_1,
//! ```
//!
//! with `lambda = 10` and, as in section 4 of the paper, the least-squares adversarial loss
//! (Mao et al. 2017: `D` minimises `(D(y) - 1)^2 + D(G(x))^2`, halved; `G` minimises
//! `(D(G(x)) - 1)^2`) or, as an option, the non-saturating logistic loss. The identity loss
//! `E_y |G(y) - y|_1 + E_x |F(x) - x|_1` (weight `0.5 lambda` in the paper, for photo <->
//! painting) is off by default: here it would push `G` to leave stroke images unchanged.
//! Each discriminator sees generated images through a replay buffer of the last 50
//! ([`ImagePool`], Shrivastava et al. 2017), and the learning rate decays linearly to zero
//! over the second half of training ([`linear_decay_lr`]).
//!
//! The networks are the paper's ResNet generator (c7s1-k, d2k, residual blocks, u k,
//! c7s1-1, instance norm, ReLU, tanh output; 3x3 outer convolutions here) and PatchGAN
//! discriminator (strided 4x4 convolutions, LeakyReLU 0.2, instance norm, one score per
//! patch), narrowed for 28x28 digits on a CPU, on gm-core's im2col convolutions.
//!
//! The zoo measures them on a translation whose truth is known: `Y = T(X)` with
//! [`thicken_and_invert`] (a 3x3 max-filter dilation of the strokes, then `1 - x`), trained on
//! disjoint halves of the training digits, so no pair `(x, T(x))` is ever seen.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::classifier::MnistClassifier;
use gm_core::data::{mnist_embedded, Batch, Dataset};
use gm_core::nn::conv::{conv2d, conv_transpose2d, Conv2d, ConvConfig, ConvTranspose2d};
use gm_core::{fit, Adam, AdamConfig, GmRng, Metrics, ParamStore, TrainState, Trainer};
use serde::{Deserialize, Serialize};

use crate::bigan::{interleave_rows, steps_fit_config};
use crate::error::to_core;
use crate::objective::bce_with_logits;
use crate::zoo::{ZooOptions, ZooRow};
use crate::{Error, Result};

/// The adversarial loss of both generator/discriminator pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdversarialLoss {
    /// LSGAN, the paper's choice.
    LeastSquares,
    /// The logistic loss, non-saturating for the generators.
    NonSaturating,
}

impl AdversarialLoss {
    /// The discriminator's loss on raw patch scores of real and (pooled) generated images,
    /// halved as in the paper "to slow down the rate at which D learns relative to G".
    pub fn discriminator_loss(&self, v_real: &Tensor, v_fake: &Tensor) -> Result<Tensor> {
        let l = match self {
            AdversarialLoss::LeastSquares => {
                (v_real.affine(1.0, -1.0)?.sqr()?.mean_all()? + v_fake.sqr()?.mean_all()?)?
            }
            AdversarialLoss::NonSaturating => {
                (bce_with_logits(v_real, 1.0)? + bce_with_logits(v_fake, 0.0)?)?
            }
        };
        Ok(l.affine(0.5, 0.0)?)
    }

    /// The generator's loss on raw patch scores of its images.
    pub fn generator_loss(&self, v_fake: &Tensor) -> Result<Tensor> {
        match self {
            AdversarialLoss::LeastSquares => Ok(v_fake.affine(1.0, -1.0)?.sqr()?.mean_all()?),
            AdversarialLoss::NonSaturating => bce_with_logits(v_fake, 1.0),
        }
    }
}

/// Hyperparameters of a CycleGAN run on one-channel square images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleGanConfig {
    /// Side of the square images (even, at least 8).
    pub image_size: usize,
    /// Feature maps `k` of the generators' outer layers (`2 k` inside) and of the
    /// discriminators' first layer.
    pub channels: usize,
    /// Residual blocks at half resolution in each generator.
    pub residual_blocks: usize,
    pub adversarial: AdversarialLoss,
    /// `lambda`, the weight of the cycle-consistency loss (10 in the paper).
    pub cycle_weight: f64,
    /// Weight of the identity loss (0: off; the paper's is `0.5 lambda` where used).
    pub identity_weight: f64,
    /// Generated images kept for each discriminator (50 in the paper; 0: no buffer).
    pub pool_size: usize,
    /// One Adam for `G` and `F`, one for `D_X` and `D_Y`, as in the reference code; `lr` is
    /// the rate before the decay.
    pub adam: AdamConfig,
    /// Updates in the whole run: the learning-rate schedule's length.
    pub total_steps: usize,
    /// Fraction of `total_steps` after which the rate decays linearly to 0 (0.5 in the paper).
    pub decay_start: f64,
}

impl Default for CycleGanConfig {
    /// The paper's settings (lambda 10, buffer 50, Adam lr 2e-4, beta1 0.5, decay over the
    /// second half) with networks sized for 28x28 digits on two CPU cores.
    fn default() -> Self {
        Self {
            image_size: 28,
            channels: 8,
            residual_blocks: 2,
            adversarial: AdversarialLoss::LeastSquares,
            cycle_weight: 10.0,
            identity_weight: 0.0,
            pool_size: 50,
            adam: AdamConfig {
                lr: 2e-4,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            total_steps: 1_000,
            decay_start: 0.5,
        }
    }
}

fn non_negative_finite(field: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::config(field, v, "must be finite and >= 0"));
    }
    Ok(())
}

impl CycleGanConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.image_size < 8 || self.image_size % 2 != 0 {
            return Err(Error::config(
                "image_size",
                self.image_size,
                "must be even and at least 8",
            ));
        }
        if self.channels == 0 {
            return Err(Error::config("channels", 0, "must be at least 1"));
        }
        non_negative_finite("cycle_weight", self.cycle_weight)?;
        non_negative_finite("identity_weight", self.identity_weight)?;
        if self.total_steps == 0 {
            return Err(Error::config("total_steps", 0, "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.decay_start) {
            return Err(Error::config(
                "decay_start",
                self.decay_start,
                "must lie in [0, 1]",
            ));
        }
        self.adam.validate()?;
        Ok(())
    }

    /// Shape of one item of the two-domain data set: `[2, s, s]`, X then Y.
    pub fn item_shape(&self) -> Vec<usize> {
        vec![2, self.image_size, self.image_size]
    }
}

/// The learning rate of update `step` (0-based) in a run of `total` updates: `base` until
/// `start = round(decay_start total)`, then `base (total - step) / (total - start)`, which
/// falls linearly to 0 at `total` (the paper's schedule, per update rather than per epoch).
pub fn linear_decay_lr(base: f64, step: usize, total: usize, decay_start: f64) -> f64 {
    let start = ((decay_start * total as f64).round() as usize).min(total);
    if step < start {
        base
    } else if step >= total {
        0.0
    } else {
        base * (total - step) as f64 / (total - start) as f64
    }
}

/// `T`, the translation the zoo asks CycleGAN to discover: a 3x3 max filter (stroke
/// dilation, zero padding) followed by inversion `1 - x`, on images `(n, c, h, w)` in
/// `[0, 1]`.
pub fn thicken_and_invert(x: &Tensor) -> Result<Tensor> {
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let dilated = padded.max_pool2d_with_stride(3, 1)?;
    Ok(dilated.affine(-1.0, 1.0)?)
}

/// Instance normalisation without affine parameters (the reference code's
/// `InstanceNorm2d(affine=False)`): each image's channel to zero mean and unit variance.
fn instance_norm(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let f = x.reshape((n, c, h * w))?;
    let centred = f.broadcast_sub(&f.mean_keepdim(2)?)?;
    let std = (centred.sqr()?.mean_keepdim(2)? + 1e-5)?.sqrt()?;
    Ok(centred.broadcast_div(&std)?.reshape((n, c, h, w))?)
}

const SAME3: ConvConfig = ConvConfig {
    stride: 1,
    padding: 1,
    output_padding: 0,
};
const DOWN3: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};
const UP3: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 1,
};
const DOWN4: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

/// `x + IN(conv(ReLU(IN(conv(x)))))`, the paper's R block.
#[derive(Debug, Clone)]
struct ResidualBlock {
    c0: Conv2d,
    c1: Conv2d,
}

impl ResidualBlock {
    fn new(ch: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            c0: conv2d(ch, ch, 3, SAME3, vb.pp("c0"))?,
            c1: conv2d(ch, ch, 3, SAME3, vb.pp("c1"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = instance_norm(&self.c0.forward(x)?)?.relu()?;
        let h = instance_norm(&self.c1.forward(&h)?)?;
        Ok((x + h)?)
    }
}

/// A translator between one-channel image domains, network space `[-1, 1]` in and out:
/// c3s1-k, d2k, `residual_blocks` x R2k, u k, c3s1-1 + tanh (the paper's 7x7 outer
/// convolutions, sized for 256x256 images, become 3x3 at 28x28: the same layout at a tenth of
/// the cost).
#[derive(Debug, Clone)]
pub struct ResnetGenerator {
    input: Conv2d,
    down: Conv2d,
    blocks: Vec<ResidualBlock>,
    up: ConvTranspose2d,
    output: Conv2d,
}

impl ResnetGenerator {
    pub fn new(cfg: &CycleGanConfig, vb: VarBuilder) -> Result<Self> {
        let k = cfg.channels;
        Ok(Self {
            input: conv2d(1, k, 3, SAME3, vb.pp("input"))?,
            down: conv2d(k, 2 * k, 3, DOWN3, vb.pp("down"))?,
            blocks: (0..cfg.residual_blocks)
                .map(|i| ResidualBlock::new(2 * k, vb.pp(format!("res{i}"))))
                .collect::<Result<_>>()?,
            up: conv_transpose2d(2 * k, k, 3, UP3, vb.pp("up"))?,
            output: conv2d(k, 1, 3, SAME3, vb.pp("output"))?,
        })
    }

    /// Translated images `(n, 1, s, s)` in `[-1, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = instance_norm(&self.input.forward(x)?)?.relu()?;
        h = instance_norm(&self.down.forward(&h)?)?.relu()?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        h = instance_norm(&self.up.forward(&h)?)?.relu()?;
        Ok(self.output.forward(&h)?.tanh()?)
    }
}

/// A PatchGAN discriminator: C k (no norm), C 2k, then one raw score per patch,
/// `(n, 1, s / 4, s / 4)`.
#[derive(Debug, Clone)]
pub struct PatchDiscriminator {
    c0: Conv2d,
    c1: Conv2d,
    score: Conv2d,
}

impl PatchDiscriminator {
    pub fn new(cfg: &CycleGanConfig, vb: VarBuilder) -> Result<Self> {
        let k = cfg.channels;
        Ok(Self {
            c0: conv2d(1, k, 4, DOWN4, vb.pp("c0"))?,
            c1: conv2d(k, 2 * k, 4, DOWN4, vb.pp("c1"))?,
            score: conv2d(2 * k, 1, 3, SAME3, vb.pp("score"))?,
        })
    }

    /// Raw patch scores of network-space images.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = gm_core::nn::leaky_relu(&self.c0.forward(x)?, 0.2)?;
        let h = gm_core::nn::leaky_relu(&instance_norm(&self.c1.forward(&h)?)?, 0.2)?;
        Ok(self.score.forward(&h)?)
    }
}

/// The replay buffer of Shrivastava et al. (2017) as CycleGAN uses it: until `capacity`
/// images are stored, each generated image is stored and shown as is; afterwards, with
/// probability 1/2 it replaces a uniformly chosen stored image, which is shown instead, and
/// otherwise it is shown and not stored. The discriminator so sees a history of generators,
/// which damps oscillation.
#[derive(Debug, Clone)]
pub struct ImagePool {
    capacity: usize,
    images: Vec<Tensor>,
}

impl ImagePool {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            images: Vec::with_capacity(capacity),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stored images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The stored images, each `(c, h, w)`, in slot order.
    pub fn images(&self) -> &[Tensor] {
        &self.images
    }

    /// The images to show the discriminator in place of the batch `(n, c, h, w)` (detached).
    pub fn query(&mut self, batch: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let batch = batch.detach();
        if self.capacity == 0 {
            return Ok(batch);
        }
        let mut out = Vec::with_capacity(batch.dim(0)?);
        for i in 0..batch.dim(0)? {
            let img = batch.get(i)?;
            if self.images.len() < self.capacity {
                self.images.push(img.clone());
                out.push(img);
                continue;
            }
            let u = rng.uniform_vec(2, 0.0, 1.0);
            if u[0] < 0.5 {
                let slot = ((u[1] * self.capacity as f32) as usize).min(self.capacity - 1);
                out.push(std::mem::replace(&mut self.images[slot], img));
            } else {
                out.push(img);
            }
        }
        Ok(Tensor::stack(&out, 0)?)
    }

    /// The stored images as one tensor `(len, c, h, w)`, for checkpoints.
    fn state(&self) -> Result<Option<Tensor>> {
        if self.images.is_empty() {
            return Ok(None);
        }
        Ok(Some(Tensor::stack(&self.images, 0)?))
    }

    fn load(&mut self, stored: Option<&Tensor>) -> Result<()> {
        self.images.clear();
        if let Some(t) = stored {
            for i in 0..t.dim(0)?.min(self.capacity) {
                self.images.push(t.get(i)?);
            }
        }
        Ok(())
    }
}

/// Trains a CycleGAN on batches `(n, 2, s, s)` of unpaired items: channel 0 from domain X,
/// channel 1 from domain Y, pixels in `[0, 1]` (see [`unpaired_domains`]).
pub struct CycleGanTrainer {
    cfg: CycleGanConfig,
    g: ResnetGenerator,
    f: ResnetGenerator,
    g_store: ParamStore,
    g_opt: Adam,
    d_x: PatchDiscriminator,
    d_y: PatchDiscriminator,
    d_store: ParamStore,
    d_opt: Adam,
    pool_x: ImagePool,
    pool_y: ImagePool,
    step: u64,
}

/// Images per forward pass at evaluation: small chunks keep the im2col buffers in cache.
const TRANSLATE_CHUNK: usize = 50;

/// The generator-side losses of one batch.
struct GeneratorLosses {
    total: Tensor,
    adversarial: f64,
    cycle: f64,
    identity: f64,
    fake_x: Tensor,
    fake_y: Tensor,
}

fn l1(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok((a - b)?.abs()?.mean_all()?)
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_scalar::<f32>()? as f64)
}

impl CycleGanTrainer {
    /// Fresh networks: `G` (`g.*`) and `F` (`f.*`) from `seed`, `D_X` (`d_x.*`) and `D_Y`
    /// (`d_y.*`) from `seed + 1`.
    pub fn new(cfg: CycleGanConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let g_store = ParamStore::new(seed);
        let vb = g_store.var_builder(device);
        let g = ResnetGenerator::new(&cfg, vb.pp("g"))?;
        let f = ResnetGenerator::new(&cfg, vb.pp("f"))?;
        let g_opt = Adam::new(&g_store, cfg.adam)?;
        let d_store = ParamStore::new(seed.wrapping_add(1));
        let vb = d_store.var_builder(device);
        let d_x = PatchDiscriminator::new(&cfg, vb.pp("d_x"))?;
        let d_y = PatchDiscriminator::new(&cfg, vb.pp("d_y"))?;
        let d_opt = Adam::new(&d_store, cfg.adam)?;
        Ok(Self {
            pool_x: ImagePool::new(cfg.pool_size),
            pool_y: ImagePool::new(cfg.pool_size),
            cfg,
            g,
            f,
            g_store,
            g_opt,
            d_x,
            d_y,
            d_store,
            d_opt,
            step: 0,
        })
    }

    pub fn config(&self) -> &CycleGanConfig {
        &self.cfg
    }
    /// `G: X -> Y`.
    pub fn g(&self) -> &ResnetGenerator {
        &self.g
    }
    /// `F: Y -> X`.
    pub fn f(&self) -> &ResnetGenerator {
        &self.f
    }
    /// Training steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The two domains of a data-space batch `(n, 2, s, s)`, in network space.
    pub fn split_batch(&self, batch: &Tensor) -> Result<(Tensor, Tensor)> {
        let want = self.cfg.item_shape();
        if batch.rank() != 4 || batch.dims()[1..] != want[..] {
            return Err(Error::Shape {
                what: "two-domain batch items",
                got: batch.dims().get(1..).unwrap_or(&[]).to_vec(),
                expected: want,
            });
        }
        let net = batch.affine(2.0, -1.0)?;
        Ok((net.narrow(1, 0, 1)?, net.narrow(1, 1, 1)?))
    }

    /// Applies `net` (`G` or `F`) to data-space images in chunks, back in data space,
    /// detached.
    fn translate(&self, net: &ResnetGenerator, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let mut out = Vec::new();
        for lo in (0..n).step_by(TRANSLATE_CHUNK) {
            let xs = x
                .narrow(0, lo, TRANSLATE_CHUNK.min(n - lo))?
                .affine(2.0, -1.0)?;
            out.push(net.forward(&xs)?.affine(0.5, 0.5)?.detach());
        }
        Ok(Tensor::cat(&out, 0)?)
    }

    /// `G(x)` of data-space images `(n, 1, s, s)`, in data space.
    pub fn translate_x_to_y(&self, x: &Tensor) -> Result<Tensor> {
        self.translate(&self.g, x)
    }

    /// `F(y)` of data-space images `(n, 1, s, s)`, in data space.
    pub fn translate_y_to_x(&self, y: &Tensor) -> Result<Tensor> {
        self.translate(&self.f, y)
    }

    /// The generators' objective on network-space `x`, `y`: adversarial losses of `G`
    /// against `D_Y` and `F` against `D_X`, `lambda L_cyc`, and the weighted identity loss.
    fn generator_losses(&self, x: &Tensor, y: &Tensor) -> Result<GeneratorLosses> {
        let adv = self.cfg.adversarial;
        let fake_y = self.g.forward(x)?;
        let fake_x = self.f.forward(y)?;
        let adversarial = (adv.generator_loss(&self.d_y.forward(&fake_y)?)?
            + adv.generator_loss(&self.d_x.forward(&fake_x)?)?)?;
        let cycle = cycle_loss(x, &self.f.forward(&fake_y)?, y, &self.g.forward(&fake_x)?)?;
        let mut total = (&adversarial + cycle.affine(self.cfg.cycle_weight, 0.0)?)?;
        let mut identity = 0.0;
        if self.cfg.identity_weight > 0.0 {
            let id = (l1(&self.g.forward(y)?, y)? + l1(&self.f.forward(x)?, x)?)?;
            identity = scalar(&id)?;
            total = (total + id.affine(self.cfg.identity_weight, 0.0)?)?;
        }
        Ok(GeneratorLosses {
            adversarial: scalar(&adversarial)?,
            cycle: scalar(&cycle)?,
            identity,
            total,
            fake_x,
            fake_y,
        })
    }

    /// The generators' total loss on network-space `x`, `y`, with no update.
    pub fn generator_loss_value(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        scalar(&self.generator_losses(x, y)?.total)
    }

    /// The two discriminators' summed loss on real `x`, `y` and generated `fake_x`,
    /// `fake_y` (all network space, no buffer), with no update.
    pub fn discriminator_loss_value(
        &self,
        x: &Tensor,
        y: &Tensor,
        fake_x: &Tensor,
        fake_y: &Tensor,
    ) -> Result<f64> {
        scalar(&self.discriminator_loss(x, y, fake_x, fake_y)?.0)
    }

    fn discriminator_loss(
        &self,
        x: &Tensor,
        y: &Tensor,
        fake_x: &Tensor,
        fake_y: &Tensor,
    ) -> Result<(Tensor, f64, f64)> {
        let adv = self.cfg.adversarial;
        let l_x = adv.discriminator_loss(&self.d_x.forward(x)?, &self.d_x.forward(fake_x)?)?;
        let l_y = adv.discriminator_loss(&self.d_y.forward(y)?, &self.d_y.forward(fake_y)?)?;
        let (vx, vy) = (scalar(&l_x)?, scalar(&l_y)?);
        Ok(((l_x + l_y)?, vx, vy))
    }

    /// One step on a data-space batch `(n, 2, s, s)`, in the reference code's order: the
    /// generators' update, then the discriminators' on buffered fakes (made before that
    /// update), each at the scheduled learning rate.
    pub fn train_step(&mut self, batch: &Tensor, rng: &mut GmRng) -> Result<Metrics> {
        let (x, y) = self.split_batch(batch)?;
        let c = &self.cfg;
        let lr = linear_decay_lr(c.adam.lr, self.step as usize, c.total_steps, c.decay_start);
        self.g_opt.set_lr(lr);
        self.d_opt.set_lr(lr);
        let gl = self.generator_losses(&x, &y)?;
        self.g_opt.backward_step(&gl.total)?;
        let fake_y = self.pool_y.query(&gl.fake_y, rng)?;
        let fake_x = self.pool_x.query(&gl.fake_x, rng)?;
        let (d_loss, d_x, d_y) = self.discriminator_loss(&x, &y, &fake_x, &fake_y)?;
        self.d_opt.backward_step(&d_loss)?;
        self.step += 1;
        let mut m = vec![
            ("g_adversarial".into(), gl.adversarial),
            ("cycle_l1".into(), gl.cycle),
        ];
        if self.cfg.identity_weight > 0.0 {
            m.push(("identity_l1".into(), gl.identity));
        }
        m.extend([
            ("d_x_loss".into(), d_x),
            ("d_y_loss".into(), d_y),
            ("lr".into(), lr),
        ]);
        Ok(m)
    }
}

/// `L_cyc = mean |F(G(x)) - x| + mean |G(F(y)) - y|` from the images and their round trips.
pub fn cycle_loss(x: &Tensor, x_cycled: &Tensor, y: &Tensor, y_cycled: &Tensor) -> Result<Tensor> {
    Ok((l1(x_cycled, x)? + l1(y_cycled, y)?)?)
}

impl Trainer for CycleGanTrainer {
    fn model_name(&self) -> String {
        "cyclegan".into()
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
        for (name, pool) in [("pool_x", &self.pool_x), ("pool_y", &self.pool_y)] {
            if let Some(t) = pool.state().map_err(to_core)? {
                st.tensors.insert(name.into(), t);
            }
        }
        st.scalars.insert("step".into(), self.step.to_string());
        Ok(st)
    }

    fn load_state(&mut self, state: &TrainState) -> gm_core::Result<()> {
        state.load_network("g", &self.g_store, &mut self.g_opt)?;
        state.load_network("d", &self.d_store, &mut self.d_opt)?;
        self.pool_x
            .load(state.tensors.get("pool_x"))
            .map_err(to_core)?;
        self.pool_y
            .load(state.tensors.get("pool_y"))
            .map_err(to_core)?;
        self.step = state.scalar("step")?;
        Ok(())
    }

    /// `g.*`, `f.*`, `d_x.*`, `d_y.*`.
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        let mut w = self.g_store.tensors();
        w.extend(self.d_store.tensors());
        Ok(w)
    }
}

/// Unpaired training items `(2, s, s)`: item `i` holds `x_i` in channel 0 and `y_{p(i)}` in
/// channel 1, for a permutation `p` drawn from `seed`; `min(|X|, |Y|)` items. The two
/// channels are independent samples (no loss couples them), so the pairing carries no
/// correspondence.
pub fn unpaired_domains(x: &Dataset, y: &Dataset, seed: u64) -> Result<Dataset> {
    if x.item_shape != y.item_shape || x.item_shape.first() != Some(&1) {
        return Err(Error::Shape {
            what: "domain items (X vs Y, one channel)",
            got: y.item_shape.clone(),
            expected: x.item_shape.clone(),
        });
    }
    let d = x.item_size();
    let perm = GmRng::new(seed).permutation(y.len());
    let n = x.len().min(y.len());
    let mut v = Vec::with_capacity(2 * n * d);
    for (i, &j) in perm.iter().enumerate().take(n) {
        v.extend(x.item(i)?);
        v.extend(y.item(j)?);
    }
    let mut shape = x.item_shape.clone();
    shape[0] = 2;
    Ok(Dataset::new(
        format!("unpaired({}, {})", x.name, y.name),
        shape,
        v,
        None,
    )?)
}

/// The zoo's two domains from the training digits: X the first half, Y = `T` of the second
/// half, so no digit appears in both.
pub fn mnist_domains(train: &Dataset, seed: u64) -> Result<Dataset> {
    let half = train.len() / 2;
    let (first, second) = train.split_off(train.len() - half)?;
    let second = second.head(second.len(), &Device::Cpu)?.x;
    let t = thicken_and_invert(&second)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let y = Dataset::new(
        format!("T({} second half)", train.name),
        train.item_shape.clone(),
        t,
        None,
    )?;
    unpaired_domains(&first, &y, seed)
}

/// The fraction of equal labels in two predictions of the same items.
fn agreement(a: &[u32], b: &[u32]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::Shape {
            what: "predicted labels",
            got: vec![b.len()],
            expected: vec![a.len()],
        });
    }
    let same = a.iter().zip(b).filter(|(u, v)| u == v).count();
    Ok(same as f64 / a.len() as f64)
}

fn mean_l1(a: &Tensor, b: &Tensor) -> Result<f64> {
    scalar(&l1(a, b)?)
}

/// The largest batch the zoo trains CycleGAN on: the paper uses 1; on a CPU a batch of 16
/// costs less per image than larger ones (the im2col buffers stay in cache).
pub const ZOO_MAX_BATCH: usize = 16;

/// The zoo's CycleGAN measurement: trains the default [`CycleGanConfig`] for `opts.steps`
/// updates (the schedule's length) on batches of `min(opts.batch_size, ZOO_MAX_BATCH)`
/// through gm-core's `fit` on [`mnist_domains`] (run folder
/// `out_dir/cyclegan/run`), writes `out_dir/cyclegan/translations.png` (rows x, G(x), T(x),
/// F(G(x)) of test digits), and returns, on the 2,000 held-out test digits (500 at the quick
/// budget), the translation
/// error `|G(x) - T(x)|`, the cycle error `|F(G(x)) - x|` and the shipped classifier's label
/// agreement between x and F(G(x)) and between x and F(T(x)), each beside the identity map.
pub fn zoo_rows(opts: &ZooOptions, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = Instant::now();
    let dir = opts.out_dir.join("cyclegan");
    let data = mnist_embedded()?;
    let domains = mnist_domains(&data.train, opts.seed)?;
    let cfg = CycleGanConfig {
        total_steps: opts.steps,
        ..CycleGanConfig::default()
    };
    let mut trainer = CycleGanTrainer::new(cfg, opts.seed, device)?;
    let batch_size = opts.batch_size.min(ZOO_MAX_BATCH);
    let mut fit_cfg = steps_fit_config(opts.steps, batch_size, domains.len(), opts.seed)?;
    fit_cfg.grid_every = 0;
    fit_cfg.resume = opts.resume;
    fit(&mut trainer, &domains, &fit_cfg, &dir.join("run"), device)?;

    // The quick budget is a smoke test: a quarter of the test digits keeps it to seconds.
    let n_eval = if opts.quick { 500 } else { data.test.len() };
    let x = data.test.head(n_eval, device)?.x;
    let n_eval = x.dim(0)?;
    let tx = thicken_and_invert(&x)?;
    let gx = trainer.translate_x_to_y(&x)?;
    let fgx = trainer.translate_y_to_x(&gx)?;
    let ftx = trainer.translate_y_to_x(&tx)?;
    let clf = MnistClassifier::pretrained(device)?;
    let labels_x = clf.predict(&x)?;
    let agree = |other: &Tensor| -> Result<f64> { agreement(&labels_x, &clf.predict(other)?) };
    let translation = mean_l1(&gx, &tx)?;
    let translation_id = mean_l1(&x, &tx)?;
    let cycle = mean_l1(&fgx, &x)?;
    let agree_cycle = agree(&fgx)?;
    let agree_back = agree(&ftx)?;
    let agree_back_id = agree(&tx)?;

    let k = 12.min(x.dim(0)?);
    let rows: Vec<Tensor> = [&x, &gx, &tx, &fgx]
        .iter()
        .map(|t| t.narrow(0, 0, k))
        .collect::<candle_core::Result<_>>()?;
    let grid = interleave_rows(&rows.iter().collect::<Vec<_>>(), k)?;
    gm_core::viz::save_grid(&grid, k, false, dir.join("translations.png"))?;

    let wall_s = started.elapsed().as_secs_f64();
    let row = |metric: &str, value: String, reference: String| ZooRow {
        model: "CycleGAN".into(),
        metric: metric.into(),
        value,
        reference,
        wall_s,
    };
    let pct = |v: f64| format!("{:.2} %", 100.0 * v);
    let rows = vec![
        row(
            &format!("translation L1 |G(x) - T(x)| per pixel ({n_eval} test digits)"),
            format!("{translation:.4}"),
            format!("{translation_id:.4} (identity map)"),
        ),
        row(
            &format!("cycle L1 |F(G(x)) - x| per pixel ({n_eval} test digits)"),
            format!("{cycle:.4}"),
            "0.0000 (identity map)".into(),
        ),
        row(
            "classifier label agreement x vs F(G(x))",
            pct(agree_cycle),
            "100.00 % (identity map)".into(),
        ),
        row(
            "classifier label agreement x vs F(T(x))",
            pct(agree_back),
            format!("{} (identity map: x vs T(x))", pct(agree_back_id)),
        ),
    ];
    let table: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.metric.clone(),
                format!("{} (ref. {})", r.value, r.reference),
            )
        })
        .collect();
    gm_core::viz::write_report(&dir, "CycleGAN (Zhu et al. 2017)", &table)?;
    Ok(rows)
}
