//! Numerics under stress across trainers: a learning rate that diverges (1e30) stops `fit`
//! with a non-finite error naming the step, and the checkpoint of the step before it (when
//! there is one) still loads with finite tensors; for the VAE, the flow and MADE, as
//! crates/gm-gan/tests/suite/gan.rs checks for the GAN, and for LAPGAN, progressive growing,
//! BiGAN, CycleGAN and the conditional GAN; and latents of extreme norm (an encoder
//! whose variance overflows, a flow whose map overflows) stop the VAE and the flow at once.

use candle_core::Device;
use gm::autoregressive::trainer::{ArTrainConfig, ArTrainer};
use gm::autoregressive::{Made, MadeConfig};
use gm::core::data::{mnist_embedded, Dataset};
use gm::core::train::read_checkpoint;
use gm::core::{fit, AdamConfig, FitConfig, GmRng, Trainer};
use gm::vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

fn diverging() -> AdamConfig {
    AdamConfig {
        lr: 1e30,
        ..Default::default()
    }
}

fn digits() -> Dataset {
    let d = mnist_embedded().unwrap().train;
    let x = d.head(128, &Device::Cpu).unwrap().x;
    let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    Dataset::new("digits", vec![1, 28, 28], v, None).unwrap()
}

/// A small MLP VAE on the digits with Adam `adam`.
fn small_vae(adam: AdamConfig) -> VaeTrainer {
    let cfg = VaeTrainConfig {
        model: VaeConfig {
            latent_dim: 4,
            encoder_hidden: vec![16],
            decoder_hidden: vec![16],
            ..VaeConfig::default()
        },
        adam,
        eval_images: 0,
        ..VaeTrainConfig::default()
    };
    VaeTrainer::new(cfg, 0, None, &Device::Cpu).unwrap()
}

/// A small multi-scale flow on 8x8 images with Adam `adam` (warm-up of one step), and 128
/// images of uniform noise for it.
fn small_flow(adam: AdamConfig) -> (gm::flow::FlowTrainer, Dataset) {
    let cfg = gm::flow::FlowTrainConfig {
        model: gm::flow::ImageFlowConfig {
            image_shape: vec![1, 8, 8],
            checkerboard_steps: 1,
            checkerboard_hidden: 4,
            levels: 2,
            steps_per_level: 1,
            hidden: 4,
            ..Default::default()
        },
        adam,
        warmup_steps: 1,
        eval_images: 0,
        ..Default::default()
    };
    let t = gm::flow::FlowTrainer::new(cfg, 0, None, &Device::Cpu).unwrap();
    let x = GmRng::new(0).uniform_vec(128 * 64, 0.0, 1.0);
    (t, Dataset::new("noise", vec![1, 8, 8], x, None).unwrap())
}

/// Runs `fit` to its non-finite stop and checks what it leaves; returns the failing step.
fn stops_cleanly<T: Trainer>(t: &mut T, data: &Dataset, what: &str) -> u64 {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let fc = FitConfig {
        epochs: 4,
        batch_size: 32,
        checkpoint_every: 1,
        progress: false,
        ..Default::default()
    };
    let e = fit(t, data, &fc, dir.path(), &dev).err();
    let Some(gm::core::Error::NonFinite { step, .. }) = e else {
        panic!("{what}: expected a non-finite stop, got {e:?}");
    };
    let ck = dir.path().join("checkpoint.safetensors");
    if step > 1 {
        let ck = read_checkpoint(&ck, &dev).unwrap();
        assert_eq!(ck.step, step - 1, "{what}");
        for (k, v) in &ck.state.tensors {
            let s = v.abs().unwrap().sum_all().unwrap();
            let s = s.to_dtype(candle_core::DType::F64).unwrap();
            assert!(s.to_scalar::<f64>().unwrap().is_finite(), "{what}: {k}");
        }
    } else {
        assert!(!ck.exists(), "{what}: a checkpoint of a failed first step");
    }
    step
}

#[test]
fn a_diverging_rate_stops_every_likelihood_trainer_cleanly() {
    let dev = Device::Cpu;
    let data = digits();
    let mut t = small_vae(diverging());
    let s = stops_cleanly(&mut t, &data, "vae");
    // The first update sends the weights to ~1e30; the next forward pass overflows.
    assert_eq!(s, 2, "vae");

    let made = ArTrainConfig {
        model: MadeConfig {
            hidden: vec![16],
            ..Default::default()
        },
        adam: diverging(),
        eval_images: 0,
        grid_samples: 0,
        ..Default::default()
    };
    let mut t = ArTrainer::<Made>::new(made, 0, None, &dev).unwrap();
    let s = stops_cleanly(&mut t, &data, "made");
    // The first update sends the weights to ~1e30; the next forward pass overflows.
    assert_eq!(s, 2, "made");

    let (mut t, small) = small_flow(diverging());
    let s = stops_cleanly(&mut t, &small, "flow");
    // The first update sends the weights to ~1e30; the next forward pass overflows.
    assert_eq!(s, 2, "flow");
}

/// Sets every parameter of `store` whose name contains each of `parts` to `value`.
fn set_params(store: &gm::core::ParamStore, parts: &[&str], value: f64) {
    let mut found = 0;
    for (name, var) in store.vars() {
        if parts.iter().all(|p| name.contains(p)) {
            let t = candle_core::Tensor::full(value as f32, var.shape(), var.device()).unwrap();
            var.set(&t).unwrap();
            found += 1;
        }
    }
    assert!(found > 0, "no parameter named like {parts:?}");
}

#[test]
fn latents_of_extreme_norm_stop_the_vae_and_the_flow_cleanly() {
    let data = digits();
    // The encoder's log-variance head says sigma = e^500, beyond f32: the reparameterized
    // latents z = mu + sigma eps have infinite norm from the first step.
    let mut t = small_vae(AdamConfig::default());
    set_params(t.store(), &["logvar", "bias"], 1000.0);
    assert_eq!(stops_cleanly(&mut t, &data, "vae, extreme latents"), 1);

    // Each 1x1 convolution's diagonal is e^100, beyond f32: the flow's latents z = f(x)
    // overflow in the first forward pass.
    let (mut t, small) = small_flow(AdamConfig::default());
    set_params(t.store(), &["invconv", "log_s"], 100.0);
    assert_eq!(stops_cleanly(&mut t, &small, "flow, extreme latents"), 1);
}

/// `n` images `(channels, side, side)` of uniform noise, with labels `i % 3`.
fn noise_images(n: usize, side: usize, channels: usize) -> Dataset {
    let x = GmRng::new(1).uniform_vec(n * channels * side * side, 0.0, 1.0);
    let labels = (0..n).map(|i| (i % 3) as u32).collect();
    Dataset::new("noise", vec![channels, side, side], x, Some(labels)).unwrap()
}

#[test]
fn a_diverging_rate_stops_every_adversarial_trainer_cleanly() {
    use gm::gan::bigan::{BiganConfig, BiganTrainer};
    use gm::gan::cyclegan::{CycleGanConfig, CycleGanTrainer};
    use gm::gan::lapgan::{LapganConfig, LapganTrainer};
    use gm::gan::progressive::{ProgressiveConfig, ProgressiveTrainer};
    use gm::gan::{Activation, Architecture, CganConfig, CganTrainer, GanConfig};
    let dev = Device::Cpu;
    let mut t = LapganTrainer::new(
        LapganConfig {
            image_size: 16,
            levels: 2,
            latent_dim: 4,
            coarse_hidden: vec![16],
            channels: vec![4],
            adam: diverging(),
            grid_samples: 0,
            ..LapganConfig::default()
        },
        0,
        &dev,
    )
    .unwrap();
    stops_cleanly(&mut t, &noise_images(128, 16, 1), "lapgan");

    let mut t = ProgressiveTrainer::new(
        ProgressiveConfig {
            latent_dim: 4,
            channels: vec![4, 4],
            stage_steps: 100,
            grid_samples: 0,
            adam: diverging(),
            ..ProgressiveConfig::default()
        },
        0,
        &dev,
    )
    .unwrap();
    stops_cleanly(&mut t, &noise_images(128, 8, 1), "progressive");

    let mut t = BiganTrainer::new(
        BiganConfig {
            latent_dim: 3,
            data_shape: vec![1, 4, 4],
            encoder_hidden: vec![16],
            generator_hidden: vec![16],
            discriminator_hidden: vec![16],
            adam_d: diverging(),
            adam_ge: diverging(),
            grid_samples: 0,
            ..BiganConfig::default()
        },
        0,
        &dev,
    )
    .unwrap();
    stops_cleanly(&mut t, &noise_images(128, 4, 1), "bigan");

    let mut t = CycleGanTrainer::new(
        CycleGanConfig {
            image_size: 8,
            channels: 2,
            residual_blocks: 1,
            pool_size: 0,
            adam: diverging(),
            ..CycleGanConfig::default()
        },
        0,
        &dev,
    )
    .unwrap();
    stops_cleanly(&mut t, &noise_images(128, 8, 2), "cyclegan");

    let mlp = |activation| Architecture::Mlp {
        hidden: vec![16],
        activation,
    };
    let mut t = CganTrainer::new(
        CganConfig {
            model: GanConfig {
                latent_dim: 3,
                data_shape: vec![1, 4, 4],
                generator: mlp(Activation::Relu),
                discriminator: mlp(Activation::LeakyRelu),
                ..GanConfig::mlp_mnist()
            },
            n_classes: 3,
            adam_g: diverging(),
            adam_d: diverging(),
            class_grid: false,
            ..CganConfig::default()
        },
        0,
        &dev,
    )
    .unwrap();
    stops_cleanly(&mut t, &noise_images(128, 4, 1), "cgan");
}
