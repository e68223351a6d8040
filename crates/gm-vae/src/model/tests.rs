//! Unit tests of gm-vae's `model`.

use super::*;
use gm_core::Generator;

#[test]
fn shapes_of_all_presets_and_conv() {
    let dev = Device::Cpu;
    let x = Tensor::zeros((3, 1, 28, 28), candle_core::DType::F32, &dev).unwrap();
    for cfg in [
        VaeConfig::pytorch_example(),
        VaeConfig::bora2017(),
        VaeConfig::iwae_1layer(),
        VaeConfig {
            architecture: Architecture::Conv { channels: 4 },
            encoder_hidden: vec![16],
            decoder_hidden: vec![16],
            ..VaeConfig::default()
        },
    ] {
        let store = ParamStore::new(1);
        let vae = Vae::init(cfg.clone(), &store, &dev).unwrap();
        let (mu, lv) = vae
            .encoder()
            .encode(&vae.flatten_input(&x).unwrap())
            .unwrap();
        assert_eq!(mu.dims(), &[3, cfg.latent_dim]);
        assert_eq!(lv.dims(), &[3, cfg.latent_dim]);
        let g = vae.decoder().sample(5, &mut GmRng::new(2), &dev).unwrap();
        assert_eq!(g.dims(), &[5, 1, 28, 28]);
        let v = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_eq!(vae.reconstruct(&x).unwrap().dims(), x.dims());
    }
}

/// The 28x28 convolutional layout keeps its names and shapes (the file format of saved
/// runs): 1 -> c -> 2c maps down to 7x7, and the mirror image.
#[test]
fn conv_28_layout_is_unchanged() {
    let store = ParamStore::new(1);
    let cfg = VaeConfig {
        architecture: Architecture::Conv { channels: 4 },
        encoder_hidden: vec![16],
        decoder_hidden: vec![16],
        ..VaeConfig::default()
    };
    Vae::init(cfg, &store, &Device::Cpu).unwrap();
    let shapes: Vec<(String, Vec<usize>)> = store
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.dims().to_vec()))
        .collect();
    let want: Vec<(String, Vec<usize>)> = [
        ("decoder.deconv0.bias", vec![4]),
        ("decoder.deconv0.weight", vec![8, 4, 4, 4]),
        ("decoder.deconv1.bias", vec![1]),
        ("decoder.deconv1.weight", vec![4, 1, 4, 4]),
        ("decoder.fc0.bias", vec![16]),
        ("decoder.fc0.weight", vec![16, 20]),
        ("decoder.out.bias", vec![8 * 7 * 7]),
        ("decoder.out.weight", vec![8 * 7 * 7, 16]),
        ("encoder.conv0.bias", vec![4]),
        ("encoder.conv0.weight", vec![4, 1, 4, 4]),
        ("encoder.conv1.bias", vec![8]),
        ("encoder.conv1.weight", vec![8, 4, 4, 4]),
        ("encoder.fc0.bias", vec![16]),
        ("encoder.fc0.weight", vec![16, 8 * 7 * 7]),
        ("encoder.logvar.bias", vec![20]),
        ("encoder.logvar.weight", vec![20, 16]),
        ("encoder.mu.bias", vec![20]),
        ("encoder.mu.weight", vec![20, 16]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(shapes, want);

    // The same seeded weights as the layers built one by one in their original order.
    let old = ParamStore::new(1);
    let vb = old.var_builder(&Device::Cpu);
    let (e, d) = (vb.pp("encoder"), vb.pp("decoder"));
    conv2d(1, 4, 4, conv_cfg(), e.pp("conv0")).unwrap();
    conv2d(4, 8, 4, conv_cfg(), e.pp("conv1")).unwrap();
    linear(8 * 7 * 7, 16, e.pp("fc0")).unwrap();
    linear(16, 20, e.pp("mu")).unwrap();
    linear(16, 20, e.pp("logvar")).unwrap();
    conv_transpose2d(8, 4, 4, conv_cfg(), d.pp("deconv0")).unwrap();
    conv_transpose2d(4, 1, 4, conv_cfg(), d.pp("deconv1")).unwrap();
    linear(20, 16, d.pp("fc0")).unwrap();
    linear(16, 8 * 7 * 7, d.pp("out")).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (new, old) = (store.tensors(), old.tensors());
    assert_eq!(new.len(), old.len());
    for (k, v) in &new {
        assert_eq!(flat(v), flat(&old[k]), "{k}");
    }
}

#[test]
fn saved_parts_rebuild_the_same_generator() {
    use gm_core::model::SavedModel;
    let dev = Device::Cpu;
    let store = ParamStore::new(3);
    let vae = Vae::init(VaeConfig::bora2017(), &store, &dev).unwrap();
    let saved = LoadedVae::new(vae, store.tensors());
    let back = LoadedVae::from_parts(&saved.config_json(), saved.weights(), &dev).unwrap();
    let a = saved.vae.sample(4, &mut GmRng::new(9), &dev).unwrap();
    let b = back.vae.sample(4, &mut GmRng::new(9), &dev).unwrap();
    let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
    assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
    let mut missing = saved.weights();
    missing.remove("decoder.out.weight");
    let first = missing.keys().next().cloned().unwrap();
    missing.remove(&first);
    let e = LoadedVae::from_parts(&saved.config_json(), missing, &dev).unwrap_err();
    assert!(
        e.to_string().contains("cannot find") || e.to_string().contains("not found"),
        "{e}"
    );
    assert!(LoadedVae::from_parts(
        &serde_json::json!({"latent_dim": "x"}),
        saved.weights(),
        &dev
    )
    .is_err());
}

#[test]
fn bora_decoder_is_20_500_500_784() {
    let store = ParamStore::new(1);
    let _ = Vae::init(VaeConfig::bora2017(), &store, &Device::Cpu).unwrap();
    let t = store.tensors();
    assert_eq!(t["decoder.fc0.weight"].dims(), &[500, 20]);
    assert_eq!(t["decoder.fc1.weight"].dims(), &[500, 500]);
    assert_eq!(t["decoder.out.weight"].dims(), &[784, 500]);
}

#[test]
fn wrong_input_size_is_an_error() {
    let store = ParamStore::new(1);
    let vae = Vae::init(VaeConfig::default(), &store, &Device::Cpu).unwrap();
    let x = Tensor::zeros((2, 10), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(vae.flatten_input(&x), Err(Error::Shape { .. })));
}

#[test]
fn binarize_keeps_the_mean() {
    let dev = Device::Cpu;
    let n = 20_000;
    let x = Tensor::full(0.3f32, (n,), &dev).unwrap();
    let b = binarize(&x, &mut GmRng::new(4)).unwrap();
    let v = b.to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|&p| p == 0.0 || p == 1.0));
    let m = v.iter().sum::<f32>() as f64 / n as f64;
    // Standard error sqrt(0.3 * 0.7 / n) = 0.0032; 5 sigma.
    assert!((m - 0.3).abs() < 5.0 * (0.21f64 / n as f64).sqrt(), "{m}");
}
