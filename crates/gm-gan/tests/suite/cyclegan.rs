//! Checks of CycleGAN (Zhu et al. 2017): the cycle loss on exact round trips, the replay
//! buffer's semantics, the linear learning-rate decay, the target map `T` on a hand-made
//! image, unpaired domains, network shapes, a few-step smoke test, a bit-exact resume (the
//! buffer is part of the state) and one error per bad hyperparameter. The zoo run itself is
//! `cargo xtask reproduce zoo --models cyclegan`.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use gm_core::data::Dataset;
use gm_core::{fit, AdamConfig, FitConfig, GmRng, ParamStore, Trainer};
use gm_gan::cyclegan::{
    cycle_loss, linear_decay_lr, thicken_and_invert, transformed_halves, unpaired_domains,
    AdversarialLoss, CycleGanConfig, CycleGanTrainer, ImagePool, PatchDiscriminator,
    ResnetGenerator,
};
use gm_gan::Error;

/// 8x8 images, 4 channels, one residual block, a full-rate schedule over 100 steps.
fn tiny() -> CycleGanConfig {
    CycleGanConfig {
        image_size: 8,
        channels: 4,
        residual_blocks: 1,
        pool_size: 6,
        adam: AdamConfig {
            lr: 2e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        },
        total_steps: 100,
        ..CycleGanConfig::default()
    }
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn constant_image(v: f32, dev: &Device) -> Tensor {
    Tensor::full(v, (1, 1, 2, 2), dev).unwrap()
}

#[test]
fn cycle_loss_vanishes_on_exact_round_trips_and_is_l1_otherwise() {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(0);
    let x = rng.uniform((3, 1, 8, 8), -1.0, 1.0, &dev).unwrap();
    let y = rng.uniform((3, 1, 8, 8), -1.0, 1.0, &dev).unwrap();
    // G(x) = -x and F(y) = -y are inverse maps: F(G(x)) = x, G(F(y)) = y.
    let (gx, fy) = (x.neg().unwrap(), y.neg().unwrap());
    let l = cycle_loss(&x, &gx.neg().unwrap(), &y, &fy.neg().unwrap()).unwrap();
    assert_eq!(scalar(&l), 0.0);
    // A round trip off by 0.25 everywhere in X and by -0.5 in Y costs 0.25 + 0.5.
    let l = cycle_loss(
        &x,
        &x.affine(1.0, 0.25).unwrap(),
        &y,
        &y.affine(1.0, -0.5).unwrap(),
    )
    .unwrap();
    assert!((scalar(&l) - 0.75).abs() < 1e-6);
}

#[test]
fn replay_buffer_fills_then_swaps_with_probability_one_half() {
    let dev = Device::Cpu;
    let mut pool = ImagePool::new(50);
    let mut rng = GmRng::new(7);
    // Until full, every image is stored and returned as is.
    for i in 0..50 {
        let out = pool
            .query(&constant_image(i as f32, &dev), &mut rng)
            .unwrap();
        assert_eq!(scalar(&out.mean_all().unwrap()), i as f64);
        assert_eq!(pool.len(), i + 1);
    }
    // Afterwards, each new image is either returned (and not stored) or stored in place of a
    // stored one, which is returned: no image is lost or duplicated.
    let n = 2_000;
    let mut returned = Vec::new();
    let mut swapped = 0;
    for i in 50..50 + n {
        let batch = constant_image(i as f32, &dev);
        let out = scalar(&pool.query(&batch, &mut rng).unwrap().mean_all().unwrap()) as usize;
        if out != i {
            swapped += 1;
        }
        returned.push(out);
        assert_eq!(pool.len(), 50);
    }
    let mut all: Vec<usize> = returned;
    all.extend(
        pool.images()
            .iter()
            .map(|t| scalar(&t.mean_all().unwrap()) as usize),
    );
    all.sort_unstable();
    assert_eq!(all, (0..50 + n).collect::<Vec<_>>());
    // Swaps ~ Binomial(2000, 1/2): sd = sqrt(2000) / 2 ~ 22.4; allow 5 sd.
    let dev_from_half = (swapped as f64 - n as f64 / 2.0).abs();
    assert!(
        dev_from_half < 5.0 * (n as f64).sqrt() / 2.0,
        "{swapped} swaps of {n}"
    );

    // A batch query keeps the batch shape; capacity 0 passes batches through untouched.
    let batch = Tensor::arange(0f32, 12.0, &dev)
        .unwrap()
        .reshape((3, 1, 2, 2))
        .unwrap();
    assert_eq!(pool.query(&batch, &mut rng).unwrap().dims(), &[3, 1, 2, 2]);
    let mut off = ImagePool::new(0);
    let out = off.query(&batch, &mut rng).unwrap();
    assert_eq!(
        out.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        batch.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    assert!(off.is_empty());
}

#[test]
fn learning_rate_is_constant_then_falls_linearly_to_zero() {
    let lr: Vec<f64> = (0..12).map(|t| linear_decay_lr(1.0, t, 10, 0.5)).collect();
    let want = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0];
    for (t, (a, b)) in lr.iter().zip(want).enumerate() {
        assert!((a - b).abs() < 1e-12, "step {t}: {a} vs {b}");
    }
    // decay_start 0 decays from the first step; 1 never decays within the run.
    assert!((linear_decay_lr(2e-4, 1, 4, 0.0) - 1.5e-4).abs() < 1e-15);
    assert_eq!(linear_decay_lr(2e-4, 3, 4, 1.0), 2e-4);
}

#[test]
fn t_dilates_the_strokes_then_inverts() {
    let dev = Device::Cpu;
    // A 6x6 image with one lit pixel at (1, 1) and a half-lit one at (4, 4).
    let mut v = vec![0f32; 36];
    v[6 + 1] = 1.0;
    v[4 * 6 + 4] = 0.5;
    let x = Tensor::from_vec(v, (1, 1, 6, 6), &dev).unwrap();
    let t = thicken_and_invert(&x).unwrap();
    assert_eq!(t.dims(), &[1, 1, 6, 6]);
    let t = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for r in 0..6usize {
        for c in 0..6usize {
            let near = |a: usize, b: usize| r.abs_diff(a) <= 1 && c.abs_diff(b) <= 1;
            let want = if near(1, 1) {
                0.0
            } else if near(4, 4) {
                0.5
            } else {
                1.0
            };
            assert_eq!(t[r * 6 + c], want, "pixel ({r}, {c})");
        }
    }
}

#[test]
fn unpaired_domains_stack_x_with_a_permutation_of_y() {
    let dev = Device::Cpu;
    let n = 6;
    // Item i of the training set is the constant image i / 10.
    let v: Vec<f32> = (0..n).flat_map(|i| vec![i as f32 / 10.0; 4]).collect();
    let train = Dataset::new("t", vec![1, 2, 2], v, None).unwrap();
    let d = transformed_halves(&train, 3).unwrap();
    assert_eq!((d.len(), d.item_shape.clone()), (3, vec![2, 2, 2]));
    let b = d.head(3, &dev).unwrap().x;
    let xs: Vec<f32> = (0..3)
        .map(|i| {
            b.get(i)
                .unwrap()
                .get(0)
                .unwrap()
                .mean_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        })
        .collect();
    let mut ys: Vec<f32> = (0..3)
        .map(|i| {
            b.get(i)
                .unwrap()
                .get(1)
                .unwrap()
                .mean_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        })
        .collect();
    // X is the first half in order; Y is T (here 1 - x: constant images do not thicken) of
    // the second half, shuffled.
    assert_eq!(xs, [0.0, 0.1, 0.2]);
    ys.sort_by(f32::total_cmp);
    for (y, want) in ys.iter().zip([0.5f32, 0.6, 0.7]) {
        assert!((y - want).abs() < 1e-6, "{ys:?}");
    }
    let other = Dataset::new("o", vec![1, 1, 4], vec![0.0; 8], None).unwrap();
    assert!(unpaired_domains(&train, &other, 0).is_err());
}

#[test]
fn networks_keep_the_image_size_and_score_patches() {
    let dev = Device::Cpu;
    let cfg = CycleGanConfig::default();
    let store = ParamStore::new(0);
    let vb: VarBuilder = store.var_builder(&dev);
    let g = ResnetGenerator::new(&cfg, vb.pp("g")).unwrap();
    let d = PatchDiscriminator::new(&cfg, vb.pp("d")).unwrap();
    let x = GmRng::new(1)
        .uniform((2, 1, 28, 28), -1.0, 1.0, &dev)
        .unwrap();
    let y = g.forward(&x).unwrap();
    assert_eq!(y.dims(), &[2, 1, 28, 28]);
    let v = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|p| (-1.0..=1.0).contains(p)));
    assert_eq!(d.forward(&y).unwrap().dims(), &[2, 1, 7, 7]);
}

#[test]
fn adversarial_losses_have_their_closed_forms() {
    let dev = Device::Cpu;
    let real = Tensor::new(&[1f32, 0.0], &dev).unwrap();
    let fake = Tensor::new(&[0f32, 2.0], &dev).unwrap();
    // LSGAN: 0.5 (mean (r - 1)^2 + mean f^2) = 0.5 (0.5 + 2) ; G: mean (f - 1)^2 = 1.
    let ls = AdversarialLoss::LeastSquares;
    assert!((scalar(&ls.discriminator_loss(&real, &fake).unwrap()) - 1.25).abs() < 1e-6);
    assert!((scalar(&ls.generator_loss(&fake).unwrap()) - 1.0).abs() < 1e-6);
    // Logistic at zero logits: log 2 per term.
    let z = Tensor::zeros(3, DType::F32, &dev).unwrap();
    let ns = AdversarialLoss::NonSaturating;
    let ln2 = std::f64::consts::LN_2;
    assert!((scalar(&ns.discriminator_loss(&z, &z).unwrap()) - ln2).abs() < 1e-6);
    assert!((scalar(&ns.generator_loss(&z).unwrap()) - ln2).abs() < 1e-6);
}

fn tiny_domains(n: usize, seed: u64) -> Dataset {
    // Blobs as X digits; Y = T(other blobs).
    let dev = Device::Cpu;
    let x = GmRng::new(seed)
        .uniform((2 * n, 1, 8, 8), 0.0, 1.0, &dev)
        .unwrap()
        .affine(1.0, -0.6)
        .unwrap()
        .relu()
        .unwrap()
        .affine(2.5, 0.0)
        .unwrap();
    let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let train = Dataset::new("blobs", vec![1, 8, 8], v, None).unwrap();
    transformed_halves(&train, seed).unwrap()
}

#[test]
fn a_few_steps_lower_the_cycle_loss() {
    let dev = Device::Cpu;
    let data = tiny_domains(16, 1);
    let batch = data.head(16, &dev).unwrap().x;
    let mut t = CycleGanTrainer::new(tiny(), 0, &dev).unwrap();
    let mut rng = GmRng::new(2);
    let first = t.train_step(&batch, &mut rng).unwrap();
    let get = |m: &gm_core::Metrics, k: &str| m.iter().find(|(n, _)| n == k).unwrap().1;
    let mut last = first.clone();
    for _ in 0..25 {
        last = t.train_step(&batch, &mut rng).unwrap();
    }
    assert!(last.iter().all(|(_, v)| v.is_finite()));
    let (c0, c1) = (get(&first, "cycle_l1"), get(&last, "cycle_l1"));
    assert!(c1 < 0.7 * c0, "cycle L1 {c0} -> {c1}");
    assert_eq!(get(&last, "lr"), 2e-3);
    assert_eq!(t.steps(), 26);
    let (x, y) = t.split_batch(&batch).unwrap();
    assert!(t.generator_loss_value(&x, &y).unwrap().is_finite());
    assert!(t.split_batch(&x).is_err());
}

#[test]
fn fit_resumes_bit_for_bit_with_the_replay_buffer() {
    let dev = Device::Cpu;
    let data = tiny_domains(16, 4);
    let cfg = FitConfig {
        epochs: 3,
        batch_size: 4,
        seed: 5,
        progress: false,
        grid_every: 0,
        ..FitConfig::default()
    };
    let tc = CycleGanConfig {
        total_steps: 12,
        ..tiny()
    };
    let whole = tempfile::tempdir().unwrap();
    let mut a = CycleGanTrainer::new(tc.clone(), 0, &dev).unwrap();
    fit(&mut a, &data, &cfg, whole.path(), &dev).unwrap();
    assert_eq!(a.steps(), 12);
    let split = tempfile::tempdir().unwrap();
    let mut b = CycleGanTrainer::new(tc.clone(), 0, &dev).unwrap();
    let stop = FitConfig {
        stop_after: Some(5),
        ..cfg.clone()
    };
    fit(&mut b, &data, &stop, split.path(), &dev).unwrap();
    let mut c = CycleGanTrainer::new(tc, 0, &dev).unwrap();
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

fn config_error(cfg: CycleGanConfig) -> &'static str {
    match CycleGanTrainer::new(cfg, 0, &Device::Cpu) {
        Err(Error::Config { field, .. }) => field,
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a config error, got a trainer"),
    }
}

#[test]
fn image_size_must_be_even_and_at_least_eight() {
    for s in [0, 6, 9] {
        let c = CycleGanConfig {
            image_size: s,
            ..tiny()
        };
        assert_eq!(config_error(c), "image_size");
    }
}

#[test]
fn channels_cannot_be_zero() {
    let c = CycleGanConfig {
        channels: 0,
        ..tiny()
    };
    assert_eq!(config_error(c), "channels");
}

#[test]
fn loss_weights_must_be_non_negative_and_finite() {
    for w in [-1.0, f64::NAN] {
        let c = CycleGanConfig {
            cycle_weight: w,
            ..tiny()
        };
        assert_eq!(config_error(c), "cycle_weight");
        let c = CycleGanConfig {
            identity_weight: w,
            ..tiny()
        };
        assert_eq!(config_error(c), "identity_weight");
    }
}

#[test]
fn schedule_must_be_valid() {
    let c = CycleGanConfig {
        total_steps: 0,
        ..tiny()
    };
    assert_eq!(config_error(c), "total_steps");
    for s in [-0.1, 1.5, f64::NAN] {
        let c = CycleGanConfig {
            decay_start: s,
            ..tiny()
        };
        assert_eq!(config_error(c), "decay_start");
    }
}

#[test]
fn identity_loss_is_reported_when_on() {
    let dev = Device::Cpu;
    let data = tiny_domains(4, 6);
    let batch = data.head(4, &dev).unwrap().x;
    let c = CycleGanConfig {
        identity_weight: 5.0,
        ..tiny()
    };
    let mut t = CycleGanTrainer::new(c, 0, &dev).unwrap();
    let m = t.train_step(&batch, &mut GmRng::new(0)).unwrap();
    let id = m.iter().find(|(k, _)| k == "identity_l1").unwrap().1;
    assert!(id > 0.0 && id.is_finite());
}
