//! End-to-end checks of the entry points on real digits, toy mixtures and a small generator.

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use gm_core::data::{mnist_embedded, Mixture2d};
use gm_core::{Generator, GmRng};
use gm_eval::{
    evaluate_generator, evaluate_samples, load_samples, read_eval, write_eval, EvalConfig,
    MixtureTarget, MnistEvaluator, PixelRange, MODE_SAMPLES,
};

/// Test digits of one class, as a "generator" that has collapsed to that class.
fn digits_of_class(class: u32) -> Result<Tensor> {
    let test = mnist_embedded()?.test;
    let labels = test.labels.clone().expect("labelled");
    let idx: Vec<usize> = (0..test.len()).filter(|&i| labels[i] == class).collect();
    Ok(test.batch(&idx, &Device::Cpu)?.x)
}

#[test]
fn one_class_covers_one_of_ten_modes() -> Result<()> {
    let x = digits_of_class(3)?;
    let r = evaluate_samples(&x, &EvalConfig::quick())?;
    let m = r.mnist.expect("image metrics");
    assert_eq!(m.labels.covered, 1, "{:?}", m.labels);
    assert_eq!(
        m.labels.counts.iter().cloned().max(),
        Some(m.labels.counts[3])
    );
    // One confident class: the score is near its minimum of 1.
    assert!(m.classifier_score.mean < 1.5, "{:?}", m.classifier_score);
    Ok(())
}

#[test]
fn test_digits_against_themselves() -> Result<()> {
    // The reference set itself: FD 0 (the same Gaussian), precision and recall 1, and
    // every point's nearest other point is its own copy in the other set, so 1-NN accuracy 0.
    let ev = MnistEvaluator::new(&Device::Cpu)?;
    let cfg = EvalConfig {
        kid_subsets: 5,
        parzen: false,
        ..EvalConfig::default()
    };
    let (m, _) = ev.evaluate(ev.test_digits(), &cfg)?;
    assert!(m.frechet_distance.abs() < 1e-6, "{}", m.frechet_distance);
    assert_eq!(m.precision_recall.precision, 1.0);
    assert_eq!(m.precision_recall.recall, 1.0);
    assert!(m.one_nn.accuracy < 0.01, "{:?}", m.one_nn);
    assert_eq!(m.labels.covered, 10);
    assert!(m.classifier_score.mean > 8.5, "{:?}", m.classifier_score);
    Ok(())
}

#[test]
fn train_digits_are_close_to_test_digits_and_noise_is_far() -> Result<()> {
    let ev = MnistEvaluator::new(&Device::Cpu)?;
    let cfg = EvalConfig {
        kid_subsets: 10,
        parzen: false,
        ..EvalConfig::default()
    };
    let train = ev.train_digits().narrow(0, 0, 2000)?;
    let (real, _) = ev.evaluate(&train, &cfg)?;
    let noise = GmRng::new(1).uniform((2000, 784), 0.0, 1.0, &Device::Cpu)?;
    let (fake, _) = ev.evaluate(&noise, &cfg)?;
    assert!(
        fake.frechet_distance > 20.0 * real.frechet_distance,
        "{} vs {}",
        fake.frechet_distance,
        real.frechet_distance
    );
    // KID of two real samples is zero in expectation; of noise, many standard deviations.
    assert!(real.kernel_distance.mean.abs() < 5.0 * real.kernel_distance.std);
    assert!(fake.kernel_distance.mean > 20.0 * real.kernel_distance.std);
    assert!(real.precision_recall.precision > 0.5 && real.precision_recall.recall > 0.5);
    assert!(fake.precision_recall.precision < 0.1);
    assert!(fake.one_nn.accuracy > 0.99);
    // Two real samples: the 1-NN accuracy is near 1/2 (4,000 decisions, stderr 0.008).
    assert!(
        (real.one_nn.accuracy - 0.5).abs() < 0.1,
        "{:?}",
        real.one_nn
    );
    Ok(())
}

/// x = sigmoid(z W + b): a fixed, untrained image generator.
struct Random784 {
    w: Tensor,
}

impl Generator for Random784 {
    fn latent_dim(&self) -> usize {
        8
    }
    fn output_shape(&self) -> Vec<usize> {
        vec![1, 28, 28]
    }
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let n = z.dim(0)?;
        Ok(candle_nn::ops::sigmoid(&(z.matmul(&self.w)? - 2.0)?)?.reshape((n, 1, 28, 28))?)
    }
}

#[test]
fn metrics_are_deterministic_for_a_seed() -> Result<()> {
    let g = Random784 {
        w: GmRng::new(5).normal((8, 784), 0.0, 1.0, &Device::Cpu)?,
    };
    let cfg = EvalConfig {
        n_samples: 600,
        batch_size: 128,
        kid_subsets: 5,
        kid_subset_size: 200,
        max_neighbour_points: 300,
        parzen: true,
        parzen_sigmas: vec![0.2, 1.0],
        ..EvalConfig::default()
    };
    let a = evaluate_generator(&g, &cfg, &Device::Cpu)?;
    let b = evaluate_generator(&g, &cfg, &Device::Cpu)?;
    assert_eq!(a.mnist, b.mnist);
    assert_eq!(a.n_samples, 600);
    let c = evaluate_generator(&g, &EvalConfig { seed: 1, ..cfg }, &Device::Cpu)?;
    assert_ne!(a.mnist, c.mnist);
    assert!(a.mnist.unwrap().parzen.is_some());
    Ok(())
}

#[test]
fn mixture_samples_get_mode_coverage() -> Result<()> {
    let dev = Device::Cpu;
    let ring = Mixture2d::ring8();
    let (x, _) = ring.sample(MODE_SAMPLES, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (MODE_SAMPLES, 2), &dev)?;
    let r = evaluate_samples(&x, &EvalConfig::default())?;
    let m = r.mixture.expect("2-D metrics");
    assert_eq!(m.mixture, MixtureTarget::Ring8, "auto picks the ring");
    assert_eq!(m.coverage.modes_captured, 8);
    let (g, _) = Mixture2d::grid25().sample(MODE_SAMPLES, &mut GmRng::new(2));
    let g = Tensor::from_vec(g, (MODE_SAMPLES, 2), &dev)?;
    let m = evaluate_samples(&g, &EvalConfig::default())?
        .mixture
        .unwrap();
    assert_eq!(
        (m.mixture, m.coverage.modes_captured),
        (MixtureTarget::Grid25, 25)
    );
    // All samples at one ring mode.
    let one = Tensor::new(&[2f32, 0.0], &dev)?.broadcast_as((MODE_SAMPLES, 2))?;
    let cfg = EvalConfig {
        mixture: MixtureTarget::Ring8,
        ..EvalConfig::default()
    };
    let m = evaluate_samples(&one.contiguous()?, &cfg)?.mixture.unwrap();
    assert_eq!(m.coverage.modes_captured, 1);
    Ok(())
}

#[test]
fn bad_inputs_are_errors_not_panics() -> Result<()> {
    let dev = Device::Cpu;
    let cfg = EvalConfig::quick();
    assert!(evaluate_samples(&Tensor::zeros((4, 3), DType::F32, &dev)?, &cfg).is_err());
    assert!(evaluate_samples(&Tensor::zeros(4, DType::F32, &dev)?, &cfg).is_err());
    let nan = Tensor::new(&[[f32::NAN, 0.0]], &dev)?;
    assert!(evaluate_samples(&nan, &cfg).is_err());
    // tanh-range images are refused unless declared.
    let signed = (Tensor::ones((20, 784), DType::F32, &dev)? * -1.0)?;
    let e = evaluate_samples(&signed, &cfg).unwrap_err();
    assert!(e.to_string().contains("signed"), "{e}");
    let ok = EvalConfig {
        pixel_range: PixelRange::Signed,
        score_splits: 2,
        kid_subset_size: 10,
        ..cfg
    };
    assert!(evaluate_samples(&signed, &ok).is_ok());
    Ok(())
}

#[test]
fn report_goes_to_the_run_folder_and_samples_load_from_files() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dev = Device::Cpu;
    let x = digits_of_class(7)?;
    let cfg = EvalConfig {
        kid_subsets: 3,
        ..EvalConfig::quick()
    };
    let r = evaluate_samples(&x, &cfg)?;
    // A training run left its own table; the evaluation adds to it.
    gm_core::viz::write_report(
        dir.path(),
        "run",
        &[("last step: loss".to_string(), "0.125".to_string())],
    )?;
    write_eval(dir.path(), &r)?;
    let back = read_eval(dir.path())?;
    assert_eq!(back.n_samples, r.n_samples);
    let (m1, m2) = (back.mnist.unwrap(), r.mnist.clone().unwrap());
    assert_eq!(m1.labels, m2.labels);
    assert!((m1.frechet_distance - m2.frechet_distance).abs() < 1e-9 * m2.frechet_distance);
    let html = std::fs::read_to_string(dir.path().join("report.html"))?;
    assert!(html.contains("MNIST FD") && html.contains("classifier score"));
    assert!(html.contains("last step: loss") && html.contains("0.125"));

    // The same digits from a safetensors file and from a folder of PNGs.
    let st = dir.path().join("samples.safetensors");
    let mut map = std::collections::BTreeMap::new();
    map.insert("samples".to_string(), x.clone());
    gm_core::io::save_safetensors(&st, &map, &Default::default())?;
    let y = load_samples(&st, &dev)?;
    assert_eq!(y.dims(), x.dims());
    let pngs = dir.path().join("pngs");
    std::fs::create_dir(&pngs)?;
    for i in 0..3 {
        let v: Vec<u8> = x
            .get(i)?
            .flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .map(|p| (p * 255.0).round() as u8)
            .collect();
        image::GrayImage::from_raw(28, 28, v)
            .expect("28x28")
            .save(pngs.join(format!("{i:03}.png")))?;
    }
    let z = load_samples(&pngs, &dev)?;
    assert_eq!(z.dims(), &[3, 1, 28, 28]);
    let diff = (z - x.narrow(0, 0, 3)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert!(diff <= 0.5 / 255.0 + 1e-6, "{diff}");
    assert!(write_eval(&dir.path().join("missing"), &r).is_err());
    Ok(())
}
