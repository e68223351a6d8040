//! Tests of the model folders: a conditional GAN run sampled by class, and the refusals.

use super::*;
use gm_core::data::Dataset;
use gm_core::{fit, FitConfig, GmRng};
use gm_gan::{
    Activation, Architecture, CganConfig, CganTrainer, Conditioning, GanConfig, GanTrainConfig,
    LabelEmbedding,
};

/// A finished conditional GAN run (tiny MLP networks, 4x4 items of 3 classes) in `dir`.
fn train_cgan(dir: &Path) -> CganTrainer {
    let dev = Device::Cpu;
    let mlp = Architecture::Mlp {
        hidden: vec![8],
        activation: Activation::LeakyRelu,
    };
    let cfg = CganConfig {
        model: GanConfig {
            latent_dim: 2,
            data_shape: vec![1, 4, 4],
            generator: mlp.clone(),
            discriminator: mlp,
            ..GanConfig::mlp_mnist()
        },
        n_classes: 3,
        label_embedding: LabelEmbedding::Learned { dim: 2 },
        conditioning: Conditioning::Acgan,
        ..CganConfig::default()
    };
    let x = GmRng::new(0).uniform_vec(12 * 16, 0.0, 1.0);
    let y = (0..12).map(|i| i % 3).collect();
    let data = Dataset::new("tiny", vec![1, 4, 4], x, Some(y)).unwrap();
    let fc = FitConfig {
        epochs: 1,
        batch_size: 4,
        progress: false,
        ..FitConfig::default()
    };
    let mut t = CganTrainer::new(cfg, 0, &dev).unwrap();
    fit(&mut t, &data, &fc, dir, &dev).unwrap();
    t
}

#[test]
fn a_conditional_run_samples_one_class_or_uniform_classes() {
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let t = train_cgan(&run);
    let loaded = load_generator(&run, &dev).unwrap();
    assert_eq!(loaded.model, "cgan/acgan");
    assert_eq!(loaded.generator.num_classes(), Some(3));

    let opts = SampleOptions {
        n: Some(5),
        seed: 7,
        class: Some(2),
        ..Default::default()
    };
    let s = sample(
        &run,
        &opts,
        &SampleOutput::Folder(tmp.path().join("c2")),
        &dev,
    )
    .unwrap();
    // Latents [z, one-hot(2)]: the trained generator's items of class 2 for that z.
    let z = s.latents.narrow(1, 0, 2).unwrap();
    let code = s.latents.narrow(1, 2, 3).unwrap().to_vec2::<f32>().unwrap();
    assert!(code.iter().all(|row| row == &[0.0, 0.0, 1.0]));
    let want = t
        .generator()
        .generate_class(&z, &Tensor::new(&[2u32; 5], &dev).unwrap())
        .unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&s.samples), flat(&want));
    let (_, meta) =
        gm_core::io::load_safetensors(tmp.path().join("c2/samples.safetensors"), &dev).unwrap();
    assert_eq!(meta["gm.class"], "2");

    // Without a class: the same z, classes drawn uniformly.
    let uniform = SampleOptions {
        class: None,
        ..opts.clone()
    };
    let u = sample(
        &run,
        &uniform,
        &SampleOutput::Png(tmp.path().join("u.png")),
        &dev,
    )
    .unwrap();
    assert_eq!(flat(&u.latents.narrow(1, 0, 2).unwrap()), flat(&z));

    // A class the model lacks is refused, and nothing is written.
    let bad = SampleOptions {
        class: Some(3),
        ..opts
    };
    let e = sample(
        &run,
        &bad,
        &SampleOutput::Png(tmp.path().join("b.png")),
        &dev,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--class 3") && e.contains("0..2"), "{e}");
    assert!(!tmp.path().join("b.png").exists());
}

#[test]
fn an_unconditional_run_refuses_a_class() {
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("gan");
    let cfg = GanTrainConfig {
        model: GanConfig {
            latent_dim: 2,
            data_shape: vec![1, 4, 4],
            generator: Architecture::Mlp {
                hidden: vec![8],
                activation: Activation::Relu,
            },
            ..GanConfig::mlp_mnist()
        },
        ..GanTrainConfig::default()
    };
    let x = GmRng::new(0).uniform_vec(8 * 16, 0.0, 1.0);
    let data = Dataset::new("tiny", vec![1, 4, 4], x, None).unwrap();
    let fc = FitConfig {
        batch_size: 4,
        progress: false,
        ..FitConfig::default()
    };
    let mut t = gm_gan::GanTrainer::new(cfg, 0, &dev).unwrap();
    fit(&mut t, &data, &fc, &run, &dev).unwrap();
    let opts = SampleOptions {
        class: Some(0),
        ..Default::default()
    };
    let out = tmp.path().join("c.png");
    let e = sample(&run, &opts, &SampleOutput::Png(out.clone()), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not class-conditional"), "{e}");
    assert!(!out.exists());
}
