//! Checks of the class-conditional GANs: shapes and weight names, the projection term
//! `<embed(y), phi(x)>` and ACGAN's class cross-entropy against sums written out by hand,
//! the class changing `G(z, y)` for a fixed `z`, each player lowering its own loss on a fixed
//! batch, `fit` resuming bit for bit, the saved model rebuilding the generator, and one error
//! naming its field per bad configuration. Tiny MLP networks (4x4 items, 4 classes) unless a
//! test says otherwise.

use candle_core::{Device, Tensor};
use gm_core::data::Dataset;
use gm_core::{fit, AdamConfig, FitConfig, Generator, GmRng, Trainer};
use gm_gan::conditional::{class_cross_entropy, one_hot, MODEL_PREFIX};
use gm_gan::{
    bce_with_logits, Activation, Architecture, CganConfig, CganTrainer, ConditionalGenerator,
    Conditioning, Error, GanConfig, LabelEmbedding, Objective,
};

const CLASSES: usize = 4;

fn tiny(conditioning: Conditioning) -> CganConfig {
    let mlp = |activation| Architecture::Mlp {
        hidden: vec![16],
        activation,
    };
    let adam = AdamConfig {
        lr: 1e-3,
        beta1: 0.5,
        ..AdamConfig::default()
    };
    CganConfig {
        model: GanConfig {
            latent_dim: 3,
            data_shape: vec![1, 4, 4],
            generator: mlp(Activation::Relu),
            discriminator: mlp(Activation::LeakyRelu),
            ..GanConfig::mlp_mnist()
        },
        n_classes: CLASSES,
        label_embedding: LabelEmbedding::Learned { dim: 2 },
        conditioning,
        adam_g: adam,
        adam_d: adam,
        ..CganConfig::default()
    }
}

/// An 8x8 DCGAN pair with 2 base channels.
fn tiny_dcgan(conditioning: Conditioning) -> CganConfig {
    CganConfig {
        model: GanConfig {
            latent_dim: 3,
            data_shape: vec![1, 8, 8],
            generator: Architecture::Dcgan { channels: 2 },
            discriminator: Architecture::Dcgan { channels: 2 },
            ..GanConfig::dcgan_mnist()
        },
        ..tiny(conditioning)
    }
}

fn data_batch(n: usize, seed: u64, dev: &Device) -> Tensor {
    GmRng::new(seed)
        .uniform((n, 1, 4, 4), 0.0, 1.0, dev)
        .unwrap()
}

fn labels(v: &[u32], dev: &Device) -> Tensor {
    Tensor::new(v, dev).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_scalar::<f32>().unwrap() as f64
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Mean cross-entropy `-log softmax(l_i)[y_i]`, in f64 with the max subtracted.
fn cross_entropy_by_hand(logits: &[Vec<f32>], y: &[u32]) -> f64 {
    let mut total = 0.0;
    for (row, &k) in logits.iter().zip(y) {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        total += lse - row[k as usize] as f64;
    }
    total / y.len() as f64
}

#[test]
fn shapes_and_weight_names() {
    let dev = Device::Cpu;
    for conditioning in [Conditioning::Projection, Conditioning::Acgan] {
        let t = CganTrainer::new(tiny(conditioning), 0, &dev).unwrap();
        let w = t.weights().unwrap();
        assert_eq!(w["generator.label_embedding.weight"].dims(), &[CLASSES, 2]);
        // G's first layer sees z (3) and the class code (2).
        assert_eq!(w["generator.fc0.weight"].dims(), &[16, 3 + 2]);
        assert_eq!(w["discriminator.fc0.weight"].dims(), &[16, 16]);
        match conditioning {
            Conditioning::Projection => {
                assert_eq!(w["discriminator.projection.weight"].dims(), &[CLASSES, 16]);
                assert!(!w.contains_key("discriminator.class_head.weight"));
            }
            Conditioning::Acgan | Conditioning::InfoGan => {
                assert_eq!(w["discriminator.class_head.weight"].dims(), &[CLASSES, 16]);
                assert_eq!(w["discriminator.class_head.bias"].dims(), &[CLASSES]);
                assert!(!w.contains_key("discriminator.projection.weight"));
            }
        }
        let g = t.generator();
        assert_eq!(g.latent_dim(), 3 + CLASSES);
        assert_eq!(g.num_classes(), Some(CLASSES));
        let x = g.sample(5, &mut GmRng::new(1), &dev).unwrap();
        assert_eq!(x.dims(), &[5, 1, 4, 4]);
        assert!(values(&x).iter().all(|p| (0.0..=1.0).contains(p)));
        let y = labels(&[0, 1, 2, 3, 0], &dev);
        let out = t
            .discriminator()
            .forward(&t.network_batch(&x).unwrap(), &y)
            .unwrap();
        assert_eq!(out.score.dims(), &[5, 1]);
        assert_eq!(
            out.class_logits.map(|l| l.dims().to_vec()),
            (conditioning == Conditioning::Acgan).then(|| vec![5, CLASSES])
        );
        let wrong = Tensor::zeros((2, 16), candle_core::DType::F32, &dev).unwrap();
        assert!(matches!(t.network_batch(&wrong), Err(Error::Shape { .. })));
    }
}

#[test]
fn dcgan_networks_take_the_class_at_the_first_projection() {
    let dev = Device::Cpu;
    for conditioning in [Conditioning::Projection, Conditioning::Acgan] {
        let mut t = CganTrainer::new(tiny_dcgan(conditioning), 0, &dev).unwrap();
        let w = t.weights().unwrap();
        // The first transposed convolution maps z (3) plus the code (2) to 4 maps at 2x2.
        assert_eq!(w["generator.ct0.weight"].dims(), &[3 + 2, 4, 2, 2]);
        // phi(x): 4 maps of 2x2, flattened.
        assert_eq!(t.discriminator().feature_dim(), 16);
        let x = GmRng::new(2).uniform((6, 1, 8, 8), 0.0, 1.0, &dev).unwrap();
        let y = labels(&[0, 1, 2, 3, 0, 1], &dev);
        let m = t.train_step(&x, Some(&y), &mut GmRng::new(3)).unwrap();
        assert!(m.iter().all(|(_, v)| v.is_finite()), "{m:?}");
        let grid = t.class_samples(3, &mut GmRng::new(4)).unwrap();
        assert_eq!(grid.dims(), &[CLASSES * 3, 1, 8, 8]);
        let (img, signed) = t.grid_images(&mut GmRng::new(5)).unwrap().unwrap();
        assert_eq!(img.dims(), &[CLASSES * CLASSES, 1, 8, 8]);
        assert!(!signed);
    }
}

#[test]
fn the_projection_term_is_the_inner_product_of_embedding_and_features() {
    let dev = Device::Cpu;
    let t = CganTrainer::new(tiny(Conditioning::Projection), 1, &dev).unwrap();
    let d = t.discriminator();
    let x = t.network_batch(&data_batch(5, 2, &dev)).unwrap();
    let y = [3u32, 0, 1, 3, 2];
    let score = d
        .forward(&x, &labels(&y, &dev))
        .unwrap()
        .score
        .to_vec2::<f32>()
        .unwrap();
    let (phi, psi) = d.features_and_score(&x).unwrap();
    let (phi, psi) = (phi.to_vec2::<f32>().unwrap(), psi.to_vec2::<f32>().unwrap());
    let table = d.projection_embedding().unwrap().to_vec2::<f32>().unwrap();
    let mut nonzero = 0;
    for i in 0..y.len() {
        let inner: f64 = table[y[i] as usize]
            .iter()
            .zip(&phi[i])
            .map(|(&e, &f)| e as f64 * f as f64)
            .sum();
        let got = (score[i][0] - psi[i][0]) as f64;
        assert!((got - inner).abs() < 1e-5, "item {i}: {got} vs {inner}");
        nonzero += usize::from(inner.abs() > 1e-3);
    }
    assert!(nonzero >= 3, "the projection term is almost always zero");
    // Another class changes the score by the difference of the two inner products.
    let other = d
        .forward(&x, &labels(&[0, 0, 0, 0, 0], &dev))
        .unwrap()
        .score
        .to_vec2::<f32>()
        .unwrap();
    let inner0: f64 = table[0]
        .iter()
        .zip(&phi[0])
        .map(|(&e, &f)| e as f64 * f as f64)
        .sum();
    assert!(((other[0][0] - psi[0][0]) as f64 - inner0).abs() < 1e-5);
}

#[test]
fn the_acgan_class_loss_is_the_cross_entropy() {
    let dev = Device::Cpu;
    let cfg = CganConfig {
        class_loss_weight: 0.5,
        ..tiny(Conditioning::Acgan)
    };
    let t = CganTrainer::new(cfg, 2, &dev).unwrap();
    let d = t.discriminator();
    let real = t.network_batch(&data_batch(6, 3, &dev)).unwrap();
    let y_real = [0u32, 1, 2, 3, 1, 2];
    let y_fake = [3u32, 3, 0, 1, 2, 0];
    let (yr, yf) = (labels(&y_real, &dev), labels(&y_fake, &dev));
    let z = GmRng::new(4).normal((6, 3), 0.0, 1.0, &dev).unwrap();

    let out_real = d.forward(&real, &yr).unwrap();
    let logits_real = out_real.class_logits.clone().unwrap();
    let ce_real = cross_entropy_by_hand(&logits_real.to_vec2::<f32>().unwrap(), &y_real);
    let got = scalar(&class_cross_entropy(&logits_real, &yr).unwrap());
    assert!((got - ce_real).abs() < 1e-5, "{got} vs {ce_real}");
    assert!(ce_real > 0.1, "a fresh head is not that sure");

    let fake = t.generator().forward_t(&z, &yf, true).unwrap();
    let out_fake = d.forward(&fake, &yf).unwrap();
    let ce_fake = cross_entropy_by_hand(
        &out_fake
            .class_logits
            .clone()
            .unwrap()
            .to_vec2::<f32>()
            .unwrap(),
        &y_fake,
    );
    // Critic: BCE(v_real, 1) + BCE(v_fake, 0) + 0.5 (CE_real + CE_fake).
    let want_d = scalar(&bce_with_logits(&out_real.score, 1.0).unwrap())
        + scalar(&bce_with_logits(&out_fake.score, 0.0).unwrap())
        + 0.5 * (ce_real + ce_fake);
    let got_d = t.critic_loss_value(&real, &yr, &z, &yf).unwrap();
    assert!((got_d - want_d).abs() < 1e-5, "{got_d} vs {want_d}");
    // Generator (non-saturating): BCE(v_fake, 1) + 0.5 CE_fake.
    let want_g = scalar(&bce_with_logits(&out_fake.score, 1.0).unwrap()) + 0.5 * ce_fake;
    let got_g = t.generator_loss_value(&z, &yf).unwrap();
    assert!((got_g - want_g).abs() < 1e-5, "{got_g} vs {want_g}");

    // The variant whose critic classifies real items only (same seed: same networks).
    let real_only = CganConfig {
        critic_classifies_generated: false,
        ..t.config().clone()
    };
    let t2 = CganTrainer::new(real_only, 2, &dev).unwrap();
    let want_d2 = want_d - 0.5 * ce_fake;
    let got_d2 = t2.critic_loss_value(&real, &yr, &z, &yf).unwrap();
    assert!((got_d2 - want_d2).abs() < 1e-5, "{got_d2} vs {want_d2}");
    let got_g2 = t2.generator_loss_value(&z, &yf).unwrap();
    assert!((got_g2 - want_g).abs() < 1e-5, "{got_g2} vs {want_g}");
}

#[test]
fn infogan_adds_the_code_cross_entropy_of_generated_items_only() {
    let dev = Device::Cpu;
    let cfg = CganConfig {
        class_loss_weight: 0.5,
        ..tiny(Conditioning::InfoGan)
    };
    let t = CganTrainer::new(cfg, 2, &dev).unwrap();
    let d = t.discriminator();
    let real = t.network_batch(&data_batch(6, 3, &dev)).unwrap();
    let y_fake = [3u32, 3, 0, 1, 2, 0];
    let yf = labels(&y_fake, &dev);
    let z = GmRng::new(4).normal((6, 3), 0.0, 1.0, &dev).unwrap();
    let fake = t.generator().forward_t(&z, &yf, true).unwrap();
    let out_fake = d.forward(&fake, &yf).unwrap();
    let logits = out_fake.class_logits.clone().unwrap();
    let ce_fake = cross_entropy_by_hand(&logits.to_vec2::<f32>().unwrap(), &y_fake);
    assert!(ce_fake > 0.1, "a fresh Q is not that sure");
    // The labels of real items play no part: any two give the same loss.
    let out_real = d.forward(&real, &labels(&[0; 6], &dev)).unwrap();
    let want_d = scalar(&bce_with_logits(&out_real.score, 1.0).unwrap())
        + scalar(&bce_with_logits(&out_fake.score, 0.0).unwrap())
        + 0.5 * ce_fake;
    for y_real in [[0u32, 1, 2, 3, 1, 2], [3; 6]] {
        let got_d = t
            .critic_loss_value(&real, &labels(&y_real, &dev), &z, &yf)
            .unwrap();
        assert!((got_d - want_d).abs() < 1e-5, "{got_d} vs {want_d}");
    }
    // The generator's: BCE(v_fake, 1) + 0.5 CE(Q(G(z, c)), c).
    let want_g = scalar(&bce_with_logits(&out_fake.score, 1.0).unwrap()) + 0.5 * ce_fake;
    let got_g = t.generator_loss_value(&z, &yf).unwrap();
    assert!((got_g - want_g).abs() < 1e-5, "{got_g} vs {want_g}");
}

#[test]
fn infogan_trains_on_unlabelled_items_and_its_codes_become_recoverable() {
    let dev = Device::Cpu;
    let mut t = CganTrainer::new(tiny(Conditioning::InfoGan), 5, &dev).unwrap();
    assert_eq!(t.model_name(), "cgan/infogan");
    let x = data_batch(32, 7, &dev);
    let mut rng = GmRng::new(9);
    let (z, c) = t.latents_and_labels(256, &mut GmRng::new(10)).unwrap();
    let q_loss = |t: &CganTrainer| {
        let fake = t.generator().forward_t(&z, &c, true).unwrap();
        let out = t.discriminator().forward(&fake, &c).unwrap();
        scalar(&class_cross_entropy(&out.class_logits.unwrap(), &c).unwrap())
    };
    let before = q_loss(&t);
    for _ in 0..300 {
        let m = t.train_step(&x, None, &mut rng).unwrap();
        assert!(m.iter().any(|(k, _)| k == "d_class_fake"), "{m:?}");
        assert!(m.iter().all(|(k, _)| k != "d_class_real"), "{m:?}");
    }
    // Both players descend -log Q(c | G(z, c)): the code of a generated item becomes
    // predictable from the item (log 4 = 1.39 for a uniform guess).
    let after = q_loss(&t);
    let uniform = (CLASSES as f64).ln();
    assert!(
        before > 0.9 * uniform && after < 0.5 * uniform,
        "CE of Q: {before} -> {after}"
    );
}

#[test]
fn the_label_changes_the_output_for_a_fixed_z() {
    let dev = Device::Cpu;
    for embedding in [LabelEmbedding::Learned { dim: 2 }, LabelEmbedding::OneHot] {
        let cfg = CganConfig {
            label_embedding: embedding,
            ..tiny(Conditioning::Projection)
        };
        let t = CganTrainer::new(cfg, 3, &dev).unwrap();
        let g = t.generator();
        let z = GmRng::new(5).normal((4, 3), 0.0, 1.0, &dev).unwrap();
        let outputs: Vec<Vec<f32>> = (0..CLASSES as u32)
            .map(|k| values(&g.generate_class(&z, &labels(&[k; 4], &dev)).unwrap()))
            .collect();
        for a in 0..CLASSES {
            for b in a + 1..CLASSES {
                // Every item moves: the class reaches G's output whatever z is.
                for i in 0..4 {
                    let (pa, pb) = (&outputs[a][i * 16..][..16], &outputs[b][i * 16..][..16]);
                    let diff = pa
                        .iter()
                        .zip(pb)
                        .map(|(u, v)| (u - v).abs())
                        .fold(0f32, f32::max);
                    assert!(diff > 1e-4, "{embedding:?}: classes {a}, {b}, item {i}");
                }
            }
        }
        // The same class and z give the same item.
        let again = values(&g.generate_class(&z, &labels(&[2; 4], &dev)).unwrap());
        assert_eq!(again, outputs[2]);
    }
}

#[test]
fn a_few_steps_lower_each_players_loss_on_a_fixed_batch() {
    let dev = Device::Cpu;
    for conditioning in [Conditioning::Projection, Conditioning::Acgan] {
        for objective in [Objective::default(), Objective::Hinge] {
            let cfg = CganConfig {
                objective: objective.clone(),
                ..tiny(conditioning)
            };
            let mut t = CganTrainer::new(cfg, 6, &dev).unwrap();
            let real = t.network_batch(&data_batch(32, 7, &dev)).unwrap();
            let y: Vec<u32> = (0..32).map(|i| i % CLASSES as u32).collect();
            let yr = labels(&y, &dev);
            let (z, yf) = t.latents_and_labels(32, &mut GmRng::new(8)).unwrap();
            let what = format!("{} / {}", conditioning.name(), objective.name());
            let d0 = t.critic_loss_value(&real, &yr, &z, &yf).unwrap();
            for _ in 0..10 {
                t.critic_step(&real, &yr, &z, &yf, &mut GmRng::new(0))
                    .unwrap();
            }
            let d1 = t.critic_loss_value(&real, &yr, &z, &yf).unwrap();
            assert!(d1 < d0 - 0.05, "{what}: D loss {d0} -> {d1}");
            let g0 = t.generator_loss_value(&z, &yf).unwrap();
            for _ in 0..10 {
                t.generator_step(&z, &yf, &mut GmRng::new(0)).unwrap();
            }
            let g1 = t.generator_loss_value(&z, &yf).unwrap();
            assert!(g1 < g0 - 0.05, "{what}: G loss {g0} -> {g1}");
        }
    }
}

/// 32 labelled 4x4 items, labels cycling through the classes.
fn labelled_data(dev: &Device) -> Dataset {
    let x = values(&data_batch(32, 9, dev));
    let y = (0..32).map(|i| i % CLASSES as u32).collect();
    Dataset::new("tiny-labelled", vec![1, 4, 4], x, Some(y)).unwrap()
}

#[test]
fn fit_resumes_bit_for_bit_and_the_saved_model_rebuilds_the_generator() {
    let dev = Device::Cpu;
    let data = labelled_data(&dev);
    let fc = FitConfig {
        epochs: 2,
        batch_size: 8,
        seed: 1,
        progress: false,
        ..FitConfig::default()
    };
    // ACGAN with spectral normalization: the power-iteration vectors are state too.
    for cfg in [
        tiny(Conditioning::Projection),
        CganConfig {
            spectral_norm: true,
            ..tiny(Conditioning::Acgan)
        },
    ] {
        let whole = tempfile::tempdir().unwrap();
        let mut a = CganTrainer::new(cfg.clone(), 0, &dev).unwrap();
        let s = fit(&mut a, &data, &fc, whole.path(), &dev).unwrap();
        assert_eq!((s.steps, a.steps()), (8, 8));
        let grid = whole.path().join("grids/epoch_002.png");
        assert!(grid.exists(), "{}", grid.display());

        let split = tempfile::tempdir().unwrap();
        let mut b = CganTrainer::new(cfg.clone(), 0, &dev).unwrap();
        let stop = FitConfig {
            stop_after: Some(3),
            ..fc.clone()
        };
        let s = fit(&mut b, &data, &stop, split.path(), &dev).unwrap();
        assert!(s.stopped_early);
        assert!(!split.path().join("model.safetensors").exists());
        let mut c = CganTrainer::new(cfg.clone(), 0, &dev).unwrap();
        let resume = FitConfig {
            resume: true,
            ..fc.clone()
        };
        fit(&mut c, &data, &resume, split.path(), &dev).unwrap();
        let straight = std::fs::read(whole.path().join("model.safetensors")).unwrap();
        let resumed = std::fs::read(split.path().join("model.safetensors")).unwrap();
        assert!(
            straight == resumed,
            "{}: model.safetensors differs after resume",
            a.model_name()
        );

        // The saved file rebuilds the generator: same samples for the same latents.
        let (tensors, meta) =
            gm_core::io::load_safetensors(whole.path().join("model.safetensors"), &dev).unwrap();
        let model = &meta["gm.model"];
        assert!(model.starts_with(MODEL_PREFIX), "{model}");
        assert_eq!(model, &format!("cgan/{}", cfg.conditioning.name()));
        let config: serde_json::Value = serde_json::from_str(&meta["gm.config"]).unwrap();
        let g = ConditionalGenerator::from_run(&config, &tensors, &dev).unwrap();
        let latent = g
            .sample_latent_of_class(6, 2, &mut GmRng::new(3), &dev)
            .unwrap();
        assert_eq!(
            values(&g.generate(&latent).unwrap()),
            values(&a.generator().generate(&latent).unwrap())
        );
    }
}

#[test]
fn a_checkpoint_of_one_conditioning_does_not_resume_the_other() {
    let dev = Device::Cpu;
    let data = labelled_data(&dev);
    let fc = FitConfig {
        epochs: 1,
        batch_size: 8,
        progress: false,
        stop_after: Some(1),
        ..FitConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut a = CganTrainer::new(tiny(Conditioning::Projection), 0, &dev).unwrap();
    fit(&mut a, &data, &fc, dir.path(), &dev).unwrap();
    let mut b = CganTrainer::new(tiny(Conditioning::Acgan), 0, &dev).unwrap();
    let resume = FitConfig { resume: true, ..fc };
    let e = fit(&mut b, &data, &resume, dir.path(), &dev).unwrap_err();
    assert!(e.to_string().contains("cgan/projection"), "{e}");
}

#[test]
fn unlabelled_or_out_of_range_data_is_refused() {
    let dev = Device::Cpu;
    let mut t = CganTrainer::new(tiny(Conditioning::Projection), 0, &dev).unwrap();
    let x = data_batch(4, 1, &dev);
    let mut rng = GmRng::new(0);
    let field = |e: Error| match e {
        Error::Config { field, .. } => field,
        other => panic!("expected a config error, got {other}"),
    };
    assert_eq!(
        field(t.train_step(&x, None, &mut rng).unwrap_err()),
        "labels"
    );
    let y = labels(&[0, 1, 4, 2], &dev);
    let e = t.train_step(&x, Some(&y), &mut rng).unwrap_err();
    assert!(e.to_string().contains("label 4"), "{e}");
    assert_eq!(field(e), "n_classes");
    let short = labels(&[0, 1], &dev);
    assert!(matches!(
        t.train_step(&x, Some(&short), &mut rng),
        Err(Error::Shape { .. })
    ));
    assert_eq!(t.steps(), 0);
    // A fresh one-hot code is exactly what the generator's latent carries.
    let code = one_hot(&labels(&[1], &dev), CLASSES).unwrap();
    assert_eq!(values(&code), [0.0, 1.0, 0.0, 0.0]);
}

fn config_error(cfg: CganConfig) -> &'static str {
    match CganTrainer::new(cfg, 0, &Device::Cpu) {
        Err(Error::Config { field, .. }) => field,
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a config error, got a trainer"),
    }
}

#[test]
fn a_bad_config_names_its_field() {
    let base = tiny(Conditioning::Acgan);
    let cases: Vec<(CganConfig, &str)> = vec![
        (
            CganConfig {
                n_classes: 1,
                ..base.clone()
            },
            "n_classes",
        ),
        (
            CganConfig {
                label_embedding: LabelEmbedding::Learned { dim: 0 },
                ..base.clone()
            },
            "label_embedding.dim",
        ),
        (
            CganConfig {
                objective: Objective::Mmd {
                    bandwidths: vec![1.0],
                },
                ..base.clone()
            },
            "objective",
        ),
        (
            CganConfig {
                class_loss_weight: -1.0,
                ..base.clone()
            },
            "class_loss_weight",
        ),
        (
            CganConfig {
                model: GanConfig {
                    latent_dim: 0,
                    ..base.model.clone()
                },
                ..base.clone()
            },
            "latent_dim",
        ),
        (
            CganConfig {
                model: GanConfig {
                    data_shape: vec![1, 0, 4],
                    ..base.model.clone()
                },
                ..base.clone()
            },
            "data_shape",
        ),
    ];
    for (cfg, want) in cases {
        assert_eq!(config_error(cfg), want);
    }
    let e = ConditionalGenerator::from_run(
        &serde_json::json!({"n_classes": 3}),
        &Default::default(),
        &Device::Cpu,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Config {
            field: "gm.config",
            ..
        }
    ));
}
