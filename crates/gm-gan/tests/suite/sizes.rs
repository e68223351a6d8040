//! DCGAN sized by the data: every supported image shape (16, 28, 32, 64 pixels; grey and RGB)
//! through both networks, one training step on RGB 32x32 images, a `fit` run whose saved
//! generator reloads to the same samples and whose grid is an RGB PNG, the refused sizes and
//! the default parameter counts.
//! Networks are narrow (4 base channels) and batches tiny, so the file runs in seconds.

use candle_core::{DType, Device, Tensor};
use gm_core::data::Dataset;
use gm_core::{fit, FitConfig, Generator, GmRng, ParamStore};
use gm_gan::{
    Architecture, Discriminator, Error, GanConfig, GanGenerator, GanTrainConfig, GanTrainer,
    LoadedGenerator,
};

/// [`GanConfig::dcgan`] at `size` and `channels`, narrowed to `base` channels and latent 8.
fn narrow(size: usize, channels: usize, base: usize) -> GanConfig {
    GanConfig {
        latent_dim: 8,
        generator: Architecture::Dcgan { channels: base },
        discriminator: Architecture::Dcgan { channels: base },
        ..GanConfig::dcgan(size, channels).unwrap()
    }
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn networks_follow_every_supported_shape() {
    let dev = Device::Cpu;
    for size in [16, 28, 32, 64] {
        for channels in [1, 3] {
            let cfg = narrow(size, channels, 4);
            let (g, _) = GanGenerator::init(&cfg, 0, &dev).unwrap();
            let d = Discriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
            let z = GmRng::new(2).normal((2, 8), 0.0, 1.0, &dev).unwrap();
            let y = g.forward_t(&z, true).unwrap();
            assert_eq!(y.dims(), &[2, channels, size, size], "{size}x{channels}");
            assert_eq!(g.output_shape(), vec![channels, size, size]);
            // Data space: every channel in [0, 1], and back to network space exactly.
            let x = g.generate(&z).unwrap();
            assert_eq!(x.dims(), &[2, channels, size, size]);
            assert!(flat(&x).iter().all(|p| (0.0..=1.0).contains(p)));
            let back = g.to_network_space(&g.to_data_space(&y).unwrap()).unwrap();
            let err = (back - &y).unwrap().abs().unwrap().max_all().unwrap();
            assert!(err.to_scalar::<f32>().unwrap() < 1e-6);
            let s = d.forward(&y).unwrap();
            assert_eq!(s.dims(), &[2, 1], "{size}x{channels}");
            let (feat, _) = d.features_and_output(&y).unwrap();
            assert_eq!(feat.dim(0).unwrap(), 2);
        }
    }
}

/// One step of the DCGAN recipe on uniform RGB 32x32 images moves every convolution of both
/// networks, and the losses are finite.
#[test]
fn one_training_step_on_rgb_32_changes_the_weights() {
    let dev = Device::Cpu;
    let cfg = GanTrainConfig {
        model: narrow(32, 3, 4),
        ..GanTrainConfig::dcgan_mnist()
    };
    let mut t = GanTrainer::new(cfg, 0, &dev).unwrap();
    let weights = |t: &GanTrainer| {
        let mut w = t.generator_store().tensors();
        let d = t.discriminator_store().unwrap().tensors();
        w.extend(d.into_iter().map(|(k, v)| (format!("d.{k}"), v)));
        w.into_iter()
            .filter(|(k, _)| k.ends_with(".weight"))
            .map(|(k, v)| (k, flat(&v)))
            .collect::<Vec<_>>()
    };
    let before = weights(&t);
    let x = GmRng::new(3)
        .uniform((4, 3, 32, 32), 0.0, 1.0, &dev)
        .unwrap();
    let m = t.train_step(&x, &mut GmRng::new(4)).unwrap();
    for (name, v) in &m {
        assert!(v.is_finite(), "{name} = {v}");
    }
    assert!(m.iter().any(|(k, _)| k == "d_loss"));
    let after = weights(&t);
    assert_eq!(before.len(), after.len());
    // G: ct0..ct3 and bn0..bn2; D: c0..c3 and bn1, bn2.
    assert_eq!(before.len(), 7 + 6);
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert_ne!(a, b, "{name} did not move");
    }
    // A grey batch is refused by an RGB model.
    let grey = Tensor::zeros((4, 1, 32, 32), DType::F32, &dev).unwrap();
    assert!(t.train_step(&grey, &mut GmRng::new(5)).is_err());
}

/// Width, height and colour type of a PNG from its IHDR chunk.
fn png_header(bytes: &[u8]) -> (u32, u32, u8) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20), bytes[25])
}

/// A short `fit` on random RGB images: the run's saved generator, rebuilt through the run's
/// metadata (as `cargo xtask sample` does) and from the bare weights, draws the trainer's
/// samples, and the sample grid is an RGB PNG of the expected size.
#[test]
fn rgb_32_generator_reloads_from_its_run() {
    let dev = Device::Cpu;
    let cfg = GanTrainConfig {
        model: narrow(32, 3, 4),
        grid_samples: 4,
        ..GanTrainConfig::dcgan_mnist()
    };
    let mut rng = GmRng::new(6);
    let pixels = rng.uniform_vec(8 * 3 * 32 * 32, 0.0, 1.0);
    let data = Dataset::new("rgb", vec![3, 32, 32], pixels, None).unwrap();
    let fc = FitConfig {
        epochs: 1,
        batch_size: 4,
        seed: 7,
        progress: false,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut t = GanTrainer::new(cfg.clone(), fc.seed, &dev).unwrap();
    let s = fit(&mut t, &data, &fc, dir.path(), &dev).unwrap();
    assert_eq!(s.steps, 2);

    let (tensors, meta) =
        gm_core::io::load_safetensors(dir.path().join("model.safetensors"), &dev).unwrap();
    let config: serde_json::Value = serde_json::from_str(&meta["gm.config"]).unwrap();
    let run = LoadedGenerator::from_run(&config, &tensors, &dev).unwrap();
    assert_eq!(run.config, cfg.model);
    let bare = gm_gan::generator_from_weights(&cfg.model, &tensors, &dev).unwrap();
    let sample = |g: &GanGenerator| flat(&g.sample(3, &mut GmRng::new(8), &dev).unwrap());
    let want = sample(t.generator());
    assert_eq!(want.len(), 3 * 3 * 32 * 32);
    assert_eq!(sample(&run.generator), want);
    assert_eq!(sample(&bare), want);
    // Weights of another size do not load into this layout.
    assert!(gm_gan::generator_from_weights(&narrow(64, 3, 4), &tensors, &dev).is_err());

    // 4 samples in 2 columns of 32 pixels with a 2-pixel border: 2 * 34 + 2 = 70 square.
    let png = std::fs::read(dir.path().join("grids/epoch_001.png")).unwrap();
    assert_eq!(
        png_header(&png),
        (70, 70, 2),
        "width, height, colour type 2 (RGB)"
    );
}

fn dcgan_error_field(size: usize, channels: usize) -> &'static str {
    match GanConfig::dcgan(size, channels) {
        Err(Error::Config { field, .. }) => field,
        other => panic!("{size}x{channels}: expected a config error, got {other:?}"),
    }
}

#[test]
fn unsupported_sizes_are_data_shape_errors() {
    for size in [30, 256, 8, 100] {
        assert_eq!(dcgan_error_field(size, 3), "data_shape", "size {size}");
    }
    assert_eq!(dcgan_error_field(32, 2), "data_shape");
    // A hand-written config with an unsupported side fails when a network is built.
    let c = GanConfig {
        data_shape: vec![3, 256, 256],
        ..narrow(32, 3, 4)
    };
    let e = GanGenerator::init(&c, 0, &Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("data_shape"), "{e}");
}

/// Trainable parameters (batch norm's running statistics left out) of G and D.
fn trainable(cfg: &GanConfig) -> (usize, usize) {
    let dev = Device::Cpu;
    let count = |s: &ParamStore| -> usize {
        s.vars()
            .iter()
            .filter(|(k, _)| !k.contains("running_"))
            .map(|(_, v)| v.elem_count())
            .sum()
    };
    let (_, g) = GanGenerator::init(cfg, 0, &dev).unwrap();
    let d = ParamStore::new(1);
    Discriminator::new(cfg, d.var_builder(&dev)).unwrap();
    (count(&g), count(&d))
}

/// The default DCGAN (latent 100, base 32) at 28x1, 32x3 and 64x3, against the layer-by-layer
/// sum (widths `32 << min(level, 3)`, 4x4 kernels, `start x start` kernels on z and the logit):
///
/// ```python
/// def w(b, l): return b << min(l, 3)
/// def count(s, c, b=32, z=100):
///     start, steps = (4, s.bit_length() - 3) if s in (16, 32, 64, 128) else (s // 4, 2)
///     g = 0
///     for i in range(steps):
///         wi = w(b, steps - 1 - i)
///         g += (z * start * start if i == 0 else w(b, steps - i) * 16) * wi + wi + 2 * wi
///     g += w(b, 0) * c * 16 + c
///     d = c * w(b, 0) * 16 + w(b, 0)
///     for i in range(1, steps):
///         d += w(b, i - 1) * w(b, i) * 16 + w(b, i) + 2 * w(b, i)
///     return g, d + w(b, steps - 1) * start * start + 1
/// ```
#[test]
fn default_parameter_counts() {
    let counts = |s, c| trainable(&GanConfig::dcgan(s, c).unwrap());
    assert_eq!(counts(28, 1), (347_169, 36_641));
    assert_eq!(counts(32, 3), (370_851, 168_033));
    assert_eq!(counts(64, 3), (1_100_707, 695_137));
}
