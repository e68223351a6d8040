//! [`GanTrainer`]: one adversarial training loop in which the objective is a choice, for
//! gm-core's `fit`. Each `fit` step is one critic update on the batch (a new latent batch,
//! the generated items detached), followed, every `n_critic` steps, by one generator update on
//! a fresh latent batch. The non-adversarial objectives (kernel generator, MMD) take one
//! generator step per batch and train no critic.
//!
//! Each network has its own [`ParamStore`] and its own Adam. All noise (latents, the
//! gradient-penalty mixing weights, DiffAugment's draws, instance noise) comes from the loop's
//! `GmRng`, so a run is reproducible and resumes bit for bit on the CPU. With
//! `tricks.ema_decay > 0`, a second copy of the generator holds the moving average of its
//! weights: [`GanTrainer::generator`], the samples, the grids and the saved model are that
//! average, and the checkpoint keeps both.

use candle_core::{Device, Tensor};
use gm_core::{Generator, GmRng, ParamStore};

use crate::adversarial::{Game, Player};
use crate::nets::{Discriminator, GanGenerator};
use crate::objective::enable_second_order;
use crate::{Error, Result};

mod config;
mod fit;
mod fused;
mod loaded;
mod step;

pub use config::GanTrainConfig;
pub use loaded::{generator_from_weights, LoadedGenerator};
pub(crate) use loaded::{run_weights, strip_prefix};
/// The critic side of a trainer: its network and its player.
struct Critic {
    net: Discriminator,
    player: Player,
}

/// The moving average of the generator's weights (running batch-norm statistics are copied,
/// as they are not trained by gradient).
struct Ema {
    gen: GanGenerator,
    store: ParamStore,
    /// Generator updates folded in.
    updates: u64,
}

impl Ema {
    fn new(model: &crate::nets::GanConfig, online: &ParamStore, device: &Device) -> Result<Self> {
        let store = ParamStore::new(0);
        let gen = GanGenerator::new(model, store.var_builder(device))?;
        store.load(&online.tensors(), "generator average")?;
        Ok(Self {
            gen,
            store,
            updates: 0,
        })
    }

    /// `theta_ema <- decay theta_ema + (1 - decay) theta` (a copy during the first `start`
    /// updates).
    fn update(&mut self, online: &ParamStore, decay: f64, start: u64) -> Result<()> {
        self.updates += 1;
        let copy = self.updates <= start;
        let src = online.tensors();
        for (name, var) in self.store.vars() {
            let t = src.get(&name).ok_or_else(|| {
                Error::config("tricks.ema_decay", name.clone(), "not a generator weight")
            })?;
            let t = t.detach();
            if copy || name.contains("running_") {
                var.set(&t)?;
            } else {
                var.set(&(var.as_tensor().affine(decay, 0.0)? + t.affine(1.0 - decay, 0.0)?)?)?;
            }
        }
        Ok(())
    }
}

/// Trains a [`GanGenerator`] (and, for adversarial objectives, a [`Discriminator`]).
///
/// One step of a small MLP pair on a batch of 2-D points, then samples:
///
/// ```
/// use candle_core::Device;
/// use gm_core::GmRng;
/// use gm_gan::{
///     Activation, Architecture, GanConfig, GanTrainConfig, GanTrainer, MlpInit,
///     OutputActivation,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dev = Device::Cpu;
/// let mlp = |hidden: Vec<usize>| Architecture::Mlp {
///     hidden,
///     activation: Activation::Relu,
/// };
/// let cfg = GanTrainConfig {
///     model: GanConfig {
///         latent_dim: 4,
///         data_shape: vec![2],
///         generator: mlp(vec![16]),
///         discriminator: mlp(vec![16, 16]),
///         output: OutputActivation::Identity,
///         mlp_init: MlpInit::Default,
///     },
///     ..Default::default()
/// };
/// let mut trainer = GanTrainer::new(cfg, 0, &dev)?;
/// let x = GmRng::new(1).normal((32, 2), 0.0, 1.0, &dev)?;
/// let metrics = trainer.train_step(&x, &mut GmRng::new(2))?;
/// assert!(metrics.iter().any(|(name, _)| name == "d_loss"));
/// assert!(metrics.iter().any(|(name, _)| name == "g_loss"));
/// assert_eq!(trainer.steps(), 1);
/// let samples = trainer.samples(5, &mut GmRng::new(3))?;
/// assert_eq!(samples.dims(), &[5, 2]);
/// # Ok(())
/// # }
/// ```
pub struct GanTrainer {
    cfg: GanTrainConfig,
    gen: GanGenerator,
    g: Player,
    ema: Option<Ema>,
    critic: Option<Critic>,
    /// The written-out MLP or DCGAN step where the configuration allows it ([`fused`]).
    fused: Option<fused::Fused>,
    step: u64,
    last_g_loss: f64,
    device: Device,
}

impl GanTrainer {
    /// Fresh networks: the generator's weights from `seed`, the critic's from `seed + 1`.
    /// A second-order configuration (WGAN-GP, exact unrolling) sets
    /// `CANDLE_GRAD_DO_NOT_DETACH=1` and fails if this thread already ran a backward pass
    /// without it.
    pub fn new(cfg: GanTrainConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        if cfg.needs_second_order() {
            let what = match cfg.unrolled {
                Some(u) if u.second_order => format!("unrolled GAN (k = {})", u.steps),
                _ if !cfg.objective.needs_second_order() => "the R1/R2 penalty".into(),
                _ => cfg.objective.name(),
            };
            enable_second_order(&what)?;
        }
        let g_store = ParamStore::new(seed);
        let gen = GanGenerator::new(&cfg.model, g_store.var_builder(device))?;
        let ema = if cfg.tricks.ema_decay > 0.0 {
            Some(Ema::new(&cfg.model, &g_store, device)?)
        } else {
            None
        };
        let ha = cfg.tricks.historical_averaging > 0.0;
        let g = Player::new(g_store, cfg.adam_g, ha)?;
        let critic = if cfg.objective.is_adversarial() {
            let store = ParamStore::new(seed.wrapping_add(1));
            let mut net = Discriminator::new(&cfg.model, store.var_builder(device))?;
            let player = Player::new(store.clone(), cfg.adam_d, ha)?;
            if cfg.tricks.spectral_norm {
                // After the optimizer: the power-iteration vectors are state, not parameters.
                net.enable_spectral_norm(store.var_builder(device))?;
            }
            Some(Critic { net, player })
        } else {
            None
        };
        let fused = fused::Fused::new(&cfg, &gen, critic.as_ref().map(|c| &c.net), device)?;
        Ok(Self {
            cfg,
            gen,
            g,
            ema,
            critic,
            fused,
            step: 0,
            last_g_loss: 0.0,
            device: device.clone(),
        })
    }

    /// The generator that samples: the weight average when `tricks.ema_decay > 0`, else the
    /// trained generator.
    pub fn generator(&self) -> &GanGenerator {
        self.ema.as_ref().map_or(&self.gen, |e| &e.gen)
    }
    /// The generator the updates train.
    pub fn online_generator(&self) -> &GanGenerator {
        &self.gen
    }
    /// The weights of [`GanTrainer::generator`].
    pub fn sampling_store(&self) -> &ParamStore {
        self.ema.as_ref().map_or(self.g.store(), |e| &e.store)
    }
    /// The critic; `None` for the non-adversarial objectives (kernel generator, MMD).
    pub fn discriminator(&self) -> Option<&Discriminator> {
        self.critic.as_ref().map(|c| &c.net)
    }
    /// The weights of the trained generator ([`GanTrainer::online_generator`]).
    pub fn generator_store(&self) -> &ParamStore {
        self.g.store()
    }
    /// The critic's weights; `None` without a critic.
    pub fn discriminator_store(&self) -> Option<&ParamStore> {
        self.critic.as_ref().map(|c| c.player.store())
    }
    /// The configuration of the run.
    pub fn config(&self) -> &GanTrainConfig {
        &self.cfg
    }
    /// Training steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }
    /// The rules both players follow: the objective and the tricks.
    pub fn game(&self) -> Game<'_> {
        Game::new(&self.cfg.objective, &self.cfg.tricks)
    }

    /// Whether the updates take the written-out path ([`GanTrainer::set_fused`]).
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }

    /// Turns the written-out step on (where the configuration allows it: both networks MLPs
    /// or both DCGAN's, f32 on the CPU, a GAN, WGAN, hinge or least-squares objective, no
    /// trick that needs autograd) or off (candle's autograd, the general path). On by default
    /// where allowed.
    pub fn set_fused(&mut self, on: bool) -> Result<()> {
        self.fused = if on {
            fused::Fused::new(
                &self.cfg,
                &self.gen,
                self.critic.as_ref().map(|c| &c.net),
                &self.device,
            )?
        } else {
            None
        };
        Ok(())
    }

    /// `n` generated items in data space (batch norm in inference mode).
    /// `n` items of [`GanTrainer::generator`] (the weight average when it is on).
    pub fn samples(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        self.generator()
            .sample(n, rng, &self.device)
            .map_err(Error::Core)
            .map(|t| t.detach())
    }
}

/// A `(1, 1, side, side)` picture of 2-D points over `[-extent, extent]^2`: white, with each
/// occupied cell darkened by its share of the busiest cell.
pub fn scatter_image(points: &Tensor, extent: f64, side: usize) -> Result<Tensor> {
    let v = points.flatten_all()?.to_vec1::<f32>()?;
    let mut counts = vec![0f32; side * side];
    for p in v.chunks_exact(2) {
        let to = |t: f32| ((t as f64 + extent) / (2.0 * extent) * side as f64).floor();
        let (i, j) = (to(p[0]), to(p[1]));
        if i >= 0.0 && j >= 0.0 && (i as usize) < side && (j as usize) < side {
            // Row 0 is the top of the picture: y grows upwards.
            counts[(side - 1 - j as usize) * side + i as usize] += 1.0;
        }
    }
    let max = counts.iter().cloned().fold(0f32, f32::max).max(1.0);
    let px: Vec<f32> = counts
        .iter()
        .map(|&c| {
            if c > 0.0 {
                0.8 - 0.8 * (c / max).sqrt()
            } else {
                1.0
            }
        })
        .collect();
    Ok(Tensor::from_vec(px, (1, 1, side, side), points.device())?)
}
