//! MMD^2 estimators, the Cauchy-Schwarz ratio and the permutation test, with thresholds from
//! the number of repetitions (standard errors, binomial tolerances).

use candle_core::{DType, Device, Tensor, Var};
use gm_core::GmRng;
use gm_divergence::kernel::gaussian_kernel_expectation;
use gm_divergence::*;

fn cloud(rng: &mut GmRng, n: usize, d: usize, mean: f64) -> Tensor {
    rng.normal((n, d), mean, 1.0, &Device::Cpu).unwrap()
}

fn scalar(t: Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn unbiased_mmd_matches_a_direct_double_sum() {
    let mut rng = GmRng::new(1);
    let x = cloud(&mut rng, 7, 3, 0.0);
    let y = cloud(&mut rng, 9, 3, 0.5);
    let xs = x.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap();
    let ys = y.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap();
    for k in [
        Kernel::gaussian(&[0.5, 1.0, 2.0]).unwrap(),
        Kernel::inverse_multiquadric(&[1.0, 3.0]).unwrap(),
    ] {
        let kv =
            |a: &[f64], b: &[f64]| k.eval(a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum());
        let mean_off = |s: &[Vec<f64>]| {
            let n = s.len();
            let mut t = 0.0;
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        t += kv(&s[i], &s[j]);
                    }
                }
            }
            t / (n * (n - 1)) as f64
        };
        let mut kxy = 0.0;
        for a in &xs {
            for b in &ys {
                kxy += kv(a, b);
            }
        }
        kxy /= (xs.len() * ys.len()) as f64;
        let direct = mean_off(&xs) + mean_off(&ys) - 2.0 * kxy;
        let got = scalar(mmd2_unbiased(&k, &x, &y).unwrap());
        assert!((got - direct).abs() < 1e-5, "{got} vs {direct}");
        let biased = scalar(mmd2_biased(&k, &x, &y).unwrap());
        assert!(biased > got);
    }
}

#[test]
fn unbiased_mmd_has_mean_zero_under_the_null_and_biased_does_not() {
    // 200 independent null pairs (n = 40, d = 2). |mean| < 4 standard errors for the
    // U-statistic; the V-statistic is biased upwards by about 2 (k(0) - E k) / n.
    let k = Kernel::gaussian(&[1.0]).unwrap();
    let reps = 200;
    let (mut u, mut v, mut lin) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..reps {
        let mut rng = GmRng::new(1000 + seed);
        let x = cloud(&mut rng, 40, 2, 0.0);
        let y = cloud(&mut rng, 40, 2, 0.0);
        u.push(scalar(mmd2_unbiased(&k, &x, &y).unwrap()));
        v.push(scalar(mmd2_biased(&k, &x, &y).unwrap()));
        lin.push(scalar(mmd2_linear(&k, &x, &y).unwrap()));
    }
    let eu = Estimate::from_values(&u).unwrap();
    let ev = Estimate::from_values(&v).unwrap();
    let el = Estimate::from_values(&lin).unwrap();
    println!(
        "null MMD^2: unbiased {:.2e} +- {:.1e}, biased {:.2e} +- {:.1e}, linear {:.2e} +- {:.1e}",
        eu.mean, eu.std_error, ev.mean, ev.std_error, el.mean, el.std_error
    );
    assert!(eu.mean.abs() < 4.0 * eu.std_error);
    assert!(el.mean.abs() < 4.0 * el.std_error);
    assert!(
        ev.mean > 4.0 * ev.std_error,
        "the biased estimator should be visibly positive"
    );
}

#[test]
fn permutation_test_has_level_alpha_and_power() {
    // Under H0 the rejection rate at alpha = 0.05 over 300 tests must lie within 3.29
    // binomial standard errors of 0.05 (the test is exact, so its size is <= 0.05 up to the
    // discreteness of 99 permutations).
    let k = Kernel::gaussian(&[1.0]).unwrap();
    let reps = 300;
    let mut rejections = 0;
    let mut rng = GmRng::new(77);
    for _ in 0..reps {
        let x = cloud(&mut rng, 30, 2, 0.0);
        let y = cloud(&mut rng, 30, 2, 0.0);
        let t = permutation_test(&k, &x, &y, 99, &mut rng).unwrap();
        assert!(t.p_value > 0.0 && t.p_value <= 1.0);
        if t.p_value <= 0.05 {
            rejections += 1;
        }
    }
    let rate = rejections as f64 / reps as f64;
    let se = (0.05f64 * 0.95 / reps as f64).sqrt();
    println!(
        "null rejection rate {rate:.3} (tolerance +- {:.3})",
        3.29 * se
    );
    assert!((rate - 0.05).abs() < 3.29 * se, "rejection rate {rate}");

    // Shifted mean (1 in the first coordinate), 60 points per sample: power near 1.
    let mut power = 0;
    for _ in 0..50 {
        let x = cloud(&mut rng, 60, 2, 0.0);
        let y = cloud(&mut rng, 60, 2, 0.0)
            .broadcast_add(&Tensor::new(&[[1.0f32, 0.0]], &Device::Cpu).unwrap())
            .unwrap();
        if permutation_test(&k, &x, &y, 99, &mut rng).unwrap().p_value <= 0.05 {
            power += 1;
        }
    }
    println!("power at shift 1: {power}/50");
    assert!(power >= 45, "power {power}/50");
}

#[test]
fn cauchy_schwarz_ratio_matches_exact_gaussian_expectations() {
    // X ~ N(0, I_2), Y ~ N(mu, I_2), bandwidth 1. 30 repetitions with n = 300: the mean
    // estimate must lie within 4 standard errors of the exact J (the ratio's O(1/n) bias is
    // far below that).
    let k = Kernel::gaussian(&[1.0]).unwrap();
    for &shift in &[0.0f64, 1.0] {
        let exy = gaussian_kernel_expectation(1.0, shift * shift, 1.0, 1.0, 2);
        let eyy = gaussian_kernel_expectation(1.0, 0.0, 1.0, 1.0, 2);
        let exx = eyy;
        let exact = exy * exy / eyy;
        let mut vals = Vec::new();
        let mut rng = GmRng::new(5);
        for _ in 0..30 {
            let x = cloud(&mut rng, 300, 2, 0.0);
            let y = (cloud(&mut rng, 300, 2, 0.0)
                .broadcast_add(&Tensor::new(&[[shift as f32, 0.0]], &Device::Cpu).unwrap()))
            .unwrap();
            vals.push(scalar(cauchy_schwarz_ratio(&k, &x, &y).unwrap()));
        }
        let e = Estimate::from_values(&vals).unwrap();
        println!(
            "shift {shift}: J {:.5} +- {:.5}, exact {exact:.5}, E k(X,X') {exx:.5}",
            e.mean, e.std_error
        );
        assert!((e.mean - exact).abs() < 4.0 * e.std_error);
        if shift == 0.0 {
            assert!((exact - exx).abs() < 1e-15);
        } else {
            assert!(exact < exx);
        }
    }
}

#[test]
fn mmd_is_differentiable_through_the_matmul() -> anyhow::Result<()> {
    let mut rng = GmRng::new(9);
    let x = cloud(&mut rng, 16, 3, 0.0);
    let yv = Var::from_tensor(&cloud(&mut rng, 16, 3, 1.0))?;
    let k = Kernel::gaussian(&[1.0, 2.0])?;
    let loss = mmd2_unbiased(&k, &x, yv.as_tensor())?;
    let g = loss.backward()?;
    let gy = g.get(&yv).expect("gradient");
    let norm = scalar(gy.sqr()?.sum_all()?);
    assert!(norm.is_finite() && norm > 0.0);
    // One gradient step on Y lowers MMD^2.
    let y2 = (yv.as_tensor() - (gy * 0.5)?)?;
    assert!(scalar(mmd2_unbiased(&k, &x, &y2)?) < scalar(loss));
    let cs = cauchy_schwarz_ratio(&k, &x, yv.as_tensor())?;
    assert!(cs.backward()?.get(&yv).is_some());
    Ok(())
}

#[test]
fn shape_errors_are_reported() {
    let dev = Device::Cpu;
    let k = Kernel::gaussian(&[1.0]).unwrap();
    let x = Tensor::zeros((4, 2), DType::F32, &dev).unwrap();
    let y = Tensor::zeros((4, 3), DType::F32, &dev).unwrap();
    assert!(mmd2_unbiased(&k, &x, &y).is_err());
    let one = Tensor::zeros((1, 2), DType::F32, &dev).unwrap();
    assert!(mmd2_unbiased(&k, &one, &x).is_err());
    let flat = Tensor::zeros(4, DType::F32, &dev).unwrap();
    assert!(pairwise_sq_distances(&flat, &x).is_err());
    let z = Tensor::zeros((6, 2), DType::F32, &dev).unwrap();
    assert!(mmd2_linear(&k, &x, &z).is_err());
}
