//! The metrics for data the MNIST classifier does not fit: closed forms of each metric in a
//! feature space, the seeded random network, a user's network read from a safetensors file,
//! and the entry point on colour images.

use std::collections::BTreeMap;

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use gm_core::data::mnist_embedded;
use gm_core::GmRng;
use gm_eval::{
    compare_features, evaluate_images, evaluate_samples, extract_features, gaussian_mmd2_unbiased,
    load_images, metrics_table, random_directions, read_eval, sliced_wasserstein,
    sliced_wasserstein_with, write_eval, ConvFeatureNet, EvalConfig, EvalReport, FeatureExtractor,
    FeatureSpace, RandomConvConfig,
};

/// Small, fast settings for sets of a few hundred points.
fn small(n: usize) -> EvalConfig {
    EvalConfig {
        batch_size: 64,
        kid_subsets: 4,
        kid_subset_size: n.min(100),
        max_neighbour_points: n,
        sliced_projections: 64,
        random_conv_dim: 64,
        parzen: false,
        ..EvalConfig::default()
    }
}

/// Lower Cholesky factor of a 2x2 SPD matrix `[a, b; b, c]`.
fn chol2(s: [f64; 4]) -> [f64; 4] {
    let l00 = s[0].sqrt();
    let l10 = s[1] / l00;
    [l00, 0.0, l10, (s[3] - l10 * l10).sqrt()]
}

/// `n` points in 2-D whose sample mean is exactly `m` and unbiased sample covariance exactly
/// `s`: standard normal draws, centred and whitened by their own covariance's Cholesky
/// factor, then coloured by `s`'s.
fn exact_gaussian_set(n: usize, m: [f64; 2], s: [f64; 4], seed: u64) -> Result<Tensor> {
    let z: Vec<f64> = GmRng::new(seed)
        .normal_vec(2 * n)
        .into_iter()
        .map(f64::from)
        .collect();
    let mean = [
        (0..n).map(|i| z[2 * i]).sum::<f64>() / n as f64,
        (0..n).map(|i| z[2 * i + 1]).sum::<f64>() / n as f64,
    ];
    let zc: Vec<[f64; 2]> = (0..n)
        .map(|i| [z[2 * i] - mean[0], z[2 * i + 1] - mean[1]])
        .collect();
    let mut c = [0.0; 4];
    for p in &zc {
        c[0] += p[0] * p[0];
        c[1] += p[0] * p[1];
        c[3] += p[1] * p[1];
    }
    c = c.map(|v| v / (n as f64 - 1.0));
    c[2] = c[1];
    let l = chol2(c);
    let t = chol2(s);
    let mut out = Vec::with_capacity(2 * n);
    for p in &zc {
        // w = L^{-1} p (forward substitution), then x = T w + m.
        let w0 = p[0] / l[0];
        let w1 = (p[1] - l[2] * w0) / l[3];
        out.push(t[0] * w0 + m[0]);
        out.push(t[2] * w0 + t[3] * w1 + m[1]);
    }
    Ok(Tensor::from_vec(out, (n, 2), &Device::Cpu)?)
}

#[test]
fn frechet_distance_of_known_gaussians_is_the_closed_form() -> Result<()> {
    // Sets with exactly the moments of N(m1, S1) and N(m2, S2); for 2x2 covariances
    // tr (S1 S2)^{1/2} = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
    let (m1, s1) = ([0.5, -1.0], [2.0, 0.6, 0.6, 1.0]);
    let (m2, s2) = ([1.5, 0.0], [0.7, -0.2, -0.2, 3.0]);
    let x = exact_gaussian_set(400, m1, s1, 1)?;
    let y = exact_gaussian_set(300, m2, s2, 2)?;
    let tr_prod = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
    let det = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2]);
    let dm = (m1[0] - m2[0]).powi(2) + (m1[1] - m2[1]).powi(2);
    let want = dm + s1[0] + s1[3] + s2[0] + s2[3] - 2.0 * (tr_prod + 2.0 * det.sqrt()).sqrt();
    let (m, _) = compare_features(&x, &y, &small(300), "identity", "exact set")?;
    assert!(
        (m.frechet_distance - want).abs() < 1e-9 * want,
        "{} vs {want}",
        m.frechet_distance
    );
    Ok(())
}

#[test]
fn identical_sets_and_two_samples_of_one_distribution() -> Result<()> {
    let dev = Device::Cpu;
    let (n, d) = (1000, 8);
    let x = GmRng::new(3).normal((n, d), 0.0, 1.0, &dev)?;
    let cfg = small(n);

    // A set against itself: FD 0, SW 0, precision = recall = 1, and every point's nearest
    // other point is its copy in the other set, so the 1-NN accuracy is exactly 0.
    let (same, _) = compare_features(&x, &x, &cfg, "identity", "itself")?;
    assert!(
        same.frechet_distance.abs() < 1e-8,
        "{}",
        same.frechet_distance
    );
    assert_eq!(same.sliced_wasserstein.distance, 0.0);
    assert_eq!(
        (
            same.precision_recall.precision,
            same.precision_recall.recall
        ),
        (1.0, 1.0)
    );
    assert_eq!(same.one_nn.accuracy, 0.0);

    // Two independent samples of N(0, I_d), n each. FD's expectation: the mean term
    // E||m1 - m2||^2 = 2 d / n, and to second order the covariance term is
    // ||S1 - S2||_F^2 / 4 with E||S1 - S2||_F^2 = 2 d (d + 1) / (n - 1). It is a sum of about
    // d (d + 3) / 2 = 44 squared near-Gaussian terms: relative std about sqrt(2 / 44) = 0.21,
    // so [E / 3, 3 E] holds at well over 5 sigma.
    let y = GmRng::new(4).normal((n, d), 0.0, 1.0, &dev)?;
    let (two, _) = compare_features(&x, &y, &cfg, "identity", "other sample")?;
    let (nf, df) = (n as f64, d as f64);
    let e_fd = 2.0 * df / nf + df * (df + 1.0) / (2.0 * (nf - 1.0));
    assert!(
        two.frechet_distance > e_fd / 3.0 && two.frechet_distance < 3.0 * e_fd,
        "FD {} vs expected {e_fd}",
        two.frechet_distance
    );
    // Gaussian MMD^2_u: kernel values in [0, 1], so |h| <= 2 and under equal distributions
    // the U-statistic's std is at most sqrt(2 E[h^2] / (n (n-1))) <= sqrt(8 / (n (n-1))).
    let sd = (8.0 / (nf * (nf - 1.0))).sqrt();
    assert!(
        two.gaussian_mmd.mmd2.abs() < 5.0 * sd,
        "{:?}",
        two.gaussian_mmd
    );
    // 1-NN: 2n leave-one-out decisions, each right with probability 1/2: std
    // sqrt(0.25 / 2n) = 0.011; 5 sigma.
    let sd_nn = (0.25 / (2.0 * nf)).sqrt();
    assert!(
        (two.one_nn.accuracy - 0.5).abs() < 5.0 * sd_nn,
        "{:?}",
        two.one_nn
    );
    // KID is unbiased too: its subset mean lies within a few subset stds of 0.
    let k = &two.kernel_distance;
    assert!(k.mean.abs() < 5.0 * k.std, "{k:?}");
    Ok(())
}

#[test]
fn gaussian_mmd_of_a_shift_matches_the_closed_form() -> Result<()> {
    // k(x, y) = exp(-||x - y||^2 / (2 s^2)); for x ~ N(a, I), y ~ N(b, I) in d dimensions,
    // E k = (s^2 / (s^2 + 2))^{d/2} exp(-||a - b||^2 / (2 (s^2 + 2))), so between N(0, I)
    // and N(mu, I): MMD^2 = 2 c (1 - exp(-||mu||^2 / (2 (s^2 + 2)))), c = (s^2/(s^2+2))^{d/2}.
    let dev = Device::Cpu;
    let (n, d, s) = (300, 4, 2.0f64);
    let mu = Tensor::new(&[1.0f32, -1.0, 1.0, 0.0], &dev)?;
    let mu2 = 3.0;
    let c = (s * s / (s * s + 2.0)).powf(d as f64 / 2.0);
    let want = 2.0 * c * (1.0 - (-mu2 / (2.0 * (s * s + 2.0))).exp());
    // The estimator is unbiased: the mean of 8 independent replicates lies within 5 of its
    // standard errors (estimated from the replicates) of the closed form.
    let vals: Vec<f64> = (0..8)
        .map(|r| -> Result<f64> {
            let x = GmRng::new(100 + r).normal((n, d), 0.0, 1.0, &dev)?;
            let y = GmRng::new(200 + r)
                .normal((n, d), 0.0, 1.0, &dev)?
                .broadcast_add(&mu)?;
            Ok(gaussian_mmd2_unbiased(&x, &y, s)?)
        })
        .collect::<Result<_>>()?;
    let mean = vals.iter().sum::<f64>() / 8.0;
    let se = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 7.0 / 8.0).sqrt();
    assert!((mean - want).abs() < 5.0 * se, "{mean} ± {se} vs {want}");
    assert!(
        want > 20.0 * se,
        "the shift must be visible: {want} vs se {se}"
    );
    Ok(())
}

#[test]
fn a_shift_moves_the_sliced_distance_by_the_shift() -> Result<()> {
    let dev = Device::Cpu;
    let (n, d, l) = (500, 16, 256);
    let x = GmRng::new(5).normal((n, d), 0.0, 1.0, &dev)?;
    let shift: Vec<f32> = (0..d)
        .map(|i| if i % 2 == 0 { 0.5 } else { -0.25 })
        .collect();
    let s = Tensor::from_vec(shift.clone(), d, &dev)?;
    let xs = x.broadcast_add(&s)?;
    // A shift keeps every projection's order, so each 1-D W_2 is |theta . s| exactly and
    // SW_2 = sqrt(mean_l (theta_l . s)^2).
    let dirs = random_directions(d, l, 9, &dev)?;
    let proj = dirs
        .matmul(&s.to_dtype(DType::F64)?.unsqueeze(1)?)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let exact = (proj.iter().map(|p| p * p).sum::<f64>() / l as f64).sqrt();
    let got = sliced_wasserstein_with(&x, &xs, &dirs, 2.0)?;
    assert!((got - exact).abs() < 1e-9 * exact, "{got} vs {exact}");
    // Over random directions, (theta . s)^2 / |s|^2 ~ Beta(1/2, (d-1)/2): mean 1/d, variance
    // 2 (d-1) / (d^2 (d+2)); the mean of l of them is within 5 standard errors of 1/d.
    let s2: f64 = shift.iter().map(|v| (*v as f64).powi(2)).sum();
    let df = d as f64;
    let se = (2.0 * (df - 1.0) / (df * df * (df + 2.0)) / l as f64).sqrt();
    let sw = sliced_wasserstein(&x, &xs, l, 2.0, 9)?;
    assert!(
        (sw.distance.powi(2) / s2 - 1.0 / df).abs() < 5.0 * se,
        "{sw:?}"
    );
    // SW_2 is a metric (an L2 mean of 1-D W_2), so against an independent sample y:
    // |SW(x, y + s) - SW(y, y + s)| <= SW(x, y), with SW(y, y + s) the exact shift term.
    let y = GmRng::new(6).normal((n, d), 0.0, 1.0, &dev)?;
    let near = sliced_wasserstein_with(&x, &y, &dirs, 2.0)?;
    let far = sliced_wasserstein_with(&x, &y.broadcast_add(&s)?, &dirs, 2.0)?;
    assert!((far - exact).abs() <= near + 1e-12, "{far} {exact} {near}");
    assert!(far > near, "{far} vs {near}");
    Ok(())
}

/// Uniform colour images `(n, 3, 32, 32)`.
fn colour_images(n: usize, seed: u64) -> Result<Tensor> {
    Ok(GmRng::new(seed).uniform((n, 3, 32, 32), 0.0, 1.0, &Device::Cpu)?)
}

#[test]
fn random_network_is_fixed_by_its_seed() -> Result<()> {
    let dev = Device::Cpu;
    let x = colour_images(6, 1)?;
    let net = |seed| {
        ConvFeatureNet::random(
            RandomConvConfig {
                in_channels: 3,
                dim: 64,
                seed,
            },
            &dev,
        )
    };
    let (a, b, c) = (net(0)?, net(0)?, net(1)?);
    assert_eq!(a.name(), "random-conv(seed 0, 64-d)");
    let fa = a.features(&x)?.to_vec2::<f32>()?;
    assert_eq!(fa.len(), 6);
    assert_eq!(fa[0].len(), 64);
    assert_eq!(fa, b.features(&x)?.to_vec2::<f32>()?);
    let fc = c.features(&x)?.to_vec2::<f32>()?;
    assert_ne!(fa, fc);
    // The weights are pinned: the first conv weights of seed 0 are GmRng::new(0)'s first
    // normal draws times the He std sqrt(2 / 27).
    let (t, _) = a.tensors()?;
    let w0 = t["conv0.weight"].flatten_all()?.to_vec1::<f32>()?;
    let std = (2.0f64 / 27.0).sqrt();
    let draws = GmRng::new(0).normal_vec(3);
    for (w, z) in w0.iter().zip(&draws) {
        assert_eq!(*w, (std * *z as f64) as f32);
    }
    // The weights written to a file give the same features back.
    let dir = tempfile::tempdir()?;
    let (tensors, meta) = a.tensors()?;
    let path = dir.path().join("random.safetensors");
    gm_core::io::save_safetensors(&path, &tensors, &meta)?;
    let back = ConvFeatureNet::load(&path, &dev)?;
    assert_eq!(back.features(&x)?.to_vec2::<f32>()?, fa);
    assert_eq!(back.dim(), 64);
    Ok(())
}

/// The features of the test's hand-made network, computed directly: channel 0 is the mean of
/// the three colours (never negative, so the ReLU keeps it), channel 1 is
/// `relu(r - b + 0.5)`; both averaged over the image.
fn hand_features(x: &Tensor) -> Result<Vec<[f64; 2]>> {
    Ok(x.flatten_from(2)?
        .to_vec3::<f32>()?
        .iter()
        .map(|img| {
            let p = img[0].len() as f64;
            let (mut f0, mut f1) = (0.0, 0.0);
            for ((r, g), b) in img[0].iter().zip(&img[1]).zip(&img[2]) {
                let (r, g, b) = (*r as f64, *g as f64, *b as f64);
                f0 += (r + g + b) / 3.0;
                f1 += (r - b + 0.5).max(0.0);
            }
            [f0 / p, f1 / p]
        })
        .collect())
}

#[test]
fn user_network_from_a_safetensors_file() -> Result<()> {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir()?;
    // One 1x1 conv with two output channels, global average pooling (grid 1), no head.
    let w = Tensor::new(
        &[[1f32 / 3.0, 1.0 / 3.0, 1.0 / 3.0], [1.0, 0.0, -1.0]],
        &dev,
    )?
    .reshape((2, 3, 1, 1))?;
    let mut t = BTreeMap::new();
    t.insert("conv0.weight".to_string(), w);
    t.insert("conv0.bias".to_string(), Tensor::new(&[0f32, 0.5], &dev)?);
    let mut meta = BTreeMap::new();
    meta.insert("grid".to_string(), "1".to_string());
    let path = dir.path().join("tiny.safetensors");
    gm_core::io::save_safetensors(&path, &t, &meta)?;

    let samples = colour_images(40, 2)?;
    // Reference: red-heavy images, so the second feature differs.
    let reference = (colour_images(50, 3)?
        * Tensor::new(&[1f32, 0.6, 0.3], &dev)?
            .reshape((1, 3, 1, 1))?
            .broadcast_as((50, 3, 32, 32))?)?;
    let net = ConvFeatureNet::load(&path, &dev)?;
    assert_eq!(net.name(), "conv-net(tiny.safetensors, 1 conv, 2-d)");
    let got = extract_features(&net, &samples, 16)?.to_vec2::<f32>()?;
    for (g, h) in got.iter().zip(hand_features(&samples)?) {
        assert!((g[0] as f64 - h[0]).abs() < 1e-5 && (g[1] as f64 - h[1]).abs() < 1e-5);
    }

    // user weights -> features -> Frechet distance, through the entry point.
    let cfg = EvalConfig {
        features: FeatureSpace::Network,
        feature_network: Some(path.clone()),
        ..small(40)
    };
    let r = evaluate_images(&samples, &reference, &cfg)?;
    let m = r.any_data.expect("any-data metrics");
    assert_eq!(m.features, "conv-net(tiny.safetensors, 1 conv, 2-d)");
    assert_eq!(m.feature_dim, 2);
    let to_t = |v: Vec<[f64; 2]>| {
        let n = v.len();
        Tensor::from_vec(v.concat(), (n, 2), &dev)
    };
    let want = gm_eval::frechet_distance_features(
        &to_t(hand_features(&samples)?)?,
        &to_t(hand_features(&reference)?)?,
    )?;
    assert!(
        (m.frechet_distance - want).abs() < 1e-4 * want,
        "{} vs {want}",
        m.frechet_distance
    );

    // Grey images are repeated over the three input channels: features (g, 0.5) for a grey
    // level g everywhere.
    let grey = (Tensor::ones((2, 1, 8, 8), DType::F32, &dev)? * 0.25)?;
    for f in net.features(&grey)?.to_vec2::<f32>()? {
        assert!(
            (f[0] - 0.25).abs() < 1e-6 && (f[1] - 0.5).abs() < 1e-6,
            "{f:?}"
        );
    }

    // A file in another layout is refused, naming the file and the tensors that do not fit.
    let mut bad = t.clone();
    bad.insert(
        "Mixed_5b.branch1x1.conv.weight".to_string(),
        Tensor::zeros((1, 1, 1, 1), DType::F32, &dev)?,
    );
    let bad_path = dir.path().join("inception.safetensors");
    gm_core::io::save_safetensors(&bad_path, &bad, &BTreeMap::new())?;
    let e = ConvFeatureNet::load(&bad_path, &dev)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inception.safetensors") && e.contains("Mixed_5b"),
        "{e}"
    );
    // A missing file and a missing path in the configuration are errors, not panics.
    let missing = EvalConfig {
        feature_network: Some(dir.path().join("none.safetensors")),
        ..cfg.clone()
    };
    assert!(evaluate_images(&samples, &reference, &missing).is_err());
    Ok(())
}

fn table_keys(r: &EvalReport) -> Vec<String> {
    metrics_table(r).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn colour_images_get_the_any_data_rows_and_no_mnist_rows() -> Result<()> {
    let samples = colour_images(64, 1)?;
    let reference = colour_images(80, 2)?;
    let cfg = small(64);
    let r = evaluate_images(&samples, &reference, &cfg)?;
    assert!(r.mnist.is_none() && r.mixture.is_none());
    let m = r.any_data.clone().expect("any-data metrics");
    assert_eq!(m.features, "random-conv(seed 0, 64-d)");
    assert_eq!((m.n_samples, m.n_reference, m.feature_dim), (64, 80, 64));
    let keys = table_keys(&r);
    for k in [
        "feature space",
        "reference set",
        "FD (vs reference)",
        "KID (vs reference)",
        "MMD² (Gaussian kernel, vs reference)",
        "sliced Wasserstein (vs reference)",
        "precision / recall (vs reference)",
        "1-NN accuracy (vs reference)",
    ] {
        assert!(
            keys.contains(&format!("eval: {k}")),
            "{k} missing from {keys:?}"
        );
    }
    for k in &keys {
        assert!(
            !k.contains("MNIST") && !k.contains("classifier") && !k.contains("digit"),
            "{k}"
        );
    }
    // Deterministic for a seed; another network seed gives another space.
    let again = evaluate_images(&samples, &reference, &cfg)?;
    assert_eq!(again.any_data, r.any_data);
    let other = evaluate_images(
        &samples,
        &reference,
        &EvalConfig {
            random_conv_seed: 1,
            ..cfg.clone()
        },
    )?;
    let om = other.any_data.expect("metrics");
    assert_eq!(om.features, "random-conv(seed 1, 64-d)");
    assert_ne!(om.frechet_distance, m.frechet_distance);
    // The pixel space: 3 x 32 x 32 stays whole under the 32 side limit, 3 x 16 x 16 at 16.
    let px = evaluate_images(
        &samples,
        &reference,
        &EvalConfig {
            features: FeatureSpace::Pixels,
            pixel_max_side: 16,
            ..cfg.clone()
        },
    )?
    .any_data
    .expect("metrics");
    assert_eq!(px.feature_dim, 3 * 16 * 16);
    assert_eq!(px.features, "pixels(avg-pooled to at most 16x16)");

    // Written to a run folder and read back; a report from before these rows still parses.
    let dir = tempfile::tempdir()?;
    write_eval(dir.path(), &r)?;
    let back = read_eval(dir.path())?;
    assert_eq!(back.any_data.map(|a| a.features), Some(m.features.clone()));
    let html = std::fs::read_to_string(dir.path().join("report.html"))?;
    assert!(html.contains("random-conv(seed 0, 64-d)") && html.contains("sliced Wasserstein"));
    let mut old: serde_json::Value = serde_json::to_value(&r)?;
    let obj = old.as_object_mut().expect("object");
    obj.remove("any_data");
    let cfg_obj = obj["config"].as_object_mut().expect("config");
    for k in [
        "features",
        "random_conv_seed",
        "random_conv_dim",
        "pixel_max_side",
        "feature_network",
        "sliced_projections",
    ] {
        cfg_obj.remove(k);
    }
    let parsed: EvalReport = serde_json::from_value(old)?;
    assert!(parsed.any_data.is_none());
    assert_eq!(parsed.config.features, FeatureSpace::Auto);
    Ok(())
}

#[test]
fn images_without_a_reference_and_bad_references_are_errors() -> Result<()> {
    let dev = Device::Cpu;
    let samples = colour_images(8, 1)?;
    let e = evaluate_samples(&samples, &small(8))
        .unwrap_err()
        .to_string();
    assert!(e.contains("reference"), "{e}");
    // Item shapes must match.
    let other = GmRng::new(2).uniform((8, 3, 16, 16), 0.0, 1.0, &dev)?;
    let e = evaluate_images(&samples, &other, &small(8))
        .unwrap_err()
        .to_string();
    assert!(e.contains("reference"), "{e}");
    // The reference must be in [0, 1]; pixel_range applies to the samples only.
    let signed = ((colour_images(8, 3)? * 2.0)? - 1.0)?;
    let e = evaluate_images(&samples, &signed, &small(8))
        .unwrap_err()
        .to_string();
    assert!(e.contains("reference") && e.contains("[0, 1]"), "{e}");
    // Images too small for the random network's two poolings.
    let tiny = GmRng::new(4).uniform((8, 3, 1, 1), 0.0, 1.0, &dev)?;
    assert!(evaluate_images(&tiny, &tiny, &small(8)).is_err());
    Ok(())
}

#[test]
fn digits_in_another_feature_space_are_compared_with_the_test_digits() -> Result<()> {
    let test = mnist_embedded()?.test;
    let digits = test.head(400, &Device::Cpu)?.x;
    let (a, b) = (digits.narrow(0, 0, 200)?, digits.narrow(0, 200, 200)?);
    // Today's behaviour is unchanged for `auto`; `pixels` compares with the 2,000 test
    // digits instead of running the classifier.
    let cfg = EvalConfig {
        features: FeatureSpace::Pixels,
        ..small(200)
    };
    let r = evaluate_samples(&a, &cfg)?;
    assert!(r.mnist.is_none());
    let m = r.any_data.expect("metrics");
    assert_eq!(m.feature_dim, 784);
    assert_eq!(m.n_reference, 2000);
    assert!(m.reference.contains("mnist"), "{}", m.reference);
    // With a reference and `auto`, 1x28x28 images use the classifier's features.
    let r = evaluate_images(&a, &b, &small(200))?;
    let m = r.any_data.expect("metrics");
    assert!(m.features.starts_with("mnist-classifier"), "{}", m.features);
    assert_eq!(m.feature_dim, 128);
    Ok(())
}

#[test]
fn colour_png_folders_load_as_three_channels() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for i in 0..2u8 {
        let img = image::RgbImage::from_fn(4, 3, |x, y| {
            image::Rgb([10 * i, x as u8 * 50, y as u8 * 80])
        });
        img.save(dir.path().join(format!("{i}.png")))?;
    }
    let x = load_images(dir.path(), &Device::Cpu)?;
    assert_eq!(x.dims(), [2, 3, 3, 4]);
    // Image 1, green channel at (y 0, x 3) = 150 / 255; blue at (y 2, x 0) = 160 / 255.
    let v = x.get(1)?.to_vec3::<f32>()?;
    assert_eq!(v[1][0][3], 150.0 / 255.0);
    assert_eq!(v[2][2][0], 160.0 / 255.0);
    assert_eq!(v[0][1][1], 10.0 / 255.0);
    Ok(())
}
