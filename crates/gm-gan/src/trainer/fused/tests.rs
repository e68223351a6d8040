//! Unit tests of gm-gan's `trainer::fused`.

use super::*;
use crate::nets::{Activation, Architecture, GanConfig, MlpInit};
use crate::trainer::GanTrainer;
use crate::tricks::Tricks;
use gm_core::GmRng;

fn config(objective: Objective, smoothing: f64, images: bool) -> GanTrainConfig {
    let (g_act, d_act, output, data_shape) = if images {
        (
            Activation::Tanh,
            Activation::Relu,
            OutputActivation::Tanh,
            vec![1, 4, 4],
        )
    } else {
        (
            Activation::Relu,
            Activation::LeakyRelu,
            OutputActivation::Identity,
            vec![2],
        )
    };
    GanTrainConfig {
        model: GanConfig {
            latent_dim: 5,
            data_shape,
            generator: Architecture::Mlp {
                hidden: vec![24, 16],
                activation: g_act,
            },
            discriminator: Architecture::Mlp {
                hidden: vec![32, 8],
                activation: d_act,
            },
            output,
            mlp_init: MlpInit::Default,
        },
        objective,
        tricks: Tricks {
            label_smoothing: smoothing,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn objectives() -> Vec<(Objective, f64)> {
    vec![
        (
            Objective::Gan {
                generator_loss: GanGeneratorLoss::NonSaturating,
            },
            0.1,
        ),
        (
            Objective::Gan {
                generator_loss: GanGeneratorLoss::Minimax,
            },
            0.0,
        ),
        (Objective::Wgan { clip: 0.5 }, 0.0),
        (Objective::Hinge, 0.0),
        (Objective::LeastSquares, 0.0),
    ]
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// `|a - b| <= 1e-5 max(|b|_inf, 1 / 19)` entry by entry: a gradient is a mean of 19
/// per-item terms, so one term's size bounds the rounding of one that cancels to zero
/// (WGAN's output bias).
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(1.0 / 19.0f32, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= 1e-5 * scale,
            "{what}: {x} vs {y} (scale {scale})"
        );
    }
}

/// The written-out losses and gradients of `cfg`'s fused step against candle's autograd on
/// the same networks, batch and latents, with instance noise when `noisy`.
fn assert_fused_gradients(cfg: &GanTrainConfig, noisy: bool, name: &str) {
    let dev = Device::Cpu;
    let objective = cfg.objective.clone();
    let t = GanTrainer::new(cfg.clone(), 11, &dev).unwrap();
    let f = t.fused.as_ref().expect("eligible configuration");
    let mut rng = GmRng::new(4);
    let mut shape = vec![19];
    shape.extend_from_slice(&cfg.model.data_shape);
    let real = rng
        .normal(shape.clone(), 0.0, 0.7, &dev)
        .unwrap()
        .tanh()
        .unwrap();
    let z = rng
        .normal((19, cfg.model.latent_dim), 0.0, 1.0, &dev)
        .unwrap();
    // Instance noise, added to both batches (zero when off).
    let scale = if noisy { 0.2 } else { 0.0 };
    let nr = rng.normal(shape.clone(), 0.0, scale, &dev).unwrap();
    let nf = rng.normal(shape, 0.0, scale, &dev).unwrap();
    let target = cfg.tricks.real_target();
    let name = format!("{} {name} noise={noisy}", objective.name());

    let noise = noisy.then_some((&nr, &nf));
    let (m, grads) = f
        .critic_grads(&objective, &real, &z, target, noise)
        .unwrap();
    let c = t.critic.as_ref().unwrap();
    let fake = t.gen.forward_t(&z, true).unwrap().detach();
    let v_real = c.net.forward(&(&real + &nr).unwrap()).unwrap();
    let v_fake = c.net.forward(&(&fake + &nf).unwrap()).unwrap();
    let loss = objective.critic_loss(&v_real, &v_fake, target).unwrap();
    let want = loss.to_scalar::<f32>().unwrap() as f64;
    assert!(
        (m[0].1 - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{name}: d_loss {} vs {want}",
        m[0].1
    );
    let reference = loss.backward().unwrap();
    assert_eq!(grads.len(), f.d_params.len());
    for (i, (g, p)) in grads.iter().zip(&f.d_params).enumerate() {
        let r = flat(reference.get(p).unwrap());
        assert_close(g, &r, &format!("{name}: critic parameter {i}"));
    }

    let (loss_g, grads) = f
        .generator_grads(&objective, &z, noisy.then_some(&nf))
        .unwrap();
    let fake = (t.gen.forward_t(&z, true).unwrap() + &nf).unwrap();
    let l = objective
        .generator_loss(&c.net.forward(&fake).unwrap())
        .unwrap();
    let want = l.to_scalar::<f32>().unwrap() as f64;
    assert!(
        (loss_g - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{name}: g_loss {loss_g} vs {want}"
    );
    let reference = l.backward().unwrap();
    assert_eq!(grads.len(), f.g_params.len());
    for (i, (g, p)) in grads.iter().zip(&f.g_params).enumerate() {
        let r = flat(reference.get(p).unwrap());
        assert_close(g, &r, &format!("{name}: generator parameter {i}"));
    }
}

/// Every objective the fused step takes, on vectors and on images (tanh output).
#[test]
fn fused_gradients_match_autograd() {
    for (images, noisy) in [(false, false), (true, false), (false, true)] {
        for (objective, smoothing) in objectives() {
            let cfg = config(objective, smoothing, images);
            assert_fused_gradients(&cfg, noisy, &format!("mlp images={images}"));
        }
    }
}

/// A small DCGAN pair (8x8 images, 4 base channels: transposed convolutions from 1x1, batch
/// norm in both networks, a stride-2 critic).
fn dcgan_config(objective: Objective, smoothing: f64) -> GanTrainConfig {
    let cfg = config(objective, smoothing, true);
    GanTrainConfig {
        model: GanConfig {
            data_shape: vec![1, 8, 8],
            generator: Architecture::Dcgan { channels: 4 },
            discriminator: Architecture::Dcgan { channels: 4 },
            ..cfg.model
        },
        ..cfg
    }
}

/// The DCGAN pair's written-out convolutions, batch norms and activations, for every
/// objective, with and without instance noise, and on RGB 16x16 images (the 4x4 layout).
#[test]
fn fused_dcgan_gradients_match_autograd() {
    for (objective, smoothing) in objectives() {
        for noisy in [false, true] {
            let cfg = dcgan_config(objective.clone(), smoothing);
            assert_fused_gradients(&cfg, noisy, "dcgan 1x8x8");
        }
    }
    let mut cfg = dcgan_config(Objective::default(), 0.0);
    cfg.model.data_shape = vec![3, 16, 16];
    assert_fused_gradients(&cfg, true, "dcgan 3x16x16");
}

/// The convolutions run over blocks of images: one image per block, blocks that do not
/// divide the batch of 19 and the whole batch give the same losses and gradients.
#[test]
fn fused_dcgan_gradients_do_not_depend_on_the_block_size() {
    let dev = Device::Cpu;
    let cfg = dcgan_config(Objective::default(), 0.0);
    let mut t = GanTrainer::new(cfg.clone(), 11, &dev).unwrap();
    let mut rng = GmRng::new(4);
    let real = rng
        .normal((19, 1, 8, 8), 0.0, 0.7, &dev)
        .unwrap()
        .tanh()
        .unwrap();
    let z = rng.normal((19, 5), 0.0, 1.0, &dev).unwrap();
    let target = cfg.tricks.real_target();
    let mut run = |floats: usize| {
        let block = gm_core::nn::patches::Blocks::at_most(floats);
        let f = t.fused.as_mut().expect("eligible configuration");
        f.set_block(block);
        let (m, critic) = f
            .critic_grads(&cfg.objective, &real, &z, target, None)
            .unwrap();
        let (loss_g, generator) = f.generator_grads(&cfg.objective, &z, None).unwrap();
        (m[0].1, critic, loss_g, generator)
    };
    let whole = run(usize::MAX);
    // 256 floats of patches per image in the critic's first layer: blocks of 1, 5 and 19.
    for floats in [1, 1280, 5000] {
        let got = run(floats);
        let what = format!("{floats} floats per block");
        assert!(
            (got.0 - whole.0).abs() <= 1e-6 * whole.0.abs().max(1.0),
            "{what}"
        );
        assert!(
            (got.2 - whole.2).abs() <= 1e-6 * whole.2.abs().max(1.0),
            "{what}"
        );
        for (a, b) in got.1.iter().zip(&whole.1).chain(got.3.iter().zip(&whole.3)) {
            assert_close(a, b, &what);
        }
    }
}

/// Twenty training steps of `cfg` on `x` on each path, from the same seeds: every metric
/// within 1e-3 (relative above 1) at every step and the same random draws; the two
/// trainers afterwards.
fn both_paths(cfg: &GanTrainConfig, x: &Tensor) -> (GanTrainer, GanTrainer) {
    let dev = Device::Cpu;
    let mut fused = GanTrainer::new(cfg.clone(), 2, &dev).unwrap();
    let mut plain = GanTrainer::new(cfg.clone(), 2, &dev).unwrap();
    plain.set_fused(false).unwrap();
    assert!(fused.is_fused() && !plain.is_fused());
    let (mut r1, mut r2) = (GmRng::new(9), GmRng::new(9));
    for step in 0..20 {
        let a = fused.train_step(x, &mut r1).unwrap();
        let b = plain.train_step(x, &mut r2).unwrap();
        for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
            assert_eq!(ka, kb);
            assert!(
                (va - vb).abs() <= 1e-3 * vb.abs().max(1.0),
                "{}: step {step} {ka}: {va} vs {vb}",
                cfg.objective.name()
            );
        }
    }
    assert_eq!(r1.state(), r2.state(), "the same draws on both paths");
    (fused, plain)
}

/// Twenty training steps on each path follow the same trajectory (losses within 1e-3);
/// the path is chosen only where it applies.
#[test]
fn fused_training_follows_the_autograd_run_and_applies_only_where_allowed() {
    let dev = Device::Cpu;
    let (x, _) = gm_core::data::Mixture2d::ring8().sample(64, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (64, 2), &dev).unwrap();
    // Instance noise annealed to zero within the run, and two critic steps per generator
    // step, beside each objective.
    let noisy = GanTrainConfig {
        tricks: Tricks {
            instance_noise: 0.3,
            instance_noise_anneal_steps: 12,
            n_critic: 2,
            ..Default::default()
        },
        ..config(Objective::default(), 0.0, false)
    };
    let configs = objectives()
        .into_iter()
        .map(|(o, smoothing)| config(o, smoothing, false))
        .chain([noisy]);
    for cfg in configs {
        both_paths(&cfg, &x);
    }
    let not_fused = [
        GanTrainConfig {
            objective: Objective::WganGp { penalty: 10.0 },
            ..config(Objective::default(), 0.0, false)
        },
        GanTrainConfig {
            tricks: Tricks {
                spectral_norm: true,
                ..Default::default()
            },
            ..config(Objective::default(), 0.0, false)
        },
    ];
    for cfg in not_fused {
        if cfg.needs_second_order() {
            crate::objective::enable_second_order("test").unwrap();
        }
        let t = GanTrainer::new(cfg.clone(), 0, &dev).unwrap();
        assert!(!t.is_fused(), "{cfg:?}");
    }
    let t = GanTrainer::new(GanTrainConfig::dcgan_mnist(), 0, &dev).unwrap();
    assert!(t.is_fused(), "the DCGAN pair takes the written-out step");
}

/// Twenty DCGAN steps on each path follow the same trajectory, batch norm's running
/// statistics included (they are updated by every training-mode pass, in the same order):
/// every weight within 1e-5, but the biases that a batch norm cancels (see below).
#[test]
fn fused_dcgan_training_follows_the_autograd_run() {
    let dev = Device::Cpu;
    let x = GmRng::new(3)
        .uniform((16, 1, 8, 8), -1.0, 1.0, &dev)
        .unwrap();
    let cfg = dcgan_config(Objective::default(), 0.0);
    let lr = cfg.adam_g.lr.max(cfg.adam_d.lr) as f32;
    let (fused, plain) = both_paths(&cfg, &x);
    for (store_a, store_b) in [
        (fused.g.store(), plain.g.store()),
        (
            fused.critic.as_ref().unwrap().player.store(),
            plain.critic.as_ref().unwrap().player.store(),
        ),
    ] {
        let tb = store_b.tensors();
        for (name, a) in store_a.tensors() {
            let (a, b) = (flat(&a), flat(&tb[&name]));
            let err = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            // A bias right before a batch norm has no effect on the output and a gradient
            // of pure rounding noise, which Adam turns into steps of up to its rate on
            // either path; the running means follow those biases.
            let free = ["ct0.bias", "ct1.bias", "c1.bias"].contains(&name.as_str())
                || name.ends_with("running_mean");
            let bound = if free { 20.0 * 1.5 * lr } else { 1e-5 };
            assert!(err <= bound, "{name} drifted by {err} (bound {bound})");
        }
    }
}
