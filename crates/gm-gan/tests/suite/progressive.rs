//! Checks of progressive growing (Karras et al. 2018): the fade-in is exactly the old
//! network at alpha = 0 and exactly the new path at alpha = 1 (in G and in D), the pixel norm
//! gives unit mean square per pixel, the minibatch std layer adds the mean standard deviation
//! as one channel, the equalised learning rate stores N(0, 1) weights and applies He's
//! constant, critic updates lower the critic loss, `fit` runs stage after stage, and each bad
//! hyperparameter is refused by name.

use candle_core::{DType, Device, Module, Tensor};
use gm_core::data::Dataset;
use gm_core::nn::conv::conv2d_op;
use gm_core::{fit, FitConfig, GmRng, ParamStore, Trainer};
use gm_gan::progressive::{
    equalized_conv2d, equalized_linear, minibatch_stddev, pixel_norm, ProgressiveConfig,
    ProgressiveDiscriminator, ProgressiveGenerator, ProgressiveTrainer,
};
use gm_gan::{Error, Objective};

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

/// Three stages, 4x4 to 16x16, a few feature maps.
fn tiny() -> ProgressiveConfig {
    ProgressiveConfig {
        latent_dim: 8,
        start_size: 4,
        channels: vec![8, 8, 4],
        stage_steps: 4,
        grid_samples: 4,
        ..ProgressiveConfig::default()
    }
}

#[test]
fn generator_fade_in_is_exact_at_both_ends() {
    let dev = Device::Cpu;
    let cfg = tiny();
    let store = ParamStore::new(0);
    let g = ProgressiveGenerator::new(&cfg, store.var_builder(&dev)).unwrap();
    let z = GmRng::new(1).normal((5, 8), 0.0, 1.0, &dev).unwrap();
    for stage in 1..3 {
        let r = cfg.resolution(stage);
        let old = g.forward(&z, stage - 1, 1.0).unwrap();
        let at0 = g.forward(&z, stage, 0.0).unwrap();
        assert_eq!(at0.dims(), &[5, 1, r, r]);
        assert_eq!(max_abs(&at0, &old.upsample_nearest2d(r, r).unwrap()), 0.0);
        let (b_old, b_new) = g.branches(&z, stage).unwrap();
        assert_eq!(max_abs(&g.forward(&z, stage, 1.0).unwrap(), &b_new), 0.0);
        // Halfway, each path weighs in linearly.
        let mid = g.forward(&z, stage, 0.25).unwrap();
        let want = ((b_old * 0.75).unwrap() + (b_new * 0.25).unwrap()).unwrap();
        assert!(max_abs(&mid, &want) < 1e-6);
    }
    assert!(g.branches(&z, 0).is_err());
    assert!(g.forward(&z, 3, 1.0).is_err());
}

#[test]
fn discriminator_fade_in_is_exact_at_both_ends() {
    let dev = Device::Cpu;
    let cfg = tiny();
    let store = ParamStore::new(1);
    let d = ProgressiveDiscriminator::new(&cfg, store.var_builder(&dev)).unwrap();
    let x = GmRng::new(2)
        .normal((6, 1, 16, 16), 0.0, 1.0, &dev)
        .unwrap();
    // At alpha = 0 the new block is invisible: D scores the 2x coarser image as before.
    let at0 = d.forward(&x, 2, 0.0).unwrap();
    assert_eq!(at0.dims(), &[6, 1]);
    let old = d.forward(&x.avg_pool2d(2).unwrap(), 1, 1.0).unwrap();
    assert_eq!(max_abs(&at0, &old), 0.0);
    // Between the ends, the score moves away from the old network's.
    let mid = d.forward(&x, 2, 0.5).unwrap();
    assert!(max_abs(&mid, &old) > 0.0);
    let x8 = x.avg_pool2d(2).unwrap();
    let at0 = d.forward(&x8, 1, 0.0).unwrap();
    let old = d.forward(&x8.avg_pool2d(2).unwrap(), 0, 1.0).unwrap();
    assert_eq!(max_abs(&at0, &old), 0.0);
}

#[test]
fn pixel_norm_gives_unit_mean_square_per_pixel() {
    let dev = Device::Cpu;
    let x = GmRng::new(3).normal((4, 7, 5, 3), 0.5, 3.0, &dev).unwrap();
    let y = pixel_norm(&x).unwrap();
    let ms = y.sqr().unwrap().mean_keepdim(1).unwrap();
    let one = ms.ones_like().unwrap();
    assert!(max_abs(&ms, &one) < 1e-5);
    // Only the length changes: the direction of each feature vector is kept.
    let ratio = (y / &x).unwrap().max_keepdim(1).unwrap();
    let rmin = (pixel_norm(&x).unwrap() / &x)
        .unwrap()
        .min_keepdim(1)
        .unwrap();
    assert!(max_abs(&ratio, &rmin) < 1e-5);
}

#[test]
fn minibatch_std_adds_the_mean_std_as_one_channel() {
    let dev = Device::Cpu;
    let (n, c, h, w) = (6, 3, 2, 2);
    let x = GmRng::new(4).normal((n, c, h, w), 1.0, 2.0, &dev).unwrap();
    let y = minibatch_stddev(&x).unwrap();
    assert_eq!(y.dims(), &[n, c + 1, h, w]);
    assert_eq!(max_abs(&y.narrow(1, 0, c).unwrap(), &x), 0.0);
    // Reference in f64: the population std over the batch, averaged over (c, h, w).
    let v = x.flatten_from(1).unwrap().to_vec2::<f32>().unwrap();
    let d = c * h * w;
    let mut want = 0.0;
    for j in 0..d {
        let mean = v.iter().map(|r| r[j] as f64).sum::<f64>() / n as f64;
        let var = v.iter().map(|r| (r[j] as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        want += (var + 1e-8).sqrt();
    }
    want /= d as f64;
    let extra = y.narrow(1, c, 1).unwrap().flatten_all().unwrap();
    for s in extra.to_vec1::<f32>().unwrap() {
        assert!((s as f64 - want).abs() < 1e-5, "{s} vs {want}");
    }
    // A batch of identical items has (almost) no spread.
    let same = x.narrow(0, 0, 1).unwrap().repeat((4, 1, 1, 1)).unwrap();
    let s = minibatch_stddev(&same).unwrap().narrow(1, c, 1).unwrap();
    assert!(s.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-3);
}

#[test]
fn equalized_learning_rate_scales_unit_normal_weights_by_he_constant() {
    let dev = Device::Cpu;
    let store = ParamStore::new(5);
    let (c_in, c_out, k) = (32, 64, 3);
    let conv = equalized_conv2d(c_in, c_out, k, store.var_builder(&dev).pp("c")).unwrap();
    assert_eq!(conv.scale(), (2.0 / (c_in * k * k) as f64).sqrt());
    // Stored weights ~ N(0, 1): 18,432 draws, so the mean's standard error is 0.0074 and the
    // std's 0.0052; 5 standard errors each.
    let w = conv
        .weight()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
    assert!((std - 1.0).abs() < 5.0 / (2.0 * n).sqrt(), "std {std}");
    // The applied kernel is the stored one times the constant (bias 0 at init), checked
    // against candle's own convolution.
    let x = GmRng::new(6)
        .normal((2, c_in, 6, 6), 0.0, 1.0, &dev)
        .unwrap();
    let want = x
        .conv2d(&(conv.weight() * conv.scale()).unwrap(), 1, 1, 1, 1)
        .unwrap();
    assert!(max_abs(&conv.forward(&x).unwrap(), &want) < 1e-4);
    let ours = conv2d_op(&x, &(conv.weight() * conv.scale()).unwrap(), 1, 1).unwrap();
    assert!(max_abs(&ours, &want) < 1e-4);
    // He's constant keeps unit-variance activations at unit scale: E y^2 = 2 for y = w x.
    let lin = equalized_linear(400, 300, store.var_builder(&dev).pp("l")).unwrap();
    assert_eq!(lin.scale(), (2.0f64 / 400.0).sqrt());
    let xl = GmRng::new(7).normal((200, 400), 0.0, 1.0, &dev).unwrap();
    let ms = lin
        .forward(&xl)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!((ms - 2.0).abs() < 0.2, "mean square {ms}");
}

/// Zero-pads `(n, c, 28, 28)` digits to `(n, c, 32, 32)`, the side the pyramid needs.
fn pad_28_to_32(x: &Tensor) -> Tensor {
    x.pad_with_zeros(2, 2, 2)
        .unwrap()
        .pad_with_zeros(3, 2, 2)
        .unwrap()
}

fn digits(n: usize, side: usize) -> Tensor {
    let data = gm_core::data::mnist_embedded().unwrap().train;
    let x = data.head(n, &Device::Cpu).unwrap().x;
    pad_28_to_32(&x).avg_pool2d(32 / side).unwrap()
}

#[test]
fn real_batches_fade_between_resolutions() {
    let dev = Device::Cpu;
    let x = digits(4, 16);
    let mut t = ProgressiveTrainer::new(tiny(), 0, &dev).unwrap();
    let net = x.affine(2.0, -1.0).unwrap();
    let r0 = t.real_batch(&x, 1.0).unwrap();
    assert_eq!(max_abs(&r0, &net.avg_pool2d(4).unwrap()), 0.0);
    t.grow().unwrap();
    let x8 = net.avg_pool2d(2).unwrap();
    let at0 = t.real_batch(&x, 0.0).unwrap();
    let coarse = x8.avg_pool2d(2).unwrap().upsample_nearest2d(8, 8).unwrap();
    assert_eq!(max_abs(&at0, &coarse), 0.0);
    assert_eq!(max_abs(&t.real_batch(&x, 1.0).unwrap(), &x8), 0.0);
    let bad = Tensor::zeros((2, 1, 28, 28), DType::F32, &dev).unwrap();
    assert!(matches!(t.real_batch(&bad, 1.0), Err(Error::Shape { .. })));
}

#[test]
fn critic_updates_lower_the_critic_loss_during_a_fade_in() {
    let dev = Device::Cpu;
    let x = digits(32, 16);
    let mut t = ProgressiveTrainer::new(tiny(), 0, &dev).unwrap();
    t.grow().unwrap();
    let z = GmRng::new(8).normal((32, 8), 0.0, 1.0, &dev).unwrap();
    let value = |t: &ProgressiveTrainer| {
        let real = t.real_batch(&x, 0.5).unwrap();
        t.critic_loss(&real, &z, 0.5)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    let before = value(&t);
    let mut rng = GmRng::new(9);
    for _ in 0..6 {
        t.critic_step(&x, &mut rng).unwrap();
    }
    let after = value(&t);
    assert!(after < before, "critic loss {before} -> {after}");
    // Critic updates alone do not advance the fade-in.
    assert_eq!(t.stage_steps_done(), 0);
}

#[test]
fn fit_runs_stage_after_stage_with_a_linear_fade() {
    let dev = Device::Cpu;
    let x = digits(16, 16);
    let data = Dataset::new(
        "digits16",
        vec![1, 16, 16],
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        None,
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut t = ProgressiveTrainer::new(tiny(), 0, &dev).unwrap();
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 8,
        progress: false,
        ..FitConfig::default()
    };
    let mut names = Vec::new();
    for stage in 0..3 {
        if stage > 0 {
            t.grow().unwrap();
        }
        names.push(t.model_name());
        let dir = root.path().join(format!("s{stage}"));
        let s = fit(&mut t, &data, &cfg, &dir, &dev).unwrap();
        assert_eq!(s.steps, 4);
        assert!(dir.join("report.html").exists());
        let (train, _) = gm_core::train::read_metrics(&dir.join("metrics.jsonl")).unwrap();
        let alphas: Vec<f64> = train
            .iter()
            .filter_map(|r| r.1.iter().find(|(k, _)| k == "alpha").map(|p| p.1))
            .collect();
        // stage_steps 4: alpha 0, 1/2, then full strength for the second half.
        let want = if stage == 0 {
            vec![1.0; 4]
        } else {
            vec![0.0, 0.5, 1.0, 1.0]
        };
        assert_eq!(alphas, want);
        let r = t.resolution();
        assert_eq!(
            t.samples(3, &mut GmRng::new(0)).unwrap().dims(),
            &[3, 1, r, r]
        );
    }
    assert_eq!(
        names,
        ["progressive/4x4", "progressive/8x8", "progressive/16x16"]
    );
    assert!(matches!(
        t.grow(),
        Err(Error::Config { field: "stage", .. })
    ));
}

#[test]
fn bad_configs_are_refused_by_name() {
    let cases: Vec<(ProgressiveConfig, &str)> = vec![
        (
            ProgressiveConfig {
                latent_dim: 0,
                ..tiny()
            },
            "latent_dim",
        ),
        (
            ProgressiveConfig {
                start_size: 1,
                ..tiny()
            },
            "start_size",
        ),
        (
            ProgressiveConfig {
                channels: vec![],
                ..tiny()
            },
            "channels",
        ),
        (
            ProgressiveConfig {
                channels: vec![8, 0],
                ..tiny()
            },
            "channels",
        ),
        (
            ProgressiveConfig {
                stage_steps: 1,
                ..tiny()
            },
            "stage_steps",
        ),
        (
            ProgressiveConfig {
                objective: Objective::Mmd {
                    bandwidths: vec![1.0],
                },
                ..tiny()
            },
            "objective",
        ),
        (
            ProgressiveConfig {
                adam: gm_core::AdamConfig {
                    beta1: 1.0,
                    ..Default::default()
                },
                ..tiny()
            },
            "beta1",
        ),
    ];
    for (cfg, field) in cases {
        let err = match ProgressiveTrainer::new(cfg.clone(), 0, &Device::Cpu) {
            Err(e) => e,
            Ok(_) => panic!("{field}: accepted {cfg:?}"),
        };
        let got = match &err {
            Error::Config { field, .. } => *field,
            Error::Core(gm_core::Error::Config { field, .. }) => *field,
            e => panic!("{field}: unexpected error {e}"),
        };
        assert_eq!(got, field);
    }
}
