//! End-to-end checks: the importance-sampled likelihood against the ELBO, the gradient
//! estimators, and a short training run through gm-core's `fit` loop.

use candle_core::{Device, Tensor};
use gm_core::data::mnist_embedded;
use gm_core::{fit, FitConfig, GmRng, ParamStore};
use gm_vae::bound::{elbo_terms, iwae_bound, log_likelihood, KlEstimator};
use gm_vae::gradient::{compare_estimators, estimator_variance, GradientEstimator};
use gm_vae::model::binarize;
use gm_vae::{Objective, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

fn small_cfg() -> VaeConfig {
    VaeConfig {
        latent_dim: 5,
        encoder_hidden: vec![64],
        decoder_hidden: vec![64],
        activation: gm_vae::Activation::Tanh,
        ..VaeConfig::default()
    }
}

fn digits(n: usize, seed: u64) -> Tensor {
    let dev = Device::Cpu;
    let x = mnist_embedded().unwrap().test.head(n, &dev).unwrap().x;
    binarize(&x, &mut GmRng::new(seed)).unwrap()
}

/// Mean over images of the ELBO, averaged over `reps` draws: (mean, standard error).
fn elbo_mean(vae: &Vae, x: &Tensor, reps: usize, rng: &mut GmRng) -> (f64, f64) {
    let v: Vec<f64> = (0..reps)
        .map(|_| {
            let (e, _, _) = elbo_terms(vae, x, KlEstimator::Analytic, rng)
                .unwrap()
                .means()
                .unwrap();
            e
        })
        .collect();
    mean_se(&v)
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

#[test]
fn k5000_estimate_is_above_the_elbo_on_every_batch() {
    let dev = Device::Cpu;
    let store = ParamStore::new(1);
    let vae = Vae::init(small_cfg(), &store, &dev).unwrap();
    let x = digits(60, 2);
    let mut rng = GmRng::new(3);
    for b in 0..3 {
        let xb = x.narrow(0, 20 * b, 20).unwrap();
        let ll = log_likelihood(&vae, &xb, 5000, 20_000, &mut rng).unwrap();
        let ll_mean = ll.iter().sum::<f64>() / ll.len() as f64;
        let (elbo, se) = elbo_mean(&vae, &xb, 50, &mut rng);
        assert!(
            ll_mean > elbo + 3.0 * se,
            "batch {b}: log p {ll_mean} vs ELBO {elbo} +- {se}"
        );
        // log p(x) is bounded by 0 for binary data.
        assert!(ll.iter().all(|&l| l < 0.0));
    }
}

#[test]
fn importance_weighted_bound_grows_with_k() {
    let dev = Device::Cpu;
    let store = ParamStore::new(4);
    let vae = Vae::init(small_cfg(), &store, &dev).unwrap();
    let x = digits(50, 5);
    let mut rng = GmRng::new(6);
    let mut prev: Option<(f64, f64)> = None;
    for k in [1, 10, 100] {
        let reps: Vec<f64> = (0..20)
            .map(|_| {
                iwae_bound(&vae, &x, k, &mut rng)
                    .unwrap()
                    .mean_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap() as f64
            })
            .collect();
        let (m, se) = mean_se(&reps);
        if let Some((pm, pse)) = prev {
            let se_diff = (se * se + pse * pse).sqrt();
            assert!(
                m > pm + 3.0 * se_diff,
                "k = {k}: {m} +- {se} vs {pm} +- {pse}"
            );
        }
        prev = Some((m, se));
    }
}

#[test]
fn gradient_estimators_agree_and_reparameterization_has_lower_variance() {
    let dev = Device::Cpu;
    let store = ParamStore::new(7);
    let vae = Vae::init(small_cfg(), &store, &dev).unwrap();
    let x = digits(4, 8).flatten_from(1).unwrap();
    let (mu, lv) = vae.encoder().encode(&x).unwrap();
    let cmp = compare_estimators(vae.decoder(), &x, &mu, &lv, 4, 4000, &mut GmRng::new(9)).unwrap();
    // Both estimate the same gradient: z scores of the mean differences are standard normal,
    // so their mean square is 1 with standard error sqrt(2 / m) (m = 40 coordinates).
    let z = cmp.mean_z_scores();
    let m = z.len() as f64;
    let msq = z.iter().map(|v| v * v).sum::<f64>() / m;
    assert!(msq < 1.0 + 5.0 * (2.0 / m).sqrt(), "mean square z {msq}");
    let ratio = cmp.variance_ratio();
    assert!(ratio > 2.0, "variance ratio {ratio}");

    // Without the baseline the score function is noisier still.
    let plain = estimator_variance(
        vae.decoder(),
        &x,
        &mu,
        &lv,
        GradientEstimator::ScoreFunction { baseline: false },
        4,
        4000,
        &mut GmRng::new(10),
    )
    .unwrap();
    assert!(plain.mean_variance() > cmp.score_function.mean_variance());
}

#[test]
fn training_through_fit_raises_the_elbo_and_writes_grids() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let m = mnist_embedded().unwrap();
    let (_, train) = m.train.split_off(600).unwrap();
    let cfg = VaeTrainConfig {
        model: small_cfg(),
        eval_images: 200,
        ..Default::default()
    };
    let mut t = VaeTrainer::new(cfg.clone(), 1, Some(&m.test), &dev).unwrap();
    let x = digits(200, 11);
    let before = elbo_mean(t.vae(), &x, 5, &mut GmRng::new(1)).0;
    let fc = FitConfig {
        epochs: 3,
        batch_size: 50,
        seed: 2,
        progress: false,
        ..Default::default()
    };
    let s = fit(&mut t, &train, &fc, dir.path(), &dev).unwrap();
    assert_eq!(s.steps, 36);
    let after = elbo_mean(t.vae(), &x, 5, &mut GmRng::new(1)).0;
    assert!(after > before + 50.0, "ELBO {before} -> {after}");
    assert!(dir.path().join("grids").read_dir().unwrap().count() > 0);
    assert!(s.eval.iter().any(|(k, _)| k == "test_elbo"));

    // The IWAE objective trains too.
    let cfg = VaeTrainConfig {
        objective: Objective::Iwae { k: 5 },
        ..cfg
    };
    let mut t = VaeTrainer::new(cfg, 1, None, &dev).unwrap();
    let fc = FitConfig { epochs: 1, ..fc };
    let s = fit(&mut t, &train, &fc, &dir.path().join("iwae"), &dev).unwrap();
    assert_eq!(s.steps, 12);
    let after = elbo_mean(t.vae(), &x, 5, &mut GmRng::new(1)).0;
    assert!(after > before + 20.0, "ELBO {before} -> {after}");
}

#[test]
fn monte_carlo_kl_is_unbiased_for_the_analytic_kl() {
    let dev = Device::Cpu;
    let store = ParamStore::new(12);
    let vae = Vae::init(small_cfg(), &store, &dev).unwrap();
    let x = digits(20, 13);
    let mut rng = GmRng::new(14);
    let analytic = elbo_terms(&vae, &x, KlEstimator::Analytic, &mut rng)
        .unwrap()
        .means()
        .unwrap()
        .2;
    let mc: Vec<f64> = (0..400)
        .map(|_| {
            elbo_terms(&vae, &x, KlEstimator::MonteCarlo, &mut rng)
                .unwrap()
                .means()
                .unwrap()
                .2
        })
        .collect();
    let (m, se) = mean_se(&mc);
    assert!(
        (m - analytic).abs() < 5.0 * se,
        "MC KL {m} +- {se}, analytic {analytic}"
    );
}

#[test]
fn gaussian_decoder_likelihood_is_above_its_elbo() {
    let dev = Device::Cpu;
    let cfg = VaeConfig {
        likelihood: gm_vae::Likelihood::Gaussian { std: 0.5 },
        ..small_cfg()
    };
    let store = ParamStore::new(15);
    let vae = Vae::init(cfg, &store, &dev).unwrap();
    let x = mnist_embedded().unwrap().test.head(20, &dev).unwrap().x;
    let mut rng = GmRng::new(16);
    let ll = log_likelihood(&vae, &x, 1000, 20_000, &mut rng).unwrap();
    let ll_mean = ll.iter().sum::<f64>() / ll.len() as f64;
    let (elbo, se) = elbo_mean(&vae, &x, 50, &mut rng);
    assert!(
        ll_mean > elbo + 3.0 * se,
        "log p {ll_mean} vs ELBO {elbo} +- {se}"
    );
}

#[test]
fn learned_variance_log_likelihood_is_the_per_pixel_gaussian() {
    let dev = Device::Cpu;
    let x = Tensor::new(&[[0.2f64, -1.0], [1.5, 0.0]], &dev).unwrap();
    // Means, then raw scales s with sigma = 0.1 + softplus(s).
    let out = Tensor::new(&[[0.0f64, -0.5, 0.3, -2.0], [1.0, 0.5, 4.0, 0.0]], &dev).unwrap();
    let got = gm_vae::bound::gaussian_learned_log_likelihood(&x, &out, 0.1)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let xs: [[f64; 2]; 2] = [[0.2, -1.0], [1.5, 0.0]];
    let os: [[f64; 4]; 2] = [[0.0, -0.5, 0.3, -2.0], [1.0, 0.5, 4.0, 0.0]];
    for i in 0..2 {
        let mut want = 0.0;
        for j in 0..2 {
            let sigma = 0.1 + (1.0f64 + os[i][2 + j].exp()).ln();
            let r = (xs[i][j] - os[i][j]) / sigma;
            want += -0.5 * r * r - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
        }
        assert!((got[i] - want).abs() < 1e-12, "{i}: {} vs {want}", got[i]);
    }
}

#[test]
fn learned_variance_decoder_likelihood_is_above_its_elbo() {
    let dev = Device::Cpu;
    let cfg = VaeConfig {
        likelihood: gm_vae::Likelihood::GaussianLearned { min_std: 0.05 },
        ..small_cfg()
    };
    let store = ParamStore::new(15);
    let vae = Vae::init(cfg, &store, &dev).unwrap();
    assert_eq!(
        store.tensors()["decoder.out.weight"].dims(),
        [2 * 784, 64],
        "means and scales"
    );
    let x = mnist_embedded().unwrap().test.head(20, &dev).unwrap().x;
    let mut rng = GmRng::new(16);
    let ll = log_likelihood(&vae, &x, 1000, 20_000, &mut rng).unwrap();
    let ll_mean = ll.iter().sum::<f64>() / ll.len() as f64;
    let (elbo, se) = elbo_mean(&vae, &x, 50, &mut rng);
    assert!(
        ll_mean > elbo + 3.0 * se,
        "log p {ll_mean} vs ELBO {elbo} +- {se}"
    );
    let z = rng.normal((3, 5), 0.0, 1.0, &dev).unwrap();
    let d = vae.decoder();
    assert_eq!(d.mean(&z).unwrap().dims(), [3, 784]);
    let std = d.std(&z).unwrap().unwrap().flatten_all().unwrap();
    assert!(std.to_vec1::<f32>().unwrap().iter().all(|&s| s > 0.05));
}

/// Two values, one a sign s = +-1 (the latent factor; two modes no single Gaussian fits) with
/// noise 0.05, one pure noise of standard deviation 0.5: at the posterior means of the data,
/// the learned variance finds each value's noise.
#[test]
fn learned_variance_finds_each_values_noise() {
    let dev = Device::Cpu;
    let n = 4096;
    let mut rng = GmRng::new(3);
    let sign = rng
        .uniform((n, 1), 0.0, 1.0, &dev)
        .unwrap()
        .ge(0.5)
        .unwrap()
        .to_dtype(candle_core::DType::F32)
        .unwrap()
        .affine(2.0, -1.0)
        .unwrap();
    let e1 = rng.normal((n, 1), 0.0, 0.05, &dev).unwrap();
    let e2 = rng.normal((n, 1), 0.0, 0.5, &dev).unwrap();
    let x = Tensor::cat(&[(sign + e1).unwrap(), e2], 1).unwrap();
    let cfg = VaeTrainConfig {
        model: VaeConfig {
            latent_dim: 1,
            data_shape: vec![2],
            encoder_hidden: vec![32],
            decoder_hidden: vec![32],
            activation: gm_vae::Activation::Tanh,
            likelihood: gm_vae::Likelihood::GaussianLearned { min_std: 0.01 },
            ..VaeConfig::default()
        },
        binarize: false,
        eval_images: 0,
        adam: gm_core::AdamConfig {
            lr: 3e-3,
            ..Default::default()
        },
        ..VaeTrainConfig::default()
    };
    let values = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let data = gm_core::data::Dataset::new("noise", vec![2], values, None).unwrap();
    let mut t = VaeTrainer::new(cfg, 0, None, &dev).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fc = FitConfig {
        epochs: 60,
        batch_size: 128,
        progress: false,
        ..Default::default()
    };
    fit(&mut t, &data, &fc, dir.path(), &dev).unwrap();
    let vae = t.vae();
    let (mu, _) = vae
        .encoder()
        .encode(&x.narrow(0, 0, 1000).unwrap())
        .unwrap();
    let std = vae.decoder().std(&mu).unwrap().unwrap();
    let m = std.mean(0).unwrap().to_vec1::<f32>().unwrap();
    assert!(m[0] < 0.15, "driven value: sigma {m:?}");
    assert!((m[1] - 0.5).abs() < 0.1, "pure noise: sigma {m:?}");
}
