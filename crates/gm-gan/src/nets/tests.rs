//! Shapes, data space, initialisation and the functional paths of the networks.

use candle_core::{Device, Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::nn::conv::{conv2d, conv_transpose2d, ConvConfig};
use gm_core::nn::{batch_norm2d, BatchNorm2d as BatchNorm, BatchNormConfig};
use gm_core::{Generator, GmRng, ParamStore};

use super::dcgan::UP;
use super::*;

#[test]
fn dcgan_shapes_and_data_space() {
    let dev = Device::Cpu;
    let cfg = GanConfig::dcgan_mnist();
    let (g, _) = GanGenerator::init(&cfg, 0, &dev).unwrap();
    let d = Discriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
    let x = g.sample(3, &mut GmRng::new(0), &dev).unwrap();
    assert_eq!(x.dims(), &[3, 1, 28, 28]);
    let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    let s = d.forward(&g.to_network_space(&x).unwrap()).unwrap();
    assert_eq!(s.dims(), &[3, 1]);
    assert!(!d.is_functional());
    assert!(d.params().is_err());
}

#[test]
fn mlp_forward_with_own_params_matches_forward() {
    let dev = Device::Cpu;
    let cfg = GanConfig::mlp_2d();
    let d = Discriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
    let x = GmRng::new(2).normal((5, 2), 0.0, 1.0, &dev).unwrap();
    let a = d.forward(&x).unwrap().to_vec2::<f32>().unwrap();
    let b = d
        .forward_with(&d.params().unwrap(), &x)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(a, b);
    assert!(d.forward_with(&d.params().unwrap()[..2], &x).is_err());
}

#[test]
fn latent_dim_cannot_be_zero() {
    let c = GanConfig {
        latent_dim: 0,
        ..GanConfig::mlp_2d()
    };
    assert!(matches!(
        c.validate(),
        Err(Error::Config {
            field: "latent_dim",
            ..
        })
    ));
}

#[test]
fn dcgan_needs_square_multiple_of_four() {
    let c = GanConfig {
        data_shape: vec![1, 30, 30],
        ..GanConfig::dcgan_mnist()
    };
    assert!(matches!(
        c.validate(),
        Err(Error::Config {
            field: "data_shape",
            ..
        })
    ));
}

/// The 28x28 layout as it was written before the image size chose the layout, layer by
/// layer in its creation order: the new stack must give the same names, shapes, seeded
/// weights and outputs, so that saved 28x28 runs still load and reproduce.
#[test]
fn dcgan_28_layout_is_unchanged() {
    let dev = Device::Cpu;
    let cfg = GanConfig::dcgan(28, 1).unwrap();
    assert_eq!(cfg, GanConfig::dcgan_mnist());
    let (ch, bn) = (32, BatchNormConfig::default());
    let down = ConvConfig::default();

    let (g, g_store) = GanGenerator::init(&cfg, 5, &dev).unwrap();
    let old = ParamStore::new(5);
    let vb = old.var_builder(&dev);
    let ct0 = conv_transpose2d(100, 2 * ch, 7, down, vb.pp("ct0")).unwrap();
    let bn0 = batch_norm2d(2 * ch, bn, vb.pp("bn0")).unwrap();
    let ct1 = conv_transpose2d(2 * ch, ch, 4, UP, vb.pp("ct1")).unwrap();
    let bn1 = batch_norm2d(ch, bn, vb.pp("bn1")).unwrap();
    let ct2 = conv_transpose2d(ch, 1, 4, UP, vb.pp("ct2")).unwrap();
    assert_same_store(&g_store, &old);
    let z = GmRng::new(1).normal((4, 100), 0.0, 1.0, &dev).unwrap();
    let relu =
        |bn: &BatchNorm, x: Tensor| gm_core::nn::relu(&bn.forward_t(&x, false).unwrap()).unwrap();
    let x = z.reshape((4, 100, 1, 1)).unwrap();
    let x = relu(&bn0, ct0.forward(&x).unwrap());
    let x = relu(&bn1, ct1.forward(&x).unwrap());
    let want = ct2.forward(&x).unwrap().tanh().unwrap();
    let got = g.forward_t(&z, false).unwrap();
    assert_eq!(flat(&got), flat(&want));

    let d_store = ParamStore::new(6);
    let d = Discriminator::new(&cfg, d_store.var_builder(&dev)).unwrap();
    let old = ParamStore::new(6);
    let vb = old.var_builder(&dev);
    let c0 = conv2d(1, ch, 4, UP, vb.pp("c0")).unwrap();
    let c1 = conv2d(ch, 2 * ch, 4, UP, vb.pp("c1")).unwrap();
    let bn1 = batch_norm2d(2 * ch, bn, vb.pp("bn1")).unwrap();
    let c2 = conv2d(2 * ch, 1, 7, down, vb.pp("c2")).unwrap();
    assert_same_store(&d_store, &old);
    let h = gm_core::nn::leaky_relu(&c0.forward(&got).unwrap(), 0.2).unwrap();
    let h = bn1.forward_t(&c1.forward(&h).unwrap(), true).unwrap();
    let h = gm_core::nn::leaky_relu(&h, 0.2).unwrap();
    let want = c2.forward(&h).unwrap().reshape((4, 1)).unwrap();
    let (feat, out) = d.features_and_output(&got).unwrap();
    assert_eq!(flat(&out), flat(&want));
    assert_eq!(feat.dims(), &[4, 2 * ch * 7 * 7]);
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn assert_same_store(a: &ParamStore, b: &ParamStore) {
    let (a, b) = (a.tensors(), b.tensors());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert_eq!(v.dims(), b[k].dims(), "{k}");
        assert_eq!(flat(v), flat(&b[k]), "{k}");
    }
}

fn shapes(store: &ParamStore) -> Vec<(String, Vec<usize>)> {
    store
        .tensors()
        .into_iter()
        .filter(|(k, _)| k.ends_with("weight"))
        .map(|(k, v)| (k, v.dims().to_vec()))
        .collect()
}

fn owned(v: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    v.iter().map(|(k, d)| (k.to_string(), d.to_vec())).collect()
}

/// Radford et al.'s 64x64 layout over base 32: 256, 128, 64, 32 maps from 4x4 up.
#[test]
fn dcgan_64_is_radfords_layout() {
    let dev = Device::Cpu;
    let cfg = GanConfig::dcgan(64, 3).unwrap();
    let (_, g) = GanGenerator::init(&cfg, 0, &dev).unwrap();
    let want: &[(&str, &[usize])] = &[
        ("bn0.weight", &[256]),
        ("bn1.weight", &[128]),
        ("bn2.weight", &[64]),
        ("bn3.weight", &[32]),
        ("ct0.weight", &[100, 256, 4, 4]),
        ("ct1.weight", &[256, 128, 4, 4]),
        ("ct2.weight", &[128, 64, 4, 4]),
        ("ct3.weight", &[64, 32, 4, 4]),
        ("ct4.weight", &[32, 3, 4, 4]),
    ];
    assert_eq!(shapes(&g), owned(want));
    let d = ParamStore::new(0);
    Discriminator::new(&cfg, d.var_builder(&dev)).unwrap();
    let want: &[(&str, &[usize])] = &[
        ("bn1.weight", &[64]),
        ("bn2.weight", &[128]),
        ("bn3.weight", &[256]),
        ("c0.weight", &[32, 3, 4, 4]),
        ("c1.weight", &[64, 32, 4, 4]),
        ("c2.weight", &[128, 64, 4, 4]),
        ("c3.weight", &[256, 128, 4, 4]),
        ("c4.weight", &[1, 256, 4, 4]),
    ];
    assert_eq!(shapes(&d), owned(want));
}

/// At 128 the widths stop doubling at 8 base channels.
#[test]
fn dcgan_widths_are_capped_at_eight_base() {
    let cfg = GanConfig {
        generator: Architecture::Dcgan { channels: 2 },
        discriminator: Architecture::Dcgan { channels: 2 },
        ..GanConfig::dcgan(128, 1).unwrap()
    };
    let (_, g) = GanGenerator::init(&cfg, 0, &Device::Cpu).unwrap();
    let widths: Vec<usize> = (0..5)
        .map(|i| g.tensors()[&format!("bn{i}.weight")].dim(0).unwrap())
        .collect();
    assert_eq!(widths, [16, 16, 8, 4, 2]);
    let d = ParamStore::new(0);
    Discriminator::new(&cfg, d.var_builder(&Device::Cpu)).unwrap();
    assert_eq!(d.tensors()["c5.weight"].dims(), &[1, 16, 4, 4]);
}

fn dcgan_error_field(size: usize, channels: usize) -> &'static str {
    match GanConfig::dcgan(size, channels) {
        Err(Error::Config { field, .. }) => field,
        other => panic!("{size}x{channels}: expected a config error, got {other:?}"),
    }
}

#[test]
fn dcgan_size_must_be_a_power_of_two_from_16_to_128_or_28() {
    for size in [0, 4, 8, 12, 24, 30, 48, 96, 256] {
        assert_eq!(dcgan_error_field(size, 3), "data_shape", "size {size}");
    }
    for size in [16, 28, 32, 64, 128] {
        GanConfig::dcgan(size, 3).unwrap();
    }
}

#[test]
fn dcgan_channels_must_be_one_or_three() {
    for channels in [0, 2, 4] {
        assert_eq!(dcgan_error_field(32, channels), "data_shape");
    }
    // A hand-built config is held to the same rule.
    let c = GanConfig {
        data_shape: vec![2, 28, 28],
        ..GanConfig::dcgan_mnist()
    };
    assert!(matches!(
        c.validate(),
        Err(Error::Config {
            field: "data_shape",
            ..
        })
    ));
}

#[test]
fn dcgan_side_above_28_must_be_a_power_of_two() {
    for shape in [vec![1, 36, 36], vec![3, 256, 256], vec![3, 32, 16]] {
        let c = GanConfig {
            data_shape: shape,
            ..GanConfig::dcgan_mnist()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "data_shape",
                ..
            })
        ));
    }
}

#[test]
fn hidden_width_cannot_be_zero() {
    let c = GanConfig {
        discriminator: Architecture::Mlp {
            hidden: vec![8, 0],
            activation: Activation::Relu,
        },
        ..GanConfig::mlp_2d()
    };
    assert!(matches!(
        c.validate(),
        Err(Error::Config {
            field: "discriminator.hidden",
            ..
        })
    ));
}

#[test]
fn orthogonal_init_gives_scaled_orthogonal_weights_and_zero_biases() {
    let dev = Device::Cpu;
    let cfg = GanConfig {
        latent_dim: 3,
        discriminator: Architecture::Mlp {
            hidden: vec![5, 4],
            activation: Activation::Tanh,
        },
        mlp_init: MlpInit::Orthogonal { gain: 1.4 },
        ..GanConfig::mlp_2d()
    };
    let d = Discriminator::new(&cfg, ParamStore::new(7).var_builder(&dev)).unwrap();
    let p = d.params().unwrap();
    // Layers 2 -> 5 (widens: orthonormal columns), 5 -> 4 and 4 -> 1 (narrow: rows).
    for (i, w) in p.iter().step_by(2).enumerate() {
        let (rows, cols) = w.dims2().unwrap();
        let gram = if rows <= cols {
            w.matmul(&w.t().unwrap()).unwrap()
        } else {
            w.t().unwrap().matmul(w).unwrap()
        };
        let g = gram.to_vec2::<f32>().unwrap();
        for (a, row) in g.iter().enumerate() {
            for (b, x) in row.iter().enumerate() {
                let want = if a == b { 1.96 } else { 0.0 };
                assert!((x - want).abs() < 1e-5, "layer {i}: gram[{a}][{b}] = {x}");
            }
        }
        let bias = p[2 * i + 1].to_vec1::<f32>().unwrap();
        assert!(bias.iter().all(|b| *b == 0.0));
    }
    // Seeded: the same store seed gives the same weights, another seed others.
    let again = Discriminator::new(&cfg, ParamStore::new(7).var_builder(&dev)).unwrap();
    let other = Discriminator::new(&cfg, ParamStore::new(8).var_builder(&dev)).unwrap();
    let flat = |d: &Discriminator| {
        d.params().unwrap()[2]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(flat(&d), flat(&again));
    assert_ne!(flat(&d), flat(&other));
    // An f64 store (the finite-difference tests' precision) gets the same weights.
    let vb64 = VarBuilder::from_backend(
        Box::new(ParamStore::new(7)),
        candle_core::DType::F64,
        dev.clone(),
    );
    let d64 = Discriminator::new(&cfg, vb64).unwrap();
    let w64 = d64.params().unwrap()[2]
        .flatten_all()
        .unwrap()
        .to_dtype(candle_core::DType::F32)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(w64, flat(&d));
}
