//! A normalizing flow as the prior of Bora et al.'s estimator: its latent is exact
//! (`z = f(x)`), so a signal the flow can produce is reached with zero measurement error, and
//! with as many Gaussian measurements as pixels the estimator recovers it.

use candle_core::{Device, Tensor};
use gm::core::data::Dataset;
use gm::core::{fit, FitConfig, Generator, GmRng};
use gm::flow::{Flow, FlowTrainConfig, FlowTrainer, ImageFlowConfig};
use gm::inverse::{measure, per_image_mse, recover, CsgmConfig, GaussianMeasurement};

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

#[test]
fn a_flow_prior_has_an_exact_latent_and_recovers_its_signals() {
    let dev = Device::Cpu;
    let cfg = FlowTrainConfig {
        model: ImageFlowConfig {
            image_shape: vec![1, 8, 8],
            checkerboard_steps: 1,
            checkerboard_hidden: 4,
            levels: 2,
            steps_per_level: 1,
            hidden: 4,
            ..Default::default()
        },
        warmup_steps: 2,
        eval_images: 0,
        ..Default::default()
    };
    let mut trainer = FlowTrainer::new(cfg, 3, None, &dev).unwrap();
    let x = GmRng::new(0).uniform_vec(64 * 64, 0.0, 1.0);
    let data = Dataset::new("noise", vec![1, 8, 8], x, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let fc = FitConfig {
        epochs: 1,
        batch_size: 32,
        progress: false,
        ..FitConfig::default()
    };
    fit(&mut trainer, &data, &fc, &tmp.path().join("flow"), &dev).unwrap();
    let flow = trainer.flow();

    // Signals the prior produces, from small latents (inside the data range: no clamping).
    let z_true = GmRng::new(5).normal((4, 64), 0.0, 0.3, &dev).unwrap();
    let x_true = flow.generate(&z_true).unwrap();
    let lo = x_true.min_all().unwrap().to_scalar::<f32>().unwrap();
    let hi = x_true.max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(
        lo > 0.0 && hi < 1.0,
        "signals at the range's ends: {lo} {hi}"
    );
    // The exact latent: the forward flow inverts the generator.
    let (z_back, _) = flow.forward(&x_true).unwrap();
    assert!(
        max_abs(&z_back, &z_true) < 1e-3,
        "{}",
        max_abs(&z_back, &z_true)
    );

    // m = n Gaussian measurements: the estimator's minimum is the signal itself.
    let mut rng = GmRng::new(7);
    let op = GaussianMeasurement::new(64, 64, &mut rng, &dev).unwrap();
    let flat = x_true.reshape((4, 64)).unwrap();
    let b = measure(&op, &flat, 0.0, &mut rng).unwrap();
    // A small ridge (VAE+Reg's term at a hundredth of its weight) pulls back the latents of
    // restarts whose pixels start clamped at the range's ends, where the data term has no
    // gradient.
    let cfg = CsgmConfig::vae()
        .with_lr(0.05)
        .with_steps(1000)
        .with_restarts(2)
        .with_lambda(1e-3);
    let rec = recover(flow, &op, &b, &cfg, 11).unwrap();
    let err: f64 = per_image_mse(&rec.x, &flat).unwrap().iter().sum::<f64>() / 4.0;
    let start = flow.generate(&Tensor::zeros((4, 64), candle_core::DType::F32, &dev).unwrap());
    let start = start.unwrap().reshape((4, 64)).unwrap();
    let err0: f64 = per_image_mse(&start, &flat).unwrap().iter().sum::<f64>() / 4.0;
    println!("recovery MSE {err:.2e}, from G(0) {err0:.2e}");
    assert!(
        err < 1e-3 && err < err0 / 20.0,
        "recovery MSE {err}, from G(0) {err0}"
    );
}
