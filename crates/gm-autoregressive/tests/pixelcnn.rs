//! PixelCNN end to end: masks A and B make the logit of pixel i independent of pixels i and
//! after in raster order (Jacobian and perturbation) while it sees its left and upper
//! neighbours, probabilities sum to 1 over all 2^8 images of 2x4, band sampling equals
//! sampling on the whole image, sampling is reproducible and matches the model's
//! probabilities (chi-square), and a saved model reloads.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{all_binary, chi_square, chi_square_threshold, histogram};
use gm_autoregressive::{load_model, save_model, ExactLikelihood, PixelCnn, PixelCnnConfig};
use gm_core::{Generator, GmRng, ParamStore};

fn pixelcnn(cfg: PixelCnnConfig, seed: u64) -> PixelCnn {
    cfg.init(&ParamStore::new(seed), &Device::Cpu).unwrap()
}

/// 5x5 images, 5x5 type-A kernel, two blocks with 3x3 type-B kernels.
fn small_cfg() -> PixelCnnConfig {
    PixelCnnConfig {
        height: 5,
        width: 5,
        channels: 8,
        residual_blocks: 2,
        first_kernel: 5,
        kernel: 3,
    }
}

#[test]
fn jacobian_of_pixel_i_vanishes_on_pixels_i_and_after() {
    let dev = Device::Cpu;
    let m = pixelcnn(small_cfg(), 1);
    let (h, w) = (5, 5);
    let d = h * w;
    let mut rng = GmRng::new(2);
    let mut nonzero = vec![vec![false; d]; d];
    for _ in 0..4 {
        let x = Var::from_tensor(&rng.normal((1, 1, h, w), 0.0, 3.0, &dev).unwrap()).unwrap();
        let logits = m.logits(x.as_tensor()).unwrap().flatten_all().unwrap();
        for (i, seen) in nonzero.iter_mut().enumerate() {
            let grads = logits
                .narrow(0, i, 1)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let row = match grads.get(x.as_tensor()) {
                Some(t) => t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                None => vec![0.0; d],
            };
            for (j, v) in row.iter().enumerate() {
                if j >= i {
                    assert_eq!(*v, 0.0, "d logit_{i} / d x_{j} = {v}");
                }
                seen[j] |= *v != 0.0;
            }
        }
    }
    assert!(
        nonzero[0].iter().all(|&b| !b),
        "the first pixel sees nothing"
    );
    for i in 1..d {
        let (r, c) = (i / w, i % w);
        // The type-A kernel itself covers the left neighbour and the pixel above.
        if c > 0 {
            assert!(
                nonzero[i][i - 1],
                "pixel {i} does not see its left neighbour"
            );
        }
        if r > 0 {
            assert!(nonzero[i][i - w], "pixel {i} does not see the pixel above");
        }
    }
}

#[test]
fn changing_pixels_i_and_after_leaves_logit_i_unchanged() {
    let dev = Device::Cpu;
    let m = pixelcnn(small_cfg(), 3);
    let d = 25;
    let mut rng = GmRng::new(4);
    let x = rng.uniform_vec(d, 0.0, 1.0);
    let logits = |v: &[f32]| {
        m.logits(&Tensor::from_slice(v, (1, 1, 5, 5), &dev).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let base = logits(&x);
    for (i, &want) in base.iter().enumerate() {
        let noise = rng.uniform_vec(d, -3.0, 3.0);
        let y: Vec<f32> = (0..d)
            .map(|j| if j >= i { noise[j] } else { x[j] })
            .collect();
        assert_eq!(logits(&y)[i], want, "pixel {i}");
    }
}

/// 2x4 images: D = 8.
fn tiny_cfg() -> PixelCnnConfig {
    PixelCnnConfig {
        height: 2,
        width: 4,
        channels: 8,
        residual_blocks: 1,
        first_kernel: 3,
        kernel: 3,
    }
}

/// The 2^8 images of 2x4 pixels, row r of `all_binary` (bit j = pixel j in raster order).
fn all_images(dev: &Device) -> Tensor {
    all_binary(8, dev).reshape((256, 1, 2, 4)).unwrap()
}

#[test]
fn probabilities_sum_to_one_over_all_binary_images() {
    let dev = Device::Cpu;
    for seed in [5, 6] {
        let m = pixelcnn(tiny_cfg(), seed);
        let s = m
            .log_prob(&all_images(&dev))
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .exp()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!((s - 1.0).abs() < 1e-5, "seed {seed}: {s}");
    }
}

/// Sequential sampling the plain way: the whole image through the network for every pixel.
fn sample_on_whole_images(m: &PixelCnn, u: &[f32], n: usize) -> Vec<f32> {
    let (h, w) = (m.config().height, m.config().width);
    let d = h * w;
    let mut x = vec![0f32; n * d];
    for i in 0..d {
        let t = Tensor::from_slice(&x, (n, 1, h, w), m.device()).unwrap();
        let l = m
            .logits(&t)
            .unwrap()
            .reshape((n, d))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for b in 0..n {
            let p = 1.0 / (1.0 + (-(l[b][i] as f64)).exp());
            x[b * d + i] = if (u[b * d + i] as f64) < p { 1.0 } else { 0.0 };
        }
    }
    x
}

#[test]
fn band_sampling_equals_sampling_on_whole_images() {
    // Two rows of context on 7 rows: the bands are strictly smaller than the image.
    let cfg = PixelCnnConfig {
        height: 7,
        width: 5,
        residual_blocks: 1,
        first_kernel: 3,
        ..small_cfg()
    };
    assert_eq!(cfg.receptive_rows(), 2);
    let m = pixelcnn(cfg, 7);
    let n = 6;
    let u = GmRng::new(8).uniform_vec(n * 35, 0.0, 1.0);
    let banded = m.sample_from_uniforms(&u, n).unwrap();
    assert_eq!(banded, sample_on_whole_images(&m, &u, n));
    assert!(banded.contains(&1.0) && banded.contains(&0.0));
}

#[test]
fn sampling_is_reproducible_and_matches_the_model_probabilities() {
    let dev = Device::Cpu;
    let m = pixelcnn(tiny_cfg(), 9);
    assert_eq!((m.latent_dim(), m.output_shape()), (8, vec![1, 2, 4]));
    let n = 20_000;
    let a = m.sample(n, &mut GmRng::new(10)).unwrap();
    let b = m.sample(n, &mut GmRng::new(10)).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&a), flat(&b));
    assert_ne!(
        flat(&a.narrow(0, 0, 16).unwrap()),
        flat(&m.sample(16, &mut GmRng::new(11)).unwrap())
    );
    // The Generator's path is the same draw: uniforms from the prior, then generate.
    let z = m.sample_latent(n, &mut GmRng::new(10), &dev).unwrap();
    assert_eq!(flat(&m.generate(&z).unwrap()), flat(&a));
    let probs: Vec<f64> = m
        .log_prob(&all_images(&dev))
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&l| (l as f64).exp())
        .collect();
    let counts = histogram(&a, 8);
    let (stat, df) = chi_square(&counts, &probs);
    let threshold = chi_square_threshold(df);
    assert!(
        stat < threshold,
        "chi-square {stat:.1} >= {threshold:.1} (df {df})"
    );
    // The test has power: another model's probabilities, or the uniform ones, are rejected.
    let other: Vec<f64> = pixelcnn(tiny_cfg(), 12)
        .log_prob(&all_images(&dev))
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&l| (l as f64).exp())
        .collect();
    for (name, wrong) in [("other model", other), ("uniform", vec![1.0 / 256.0; 256])] {
        let (stat, df) = chi_square(&counts, &wrong);
        assert!(
            stat > chi_square_threshold(df),
            "{name}: {stat:.1} (df {df})"
        );
    }
}

#[test]
fn a_saved_pixelcnn_reloads_with_the_same_likelihood_and_samples() {
    let dev = Device::Cpu;
    let m = pixelcnn(tiny_cfg(), 13);
    let dir = tempfile::tempdir().unwrap();
    save_model(&m, dir.path()).unwrap();
    let back: PixelCnn = load_model(dir.path(), &dev).unwrap();
    assert_eq!(back.config(), m.config());
    let x = all_images(&dev);
    assert_eq!(
        back.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
        m.log_prob(&x).unwrap().to_vec1::<f32>().unwrap()
    );
    let z = m.sample_latent(5, &mut GmRng::new(14), &dev).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(
        flat(&back.generate(&z).unwrap()),
        flat(&m.generate(&z).unwrap())
    );
    // A file without one of the weights is refused by name.
    let mut w = back.weights();
    w.remove("blocks.0.masked.weight");
    let e = <PixelCnn as gm_core::model::SavedModel>::from_parts(
        &serde_json::to_value(m.config()).unwrap(),
        w,
        &dev,
    )
    .unwrap_err();
    assert!(e.to_string().contains("blocks.0.masked.weight"), "{e}");
}
