//! Unit tests of gm-eval's `inception`.

use super::architecture::{conv, K1X7, K7X1};
use super::layers::{avg_pool_3x3_same, max_pool_3x3_same};
use super::*;
use crate::{evaluate_images, metrics_table, EvalConfig, FeatureSpace};
use candle_core::DType;
use gm_core::GmRng;

/// `(name, [c_out, c_in, kh, kw])` of each BasicConv2d of torchvision's `Inception3`
/// (no auxiliary head), written out from its `__init__` independently of the tables
/// above, with every width divided by `div` (rounded up); and the feature width.
fn torchvision_layout(div: usize) -> (Vec<(String, [usize; 4])>, usize) {
    let d = |c: usize| c.div_ceil(div);
    let mut v: Vec<(String, [usize; 4])> = Vec::new();
    let mut add = |name: String, ci: usize, co: usize, k: (usize, usize)| {
        v.push((name, [co, ci, k.0, k.1]));
    };
    add("Conv2d_1a_3x3".into(), 3, d(32), (3, 3));
    add("Conv2d_2a_3x3".into(), d(32), d(32), (3, 3));
    add("Conv2d_2b_3x3".into(), d(32), d(64), (3, 3));
    add("Conv2d_3b_1x1".into(), d(64), d(80), (1, 1));
    add("Conv2d_4a_3x3".into(), d(80), d(192), (3, 3));
    let mut c = d(192);
    for (m, pool) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
        let b = |s: &str| format!("{m}.{s}");
        add(b("branch1x1"), c, d(64), (1, 1));
        add(b("branch5x5_1"), c, d(48), (1, 1));
        add(b("branch5x5_2"), d(48), d(64), (5, 5));
        add(b("branch3x3dbl_1"), c, d(64), (1, 1));
        add(b("branch3x3dbl_2"), d(64), d(96), (3, 3));
        add(b("branch3x3dbl_3"), d(96), d(96), (3, 3));
        add(b("branch_pool"), c, d(pool), (1, 1));
        c = d(64) + d(64) + d(96) + d(pool);
    }
    add("Mixed_6a.branch3x3".into(), c, d(384), (3, 3));
    add("Mixed_6a.branch3x3dbl_1".into(), c, d(64), (1, 1));
    add("Mixed_6a.branch3x3dbl_2".into(), d(64), d(96), (3, 3));
    add("Mixed_6a.branch3x3dbl_3".into(), d(96), d(96), (3, 3));
    c += d(384) + d(96);
    for (m, c7) in [
        ("Mixed_6b", 128),
        ("Mixed_6c", 160),
        ("Mixed_6d", 160),
        ("Mixed_6e", 192),
    ] {
        let b = |s: &str| format!("{m}.{s}");
        let c7 = d(c7);
        add(b("branch1x1"), c, d(192), (1, 1));
        add(b("branch7x7_1"), c, c7, (1, 1));
        add(b("branch7x7_2"), c7, c7, (1, 7));
        add(b("branch7x7_3"), c7, d(192), (7, 1));
        add(b("branch7x7dbl_1"), c, c7, (1, 1));
        add(b("branch7x7dbl_2"), c7, c7, (7, 1));
        add(b("branch7x7dbl_3"), c7, c7, (1, 7));
        add(b("branch7x7dbl_4"), c7, c7, (7, 1));
        add(b("branch7x7dbl_5"), c7, d(192), (1, 7));
        add(b("branch_pool"), c, d(192), (1, 1));
        c = 4 * d(192);
    }
    add("Mixed_7a.branch3x3_1".into(), c, d(192), (1, 1));
    add("Mixed_7a.branch3x3_2".into(), d(192), d(320), (3, 3));
    add("Mixed_7a.branch7x7x3_1".into(), c, d(192), (1, 1));
    add("Mixed_7a.branch7x7x3_2".into(), d(192), d(192), (1, 7));
    add("Mixed_7a.branch7x7x3_3".into(), d(192), d(192), (7, 1));
    add("Mixed_7a.branch7x7x3_4".into(), d(192), d(192), (3, 3));
    c += d(320) + d(192);
    for m in ["Mixed_7b", "Mixed_7c"] {
        let b = |s: &str| format!("{m}.{s}");
        add(b("branch1x1"), c, d(320), (1, 1));
        add(b("branch3x3_1"), c, d(384), (1, 1));
        add(b("branch3x3_2a"), d(384), d(384), (1, 3));
        add(b("branch3x3_2b"), d(384), d(384), (3, 1));
        add(b("branch3x3dbl_1"), c, d(448), (1, 1));
        add(b("branch3x3dbl_2"), d(448), d(384), (3, 3));
        add(b("branch3x3dbl_3a"), d(384), d(384), (1, 3));
        add(b("branch3x3dbl_3b"), d(384), d(384), (3, 1));
        add(b("branch_pool"), c, d(192), (1, 1));
        c = d(320) + 4 * d(384) + d(192);
    }
    (v, c)
}

/// Random weights for `layout`: He-normal convolutions, BatchNorm scales and variances
/// in [0.5, 1.5), shifts and means N(0, 0.1^2).
fn random_tensors(layout: &[(String, [usize; 4])], seed: u64) -> BTreeMap<String, Tensor> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let mut t = BTreeMap::new();
    for (name, shape) in layout {
        let fan_in = (shape[1] * shape[2] * shape[3]) as f64;
        let co = shape[0];
        let mut put = |p: &str, v: Tensor| t.insert(format!("{name}.{p}"), v);
        put(
            "conv.weight",
            rng.normal(shape.to_vec(), 0.0, (2.0 / fan_in).sqrt(), &dev)
                .unwrap(),
        );
        put("bn.weight", rng.uniform(co, 0.5, 1.5, &dev).unwrap());
        put("bn.bias", rng.normal(co, 0.0, 0.1, &dev).unwrap());
        put("bn.running_mean", rng.normal(co, 0.0, 0.1, &dev).unwrap());
        put("bn.running_var", rng.uniform(co, 0.5, 1.5, &dev).unwrap());
    }
    t
}

const TINY_DIV: usize = 16;

/// The tiny network's tensors with the leftovers of real files: the 1008-class head of
/// pytorch-fid's file, an auxiliary-head tensor and a BatchNorm counter of torchvision's.
fn tiny_tensors() -> (BTreeMap<String, Tensor>, usize) {
    let (layout, dim) = torchvision_layout(TINY_DIV);
    let mut t = random_tensors(&layout, 7);
    let dev = Device::Cpu;
    t.insert(
        "fc.weight".into(),
        Tensor::zeros((63, dim), DType::F32, &dev).unwrap(),
    );
    t.insert(
        "fc.bias".into(),
        Tensor::zeros(63, DType::F32, &dev).unwrap(),
    );
    t.insert(
        "AuxLogits.conv0.conv.weight".into(),
        Tensor::zeros((8, 48, 1, 1), DType::F32, &dev).unwrap(),
    );
    t.insert(
        "Conv2d_1a_3x3.bn.num_batches_tracked".into(),
        Tensor::new(5i64, &dev).unwrap(),
    );
    (t, dim)
}

fn save(dir: &Path, tensors: &BTreeMap<String, Tensor>) -> std::path::PathBuf {
    let p = dir.join("tiny_inception.safetensors");
    gm_core::io::save_safetensors(&p, tensors, &BTreeMap::new()).unwrap();
    p
}

fn cfg(input_size: usize, batch_size: usize) -> InceptionConfig {
    InceptionConfig {
        input_size,
        batch_size,
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn tiny_file_gives_the_pooled_last_block_of_the_width_it_implies() {
    let dir = tempfile::tempdir().unwrap();
    let (tensors, dim) = tiny_tensors();
    // d(320) + 4 d(384) + d(192) with d(c) = ceil(c / 16).
    assert_eq!(dim, 20 + 4 * 24 + 12);
    let path = save(dir.path(), &tensors);
    // 107 pixels: the smallest input whose Mixed_7c map is 2x2, so the pooling averages.
    let net = InceptionV3::load(&path, cfg(107, 3), &Device::Cpu).unwrap();
    assert_eq!(net.dim(), dim);
    assert_eq!(
        net.name(),
        format!("inception-v3-fid(tiny_inception.safetensors, {dim}-d pool3, 107x107 input)")
    );
    let images = GmRng::new(1)
        .uniform((5, 3, 20, 24), 0.0, 1.0, &Device::Cpu)
        .unwrap();
    let f = net.features(&images).unwrap();
    assert_eq!(f.dims(), [5, dim]);
    let last = net.last_block(&net.preprocess(&images).unwrap()).unwrap();
    assert_eq!(last.dims(), [5, dim, 2, 2]);
    let pooled = last.mean_keepdim(3).unwrap().mean_keepdim(2).unwrap();
    let pooled = pooled.reshape((5, dim)).unwrap();
    assert!(max_abs_diff(&f, &pooled) < 1e-5);
    // Post-ReLU features, not all zero.
    let v = f.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
    assert!(v.iter().filter(|x| **x > 0.0).count() > v.len() / 4);
    // Batches of 3 (2 forward passes) give the features of one pass of 5.
    let whole = InceptionV3::from_tensors(&tensors, cfg(107, 5), "t").unwrap();
    assert!(max_abs_diff(&f, &whole.features(&images).unwrap()) < 1e-4);
}

#[test]
fn full_size_layout_gives_2048_features() {
    let (layout, dim) = torchvision_layout(1);
    assert_eq!(dim, 2048);
    let net = InceptionV3::from_tensors(&random_tensors(&layout, 3), cfg(75, 32), "full").unwrap();
    assert_eq!(net.dim(), 2048);
    let images = GmRng::new(2)
        .uniform((2, 1, 28, 28), 0.0, 1.0, &Device::Cpu)
        .unwrap();
    let f = net.features(&images).unwrap();
    assert_eq!(f.dims(), [2, 2048]);
    let v = f.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
}

/// `relu(gamma (conv(x) - mean) / sqrt(var + 0.001) + beta)` by loops in f64, for one
/// image `(c_in, h, w)` and zero padding.
#[allow(clippy::too_many_arguments)]
fn direct_basic_conv(
    x: &[f32],
    (c_in, h, w): (usize, usize, usize),
    weight: &[f32],
    (c_out, kh, kw): (usize, usize, usize),
    bn: [&[f32]; 4],
    stride: usize,
    (ph, pw): (usize, usize),
) -> Vec<f64> {
    let ho = (h + 2 * ph - kh) / stride + 1;
    let wo = (w + 2 * pw - kw) / stride + 1;
    let mut out = Vec::new();
    for o in 0..c_out {
        for i in 0..ho {
            for j in 0..wo {
                let mut s = 0f64;
                for c in 0..c_in {
                    for a in 0..kh {
                        for b in 0..kw {
                            let (r, q) = (
                                (i * stride + a) as isize - ph as isize,
                                (j * stride + b) as isize - pw as isize,
                            );
                            if r < 0 || q < 0 || r >= h as isize || q >= w as isize {
                                continue;
                            }
                            let xv = x[(c * h + r as usize) * w + q as usize] as f64;
                            let wv = weight[((o * c_in + c) * kh + a) * kw + b] as f64;
                            s += xv * wv;
                        }
                    }
                }
                let [g, beta, m, v] = bn.map(|t| t[o] as f64);
                out.push((g * (s - m) / (v + 1e-3).sqrt() + beta).max(0.0));
            }
        }
    }
    out
}

#[test]
fn basic_conv2d_is_conv_batchnorm_relu() {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(11);
    for (spec, c_in, c_out, (h, w)) in [
        (conv(3, 3, 2, 0, 0), 3, 4, (7, 6)),
        (K1X7, 2, 3, (3, 5)),
        (K7X1, 2, 2, (5, 2)),
    ] {
        let (kh, kw) = spec.kernel;
        let mut t = BTreeMap::new();
        let weight = rng.normal((c_out, c_in, kh, kw), 0.0, 1.0, &dev).unwrap();
        t.insert("L.conv.weight".to_string(), weight.clone());
        let bn = [
            rng.uniform(c_out, 0.5, 1.5, &dev).unwrap(),
            rng.normal(c_out, 0.0, 1.0, &dev).unwrap(),
            rng.normal(c_out, 0.0, 1.0, &dev).unwrap(),
            rng.uniform(c_out, 0.5, 1.5, &dev).unwrap(),
        ];
        for (p, v) in ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .zip(&bn)
        {
            t.insert(format!("L.bn.{p}"), v.clone());
        }
        let mut weights = Weights {
            tensors: &t,
            taken: BTreeSet::new(),
        };
        let layer = basic_conv2d(&mut weights, "L", c_in, spec).unwrap();
        assert!(weights.unused().is_empty());
        let x = rng.normal((1, c_in, h, w), 0.0, 1.0, &dev).unwrap();
        let got = layer
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let bnv: Vec<Vec<f32>> = bn.iter().map(v).collect();
        let want = direct_basic_conv(
            &v(&x),
            (c_in, h, w),
            &v(&weight),
            (c_out, kh, kw),
            [&bnv[0], &bnv[1], &bnv[2], &bnv[3]],
            spec.stride,
            spec.padding,
        );
        assert_eq!(got.len(), want.len(), "{spec:?}");
        // Some outputs clipped by the ReLU, some not: both halves are checked.
        assert!(want.contains(&0.0) && want.iter().any(|y| *y > 0.0));
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}

#[test]
fn mixed_blocks_follow_pytorch_fids_forward() {
    let (tensors, _) = tiny_tensors();
    let net = InceptionV3::from_tensors(&tensors, cfg(75, 8), "t").unwrap();
    let (layout, _) = torchvision_layout(TINY_DIV);
    // One BasicConv2d by name: "same" padding, or stride 2 and no padding.
    let f = |name: &str, stride: usize, x: &Tensor| -> Tensor {
        let [_, c_in, kh, kw] = layout.iter().find(|(n, _)| n == name).unwrap().1;
        let spec = match stride {
            1 => conv(kh, kw, 1, kh / 2, kw / 2),
            _ => conv(kh, kw, 2, 0, 0),
        };
        let mut w = Weights {
            tensors: &tensors,
            taken: BTreeSet::new(),
        };
        basic_conv2d(&mut w, name, c_in, spec)
            .unwrap()
            .forward(x)
            .unwrap()
    };
    let cat = |parts: &[Tensor]| Tensor::cat(parts, 1).unwrap();
    let mut rng = GmRng::new(3);
    let mut input = |first: &str, side: usize| {
        let c_in = layout.iter().find(|(n, _)| n == first).unwrap().1[1];
        rng.uniform((2, c_in, side, side), 0.0, 1.0, &Device::Cpu)
            .unwrap()
    };
    // The forward methods of pytorch-fid's FIDInceptionA/C/E_1/E_2 and torchvision's
    // InceptionB/D, line by line.
    let a = |m: &str, x: &Tensor| {
        let b = |s: &str| format!("{m}.{s}");
        cat(&[
            f(&b("branch1x1"), 1, x),
            f(&b("branch5x5_2"), 1, &f(&b("branch5x5_1"), 1, x)),
            f(
                &b("branch3x3dbl_3"),
                1,
                &f(&b("branch3x3dbl_2"), 1, &f(&b("branch3x3dbl_1"), 1, x)),
            ),
            f(&b("branch_pool"), 1, &avg_pool_3x3_same(x).unwrap()),
        ])
    };
    let x = input("Mixed_5b.branch1x1", 5);
    assert!(max_abs_diff(&net.mixed[0].forward(&x).unwrap(), &a("Mixed_5b", &x)) < 1e-5);

    let x = input("Mixed_6a.branch3x3", 7);
    let want = cat(&[
        f("Mixed_6a.branch3x3", 2, &x),
        f(
            "Mixed_6a.branch3x3dbl_3",
            2,
            &f(
                "Mixed_6a.branch3x3dbl_2",
                1,
                &f("Mixed_6a.branch3x3dbl_1", 1, &x),
            ),
        ),
        x.max_pool2d_with_stride(3, 2).unwrap(),
    ]);
    assert!(max_abs_diff(&net.mixed[3].forward(&x).unwrap(), &want) < 1e-5);

    let x = input("Mixed_6b.branch1x1", 5);
    let b = |s: &str| format!("Mixed_6b.{s}");
    let mut dbl = x.clone();
    for i in 1..=5 {
        dbl = f(&b(&format!("branch7x7dbl_{i}")), 1, &dbl);
    }
    let want = cat(&[
        f(&b("branch1x1"), 1, &x),
        f(
            &b("branch7x7_3"),
            1,
            &f(&b("branch7x7_2"), 1, &f(&b("branch7x7_1"), 1, &x)),
        ),
        dbl,
        f(&b("branch_pool"), 1, &avg_pool_3x3_same(&x).unwrap()),
    ]);
    assert!(max_abs_diff(&net.mixed[4].forward(&x).unwrap(), &want) < 1e-5);

    let x = input("Mixed_7a.branch3x3_1", 7);
    let b = |s: &str| format!("Mixed_7a.{s}");
    let mut b7 = x.clone();
    for i in 1..=3 {
        b7 = f(&b(&format!("branch7x7x3_{i}")), 1, &b7);
    }
    let want = cat(&[
        f(&b("branch3x3_2"), 2, &f(&b("branch3x3_1"), 1, &x)),
        f(&b("branch7x7x3_4"), 2, &b7),
        x.max_pool2d_with_stride(3, 2).unwrap(),
    ]);
    assert!(max_abs_diff(&net.mixed[8].forward(&x).unwrap(), &want) < 1e-5);

    let e = |m: &str, x: &Tensor, pooled: Tensor| {
        let b = |s: &str| format!("{m}.{s}");
        let t = f(&b("branch3x3_1"), 1, x);
        let u = f(&b("branch3x3dbl_2"), 1, &f(&b("branch3x3dbl_1"), 1, x));
        cat(&[
            f(&b("branch1x1"), 1, x),
            cat(&[f(&b("branch3x3_2a"), 1, &t), f(&b("branch3x3_2b"), 1, &t)]),
            cat(&[
                f(&b("branch3x3dbl_3a"), 1, &u),
                f(&b("branch3x3dbl_3b"), 1, &u),
            ]),
            f(&b("branch_pool"), 1, &pooled),
        ])
    };
    let x = input("Mixed_7b.branch1x1", 4);
    let want = e("Mixed_7b", &x, avg_pool_3x3_same(&x).unwrap());
    assert!(max_abs_diff(&net.mixed[9].forward(&x).unwrap(), &want) < 1e-5);
    let x = input("Mixed_7c.branch1x1", 4);
    let want = e("Mixed_7c", &x, max_pool_3x3_same(&x).unwrap());
    assert!(max_abs_diff(&net.mixed[10].forward(&x).unwrap(), &want) < 1e-5);
}

#[test]
fn same_pools_at_the_border() {
    let dev = Device::Cpu;
    let x = Tensor::arange(1f32, 10.0, &dev)
        .unwrap()
        .reshape((1, 1, 3, 3))
        .unwrap();
    // torch.nn.functional.avg_pool2d(torch.arange(1., 10.).view(1, 1, 3, 3), 3, 1, 1,
    //     count_include_pad=False): the corner averages 1, 2, 4, 5 (3, not 12 / 9).
    let avg = avg_pool_3x3_same(&x).unwrap().flatten_all().unwrap();
    let want = [3.0f32, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0];
    for (g, w) in avg.to_vec1::<f32>().unwrap().iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
    // max_pool2d(-x, 3, 1, 1): the padding is never the maximum, even of negative values.
    let max = max_pool_3x3_same(&x.neg().unwrap())
        .unwrap()
        .flatten_all()
        .unwrap();
    let want = [-1.0f32, -1.0, -2.0, -1.0, -1.0, -2.0, -4.0, -4.0, -5.0];
    assert_eq!(max.to_vec1::<f32>().unwrap(), want);
}

#[test]
fn preprocessing_is_pytorch_fids() {
    let (tensors, _) = tiny_tensors();
    let net = InceptionV3::from_tensors(&tensors, cfg(75, 32), "t").unwrap();
    // A grey 2x2 image [[0, 1], [2, 3]] / 3, resized to 75 with align_corners=False:
    // output pixel j samples source (j + 0.5) 2 / 75 - 0.5, clamped at 0; pixel 37 falls
    // half-way, pixel 0 and 74 on the corners.
    let x = (Tensor::new(&[[0f32, 1.0], [2.0, 3.0]], &Device::Cpu).unwrap() / 3.0)
        .unwrap()
        .reshape((1, 2, 2))
        .unwrap();
    let y = net.preprocess(&x).unwrap();
    assert_eq!(y.dims(), [1, 3, 75, 75]);
    let at = |c: usize, i: usize, j: usize| {
        y.get(0)
            .unwrap()
            .get(c)
            .unwrap()
            .get(i)
            .unwrap()
            .get(j)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    for c in 0..3 {
        for (i, j, want) in [
            (0, 0, -1.0),
            (74, 74, 1.0),
            (37, 37, 0.0),
            (0, 37, 2.0 * (0.5 / 3.0) - 1.0),
            (0, 74, 2.0 / 3.0 - 1.0),
        ] {
            assert!(
                (at(c, i, j) - want).abs() < 1e-5,
                "{c} {i} {j}: {}",
                at(c, i, j)
            );
        }
    }
    // MNIST rows are read as 1x28x28; other channel counts are refused.
    let digits = Tensor::zeros((2, 784), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(net.preprocess(&digits).unwrap().dims(), [2, 3, 75, 75]);
    let four = Tensor::zeros((1, 4, 8, 8), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(net.preprocess(&four), Err(Error::Shape { .. })));
}

#[test]
fn bad_files_name_the_tensor_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let (good, _) = tiny_tensors();
    let load_err = |t: &BTreeMap<String, Tensor>| {
        let p = save(dir.path(), t);
        InceptionV3::load(&p, cfg(75, 8), &dev)
            .unwrap_err()
            .to_string()
    };

    let missing = "Mixed_6b.branch7x7_2.conv.weight";
    let mut t = good.clone();
    t.remove(missing);
    let e = load_err(&t);
    assert!(
        e.contains("tiny_inception.safetensors") && e.contains(missing),
        "{e}"
    );

    // branch5x5_2 is a 5x5 conv from ceil(48 / 16) = 3 channels.
    let name = "Mixed_5b.branch5x5_2.conv.weight";
    let mut t = good.clone();
    t.insert(
        name.into(),
        Tensor::zeros((4, 3, 3, 3), DType::F32, &dev).unwrap(),
    );
    let e = load_err(&t);
    assert!(
        e.contains("tiny_inception.safetensors")
            && e.contains(name)
            && e.contains("expected shape (c_out, 3, 5, 5)")
            && e.contains("[4, 3, 3, 3]"),
        "{e}"
    );

    let unknown = "Mixed_8a.branch1x1.conv.weight";
    let mut t = good.clone();
    t.insert(unknown.into(), Tensor::ones(4, DType::F32, &dev).unwrap());
    let e = load_err(&t);
    assert!(e.contains(unknown) && e.contains("tiny_inception"), "{e}");

    let var = "Mixed_5b.branch1x1.bn.running_var";
    let mut t = good.clone();
    t.insert(var.into(), Tensor::full(-1f32, 4, &dev).unwrap());
    let e = load_err(&t);
    assert!(e.contains(var) && e.contains("tiny_inception"), "{e}");

    let prefixed: BTreeMap<String, Tensor> = good
        .iter()
        .map(|(k, v)| (format!("module.{k}"), v.clone()))
        .collect();
    let e = load_err(&prefixed);
    assert!(
        e.contains("`Conv2d_1a_3x3.conv.weight` is missing")
            && e.contains("module.Conv2d_1a_3x3.conv.weight"),
        "{e}"
    );

    let absent = dir.path().join("none.safetensors");
    let e = InceptionV3::load(&absent, cfg(75, 8), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.safetensors"), "{e}");

    for (bad, field) in [
        (cfg(74, 8), "inception_input_size"),
        (cfg(299, 0), "inception_batch_size"),
    ] {
        match InceptionV3::from_tensors(&good, bad, "t").unwrap_err() {
            Error::Config { field: f, .. } => assert_eq!(f, field),
            e => panic!("unexpected error {e}"),
        }
    }
}

#[test]
fn evaluate_images_reports_fid_in_the_inception_space() {
    let dir = tempfile::tempdir().unwrap();
    let (tensors, dim) = tiny_tensors();
    let path = save(dir.path(), &tensors);
    let cfg = EvalConfig {
        features: FeatureSpace::Inception,
        feature_network: Some(path),
        inception_input_size: 75,
        batch_size: 8,
        kid_subsets: 2,
        kid_subset_size: 12,
        max_neighbour_points: 12,
        sliced_projections: 16,
        parzen: false,
        ..EvalConfig::default()
    };
    let mut rng = GmRng::new(5);
    let samples = rng
        .uniform((12, 3, 16, 16), 0.0, 1.0, &Device::Cpu)
        .unwrap();
    let reference = rng
        .uniform((14, 3, 16, 16), 0.0, 1.0, &Device::Cpu)
        .unwrap();
    let r = evaluate_images(&samples, &reference, &cfg).unwrap();
    let m = r.any_data.clone().unwrap();
    let name = format!("inception-v3-fid(tiny_inception.safetensors, {dim}-d pool3, 75x75 input)");
    assert_eq!(m.features, name);
    assert_eq!((m.feature_dim, m.n_samples, m.n_reference), (dim, 12, 14));
    assert!(m.frechet_distance.is_finite() && m.frechet_distance > 0.0);
    let table: BTreeMap<String, String> = metrics_table(&r).into_iter().collect();
    assert_eq!(table["eval: feature space"], name);
    assert!(table["eval: FD (vs reference)"].ends_with(" (FID)"));
    // A set against itself: FD zero up to the square root's rounding.
    let same = evaluate_images(&samples, &samples, &cfg).unwrap();
    let fd = same.any_data.unwrap().frechet_distance;
    assert!(
        fd.abs() < 1e-3 * m.frechet_distance,
        "{fd} vs {}",
        m.frechet_distance
    );
}
