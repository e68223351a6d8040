//! Every objective and the shared critic tricks with every model that trains through the one
//! adversarial step (`gm_gan::adversarial`): progressive growing, LAPGAN, BiGAN, CycleGAN (with
//! an objective in place of its paper's loss), MIX+GAN and both conditional discriminators take GAN, WGAN (clipping), WGAN-GP, hinge and least squares
//! where their maths allows, and R1, R2, n critic steps, instance noise, label smoothing and
//! historical averaging. Each run's metrics are finite, name the penalties the game adds,
//! move the generator only on its turns, and WGAN leaves every critic weight clipped.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::{AdamConfig, GmRng, Metrics, Trainer};
use gm_gan::bigan::{BiganConfig, BiganTrainer};
use gm_gan::cyclegan::{CycleGanConfig, CycleGanTrainer};
use gm_gan::lapgan::{LapganConfig, LapganTrainer};
use gm_gan::progressive::{ProgressiveConfig, ProgressiveTrainer};
use gm_gan::{
    Activation, Architecture, CganConfig, CganTrainer, Conditioning, Error, GanConfig,
    GanTrainConfig, LabelEmbedding, MixGanConfig, MixGanTrainer, Objective, Tricks,
};

/// The games: (objective, tricks, name).
fn games() -> Vec<(Objective, Tricks, &'static str)> {
    let plain = Tricks::default();
    vec![
        (Objective::default(), plain.clone(), "gan"),
        (Objective::Wgan { clip: 0.01 }, plain.clone(), "wgan"),
        (
            Objective::WganGp { penalty: 10.0 },
            plain.clone(),
            "wgan-gp",
        ),
        (Objective::Hinge, plain.clone(), "hinge"),
        (Objective::LeastSquares, plain, "lsgan"),
        (
            Objective::default(),
            Tricks {
                n_critic: 2,
                r1: 1.0,
                r2: 0.5,
                instance_noise: 0.1,
                instance_noise_anneal_steps: 10,
                label_smoothing: 0.1,
                historical_averaging: 0.1,
                ..Tricks::default()
            },
            "gan + r1, r2, 2 critic steps, noise, smoothing, historical averaging",
        ),
    ]
}

fn config_field(e: &Error) -> Option<&'static str> {
    match e {
        Error::Config { field, .. } => Some(field),
        Error::Core(gm_core::Error::Config { field, .. }) => Some(field),
        _ => None,
    }
}

/// Four steps of a model under one game, then the checks.
fn check(
    what: &str,
    objective: &Objective,
    tricks: &Tricks,
    g_key: &str,
    mut step: impl FnMut(&mut GmRng) -> Metrics,
) {
    let mut rng = GmRng::new(11);
    for s in 1..=4u64 {
        let m = step(&mut rng);
        let has = |name: &str| m.iter().any(|(k, _)| k.starts_with(name));
        for (k, v) in &m {
            assert!(v.is_finite(), "{what}, step {s}: {k} = {v}");
        }
        assert!(has("d_loss"), "{what}: no d_loss in {m:?}");
        let turn = s.is_multiple_of(tricks.n_critic as u64);
        assert_eq!(has(g_key), turn, "{what}, step {s}: {g_key} in {m:?}");
        if matches!(objective, Objective::WganGp { .. }) {
            assert!(has("gradient_penalty"), "{what}: {m:?}");
        }
        assert_eq!(has("r1"), tricks.r1 > 0.0, "{what}: {m:?}");
        assert_eq!(has("r2"), tricks.r2 > 0.0, "{what}: {m:?}");
    }
}

/// Under WGAN, every critic weight (names containing `discriminator.`) within the clip.
fn assert_clipped(what: &str, objective: &Objective, weights: &BTreeMap<String, Tensor>) {
    let Objective::Wgan { clip } = objective else {
        return;
    };
    let critic = weights
        .iter()
        .filter(|(k, _)| k.contains("discriminator.") && !k.contains("running_"));
    let mut seen = 0;
    for (k, w) in critic {
        let max = w
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(max as f64 <= clip + 1e-7, "{what}: {k} reaches {max}");
        seen += 1;
    }
    assert!(seen > 0, "{what}: no critic weights");
}

fn images(n: usize, side: usize, seed: u64) -> Tensor {
    GmRng::new(seed)
        .uniform((n, 1, side, side), 0.0, 1.0, &Device::Cpu)
        .unwrap()
}

fn adam() -> AdamConfig {
    AdamConfig {
        lr: 1e-3,
        beta1: 0.5,
        ..AdamConfig::default()
    }
}

#[test]
fn progressive_growing_takes_every_game() {
    let x = images(8, 8, 1);
    for (objective, tricks, name) in games() {
        let cfg = ProgressiveConfig {
            latent_dim: 4,
            channels: vec![4, 4],
            stage_steps: 4,
            grid_samples: 0,
            objective: objective.clone(),
            tricks: tricks.clone(),
            ..ProgressiveConfig::default()
        };
        let mut t = ProgressiveTrainer::new(cfg, 0, &Device::Cpu).unwrap();
        // Into the fade-in of the second stage: both paths of G and D are trained.
        t.grow().unwrap();
        let what = format!("progressive / {name}");
        check(&what, &objective, &tricks, "g_loss", |rng| {
            t.train_step(&x, rng).unwrap()
        });
        assert_clipped(&what, &objective, &t.weights().unwrap());
    }
}

#[test]
fn lapgan_takes_every_game_at_every_level() {
    let x = images(8, 16, 2);
    for (objective, tricks, name) in games() {
        let cfg = LapganConfig {
            image_size: 16,
            levels: 3,
            latent_dim: 4,
            coarse_hidden: vec![16],
            channels: vec![4, 4],
            adam: adam(),
            grid_samples: 0,
            objective: objective.clone(),
            tricks: tricks.clone(),
            ..LapganConfig::default()
        };
        let mut t = LapganTrainer::new(cfg, 0, &Device::Cpu).unwrap();
        let what = format!("LAPGAN / {name}");
        check(&what, &objective, &tricks, "g_loss_16", |rng| {
            t.train_step(&x, rng).unwrap()
        });
        assert_clipped(&what, &objective, &t.weights().unwrap());
    }
}

#[test]
fn bigan_takes_every_game_with_a_swapped_label_form() {
    let base = BiganConfig {
        latent_dim: 3,
        data_shape: vec![1, 4, 4],
        encoder_hidden: vec![16],
        generator_hidden: vec![16],
        discriminator_hidden: vec![16],
        adam_d: adam(),
        adam_ge: adam(),
        grid_samples: 0,
        ..BiganConfig::default()
    };
    let x = images(8, 4, 3);
    for (objective, tricks, name) in games() {
        let cfg = BiganConfig {
            objective: objective.clone(),
            tricks: tricks.clone(),
            ..base.clone()
        };
        let what = format!("BiGAN / {name}");
        if matches!(objective, Objective::LeastSquares) {
            let e = BiganTrainer::new(cfg, 0, &Device::Cpu).err().unwrap();
            assert_eq!(config_field(&e), Some("objective"), "{what}: {e}");
            continue;
        }
        let mut t = BiganTrainer::new(cfg, 0, &Device::Cpu).unwrap();
        check(&what, &objective, &tricks, "ge_loss", |rng| {
            t.train_step(&x, rng).unwrap()
        });
        assert_clipped(&what, &objective, &t.weights().unwrap());
    }
}

#[test]
fn both_conditional_discriminators_take_every_game() {
    let dev = Device::Cpu;
    let x = images(10, 4, 4);
    let y = Tensor::new((0..10u32).map(|i| i % 3).collect::<Vec<_>>(), &dev).unwrap();
    for conditioning in [Conditioning::Projection, Conditioning::Acgan] {
        for (objective, tricks, name) in games() {
            let cfg = CganConfig {
                model: tiny_mlp_pair(16),
                n_classes: 3,
                label_embedding: LabelEmbedding::Learned { dim: 2 },
                conditioning,
                adam_g: adam(),
                adam_d: adam(),
                class_grid: false,
                objective: objective.clone(),
                tricks: tricks.clone(),
                ..CganConfig::default()
            };
            let mut t = CganTrainer::new(cfg, 0, &dev).unwrap();
            let what = format!("cgan {} / {name}", conditioning.name());
            check(&what, &objective, &tricks, "g_loss", |rng| {
                t.train_step(&x, Some(&y), rng).unwrap()
            });
            assert_clipped(&what, &objective, &t.weights().unwrap());
        }
    }
}

#[test]
fn cyclegan_takes_every_game_for_both_discriminators() {
    let x = images(6, 8, 5);
    let batch = Tensor::cat(&[&x, &images(6, 8, 6)], 1).unwrap();
    for (objective, tricks, name) in games() {
        let cfg = CycleGanConfig {
            image_size: 8,
            channels: 2,
            residual_blocks: 1,
            pool_size: 4,
            objective: Some(objective.clone()),
            tricks: tricks.clone(),
            ..CycleGanConfig::default()
        };
        let mut t = CycleGanTrainer::new(cfg, 0, &Device::Cpu).unwrap();
        let what = format!("CycleGAN / {name}");
        check(&what, &objective, &tricks, "g_adversarial", |rng| {
            let m = t.train_step(&batch, rng).unwrap();
            // Both discriminators report their losses and penalties; D_X's are checked under
            // the names the other models use.
            assert!(m.iter().any(|(k, _)| k == "d_y_loss"), "{what}: {m:?}");
            m.into_iter()
                .filter(|(k, _)| !k.starts_with("d_y_"))
                .map(|(k, v)| match k.as_str() {
                    "d_x_loss" => ("d_loss".to_string(), v),
                    _ => (k.strip_prefix("d_x_").unwrap_or(&k).to_string(), v),
                })
                .collect()
        });
        let w = t.weights().unwrap();
        let critic = w
            .into_iter()
            .map(|(k, v)| (format!("discriminator.{k}"), v))
            .filter(|(k, _)| k.contains(".d_"))
            .collect();
        assert_clipped(&what, &objective, &critic);
    }
}

#[test]
fn mix_gan_takes_every_objective_with_its_penalties() {
    let x = images(8, 4, 7);
    for (objective, tricks, name) in games() {
        let what = format!("MIX+GAN / {name}");
        let cfg = mix_config(objective.clone(), tricks.clone());
        if tricks.n_critic > 1 {
            // Mixtures take label smoothing, R1 and R2 only.
            let e = MixGanTrainer::new(cfg, 0, &Device::Cpu).err().unwrap();
            assert_eq!(config_field(&e), Some("base.tricks"), "{what}: {e}");
            continue;
        }
        let mut t = MixGanTrainer::new(cfg, 0, &Device::Cpu).unwrap();
        let mut rng = GmRng::new(2);
        for _ in 0..3 {
            let m = t.train_step(&x, &mut rng).unwrap();
            assert!(m.iter().all(|(_, v)| v.is_finite()), "{what}: {m:?}");
        }
        let w = t.weights().unwrap();
        let critics = w
            .iter()
            .filter(|(k, _)| !k.contains("mix."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_clipped(&what, &objective, &critics);
    }
}

#[test]
fn mix_gan_with_the_label_smoothing_r1_and_r2_trains() {
    let x = images(8, 4, 7);
    let tricks = Tricks {
        label_smoothing: 0.1,
        r1: 1.0,
        r2: 1.0,
        ..Tricks::default()
    };
    let cfg = mix_config(Objective::default(), tricks);
    let mut t = MixGanTrainer::new(cfg, 0, &Device::Cpu).unwrap();
    let m = t.train_step(&x, &mut GmRng::new(1)).unwrap();
    assert!(m.iter().all(|(_, v)| v.is_finite()), "{m:?}");
}

/// An MLP pair on 4x4 items with a 3-d latent and one hidden layer of `hidden` units.
fn tiny_mlp_pair(hidden: usize) -> GanConfig {
    let mlp = |activation| Architecture::Mlp {
        hidden: vec![hidden],
        activation,
    };
    GanConfig {
        latent_dim: 3,
        data_shape: vec![1, 4, 4],
        generator: mlp(Activation::Relu),
        discriminator: mlp(Activation::LeakyRelu),
        ..GanConfig::mlp_mnist()
    }
}

/// Two MIX+GAN components of [`tiny_mlp_pair`] under `objective` and `tricks`.
fn mix_config(objective: Objective, tricks: Tricks) -> MixGanConfig {
    MixGanConfig {
        base: GanTrainConfig {
            model: tiny_mlp_pair(8),
            objective,
            tricks,
            ..GanTrainConfig::default()
        },
        components: 2,
        ..MixGanConfig::default()
    }
}
