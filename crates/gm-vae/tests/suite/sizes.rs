//! The convolutional VAE sized by the data: encoder and decoder shapes for every supported
//! image shape (16, 28, 32, 64 pixels; grey and RGB), one training step on RGB 32x32 images
//! under both likelihoods, and the refused shapes. Narrow networks, tiny batches.

use candle_core::{Device, Tensor};
use gm_core::{Generator, GmRng, ParamStore};
use gm_vae::{Architecture, Error, Likelihood, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

/// [`VaeConfig::conv`] at `size` and `channels`, narrowed to 4 base channels, latent 3.
fn narrow(size: usize, channels: usize) -> VaeConfig {
    VaeConfig {
        latent_dim: 3,
        encoder_hidden: vec![8],
        decoder_hidden: vec![8],
        architecture: Architecture::Conv { channels: 4 },
        ..VaeConfig::conv(size, channels).unwrap()
    }
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn encoder_and_decoder_follow_every_supported_shape() {
    let dev = Device::Cpu;
    for size in [16, 28, 32, 64] {
        for channels in [1, 3] {
            let cfg = narrow(size, channels);
            let vae = Vae::init(cfg, &ParamStore::new(0), &dev).unwrap();
            let x = GmRng::new(1)
                .uniform((2, channels, size, size), 0.0, 1.0, &dev)
                .unwrap();
            let (mu, logvar) = vae
                .encoder()
                .encode(&vae.flatten_input(&x).unwrap())
                .unwrap();
            assert_eq!(mu.dims(), &[2, 3], "{size}x{channels}");
            assert_eq!(logvar.dims(), &[2, 3]);
            let logits = vae.decoder().decode(&mu).unwrap();
            assert_eq!(logits.dims(), &[2, channels * size * size]);
            assert_eq!(vae.reconstruct(&x).unwrap().dims(), x.dims());
            let s = vae.sample(2, &mut GmRng::new(2), &dev).unwrap();
            assert_eq!(s.dims(), &[2, channels, size, size]);
            assert!(flat(&s).iter().all(|p| (0.0..=1.0).contains(p)));
            assert_eq!(vae.decoder().output_shape(), vec![channels, size, size]);
        }
    }
}

/// The 3x32x32 layout: three stride-2 convolutions 3 -> 4 -> 8 -> 16 maps down to 4x4, and
/// their mirror image in the decoder.
#[test]
fn rgb_32_layout() {
    let store = ParamStore::new(0);
    Vae::init(narrow(32, 3), &store, &Device::Cpu).unwrap();
    let t = store.tensors();
    let dims = |k: &str| t[k].dims().to_vec();
    assert_eq!(dims("encoder.conv0.weight"), [4, 3, 4, 4]);
    assert_eq!(dims("encoder.conv1.weight"), [8, 4, 4, 4]);
    assert_eq!(dims("encoder.conv2.weight"), [16, 8, 4, 4]);
    assert_eq!(dims("encoder.fc0.weight"), [8, 16 * 4 * 4]);
    assert_eq!(dims("decoder.out.weight"), [16 * 4 * 4, 8]);
    assert_eq!(dims("decoder.deconv0.weight"), [16, 8, 4, 4]);
    assert_eq!(dims("decoder.deconv1.weight"), [8, 4, 4, 4]);
    assert_eq!(dims("decoder.deconv2.weight"), [4, 3, 4, 4]);
    assert!(!t.contains_key("encoder.conv3.weight"));
}

/// One Adam step on the negative ELBO of uniform RGB 32x32 images, with Bernoulli logits
/// (dynamically binarized) and with a Gaussian decoder: the loss is finite and every
/// convolution moves.
#[test]
fn one_loss_step_on_rgb_32() {
    let dev = Device::Cpu;
    for (likelihood, binarize) in [
        (Likelihood::Bernoulli, true),
        (Likelihood::Gaussian { std: 0.1 }, false),
    ] {
        let cfg = VaeTrainConfig {
            model: VaeConfig {
                likelihood,
                ..narrow(32, 3)
            },
            binarize,
            eval_images: 0,
            ..VaeTrainConfig::default()
        };
        let mut t = VaeTrainer::new(cfg, 0, None, &dev).unwrap();
        let convs = |t: &VaeTrainer| {
            t.store()
                .tensors()
                .into_iter()
                .filter(|(k, _)| k.contains("conv") && k.ends_with("weight"))
                .map(|(k, v)| (k, flat(&v)))
                .collect::<Vec<_>>()
        };
        let before = convs(&t);
        assert_eq!(before.len(), 6);
        let x = GmRng::new(3)
            .uniform((4, 3, 32, 32), 0.0, 1.0, &dev)
            .unwrap();
        let m = t.train_step(&x, &mut GmRng::new(4)).unwrap();
        assert!(!m.is_empty());
        for (name, v) in &m {
            assert!(v.is_finite(), "{likelihood:?}: {name} = {v}");
        }
        for ((name, a), (_, b)) in before.iter().zip(&convs(&t)) {
            assert_ne!(a, b, "{likelihood:?}: {name} did not move");
        }
        // A grey batch does not fit an RGB model.
        let grey = Tensor::zeros((4, 1, 32, 32), candle_core::DType::F32, &dev).unwrap();
        assert!(t.train_step(&grey, &mut GmRng::new(5)).is_err());
    }
}

#[test]
fn unsupported_shapes_are_data_shape_errors() {
    for (size, channels) in [(30, 3), (256, 3), (8, 1), (32, 2)] {
        match VaeConfig::conv(size, channels) {
            Err(Error::Config { field, .. }) => assert_eq!(field, "data_shape"),
            other => panic!("{size}x{channels}: expected a config error, got {other:?}"),
        }
    }
}
