//! Checks of BiGAN (Donahue et al. 2017): the discriminator judges joint pairs `(x, z)`, the
//! `(G, E)` loss is the label-swapped GAN loss, each player's loss falls under its own
//! updates, a short `fit` run, 1-NN accuracy on hand-made points, the encoder's features, and
//! one error per bad hyperparameter. The zoo run itself is `cargo xtask reproduce zoo --models bigan`.

use candle_core::{Device, Tensor};
use gm_core::data::Dataset;
use gm_core::{fit, AdamConfig, FitConfig, GmRng, Trainer};
use gm_eval::neighbours::{nearest_neighbour_accuracy, Distance};
use gm_gan::bigan::{BiganConfig, BiganTrainer};
use gm_gan::{bce_with_logits, Error, GanGeneratorLoss, Objective};

/// 4x4 one-channel items, latent 3, one hidden layer of 16 units per network.
fn tiny() -> BiganConfig {
    BiganConfig {
        latent_dim: 3,
        data_shape: vec![1, 4, 4],
        encoder_hidden: vec![16],
        generator_hidden: vec![16],
        discriminator_hidden: vec![16],
        adam_d: AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        },
        adam_ge: AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        },
        grid_samples: 4,
        ..BiganConfig::default()
    }
}

fn data_batch(n: usize, seed: u64, dev: &Device) -> Tensor {
    GmRng::new(seed)
        .uniform((n, 1, 4, 4), 0.0, 1.0, dev)
        .unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_scalar::<f32>().unwrap() as f64
}

#[test]
fn discriminator_input_is_data_plus_latent_and_depends_on_z() {
    let dev = Device::Cpu;
    let t = BiganTrainer::new(tiny(), 0, &dev).unwrap();
    let w = t.weights().unwrap();
    assert_eq!(w["discriminator.fc0.weight"].dims(), &[16, 16 + 3]);
    assert_eq!(w["encoder.fc0.weight"].dims(), &[16, 16]);
    assert_eq!(w["encoder.fc1.weight"].dims(), &[3, 16]);
    assert_eq!(w["generator.fc0.weight"].dims(), &[16, 3]);

    let x = t.network_batch(&data_batch(5, 1, &dev)).unwrap();
    let mut rng = GmRng::new(2);
    let z1 = rng.normal((5, 3), 0.0, 1.0, &dev).unwrap();
    let z2 = rng.normal((5, 3), 0.0, 1.0, &dev).unwrap();
    let a = t.discriminate(&x, &z1).unwrap().to_vec2::<f32>().unwrap();
    let b = t.discriminate(&x, &z2).unwrap().to_vec2::<f32>().unwrap();
    let again = t.discriminate(&x, &z1).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(a, again);
    for (u, v) in a.iter().zip(&b) {
        assert!((u[0] - v[0]).abs() > 1e-6, "D ignores z: {u:?} vs {v:?}");
    }
}

#[test]
fn shapes_and_data_space() {
    let dev = Device::Cpu;
    let t = BiganTrainer::new(tiny(), 0, &dev).unwrap();
    let x = data_batch(7, 1, &dev);
    assert_eq!(t.encode(&x).unwrap().dims(), &[7, 3]);
    let r = t.reconstruct(&x).unwrap();
    assert_eq!(r.dims(), &[7, 1, 4, 4]);
    let v = r.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    let wrong = Tensor::zeros((2, 16), candle_core::DType::F32, &dev).unwrap();
    assert!(matches!(t.network_batch(&wrong), Err(Error::Shape { .. })));
}

#[test]
fn encoder_generator_loss_is_the_label_swapped_gan_loss() {
    let dev = Device::Cpu;
    let t = BiganTrainer::new(tiny(), 3, &dev).unwrap();
    let x = t.network_batch(&data_batch(6, 4, &dev)).unwrap();
    let z = GmRng::new(5).normal((6, 3), 0.0, 1.0, &dev).unwrap();
    let ex = t.encoder().forward(&x).unwrap();
    let gz = t.generator().forward_t(&z, true).unwrap();
    let v_enc = t.discriminate(&x, &ex).unwrap();
    let v_gen = t.discriminate(&gz, &z).unwrap();
    // -log D(G(z), z) - log(1 - D(x, E(x))): the encoder pair is labelled fake.
    let want = scalar(&bce_with_logits(&v_gen, 1.0).unwrap())
        + scalar(&bce_with_logits(&v_enc, 0.0).unwrap());
    let got = t.encoder_generator_loss_value(&x, &z).unwrap();
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    // D's loss labels the encoder pair real.
    let want_d = scalar(&bce_with_logits(&v_enc, 1.0).unwrap())
        + scalar(&bce_with_logits(&v_gen, 0.0).unwrap());
    let got_d = t.critic_loss_value(&x, &z).unwrap();
    assert!((got_d - want_d).abs() < 1e-5, "{got_d} vs {want_d}");
}

#[test]
fn each_player_lowers_its_own_loss() {
    let dev = Device::Cpu;
    let mut t = BiganTrainer::new(tiny(), 6, &dev).unwrap();
    let x = t.network_batch(&data_batch(32, 7, &dev)).unwrap();
    let z = GmRng::new(8).normal((32, 3), 0.0, 1.0, &dev).unwrap();
    let d0 = t.critic_loss_value(&x, &z).unwrap();
    let mut rng = GmRng::new(9);
    for _ in 0..10 {
        t.critic_step(&x, &z, &mut rng).unwrap();
    }
    let d1 = t.critic_loss_value(&x, &z).unwrap();
    assert!(d1 < d0 - 0.05, "D loss {d0} -> {d1}");
    let g0 = t.encoder_generator_loss_value(&x, &z).unwrap();
    for _ in 0..10 {
        t.encoder_generator_step(&x, &z, &mut rng).unwrap();
    }
    let g1 = t.encoder_generator_loss_value(&x, &z).unwrap();
    assert!(g1 < g0 - 0.05, "(G, E) loss {g0} -> {g1}");
}

#[test]
fn fit_trains_and_resumes_bit_for_bit() {
    let dev = Device::Cpu;
    let x = data_batch(32, 9, &dev)
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let data = Dataset::new("tiny", vec![1, 4, 4], x, None).unwrap();
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 8,
        seed: 1,
        progress: false,
        ..FitConfig::default()
    };
    let whole = tempfile::tempdir().unwrap();
    let mut a = BiganTrainer::new(tiny(), 0, &dev).unwrap();
    let s = fit(&mut a, &data, &cfg, whole.path(), &dev).unwrap();
    assert_eq!((s.steps, a.steps()), (8, 8));
    assert!(whole.path().join("model.safetensors").exists());

    let split = tempfile::tempdir().unwrap();
    let mut b = BiganTrainer::new(tiny(), 0, &dev).unwrap();
    let stop = FitConfig {
        stop_after: Some(3),
        ..cfg.clone()
    };
    fit(&mut b, &data, &stop, split.path(), &dev).unwrap();
    let mut c = BiganTrainer::new(tiny(), 0, &dev).unwrap();
    let resume = FitConfig {
        resume: true,
        ..cfg
    };
    fit(&mut c, &data, &resume, split.path(), &dev).unwrap();
    let (wa, wc) = (a.weights().unwrap(), c.weights().unwrap());
    assert_eq!(wa.len(), wc.len());
    for (k, v) in &wa {
        let d = (v - &wc[k]).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(scalar(&d), 0.0, "{k} differs after resume");
    }
}

#[test]
fn nearest_neighbour_on_hand_made_points() {
    let dev = Device::Cpu;
    let train = Tensor::new(&[[1f32, 0.0], [10.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], &dev).unwrap();
    let train_y = [0u32, 1, 2, 3];
    // (9, 0) points along train 0 (cosine) but lies next to train 1 (Euclidean);
    // (0.1, 3) is nearest train 2 either way; (-0.5, -0.1) nearest train 3 either way.
    let test = Tensor::new(&[[9f32, 0.0], [0.1, 3.0], [-0.5, -0.1]], &dev).unwrap();
    let test_y = [0u32, 2, 3];
    let cos = nearest_neighbour_accuracy(&train, &train_y, &test, &test_y, Distance::Cosine);
    assert!((cos.unwrap() - 1.0).abs() < 1e-12);
    let euc = nearest_neighbour_accuracy(&train, &train_y, &test, &test_y, Distance::Euclidean);
    assert!((euc.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    // Mismatched widths and label counts are errors, not panics.
    let narrow = Tensor::new(&[[1f32]], &dev).unwrap();
    assert!(nearest_neighbour_accuracy(&train, &train_y, &narrow, &[0], Distance::Cosine).is_err());
    assert!(nearest_neighbour_accuracy(&train, &[0], &test, &test_y, Distance::Cosine).is_err());
}

fn config_error(cfg: BiganConfig) -> &'static str {
    match BiganTrainer::new(cfg, 0, &Device::Cpu) {
        Err(Error::Config { field, .. }) => field,
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a config error, got a trainer"),
    }
}

#[test]
fn latent_dim_cannot_be_zero() {
    let c = BiganConfig {
        latent_dim: 0,
        ..tiny()
    };
    assert_eq!(config_error(c), "latent_dim");
}

#[test]
fn data_shape_cannot_be_empty() {
    for s in [vec![], vec![1, 0, 4]] {
        let c = BiganConfig {
            data_shape: s,
            ..tiny()
        };
        assert_eq!(config_error(c), "data_shape");
    }
}

#[test]
fn hidden_widths_cannot_be_zero() {
    let c = BiganConfig {
        encoder_hidden: vec![0],
        ..tiny()
    };
    assert_eq!(config_error(c), "encoder_hidden");
    let c = BiganConfig {
        generator_hidden: vec![4, 0],
        ..tiny()
    };
    assert_eq!(config_error(c), "generator_hidden");
    let c = BiganConfig {
        discriminator_hidden: vec![0],
        ..tiny()
    };
    assert_eq!(config_error(c), "discriminator_hidden");
}

#[test]
fn objective_must_have_a_swapped_label_form() {
    let c = BiganConfig {
        objective: Objective::LeastSquares,
        ..tiny()
    };
    assert_eq!(config_error(c), "objective");
    let c = BiganConfig {
        tricks: gm_gan::Tricks {
            diff_augment: vec![gm_gan::Augment::Translation],
            ..Default::default()
        },
        ..tiny()
    };
    assert_eq!(config_error(c), "tricks.diff_augment");
    let minimax = BiganConfig {
        objective: Objective::Gan {
            generator_loss: GanGeneratorLoss::Minimax,
        },
        ..tiny()
    };
    assert!(BiganTrainer::new(minimax, 0, &Device::Cpu).is_ok());
}

#[test]
fn dropout_must_lie_in_zero_one() {
    for p in [-0.1, 1.0, f64::NAN] {
        let c = BiganConfig {
            discriminator_dropout: p,
            ..tiny()
        };
        assert_eq!(config_error(c), "discriminator_dropout");
    }
}

#[test]
fn dropout_draws_masks_only_in_updates() {
    let dev = Device::Cpu;
    let mut t = BiganTrainer::new(tiny(), 2, &dev).unwrap();
    let x = t.network_batch(&data_batch(8, 3, &dev)).unwrap();
    let z = GmRng::new(4).normal((8, 3), 0.0, 1.0, &dev).unwrap();
    // The loss values use no dropout: equal on repeated calls.
    let a = t.critic_loss_value(&x, &z).unwrap();
    assert_eq!(a, t.critic_loss_value(&x, &z).unwrap());
    // An update reports the loss under its own masks, which drop units: it differs.
    let mut rng = GmRng::new(5);
    let masked = t.critic_step(&x, &z, &mut rng).unwrap()[0].1;
    assert!((masked - a).abs() > 1e-6, "{masked} vs {a}");
}

#[test]
fn bad_learning_rate_is_refused() {
    let c = BiganConfig {
        adam_d: AdamConfig {
            lr: 0.0,
            ..AdamConfig::default()
        },
        ..tiny()
    };
    assert!(matches!(
        BiganTrainer::new(c, 0, &Device::Cpu),
        Err(Error::Core(gm_core::Error::Config { field: "lr", .. }))
    ));
}

/// The encoder's last hidden layer: `E(x)` is its output layer applied to those features,
/// `encoder.fc1(features)`, and the features are LeakyReLU(0.2) outputs of `encoder.fc0`.
#[test]
fn encoder_features_are_the_layer_before_its_output() {
    let dev = Device::Cpu;
    let t = BiganTrainer::new(tiny(), 3, &dev).unwrap();
    let x = data_batch(7, 4, &dev);
    let h = t.encoder_features(&x).unwrap();
    assert_eq!(h.dims(), &[7, 16]);
    let w = t.weights().unwrap();
    let xs = t.network_batch(&x).unwrap().flatten_from(1).unwrap();
    let pre = xs
        .matmul(&w["encoder.fc0.weight"].t().unwrap())
        .unwrap()
        .broadcast_add(&w["encoder.fc0.bias"])
        .unwrap();
    let want_h = pre.maximum(&(&pre * 0.2).unwrap()).unwrap();
    let z = h
        .matmul(&w["encoder.fc1.weight"].t().unwrap())
        .unwrap()
        .broadcast_add(&w["encoder.fc1.bias"])
        .unwrap();
    for (a, b) in [(&h, &want_h), (&t.encode(&x).unwrap(), &z)] {
        let d = scalar(&(a - b).unwrap().abs().unwrap().max_all().unwrap());
        assert!(d < 1e-5, "{d}");
    }
}
