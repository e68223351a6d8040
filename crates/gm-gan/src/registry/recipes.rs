//! The reference recipes of [`GanTrainer`] (GAN, WGAN, WGAN-GP, f-GAN, GMMN, the kernel
//! generator, the unrolled GAN) and MIX+GAN, as entries of the command.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::{AdamConfig, Generator, Trainer};
use gm_divergence::Divergence;

use super::{
    saved_config, with_saved_weights, Budget, BuildFn, ImageModel, ImageSpec, ModelEntry, Run,
    Saved,
};
use crate::{
    Error, GanConfig, GanTrainConfig, GanTrainer, MixGanConfig, MixGanTrainer, Objective, Result,
    Tricks, GMMN_MNIST_BANDWIDTHS,
};

/// The budget of the epoch-trained image recipes, at learning rate `lr`.
macro_rules! epochs {
    ($epochs:literal, $batch:literal, $lr:literal) => {
        &[
            ("epochs", Some($epochs)),
            ("batch-size", Some($batch)),
            ("lr", Some($lr)),
            ("steps", None),
        ]
    };
}

/// The budget of the 2-D models.
const MIXTURE_BUDGET: Budget = &[
    ("steps", Some("3000")),
    ("batch-size", Some("512")),
    ("lr", Some("1e-3")),
];

/// An image recipe of [`GanTrainer`], whose runs `LoadedGenerator` rebuilds.
const fn image(
    name: &'static str,
    about: &'static str,
    budget: Budget,
    build: BuildFn,
) -> ModelEntry {
    ModelEntry {
        name,
        about,
        budget,
        run: Run::Images(build),
        saved: Saved::Elsewhere,
    }
}

pub(super) const UNROLLED: ModelEntry = ModelEntry {
    name: "unrolled",
    about: "unrolled GAN (Metz et al. 2017), k = 5, on a 2-D mixture",
    budget: MIXTURE_BUDGET,
    run: Run::Mixture,
    saved: Saved::Elsewhere,
};

pub(super) const MIXGAN: ModelEntry = ModelEntry {
    name: "mixgan",
    about: "MIX+GAN (Arora et al. 2017), 3 + 3 components, on a 2-D mixture",
    budget: &[
        ("steps", Some("3000")),
        ("batch-size", Some("128")),
        ("lr", Some("1e-3")),
    ],
    run: Run::Mixture,
    saved: Saved::Generator {
        model: "mix-gan",
        load: mix_generator,
    },
};

/// Adam at `lr` with moment decays `beta1`, `beta2`.
pub(crate) fn adam(lr: f64, beta1: f64, beta2: f64) -> AdamConfig {
    AdamConfig {
        lr,
        beta1,
        beta2,
        ..AdamConfig::default()
    }
}

/// The MLP pair on images of the spec's shape, Adam (0.5, 0.999) at its learning rate.
fn mlp_base(spec: &ImageSpec<'_>) -> GanTrainConfig {
    GanTrainConfig {
        model: GanConfig {
            data_shape: spec.data_shape.to_vec(),
            ..GanConfig::mlp_mnist()
        },
        adam_g: adam(spec.lr, 0.5, 0.999),
        adam_d: adam(spec.lr, 0.5, 0.999),
        ..GanTrainConfig::default()
    }
}

/// A [`GanTrainer`] for the recipe `cfg` with the spec's toolkit applied.
fn trainer(mut cfg: GanTrainConfig, spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.toolkit.apply(&mut cfg.objective, &mut cfg.tricks);
    cfg.validate()?;
    let mut trainer = GanTrainer::new(cfg, spec.seed, spec.device)?;
    if spec.toolkit.autograd {
        trainer.set_fused(false)?;
    }
    Ok(Box::new(trainer))
}

pub(super) const GAN: ModelEntry = image(
    "gan",
    "GAN (Goodfellow et al. 2014), non-saturating loss, MLP networks on the digits",
    epochs!("20", "64", "2e-4"),
    gan,
);

fn gan(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&[])?;
    trainer(mlp_base(spec), spec)
}

/// The MLP pair under `objective` with 5 critic steps per generator step and Adam without
/// momentum, second moment decay `beta2`.
fn critic_steps(spec: &ImageSpec<'_>, objective: Objective, beta2: f64) -> GanTrainConfig {
    GanTrainConfig {
        objective,
        adam_g: adam(spec.lr, 0.0, beta2),
        adam_d: adam(spec.lr, 0.0, beta2),
        tricks: Tricks {
            n_critic: 5,
            ..Tricks::default()
        },
        ..mlp_base(spec)
    }
}

pub(super) const WGAN: ModelEntry = image(
    "wgan",
    "WGAN (Arjovsky et al. 2017): weight clipping 0.01, 5 critic steps, lr 5e-5",
    epochs!("20", "64", "5e-5"),
    wgan,
);

/// WGAN with Adam without momentum (the paper trains with RMSProp).
fn wgan(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&[])?;
    trainer(
        critic_steps(spec, Objective::Wgan { clip: 0.01 }, 0.999),
        spec,
    )
}

pub(super) const WGAN_GP: ModelEntry = image(
    "wgan-gp",
    "WGAN-GP (Gulrajani et al. 2017): penalty 10, 5 critic steps, Adam 1e-4 (0, 0.9)",
    epochs!("10", "64", "1e-4"),
    wgan_gp,
);

fn wgan_gp(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&[])?;
    let objective = Objective::WganGp { penalty: 10.0 };
    trainer(critic_steps(spec, objective, 0.9), spec)
}

/// The MLP pair under `objective`, Adam (0.5, 0.999).
fn with_objective(spec: &ImageSpec<'_>, objective: Objective) -> GanTrainConfig {
    GanTrainConfig {
        objective,
        ..mlp_base(spec)
    }
}

pub(super) const FGAN: ModelEntry = image(
    "fgan",
    "f-GAN (Nowozin et al. 2016) with the divergence of --divergence",
    epochs!("20", "64", "2e-4"),
    fgan,
);

/// f-GAN with the divergence of option `divergence` (default `gan`).
fn fgan(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&["divergence"])?;
    let objective = Objective::FGan {
        divergence: divergence(spec.option("divergence", "gan"))?,
        non_saturating: true,
    };
    trainer(with_objective(spec, objective), spec)
}

pub(super) const MMD: ModelEntry = image(
    "mmd",
    "GMMN (Li et al. 2015): minimise MMD^2 of a sum of Gaussian kernels",
    epochs!("20", "256", "1e-3"),
    mmd,
);

fn mmd(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&[])?;
    let bandwidths = GMMN_MNIST_BANDWIDTHS.to_vec();
    trainer(with_objective(spec, Objective::Mmd { bandwidths }), spec)
}

pub(super) const KERNEL: ModelEntry = image(
    "kernel",
    "kernel generator: maximise the Cauchy-Schwarz ratio of Gaussian kernels",
    epochs!("20", "256", "1e-3"),
    kernel,
);

fn kernel(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&[])?;
    let bandwidths = GMMN_MNIST_BANDWIDTHS.to_vec();
    trainer(
        with_objective(spec, Objective::CauchySchwarz { bandwidths }),
        spec,
    )
}

/// The divergence of gm-divergence's catalogue whose name, lower-cased with every run of
/// other characters turned into one `-`, is `slug` (`kullback-leibler`, `pearson-chi-2`, ...).
pub fn divergence(slug: &str) -> Result<Divergence> {
    let slugs: Vec<(String, Divergence)> = Divergence::catalogue()
        .into_iter()
        .map(|d| {
            let lower = d.name().to_lowercase();
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|p| !p.is_empty())
                .collect();
            (words.join("-"), d)
        })
        .collect();
    if let Some((_, d)) = slugs.iter().find(|(s, _)| s == slug) {
        return Ok(*d);
    }
    let names: Vec<&str> = slugs.iter().map(|(s, _)| s.as_str()).collect();
    Err(Error::Config {
        field: "--divergence",
        value: format!("{slug} (the catalogue: {})", names.join(", ")),
        reason: "not a divergence of gm-divergence's catalogue",
    })
}

impl ImageModel for GanTrainer {
    fn sampler(&self) -> &dyn Generator {
        self.generator()
    }

    fn describe(&self) -> String {
        format!(
            "{} generator + {} critic parameters",
            self.generator_store().num_params(),
            self.discriminator_store().map_or(0, |s| s.num_params())
        )
    }
}

/// The generator mixture of a MIX+GAN run. Its `gm.config` is `{"model", "components"}`;
/// the trainer's constructor builds the mixture and `load_state` puts the weights in, since
/// the mixture has no constructor of its own.
fn mix_generator(
    _model: &str,
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<Box<dyn Generator>> {
    let model: GanConfig = saved_config(&config["model"], "not a GAN network config")?;
    let components = config["components"].as_u64().ok_or_else(|| Error::Config {
        field: "gm.config components",
        value: config.to_string(),
        reason: "not a count",
    })?;
    let cfg = MixGanConfig {
        base: GanTrainConfig {
            model,
            ..Default::default()
        },
        components: components as usize,
        ..Default::default()
    };
    let mut trainer = MixGanTrainer::new(cfg, 0, device)?;
    let state = with_saved_weights(trainer.state()?, "g", tensors, "generator.")?;
    trainer.load_state(&state)?;
    Ok(Box::new(trainer.generator().clone()))
}
