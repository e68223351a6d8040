//! The estimator and the Lasso on small problems with known answers: a fixed random MLP
//! generator (latent 4, 5 x 5 images) stands in for a trained decoder so that each test
//! runs in well under a second.

use candle_core::{Device, Tensor};
use gm_core::nn::{DenseActivation, DenseStack};
use gm_core::{DenseForm, Generator, GmRng};
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::{
    measure, per_image_mse, recover, recover_each, CsgmConfig, Denoising, Error,
    GaussianMeasurement, MeasurementOperator, RandomPixelMask,
};

/// x = sigmoid(W2 tanh(W1 z + b1) + b2), weights fixed by a seed (plain tensors, not
/// variables).
struct Mlp {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
}

impl Mlp {
    fn new(seed: u64) -> Self {
        let dev = Device::Cpu;
        let mut rng = GmRng::new(seed);
        Self {
            w1: rng.normal((4, 32), 0.0, 0.8, &dev).unwrap(),
            b1: rng.normal(32, 0.0, 0.3, &dev).unwrap(),
            w2: rng.normal((32, 25), 0.0, 0.6, &dev).unwrap(),
            b2: rng.normal(25, 0.0, 0.3, &dev).unwrap(),
        }
    }
}

impl Generator for Mlp {
    fn latent_dim(&self) -> usize {
        4
    }
    fn output_shape(&self) -> Vec<usize> {
        vec![1, 5, 5]
    }
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let h = z.matmul(&self.w1)?.broadcast_add(&self.b1)?.tanh()?;
        let y = h.matmul(&self.w2)?.broadcast_add(&self.b2)?;
        let n = z.dim(0)?;
        Ok(candle_nn::ops::sigmoid(&y)?.reshape((n, 1, 5, 5))?)
    }

    /// The same map as a dense stack (weights transposed to `(out, in)`), so that `recover`
    /// takes its written-out passes unless told not to.
    fn dense_form(&self) -> gm_core::Result<Option<DenseForm>> {
        let stack = DenseStack::new(
            &[4, 32, 25],
            DenseActivation::Tanh,
            DenseActivation::Sigmoid,
        )?;
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let t = |w: &Tensor| flat(&w.t().unwrap().contiguous().unwrap());
        let params = vec![t(&self.w1), flat(&self.b1), t(&self.w2), flat(&self.b2)];
        Ok(Some(DenseForm { stack, params }))
    }
}

#[test]
fn written_out_and_autograd_recoveries_agree() {
    let gen = Mlp::new(21);
    let (_, x) = truth(&gen, 4, 22);
    let op = GaussianMeasurement::new(12, 25, &mut GmRng::new(23), &Device::Cpu).unwrap();
    let b = measure(&op, &x, 0.05, &mut GmRng::new(24)).unwrap();
    for cfg in [CsgmConfig::vae(), CsgmConfig::vae_reg()] {
        let cfg = cfg.with_lr(0.03).with_steps(100).with_restarts(3);
        let fast = recover(&gen, &op, &b, &cfg, 25).unwrap();
        let slow = recover(&gen, &op, &b, &cfg.with_written_out(false), 25).unwrap();
        assert_eq!(fast.best_restart, slow.best_restart);
        let d = (&fast.z - &slow.z)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            d < 1e-4,
            "lambda {}: largest latent difference {d}",
            cfg.lambda
        );
        for (f, s) in fast.measurement_loss.iter().zip(&slow.measurement_loss) {
            assert!((f - s).abs() <= 1e-5 * s.max(1.0), "{f} vs {s}");
        }
    }
}

fn truth(gen: &Mlp, n: usize, seed: u64) -> (Tensor, Tensor) {
    let z = GmRng::new(seed)
        .normal((n, 4), 0.0, 0.8, &Device::Cpu)
        .unwrap();
    let x = gen.generate(&z).unwrap().reshape((n, 25)).unwrap();
    (z, x)
}

#[test]
fn identity_without_noise_recovers_a_point_in_the_range() {
    let gen = Mlp::new(1);
    let (_, x) = truth(&gen, 4, 2);
    let op = Denoising::new(25, &Device::Cpu).unwrap();
    let b = measure(&op, &x, 0.0, &mut GmRng::new(3)).unwrap();
    let cfg = CsgmConfig::vae()
        .with_lr(0.02)
        .with_steps(1500)
        .with_restarts(5);
    let r = recover(&gen, &op, &b, &cfg, 4).unwrap();
    let mse = per_image_mse(&r.x, &x).unwrap();
    // The pixel spread of G's outputs is ~0.1, so an MSE of 1e-6 is an error of 0.1%.
    for (i, e) in mse.iter().enumerate() {
        assert!(*e < 1e-6, "image {i}: mse {e:e} (all {mse:?})");
    }
    // A single restart and few steps do not get there: the test can tell.
    let short = recover(&gen, &op, &b, &cfg.with_steps(5).with_restarts(1), 4).unwrap();
    let worst = per_image_mse(&short.x, &x)
        .unwrap()
        .into_iter()
        .fold(0.0, f64::max);
    assert!(worst > 1e-4, "{worst}");
}

#[test]
fn batched_and_per_image_recovery_agree() {
    let gen = Mlp::new(5);
    let (_, x) = truth(&gen, 5, 6);
    let op = GaussianMeasurement::new(10, 25, &mut GmRng::new(7), &Device::Cpu).unwrap();
    let b = measure(&op, &x, 0.1, &mut GmRng::new(8)).unwrap();
    let cfg = CsgmConfig::vae_reg()
        .with_lr(0.03)
        .with_steps(150)
        .with_restarts(3);
    let batched = recover(&gen, &op, &b, &cfg, 9).unwrap();
    let single = recover_each(&gen, &op, &b, &cfg, 9).unwrap();
    assert_eq!(batched.best_restart, single.best_restart);
    let d = (batched.x - single.x)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(d < 1e-4, "largest difference {d}");
    // Another seed starts elsewhere and ends elsewhere.
    let other = recover(&gen, &op, &b, &cfg.with_steps(3), 10).unwrap();
    let first = recover(&gen, &op, &b, &cfg.with_steps(3), 9).unwrap();
    assert_ne!(
        other.z.to_vec2::<f32>().unwrap(),
        first.z.to_vec2::<f32>().unwrap()
    );
}

#[test]
fn the_kept_restart_has_the_lowest_measurement_loss() {
    let gen = Mlp::new(11);
    let (_, x) = truth(&gen, 3, 12);
    let op = GaussianMeasurement::new(6, 25, &mut GmRng::new(13), &Device::Cpu).unwrap();
    let b = measure(&op, &x, 0.05, &mut GmRng::new(14)).unwrap();
    let cfg = CsgmConfig::vae().with_lr(0.05).with_steps(40);
    let r5 = recover(&gen, &op, &b, &cfg.with_restarts(5), 15).unwrap();
    // The reported loss is that of the returned estimate.
    let resid = (op.apply(&r5.x).unwrap() - &b).unwrap();
    let loss: Vec<f32> = resid.sqr().unwrap().mean(1).unwrap().to_vec1().unwrap();
    for (a, c) in loss.iter().zip(&r5.measurement_loss) {
        assert!(
            (a - c).abs() < 1e-5 * (1.0 + c),
            "{loss:?} vs {:?}",
            r5.measurement_loss
        );
    }
    // Restart 0 of the 5 is the single run with the same seed: keeping the best of five
    // is never worse (up to float rounding: a batch of 15 rows and one of 3 may sum in
    // another order).
    let r1 = recover(&gen, &op, &b, &cfg.with_restarts(1), 15).unwrap();
    for (best, first) in r5.measurement_loss.iter().zip(&r1.measurement_loss) {
        assert!(*best <= first * (1.0 + 1e-5), "{best} > {first}");
    }
}

#[test]
fn mismatched_shapes_are_named_errors() {
    let gen = Mlp::new(1);
    let dev = Device::Cpu;
    let op = GaussianMeasurement::new(6, 25, &mut GmRng::new(1), &dev).unwrap();
    let wrong_b = Tensor::zeros((2, 7), candle_core::DType::F32, &dev).unwrap();
    let e = recover(&gen, &op, &wrong_b, &CsgmConfig::vae(), 0).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                what: "measurements",
                ..
            }
        ),
        "{e}"
    );
    let op784 = GaussianMeasurement::new(6, 784, &mut GmRng::new(1), &dev).unwrap();
    let b = Tensor::zeros((2, 6), candle_core::DType::F32, &dev).unwrap();
    let e = recover(&gen, &op784, &b, &CsgmConfig::vae(), 0).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let e = recover(&gen, &op, &b, &CsgmConfig::vae().with_restarts(0), 0).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Config {
                field: "restarts",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn lasso_recovers_sparse_images_in_pixel_and_dct_bases() {
    let dev = Device::Cpu;
    let (h, w) = (8, 8);
    let n = h * w;
    // Image 1: 4 bright pixels (pixel-sparse). Image 2: a smooth ramp (DCT-sparse).
    let mut x = vec![0f32; 2 * n];
    for p in [9, 20, 35, 50] {
        x[p] = 0.8;
    }
    for r in 0..h {
        for c in 0..w {
            x[n + r * w + c] = 0.5 + 0.05 * (c as f32 - 3.5);
        }
    }
    let x = Tensor::from_vec(x, (2, n), &dev).unwrap();
    let op = GaussianMeasurement::new(40, n, &mut GmRng::new(21), &dev).unwrap();
    let b = measure(&op, &x, 0.0, &mut GmRng::new(22)).unwrap();
    let cfg = LassoConfig::default().with_alpha(0.01);
    let pix = lasso_batch(&op, &b, Basis::Pixel, &cfg).unwrap();
    let dct = lasso_batch(
        &op,
        &b,
        Basis::Dct {
            height: h,
            width: w,
        },
        &cfg,
    )
    .unwrap();
    assert_eq!(pix.not_converged() + dct.not_converged(), 0);
    let e_pix = per_image_mse(&pix.x, &x).unwrap();
    let e_dct = per_image_mse(&dct.x, &x).unwrap();
    // Each basis recovers the image that is sparse in it, and beats the other basis there.
    assert!(
        e_pix[0] < 1e-3 && e_pix[0] < e_dct[0],
        "{e_pix:?} {e_dct:?}"
    );
    assert!(
        e_dct[1] < 1e-3 && e_dct[1] < e_pix[1],
        "{e_pix:?} {e_dct:?}"
    );
    // Estimates are clipped to [0, 1].
    let v: Vec<f32> = pix.x.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|t| (0.0..=1.0).contains(t)));
    let e = lasso_batch(
        &op,
        &b,
        Basis::Dct {
            height: 4,
            width: 4,
        },
        &cfg,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
}

#[test]
fn inpainting_with_the_prior_fills_the_hidden_pixels() {
    let gen = Mlp::new(31);
    let (_, x) = truth(&gen, 3, 32);
    let op = RandomPixelMask::new(5, 5, 12, &mut GmRng::new(33), &Device::Cpu).unwrap();
    let b = measure(&op, &x, 0.0, &mut GmRng::new(34)).unwrap();
    let cfg = CsgmConfig::vae()
        .with_lr(0.02)
        .with_steps(1500)
        .with_restarts(5);
    let r = recover(&gen, &op, &b, &cfg, 35).unwrap();
    let e = per_image_mse(&r.x, &x).unwrap();
    // 12 of 25 pixels determine the 4 latents: the other 13 come out right too.
    assert!(e.iter().all(|v| *v < 1e-4), "{e:?}");
}
