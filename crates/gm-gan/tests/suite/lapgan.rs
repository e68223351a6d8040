//! Checks of LAPGAN (Denton et al. 2015): the Laplacian pyramid rebuilds its image exactly
//! and has the right shapes, sampling runs coarse to fine with the right shapes, a few
//! updates on one fixed batch lower every level's critic loss on that batch, `fit` runs the
//! trainer, and each bad hyperparameter is refused by name.

use candle_core::{Device, Tensor};
use gm_core::data::Dataset;
use gm_core::{fit, FitConfig, GmRng};
use gm_gan::lapgan::{downsample, upsample, LapganConfig, LapganTrainer, LaplacianPyramid};
use gm_gan::{Error, Objective};

/// Zero-pads `(n, c, 28, 28)` digits to `(n, c, 32, 32)`, the side the pyramid needs.
fn pad_28_to_32(x: &Tensor) -> Tensor {
    x.pad_with_zeros(2, 2, 2)
        .unwrap()
        .pad_with_zeros(3, 2, 2)
        .unwrap()
}

fn digits(n: usize) -> Tensor {
    let data = gm_core::data::mnist_embedded().unwrap().train;
    pad_28_to_32(&data.head(n, &Device::Cpu).unwrap().x)
}

fn max_abs(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A small LAPGAN for tests: 16x16 images in three levels (16, 8, 4).
fn tiny() -> LapganConfig {
    LapganConfig {
        image_size: 16,
        levels: 3,
        latent_dim: 8,
        coarse_hidden: vec![32],
        channels: vec![4, 8],
        adam: gm_core::AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..Default::default()
        },
        grid_samples: 4,
        coarse_updates: 1,
        ..LapganConfig::default()
    }
}

#[test]
fn pyramid_reconstructs_exactly_with_the_right_shapes() {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(3);
    for x in [
        digits(16),
        rng.uniform((4, 3, 32, 32), -5.0, 5.0, &dev).unwrap(),
    ] {
        let (n, c, _, _) = x.dims4().unwrap();
        let p = LaplacianPyramid::build(&x, 3).unwrap();
        assert_eq!(p.levels(), 3);
        assert_eq!(p.bands()[0].dims(), &[n, c, 32, 32]);
        assert_eq!(p.bands()[1].dims(), &[n, c, 16, 16]);
        assert_eq!(p.coarse().dims(), &[n, c, 8, 8]);
        let err = max_abs(&p.reconstruct().unwrap(), &x);
        assert!(err < 1e-6, "reconstruction error {err}");
        // The coarse image is the mean of each 4x4 block of the input.
        let want = x.avg_pool2d(4).unwrap();
        assert!(max_abs(p.coarse(), &want) < 1e-5);
        // A band holds only detail: its 2x2 block means vanish.
        let d = downsample(&p.bands()[0]).unwrap();
        assert!(max_abs(&d, &d.zeros_like().unwrap()) < 1e-5);
    }
    // A single level is the image itself.
    let x = digits(2);
    let p = LaplacianPyramid::build(&x, 1).unwrap();
    assert!(p.bands().is_empty());
    assert_eq!(max_abs(&p.reconstruct().unwrap(), &x), 0.0);
    assert_eq!(upsample(&x).unwrap().dims(), &[2, 1, 64, 64]);
}

#[test]
fn pyramid_refuses_bad_levels_and_sides() {
    let x = Tensor::zeros((1, 1, 12, 12), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        LaplacianPyramid::build(&x, 0),
        Err(Error::Config {
            field: "levels",
            ..
        })
    ));
    // 12 is divisible by 4 but not by 8.
    assert!(LaplacianPyramid::build(&x, 3).is_ok());
    assert!(matches!(
        LaplacianPyramid::build(&x, 4),
        Err(Error::Shape { .. })
    ));
    assert!(LaplacianPyramid::build(&x, 99).is_err());
}

#[test]
fn sampling_runs_coarse_to_fine() {
    let t = LapganTrainer::new(tiny(), 0, &Device::Cpu).unwrap();
    let mut rng = GmRng::new(1);
    let chain = t.sample_chain(5, &mut rng).unwrap();
    let sides: Vec<usize> = chain.images.iter().map(|i| i.dim(3).unwrap()).collect();
    assert_eq!(sides, vec![4, 8, 16]);
    assert_eq!(chain.residuals.len(), 2);
    for (k, h) in chain.residuals.iter().enumerate() {
        // Each image is the upsampled coarser one plus its residual.
        let want = (upsample(&chain.images[k]).unwrap() + h).unwrap();
        assert_eq!(max_abs(&want, &chain.images[k + 1]), 0.0);
    }
    assert_eq!(chain.finest().dims(), &[5, 1, 16, 16]);
    assert_eq!(chain.columns(), 5);
    assert_eq!(chain.picture().unwrap().dims(), &[25, 1, 16, 16]);
    // The same seed gives the same samples.
    let a = t.samples(3, &mut GmRng::new(9)).unwrap();
    let b = t.samples(3, &mut GmRng::new(9)).unwrap();
    assert_eq!(max_abs(&a, &b), 0.0);
}

#[test]
fn critic_updates_lower_every_critic_loss_on_a_fixed_batch() {
    let dev = Device::Cpu;
    let x = digits(32).avg_pool2d(2).unwrap();
    let mut t = LapganTrainer::new(tiny(), 0, &dev).unwrap();
    let before = t.critic_loss_values(&x, &mut GmRng::new(5)).unwrap();
    assert_eq!(before.len(), 3);
    let mut rng = GmRng::new(6);
    for _ in 0..8 {
        assert_eq!(t.critic_step(&x, &mut rng).unwrap().len(), 3);
    }
    let after = t.critic_loss_values(&x, &mut GmRng::new(5)).unwrap();
    for (k, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(a < b, "level {k}: critic loss {b} -> {a}");
    }
}

#[test]
fn fit_runs_and_writes_the_run_folder() {
    let dev = Device::Cpu;
    let x = digits(16).avg_pool2d(2).unwrap();
    let data = Dataset::new(
        "digits16",
        vec![1, 16, 16],
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = LapganTrainer::new(tiny(), 0, &dev).unwrap();
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 8,
        progress: false,
        ..FitConfig::default()
    };
    let names: Vec<String> = t
        .train_step(&x, &mut GmRng::new(1))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        [
            "d_loss_4",
            "g_loss_4",
            "d_loss_8",
            "g_loss_8",
            "d_loss_16",
            "g_loss_16"
        ]
    );
    let mut t = LapganTrainer::new(tiny(), 0, &dev).unwrap();
    let s = fit(&mut t, &data, &cfg, dir.path(), &dev).unwrap();
    assert_eq!(s.steps, 4);
    assert_eq!(t.coarse().steps(), 4);
    for f in ["model.safetensors", "report.html", "grids/epoch_002.png"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    // Wrong-sized items are refused, not broadcast.
    let bad = Tensor::zeros((2, 1, 32, 32), candle_core::DType::F32, &dev).unwrap();
    assert!(matches!(
        t.train_step(&bad, &mut GmRng::new(0)),
        Err(Error::Shape { .. })
    ));
}

/// A side whose halves are odd (12 -> 6 -> 3) builds and trains (each critic's read-out sized
/// by its convolutions' floor), and the coarse GAN takes `coarse_updates` updates per batch.
#[test]
fn odd_halves_train_with_several_coarse_updates_per_batch() {
    let dev = Device::Cpu;
    let cfg = LapganConfig {
        image_size: 12,
        coarse_updates: 3,
        ..tiny()
    };
    let mut t = LapganTrainer::new(cfg, 0, &dev).unwrap();
    let x = GmRng::new(0).uniform_vec(4 * 144, 0.0, 1.0);
    let x = Tensor::from_vec(x, (4, 1, 12, 12), &dev).unwrap();
    let mut rng = GmRng::new(1);
    for _ in 0..2 {
        let m = t.train_step(&x, &mut rng).unwrap();
        // One loss per network, the coarse pair's from its last update.
        assert_eq!(m.len(), 6);
    }
    assert_eq!(t.coarse().steps(), 6);
    assert_eq!(t.samples(2, &mut rng).unwrap().dims(), &[2, 1, 12, 12]);
}

#[test]
fn bad_configs_are_refused_by_name() {
    let cases: Vec<(LapganConfig, &str)> = vec![
        (
            LapganConfig {
                levels: 1,
                ..tiny()
            },
            "levels",
        ),
        (
            LapganConfig {
                image_size: 18,
                ..tiny()
            },
            "image_size",
        ),
        (
            LapganConfig {
                levels: 5,
                channels: vec![4; 4],
                ..tiny()
            },
            "image_size",
        ),
        (
            LapganConfig {
                channels: vec![4, 0],
                ..tiny()
            },
            "channels",
        ),
        (
            LapganConfig {
                channels: vec![4],
                ..tiny()
            },
            "channels",
        ),
        (
            LapganConfig {
                tricks: gm_gan::Tricks {
                    spectral_norm: true,
                    ..Default::default()
                },
                ..tiny()
            },
            "tricks.spectral_norm",
        ),
        (
            LapganConfig {
                objective: Objective::Mmd {
                    bandwidths: vec![1.0],
                },
                ..tiny()
            },
            "objective",
        ),
        (
            LapganConfig {
                latent_dim: 0,
                ..tiny()
            },
            "latent_dim",
        ),
        (
            LapganConfig {
                coarse_hidden: vec![0],
                ..tiny()
            },
            "generator.hidden",
        ),
        (
            LapganConfig {
                coarse_updates: 0,
                ..tiny()
            },
            "coarse_updates",
        ),
    ];
    for (cfg, field) in cases {
        match LapganTrainer::new(cfg.clone(), 0, &Device::Cpu) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field, "{cfg:?}"),
            Err(e) => panic!("{field}: unexpected error {e}"),
            Ok(_) => panic!("{field}: accepted {cfg:?}"),
        }
    }
    let bad_lr = LapganConfig {
        adam: gm_core::AdamConfig {
            lr: 0.0,
            ..Default::default()
        },
        ..tiny()
    };
    assert!(LapganTrainer::new(bad_lr, 0, &Device::Cpu).is_err());
}

/// A model's error crosses gm-core's `fit` as a value the caller can match, not a string.
#[test]
fn a_model_error_reaches_the_caller_of_fit_as_a_value() {
    let dev = Device::Cpu;
    let mut trainer = LapganTrainer::new(tiny(), 0, &dev).unwrap();
    // 8x8 items for a 16x16 pyramid.
    let x = GmRng::new(0).uniform_vec(16 * 64, 0.0, 1.0);
    let data = Dataset::new("small", vec![1, 8, 8], x, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 8,
        progress: false,
        ..FitConfig::default()
    };
    let err = fit(&mut trainer, &data, &cfg, &dir.path().join("run"), &dev).unwrap_err();
    let gm_core::Error::Model(e) = &err else {
        panic!("expected a model error, got {err:?}");
    };
    match e.downcast_ref::<Error>() {
        Some(Error::Shape { got, expected, .. }) => {
            assert_eq!(
                (got.as_slice(), expected.as_slice()),
                (&[1, 8, 8][..], &[1, 16, 16][..])
            );
        }
        other => panic!("expected gm_gan::Error::Shape, got {other:?}"),
    }
}
