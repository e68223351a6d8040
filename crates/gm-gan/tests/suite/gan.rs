//! End-to-end checks of gm-gan: finite-difference proofs of every second-order path (the
//! gradient penalty, the unrolled generator loss), a few-step smoke test per objective
//! asserting each loss falls under its own update, short `fit` runs with resume, and the
//! non-finite guard that keeps the last good checkpoint.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use gm_core::data::Mixture2d;
use gm_core::{fit, AdamConfig, FitConfig, GmRng, ParamStore};
use gm_divergence::Divergence;
use gm_gan::{
    enable_second_order, gradient_norm_penalty, gradient_penalty, unrolled_params, Activation,
    Architecture, Augment, Discriminator, GanConfig, GanGenerator, GanGeneratorLoss,
    GanTrainConfig, GanTrainer, Objective, OmegaCost, Tricks, Unrolled,
};

/// Small smooth networks (tanh), so that finite differences of second derivatives are clean.
fn tiny(latent: usize, hidden: usize, act: Activation) -> GanConfig {
    GanConfig {
        latent_dim: latent,
        data_shape: vec![2],
        generator: Architecture::Mlp {
            hidden: vec![hidden],
            activation: act,
        },
        discriminator: Architecture::Mlp {
            hidden: vec![hidden, hidden],
            activation: act,
        },
        output: gm_gan::OutputActivation::Identity,
        mlp_init: gm_gan::MlpInit::Default,
    }
}

fn f64_builder(store: &ParamStore, dev: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(store.clone()), DType::F64, dev.clone())
}

fn randn(rng: &mut GmRng, shape: &[usize], dev: &Device) -> Tensor {
    rng.normal(shape, 0.0, 1.0, dev)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn set_entry(var: &Var, i: usize, value: f64) {
    let mut v = var
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    v[i] = value;
    var.set(&Tensor::from_vec(v, var.shape(), var.device()).unwrap())
        .unwrap();
}

/// Compares the backpropagated gradient of `loss()` with central differences (step `h`) on
/// every entry of every variable in `store`; returns (max abs error, max |gradient|, gradient
/// by entry).
fn check_gradient(
    store: &ParamStore,
    loss: impl Fn() -> Tensor,
    h: f64,
) -> (f64, f64, BTreeMap<(String, usize), f64>) {
    let l = loss();
    let grads = l.backward().unwrap();
    let (mut worst, mut biggest) = (0f64, 0f64);
    let mut by_entry = BTreeMap::new();
    for (name, var) in store.vars() {
        let g = grads
            .get(var.as_tensor())
            .map(|g| g.flatten_all().unwrap().to_vec1::<f64>().unwrap())
            .unwrap_or_else(|| vec![0.0; var.elem_count()]);
        let base = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        for i in 0..base.len() {
            set_entry(&var, i, base[i] + h);
            let up = scalar(&loss());
            set_entry(&var, i, base[i] - h);
            let down = scalar(&loss());
            set_entry(&var, i, base[i]);
            let fd = (up - down) / (2.0 * h);
            worst = worst.max((fd - g[i]).abs());
            biggest = biggest.max(g[i].abs());
            by_entry.insert((name.clone(), i), g[i]);
        }
    }
    (worst, biggest, by_entry)
}

#[test]
fn gradient_penalty_second_order_gradient_matches_finite_differences() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let cfg = tiny(3, 6, Activation::Tanh);
    let store = ParamStore::new(11);
    let d = Discriminator::new(&cfg, f64_builder(&store, &dev)).unwrap();
    let mut rng = GmRng::new(4);
    let real = randn(&mut rng, &[7, 2], &dev);
    let fake = randn(&mut rng, &[7, 2], &dev);
    let eps = rng
        .uniform((7, 1), 0.0, 1.0, &dev)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let loss = || gradient_penalty(|x| d.forward(x), &real, &fake, &eps).unwrap();
    let (err, biggest, _) = check_gradient(&store, loss, 1e-5);
    // Central differences in f64 with h = 1e-5: truncation ~h^2 |f'''| ~ 1e-10, rounding
    // ~1e-16 / h ~ 1e-11; 1e-7 leaves room for both and is far below the gradient scale.
    assert!(biggest > 1e-2, "penalty gradient vanished: {biggest}");
    assert!(err < 1e-7, "max |backprop - finite difference| = {err:e}");
}

#[test]
fn r1_penalty_second_order_gradient_matches_finite_differences() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let cfg = tiny(3, 6, Activation::Tanh);
    let store = ParamStore::new(12);
    let d = Discriminator::new(&cfg, f64_builder(&store, &dev)).unwrap();
    let mut rng = GmRng::new(5);
    let x = randn(&mut rng, &[7, 2], &dev);
    let loss = || gradient_norm_penalty(|t| d.forward(t), &x).unwrap();
    let (err, biggest, _) = check_gradient(&store, loss, 1e-5);
    assert!(biggest > 1e-2, "penalty gradient vanished: {biggest}");
    assert!(err < 1e-7, "max |backprop - finite difference| = {err:e}");
    // A linear critic v = x w has gradient w at every item: the penalty is ||w||^2.
    let w = Tensor::new(&[[0.5f64], [-2.0]], &dev).unwrap();
    let linear = |t: &Tensor| -> gm_gan::Result<Tensor> { Ok(t.matmul(&w)?) };
    let p = scalar(&gradient_norm_penalty(linear, &x).unwrap());
    assert!((p - 4.25).abs() < 1e-12, "{p}");
}

/// Small tanh networks in f64 (generator seed `g_seed`, critic seed `d_seed`) for the
/// finite-difference checks of the unrolled gradient.
fn tanh_nets(
    g_seed: u64,
    d_seed: u64,
    dev: &Device,
) -> (ParamStore, ParamStore, GanGenerator, Discriminator) {
    let cfg = tiny(3, 5, Activation::Tanh);
    let gs = ParamStore::new(g_seed);
    let ds = ParamStore::new(d_seed);
    let g = GanGenerator::new(&cfg, f64_builder(&gs, dev)).unwrap();
    let d = Discriminator::new(&cfg, f64_builder(&ds, dev)).unwrap();
    (gs, ds, g, d)
}

/// The generator's loss against the critic after the look-ahead `u` on `real` and `G(z)`.
fn look_ahead_loss(
    g: &GanGenerator,
    d: &Discriminator,
    obj: &Objective,
    real: &Tensor,
    z: &Tensor,
    u: &Unrolled,
    opt: Option<&gm_core::Adam>,
) -> Tensor {
    let fake = g.forward_t(z, true).unwrap();
    let p = unrolled_params(d, obj, real, &fake, 1.0, u, opt).unwrap();
    obj.generator_loss(&d.forward_with(&p, &fake).unwrap())
        .unwrap()
}

#[test]
fn unrolled_generator_gradient_matches_finite_differences_and_differs_from_first_order() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let (gs, _, g, d) = tanh_nets(21, 22, &dev);
    let mut rng = GmRng::new(5);
    let real = randn(&mut rng, &[6, 2], &dev).affine(0.5, 1.0).unwrap();
    let z = randn(&mut rng, &[6, 3], &dev);
    let obj = Objective::Gan {
        generator_loss: GanGeneratorLoss::NonSaturating,
    };
    let unroll = |second_order: bool| Unrolled {
        steps: 3,
        lr: 1.0,
        second_order,
        ..Unrolled::new(3)
    };
    let loss =
        |second_order: bool| look_ahead_loss(&g, &d, &obj, &real, &z, &unroll(second_order), None);
    let (err, biggest, exact) = check_gradient(&gs, || loss(true), 1e-5);
    assert!(biggest > 1e-3, "gradient vanished: {biggest}");
    assert!(err < 1e-7, "max |backprop - finite difference| = {err:e}");
    // The first-order surrogate drops d theta_D^k / d theta_G: its gradient must differ
    // from the exact one by much more than the finite-difference error.
    let grads = loss(false).backward().unwrap();
    let mut gap = 0f64;
    for (name, var) in gs.vars() {
        let g1 = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        for (i, v) in g1.iter().enumerate() {
            gap = gap.max((v - exact[&(name.clone(), i)]).abs());
        }
    }
    assert!(
        gap > 1e3 * err.max(1e-9),
        "first-order gap {gap:e} vs error {err:e}"
    );
    // With the look-ahead at zero steps' worth of rate the exact loss is the plain one.
    let plain = scalar(
        &obj.generator_loss(&d.forward(&g.forward_t(&z, true).unwrap()).unwrap())
            .unwrap(),
    );
    let tiny_lr = Unrolled {
        steps: 1,
        lr: 1e-12,
        ..Unrolled::new(1)
    };
    let fake = g.forward_t(&z, true).unwrap();
    let p = unrolled_params(&d, &obj, &real, &fake, 1.0, &tiny_lr, None).unwrap();
    let near = scalar(
        &obj.generator_loss(&d.forward_with(&p, &fake).unwrap())
            .unwrap(),
    );
    assert!((near - plain).abs() < 1e-9);
}

/// The look-ahead's written-out backpropagation (`Discriminator::param_gradient_with` with the
/// closed-form score gradient) equals candle's `backward` for every hidden activation and
/// every objective that has one (GAN with a smoothed real target, WGAN).
#[test]
fn written_out_critic_gradient_matches_backward() {
    let dev = Device::Cpu;
    for act in [Activation::Relu, Activation::LeakyRelu, Activation::Tanh] {
        let cfg = tiny(3, 5, act);
        let ds = ParamStore::new(41);
        let d = Discriminator::new(&cfg, f64_builder(&ds, &dev)).unwrap();
        let x = randn(&mut GmRng::new(7), &[10, 2], &dev);
        let objectives = [
            Objective::Gan {
                generator_loss: GanGeneratorLoss::Minimax,
            },
            Objective::Wgan { clip: 0.01 },
            Objective::Hinge,
            Objective::LeastSquares,
        ];
        for obj in objectives {
            assert!(obj.has_critic_score_gradient());
            let params = d.params().unwrap();
            let written = d
                .param_gradient_with(&params, &x, |s| {
                    let (gr, gf) = obj
                        .critic_score_gradient(&s.narrow(0, 0, 4)?, &s.narrow(0, 4, 6)?, 0.9)?
                        .unwrap();
                    Ok(Tensor::cat(&[gr, gf], 0)?)
                })
                .unwrap();
            let s = d.forward(&x).unwrap();
            let loss = obj
                .critic_loss(
                    &s.narrow(0, 0, 4).unwrap(),
                    &s.narrow(0, 4, 6).unwrap(),
                    0.9,
                )
                .unwrap();
            let grads = loss.backward().unwrap();
            assert_eq!(written.len(), params.len());
            let mut biggest = 0f64;
            for (p, w) in params.iter().zip(&written) {
                let want = grads.get(p).unwrap();
                assert_eq!(want.dims(), w.dims());
                let diff = scalar(&(want - w).unwrap().abs().unwrap().max_all().unwrap());
                biggest = biggest.max(scalar(&want.abs().unwrap().max_all().unwrap()));
                assert!(diff < 1e-12, "{act:?} {}: {diff:e}", obj.name());
            }
            assert!(biggest > 1e-3, "{act:?} {}: vanishing gradient", obj.name());
        }
    }
}

/// Objectives without a closed-form score gradient unroll through candle's `backward`; that
/// path is exact too (f-GAN, KL).
#[test]
fn unrolled_gradient_through_backward_matches_finite_differences() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let (gs, _, g, d) = tanh_nets(51, 52, &dev);
    let mut rng = GmRng::new(8);
    let real = randn(&mut rng, &[6, 2], &dev).affine(0.5, 1.0).unwrap();
    let z = randn(&mut rng, &[6, 3], &dev);
    let obj = Objective::FGan {
        divergence: Divergence::KullbackLeibler,
        non_saturating: false,
    };
    assert!(!obj.has_critic_score_gradient());
    let u = Unrolled {
        steps: 2,
        lr: 0.5,
        ..Unrolled::new(2)
    };
    let loss = || look_ahead_loss(&g, &d, &obj, &real, &z, &u, None);
    let (err, biggest, _) = check_gradient(&gs, loss, 1e-5);
    assert!(biggest > 1e-3, "gradient vanished: {biggest}");
    assert!(err < 1e-7, "max |backprop - finite difference| = {err:e}");
}

/// The paper's look-ahead: k steps of the critic's own Adam, continued from its moments and
/// step count, differentiated through; backprop equals central differences.
#[test]
fn adam_look_ahead_gradient_matches_finite_differences() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let (gs, ds, g, d) = tanh_nets(31, 32, &dev);
    // A critic Adam three steps in, with non-zero moments.
    let mut opt = gm_core::Adam::new(
        &ds,
        AdamConfig {
            lr: 0.05,
            beta1: 0.5,
            ..AdamConfig::default()
        },
    )
    .unwrap();
    let mut rng = GmRng::new(6);
    let mut state = BTreeMap::new();
    for (name, var) in ds.vars() {
        let m = rng.normal(var.shape(), 0.0, 0.1, &dev).unwrap();
        let v = rng.uniform(var.shape(), 0.01, 0.05, &dev).unwrap();
        state.insert(format!("m.{name}"), m);
        state.insert(format!("v.{name}"), v);
    }
    opt.load_state(&state, "", 3).unwrap();
    let real = randn(&mut rng, &[6, 2], &dev).affine(0.5, 1.0).unwrap();
    let z = randn(&mut rng, &[6, 3], &dev);
    let obj = Objective::Gan {
        generator_loss: GanGeneratorLoss::NonSaturating,
    };
    let u = Unrolled::adam(3);
    let loss = || look_ahead_loss(&g, &d, &obj, &real, &z, &u, Some(&opt));
    let (err, biggest, _) = check_gradient(&gs, loss, 1e-5);
    assert!(biggest > 1e-3, "gradient vanished: {biggest}");
    assert!(err < 1e-7, "max |backprop - finite difference| = {err:e}");
    // The look-ahead moved the critic: its loss on the batch differs from the plain one.
    let fake = g.forward_t(&z, true).unwrap();
    let p = unrolled_params(&d, &obj, &real, &fake, 1.0, &u, Some(&opt)).unwrap();
    let moved = scalar(
        &obj.generator_loss(&d.forward_with(&p, &fake).unwrap())
            .unwrap(),
    );
    let plain = scalar(&obj.generator_loss(&d.forward(&fake).unwrap()).unwrap());
    assert!((moved - plain).abs() > 1e-3, "{moved} vs {plain}");
    // Without the critic's optimizer the Adam look-ahead is refused, naming the field.
    let e = unrolled_params(&d, &obj, &real, &fake, 1.0, &u, None).unwrap_err();
    assert!(e.to_string().contains("unrolled.optimizer"), "{e}");
}

fn every_objective() -> Vec<Objective> {
    let mut v = vec![
        Objective::Gan {
            generator_loss: GanGeneratorLoss::Minimax,
        },
        Objective::Gan {
            generator_loss: GanGeneratorLoss::NonSaturating,
        },
        Objective::OmegaRho { cost: OmegaCost::A },
        Objective::OmegaRho {
            cost: OmegaCost::MeanSquare,
        },
        // A user-defined cost: omega = atan(log r) on (-pi/2, pi/2), rho = 1 + t^2.
        Objective::OmegaRhoCustom {
            cost: gm_gan::CustomCost(
                gm_divergence::DiscriminatorCost::custom(
                    "atan",
                    |r: f64| r.ln().atan(),
                    |t| 1.0 + t * t,
                )
                .unwrap(),
            ),
        },
        Objective::OmegaRho { cost: OmegaCost::B },
        Objective::OmegaRho { cost: OmegaCost::C },
        // Clip above every initial weight, so that the step is a plain descent step.
        Objective::Wgan { clip: 10.0 },
        Objective::WganGp { penalty: 10.0 },
        Objective::Hinge,
        Objective::LeastSquares,
        Objective::CauchySchwarz {
            bandwidths: vec![0.5, 1.0, 2.0],
        },
        Objective::Mmd {
            bandwidths: vec![0.5, 1.0, 2.0],
        },
    ];
    for d in Divergence::catalogue() {
        for non_saturating in [false, true] {
            v.push(Objective::FGan {
                divergence: d,
                non_saturating,
            });
        }
    }
    v
}

fn small_config(objective: Objective) -> GanTrainConfig {
    let adam = AdamConfig {
        lr: 3e-4,
        beta1: 0.5,
        ..Default::default()
    };
    GanTrainConfig {
        model: tiny(4, 32, Activation::Relu),
        objective,
        adam_g: adam,
        adam_d: adam,
        ..Default::default()
    }
}

/// Every objective: three critic updates, each lowering the critic's loss on its batch, and
/// three generator updates, each lowering the generator's loss on its latents.
#[test]
fn every_objective_descends_its_own_losses() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let mix = Mixture2d::ring8();
    let (x, _) = mix.sample(64, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (64, 2), &dev).unwrap();
    for obj in every_objective() {
        let name = obj.name();
        let mut t = GanTrainer::new(small_config(obj.clone()), 3, &dev).unwrap();
        let real = t.network_batch(&x).unwrap();
        let mut rng = GmRng::new(7);
        if obj.is_adversarial() {
            for _ in 0..3 {
                let z = rng.normal((64, 4), 0.0, 1.0, &dev).unwrap();
                let eps = t.penalty_mix(64, &mut rng.clone()).unwrap();
                let before = t.critic_loss_value(&real, &z, eps.as_ref()).unwrap();
                t.critic_step(&real, &z, &mut rng).unwrap();
                let after = t.critic_loss_value(&real, &z, eps.as_ref()).unwrap();
                assert!(after < before, "{name}: critic loss {before} -> {after}");
            }
        }
        for _ in 0..3 {
            let z = rng.normal((64, 4), 0.0, 1.0, &dev).unwrap();
            let before = t.generator_loss_value(&real, &z).unwrap();
            t.generator_step(&real, &z, &mut rng).unwrap();
            let after = t.generator_loss_value(&real, &z).unwrap();
            assert!(after < before, "{name}: generator loss {before} -> {after}");
        }
    }
}

#[test]
fn weight_clipping_bounds_every_critic_weight() {
    let dev = Device::Cpu;
    let mut t = GanTrainer::new(small_config(Objective::Wgan { clip: 0.01 }), 0, &dev).unwrap();
    let (x, _) = Mixture2d::ring8().sample(32, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (32, 2), &dev).unwrap();
    t.train_step(&x, &mut GmRng::new(2)).unwrap();
    for (name, w) in t.discriminator_store().unwrap().tensors() {
        let m = w.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
        let m = m.to_scalar::<f32>().unwrap();
        assert!(m <= 0.01 + 1e-7, "{name}: |w| up to {m}");
    }
}

/// Each trick changes training (the losses of a run differ from the plain run's), and
/// unrolled/first-order runs go through the whole step.
#[test]
fn tricks_and_unrolling_run_and_change_the_run() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let (x, _) = Mixture2d::ring8().sample(32, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (32, 2), &dev).unwrap();
    let run = |cfg: GanTrainConfig| -> Vec<f64> {
        let mut t = GanTrainer::new(cfg, 0, &dev).unwrap();
        let mut rng = GmRng::new(3);
        let mut out = Vec::new();
        for _ in 0..4 {
            let m = t.train_step(&x, &mut rng).unwrap();
            out.extend(m.iter().map(|(_, v)| *v));
        }
        out
    };
    let base = small_config(Objective::default());
    let plain = run(base.clone());
    let variants: Vec<(&str, GanTrainConfig)> = vec![
        (
            "feature matching",
            GanTrainConfig {
                tricks: Tricks {
                    feature_matching: true,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "historical averaging",
            GanTrainConfig {
                tricks: Tricks {
                    historical_averaging: 1.0,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "instance noise",
            GanTrainConfig {
                tricks: Tricks {
                    instance_noise: 0.5,
                    instance_noise_anneal_steps: 10,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "label smoothing",
            GanTrainConfig {
                tricks: Tricks {
                    label_smoothing: 0.1,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "spectral norm",
            GanTrainConfig {
                tricks: Tricks {
                    spectral_norm: true,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "r1",
            GanTrainConfig {
                tricks: Tricks {
                    r1: 10.0,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "r2",
            GanTrainConfig {
                tricks: Tricks {
                    r2: 10.0,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "n_critic",
            GanTrainConfig {
                tricks: Tricks {
                    n_critic: 2,
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "unrolled",
            GanTrainConfig {
                unrolled: Some(Unrolled::new(3)),
                ..base.clone()
            },
        ),
        (
            "unrolled first order",
            GanTrainConfig {
                unrolled: Some(Unrolled {
                    second_order: false,
                    ..Unrolled::new(3)
                }),
                ..base.clone()
            },
        ),
    ];
    for (name, cfg) in variants {
        let r = run(cfg);
        assert!(r.iter().all(|v| v.is_finite()), "{name}: {r:?}");
        assert_ne!(r, plain, "{name} changed nothing");
    }
}

#[test]
fn bad_combinations_are_refused_with_the_field_named() {
    let dev = Device::Cpu;
    let smoothing_on_wgan = GanTrainConfig {
        tricks: Tricks {
            label_smoothing: 0.1,
            ..Default::default()
        },
        ..small_config(Objective::Wgan { clip: 0.01 })
    };
    let e = GanTrainer::new(smoothing_on_wgan, 0, &dev).err().unwrap();
    assert!(e.to_string().contains("tricks.label_smoothing"), "{e}");
    let unroll_gp = GanTrainConfig {
        unrolled: Some(Unrolled::new(5)),
        ..small_config(Objective::WganGp { penalty: 10.0 })
    };
    let e = GanTrainer::new(unroll_gp, 0, &dev).err().unwrap();
    assert!(e.to_string().contains("unrolled"), "{e}");
    let unroll_dcgan = GanTrainConfig {
        unrolled: Some(Unrolled::new(5)),
        ..GanTrainConfig::dcgan_mnist()
    };
    assert!(GanTrainer::new(unroll_dcgan, 0, &dev).is_err());
    let mut t = GanTrainer::new(small_config(Objective::default()), 0, &dev).unwrap();
    let wrong = Tensor::zeros((4, 3), DType::F32, &dev).unwrap();
    let e = t.train_step(&wrong, &mut GmRng::new(0)).err().unwrap();
    assert!(e.to_string().contains("[3]"), "{e}");
}

fn ring_fit(cfg: &GanTrainConfig, fc: &FitConfig, dir: &std::path::Path) -> gm_core::FitSummary {
    let dev = Device::Cpu;
    let data = Mixture2d::ring8().dataset(512, 0).unwrap();
    let mut t = GanTrainer::new(cfg.clone(), fc.seed, &dev).unwrap();
    fit(&mut t, &data, fc, dir, &dev).unwrap()
}

#[test]
fn fit_writes_the_run_folder_and_resume_is_bit_identical() {
    let cfg = small_config(Objective::Wgan { clip: 0.1 });
    let fc = FitConfig {
        epochs: 2,
        batch_size: 64,
        seed: 5,
        progress: false,
        ..Default::default()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let s = ring_fit(&cfg, &fc, a.path());
    assert_eq!(s.steps, 16);
    for f in [
        "config.json",
        "metrics.jsonl",
        "model.safetensors",
        "report.html",
        "loss.svg",
        "grids/epoch_002.png",
    ] {
        assert!(a.path().join(f).exists(), "{f} missing");
    }
    let stopped = ring_fit(
        &cfg,
        &FitConfig {
            stop_after: Some(5),
            ..fc.clone()
        },
        b.path(),
    );
    assert!(stopped.stopped_early);
    ring_fit(
        &cfg,
        &FitConfig {
            resume: true,
            ..fc.clone()
        },
        b.path(),
    );
    let load = |p: &std::path::Path| {
        gm_core::io::load_safetensors(p.join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .0
    };
    let (wa, wb) = (load(a.path()), load(b.path()));
    assert_eq!(wa.len(), wb.len());
    for (k, v) in &wa {
        let x = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let y = wb[k].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(x, y, "{k} differs after resume");
    }
    // The exported generator reloads from its own weights and config.
    let g = gm_gan::generator_from_weights(&cfg.model, &wa, &Device::Cpu).unwrap();
    assert_eq!(gm_core::Generator::output_shape(&g), vec![2]);
    // Through the run's metadata, as `cargo xtask export` and `eval` do, and back through the
    // saved parts of an export: the same samples for the same seed.
    use gm_core::model::SavedModel;
    let (tensors, meta) =
        gm_core::io::load_safetensors(a.path().join("model.safetensors"), &Device::Cpu).unwrap();
    assert!(gm_gan::LoadedGenerator::is_gan_run(&meta["gm.model"]));
    let config: serde_json::Value = serde_json::from_str(&meta["gm.config"]).unwrap();
    let run = gm_gan::LoadedGenerator::from_run(&config, &tensors, &Device::Cpu).unwrap();
    let parts =
        gm_gan::LoadedGenerator::from_parts(&run.config_json(), run.weights(), &Device::Cpu)
            .unwrap();
    let sample = |g: &gm_gan::GanGenerator| {
        gm_core::Generator::sample(g, 6, &mut GmRng::new(3), &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(sample(&g), sample(&run.generator));
    assert_eq!(sample(&g), sample(&parts.generator));
    let bad = serde_json::json!({"latent_dim": "two"});
    let e = gm_gan::LoadedGenerator::from_run(&bad, &tensors, &Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("gm.config"), "{e}");
}

/// A critic whose rate explodes (lr 1e30, no effective clipping) overflows on its second
/// step: fit stops with a non-finite error and the checkpoint of step 1 is left as it was.
#[test]
fn divergent_training_stops_and_keeps_the_last_good_checkpoint() {
    let dev = Device::Cpu;
    let mut cfg = small_config(Objective::Wgan { clip: 1e30 });
    cfg.adam_d.lr = 1e30;
    // The generator waits a step, so step 1 (critic only) succeeds and is checkpointed.
    cfg.tricks.n_critic = 2;
    let data = Mixture2d::ring8().dataset(512, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fc = FitConfig {
        epochs: 1,
        batch_size: 64,
        checkpoint_every: 1,
        progress: false,
        ..Default::default()
    };
    let mut t = GanTrainer::new(cfg, 0, &dev).unwrap();
    let e = fit(&mut t, &data, &fc, dir.path(), &dev).err().unwrap();
    let msg = e.to_string();
    assert!(matches!(e, gm_core::Error::NonFinite { .. }), "{msg}");
    assert!(msg.contains("not finite"), "{msg}");
    let ck =
        gm_core::train::read_checkpoint(&dir.path().join("checkpoint.safetensors"), &dev).unwrap();
    let failed_at = match e {
        gm_core::Error::NonFinite { step, .. } => step,
        _ => unreachable!(),
    };
    assert_eq!(ck.step, failed_at - 1);
    for (k, v) in &ck.state.tensors {
        let s = v.sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(s.is_finite(), "{k} in the kept checkpoint is not finite");
    }
}

/// The gradient penalty through DCGAN's strided convolutions and batch norm: in f64 (candle's
/// convolutions) backprop equals central differences; in f32 gm-core's im2col/col2im ops
/// (the path every CPU training run takes) give the same second-order gradient.
#[test]
fn gradient_penalty_through_dcgan_convolutions_matches_finite_differences() {
    enable_second_order("test").unwrap();
    let dev = Device::Cpu;
    let cfg = GanConfig {
        latent_dim: 4,
        data_shape: vec![1, 8, 8],
        generator: Architecture::Dcgan { channels: 2 },
        discriminator: Architecture::Dcgan { channels: 2 },
        output: gm_gan::OutputActivation::Tanh,
        mlp_init: gm_gan::MlpInit::Default,
    };
    let s32 = ParamStore::new(21);
    let d32 = Discriminator::new(&cfg, s32.var_builder(&dev)).unwrap();
    let s64 = ParamStore::new(22);
    let d64 = Discriminator::new(&cfg, f64_builder(&s64, &dev)).unwrap();
    s64.load(&s32.tensors(), "f32 weights").unwrap();

    let mut rng = GmRng::new(5);
    let real = randn(&mut rng, &[5, 1, 8, 8], &dev);
    let fake = randn(&mut rng, &[5, 1, 8, 8], &dev);
    let eps = rng
        .uniform((5, 1, 1, 1), 0.0, 1.0, &dev)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let loss64 = || gradient_penalty(|x| d64.forward(x), &real, &fake, &eps).unwrap();
    let (err, biggest, g64) = check_gradient(&s64, loss64, 1e-6);
    assert!(biggest > 1e-2, "penalty gradient vanished: {biggest}");
    assert!(
        err < 1e-5 * biggest.max(1.0),
        "f64: max |backprop - finite difference| = {err:e} (largest gradient {biggest:e})"
    );

    let f32t = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let loss32 =
        gradient_penalty(|x| d32.forward(x), &f32t(&real), &f32t(&fake), &f32t(&eps)).unwrap();
    let grads = loss32.backward().unwrap();
    let mut worst = 0f64;
    for (name, var) in s32.vars() {
        // Biases after which only piecewise-linear units follow get no penalty gradient.
        let g = grads
            .get(var.as_tensor())
            .map(|g| {
                g.flatten_all()
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap()
            })
            .unwrap_or_else(|| vec![0.0; var.elem_count()]);
        for (i, gi) in g.iter().enumerate() {
            worst = worst.max((gi - g64[&(name.clone(), i)]).abs());
        }
    }
    // f32 rounding through two backward passes: relative 1e-3 of the largest gradient.
    assert!(
        worst < 1e-3 * biggest,
        "f32 im2col path vs f64: max difference {worst:e} (largest gradient {biggest:e})"
    );
}

fn flat(store: &ParamStore) -> BTreeMap<String, Vec<f32>> {
    store
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

/// The generator average is `beta avg + (1 - beta) theta` after each generator update (a
/// copy during the first `ema_start`), computed here on the host from the online weights;
/// samples come from it, and a run with it (and spectral normalization's vectors) resumes
/// bit for bit.
#[test]
fn generator_average_follows_its_recursion_and_resumes() {
    let dev = Device::Cpu;
    let (x, _) = Mixture2d::ring8().sample(32, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (32, 2), &dev).unwrap();
    let cfg = GanTrainConfig {
        tricks: Tricks {
            ema_decay: 0.9,
            ema_start: 2,
            spectral_norm: true,
            ..Default::default()
        },
        ..small_config(Objective::default())
    };
    let mut t = GanTrainer::new(cfg.clone(), 0, &dev).unwrap();
    let mut want = flat(t.generator_store());
    assert_eq!(flat(t.sampling_store()), want);
    let mut rng = GmRng::new(3);
    for step in 1..=5 {
        t.train_step(&x, &mut rng).unwrap();
        let online = flat(t.generator_store());
        for (k, w) in want.iter_mut() {
            for (a, b) in w.iter_mut().zip(&online[k]) {
                *a = if step <= 2 { *b } else { 0.9 * *a + 0.1 * *b };
            }
        }
        let got = flat(t.sampling_store());
        for (k, w) in &want {
            for (a, b) in w.iter().zip(&got[k]) {
                assert!((a - b).abs() < 1e-6, "step {step}, {k}: {a} vs {b}");
            }
        }
    }
    assert_ne!(flat(t.sampling_store()), flat(t.generator_store()));
    let draw = |g: &GanGenerator| {
        gm_core::Generator::sample(g, 6, &mut GmRng::new(9), &dev)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let samples = t.samples(6, &mut GmRng::new(9)).unwrap();
    let samples = samples.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(samples, draw(t.generator()));
    assert_ne!(samples, draw(t.online_generator()));

    // Through fit: the saved generator is the average, the checkpoint keeps both, and an
    // interrupted run resumes to the same weights.
    let fc = FitConfig {
        epochs: 2,
        batch_size: 64,
        seed: 5,
        progress: false,
        ..Default::default()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    ring_fit(&cfg, &fc, a.path());
    ring_fit(
        &cfg,
        &FitConfig {
            stop_after: Some(5),
            ..fc.clone()
        },
        b.path(),
    );
    let ck =
        gm_core::train::read_checkpoint(&b.path().join("checkpoint.safetensors"), &dev).unwrap();
    assert!(ck.state.tensors.keys().any(|k| k.starts_with("ema_g.")));
    assert!(ck.state.tensors.contains_key("d.fc0.running_sn_u"));
    ring_fit(
        &cfg,
        &FitConfig {
            resume: true,
            ..fc.clone()
        },
        b.path(),
    );
    let load = |p: &std::path::Path| {
        gm_core::io::load_safetensors(p.join("model.safetensors"), &dev)
            .unwrap()
            .0
    };
    let (wa, wb) = (load(a.path()), load(b.path()));
    assert_eq!(wa.len(), wb.len());
    for (k, v) in &wa {
        let x = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let y = wb[k].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(x, y, "{k} differs after resume");
    }
}

/// DiffAugment runs in both players' losses on images, changes the run, and is refused on
/// vectors with the field named.
#[test]
fn diff_augment_trains_images_and_is_refused_on_vectors() {
    let dev = Device::Cpu;
    let image_cfg = |policy: Vec<Augment>| GanTrainConfig {
        model: GanConfig {
            data_shape: vec![1, 8, 8],
            ..tiny(4, 16, Activation::Relu)
        },
        tricks: Tricks {
            diff_augment: policy,
            ..Default::default()
        },
        ..small_config(Objective::Hinge)
    };
    let x = GmRng::new(1)
        .uniform((16, 1, 8, 8), 0.0, 1.0, &dev)
        .unwrap();
    let run = |cfg: GanTrainConfig| -> Vec<f64> {
        let mut t = GanTrainer::new(cfg, 0, &dev).unwrap();
        let mut rng = GmRng::new(3);
        (0..3)
            .flat_map(|_| t.train_step(&x, &mut rng).unwrap())
            .map(|(_, v)| v)
            .collect()
    };
    let plain = run(image_cfg(Vec::new()));
    let aug = run(image_cfg(Augment::ALL.to_vec()));
    assert!(aug.iter().all(|v| v.is_finite()), "{aug:?}");
    assert_ne!(aug, plain);
    let vectors = GanTrainConfig {
        tricks: Tricks {
            diff_augment: vec![Augment::Translation],
            ..Default::default()
        },
        ..small_config(Objective::Hinge)
    };
    let e = GanTrainer::new(vectors, 0, &dev).err().unwrap();
    assert!(e.to_string().contains("tricks.diff_augment"), "{e}");
}

/// The largest singular value of a `(rows, cols)` matrix by 2,000 host power iterations on
/// `W^T W` in f64 from the all-ones vector.
fn host_sigma(w: &[f64], rows: usize, cols: usize) -> f64 {
    let mut v = vec![1.0; cols];
    let mut s = 0.0;
    for _ in 0..2_000 {
        let wv: Vec<f64> = (0..rows)
            .map(|r| (0..cols).map(|c| w[r * cols + c] * v[c]).sum())
            .collect();
        let wtwv: Vec<f64> = (0..cols)
            .map(|c| (0..rows).map(|r| w[r * cols + c] * wv[r]).sum())
            .collect();
        let n = wtwv.iter().map(|x| x * x).sum::<f64>().sqrt();
        s = n.sqrt();
        v = wtwv.iter().map(|x| x / n).collect();
    }
    s
}

/// Spectral normalization's estimates reach each layer's largest singular value (MLP and
/// DCGAN critics, kernels flattened per output channel), and the normalized critic's layers
/// then have spectral norm 1.
#[test]
fn spectral_norm_estimates_every_layers_largest_singular_value() {
    let dev = Device::Cpu;
    for cfg in [
        tiny(4, 16, Activation::Relu),
        GanConfig::dcgan(16, 1).unwrap(),
    ] {
        let store = ParamStore::new(3);
        let mut d = Discriminator::new(&cfg, store.var_builder(&dev)).unwrap();
        let x = GmRng::new(1)
            .normal([vec![5], cfg.data_shape.clone()].concat(), 0.0, 1.0, &dev)
            .unwrap();
        let raw = d.forward(&x).unwrap();
        d.enable_spectral_norm(store.var_builder(&dev)).unwrap();
        assert!(d.has_spectral_norm());
        let normalized = d.forward(&x).unwrap();
        assert_ne!(
            raw.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            normalized.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        for _ in 0..200 {
            d.power_iteration().unwrap();
        }
        let sigmas = d.spectral_sigmas().unwrap();
        let weights: Vec<(String, Tensor)> = store
            .tensors()
            .into_iter()
            .filter(|(k, _)| k.ends_with(".weight") && !k.starts_with("bn"))
            .collect();
        assert_eq!(weights.len(), sigmas.len(), "{weights:?}");
        for ((name, w), s) in weights.iter().zip(&sigmas) {
            let rows = w.dim(0).unwrap();
            let flat = w
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let want = host_sigma(&flat, rows, flat.len() / rows);
            assert!((s - want).abs() < 1e-3 * want, "{name}: {s} vs {want}");
        }
    }
}

/// The feature-matching generator loss is `|| E f(x) - E f(G(z)) ||^2` over the critic's last
/// hidden layer, computed here on the host from the critic's features.
#[test]
fn feature_matching_loss_is_the_squared_distance_of_mean_features() {
    let dev = Device::Cpu;
    let cfg = GanTrainConfig {
        tricks: Tricks {
            feature_matching: true,
            ..Default::default()
        },
        ..small_config(Objective::default())
    };
    let mut t = GanTrainer::new(cfg, 0, &dev).unwrap();
    let (x, _) = Mixture2d::ring8().sample(32, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (32, 2), &dev).unwrap();
    let real = t.network_batch(&x).unwrap();
    let z = GmRng::new(2).normal((32, 4), 0.0, 1.0, &dev).unwrap();
    let d = t.discriminator().unwrap();
    let fake = t.online_generator().forward_t(&z, true).unwrap();
    let mean_features = |x: &Tensor| -> Vec<f64> {
        let f = d
            .features_and_output(x)
            .unwrap()
            .0
            .to_vec2::<f32>()
            .unwrap();
        let n = f.len() as f64;
        (0..f[0].len())
            .map(|j| f.iter().map(|r| r[j] as f64).sum::<f64>() / n)
            .collect()
    };
    let (a, b) = (mean_features(&real), mean_features(&fake));
    assert_eq!(a.len(), 32, "the last hidden layer's width");
    let want: f64 = a.iter().zip(&b).map(|(p, q)| (p - q).powi(2)).sum();
    let got = t.generator_step(&real, &z, &mut GmRng::new(3)).unwrap();
    assert!(want > 1e-4, "{want}");
    assert!((got - want).abs() < 1e-5 * want.max(1.0), "{got} vs {want}");
}
