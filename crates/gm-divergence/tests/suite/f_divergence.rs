//! Properties of every generator in the catalogue: f(1), convexity, f** = f, Fenchel-Young,
//! g_f lands in dom f*, the variational bound at T* equals D_f, closed forms = quadrature,
//! and the tensor losses agree with the scalar formulas and differentiate correctly.

use candle_core::{DType, Device, Tensor, Var};
use gm_core::GmRng;
use gm_divergence::optimize::maximize;
use gm_divergence::theory::{bound_at_optimal_critic, reference_pair};
use gm_divergence::*;

const U_GRID: [f64; 9] = [0.2, 0.35, 0.5, 0.8, 1.0, 1.3, 2.0, 3.1, 5.0];

#[test]
fn generator_vanishes_at_one() {
    for div in Divergence::catalogue() {
        let f1 = div.generator(1.0);
        assert!(
            (f1 - div.value_at_one()).abs() < 1e-15,
            "{div}: f(1) = {f1}"
        );
        if div != Divergence::Gan {
            assert_eq!(div.value_at_one(), 0.0);
        }
    }
    assert!((Divergence::Gan.generator(1.0) + 4f64.ln()).abs() < 1e-15);
}

#[test]
fn generator_is_convex_and_derivative_matches() {
    for div in Divergence::catalogue() {
        for i in 1..400 {
            let u = 0.02 * i as f64;
            let h = 1e-3 * u.min(1.0);
            let second = div.generator(u + h) - 2.0 * div.generator(u) + div.generator(u - h);
            assert!(
                second >= -1e-12,
                "{div}: second difference {second} at u = {u}"
            );
            if div != Divergence::TotalVariation || (u - 1.0).abs() > 2.0 * h {
                let num = (div.generator(u + h) - div.generator(u - h)) / (2.0 * h);
                let an = div.derivative(u);
                assert!(
                    (num - an).abs() < 1e-4 * (1.0 + an.abs()),
                    "{div}: f'({u}) = {an}, numerically {num}"
                );
            }
        }
    }
}

fn search_interval(div: Divergence) -> (f64, f64) {
    let d = div.conjugate_domain();
    let lo = if d.lower.is_finite() { d.lower } else { -100.0 };
    let hi = if d.upper.is_finite() {
        if d.upper_closed {
            d.upper
        } else {
            d.upper - 1e-10
        }
    } else {
        100.0
    };
    (lo, hi)
}

#[test]
fn biconjugate_equals_generator() {
    for div in Divergence::catalogue() {
        let (lo, hi) = search_interval(div);
        for &u in &U_GRID {
            let (_, fss) = maximize(|t| u * t - div.fenchel_conjugate(t), lo, hi, 4000);
            let f = div.generator(u);
            assert!(
                (fss - f).abs() < 1e-7 * (1.0 + f.abs()),
                "{div}: f**({u}) = {fss}, f({u}) = {f}"
            );
        }
    }
}

#[test]
fn fenchel_young_inequality_with_equality_at_the_derivative() {
    for div in Divergence::catalogue() {
        let (lo, hi) = search_interval(div);
        let (lo, hi) = (lo.max(-10.0), hi.min(10.0));
        for &u in &U_GRID {
            for k in 0..=100 {
                let t = lo + (hi - lo) * k as f64 / 100.0;
                let gap = div.generator(u) + div.fenchel_conjugate(t) - u * t;
                assert!(gap >= -1e-12, "{div}: f({u}) + f*({t}) - u t = {gap}");
            }
            let t = div.derivative(u);
            if div == Divergence::TotalVariation && u == 1.0 {
                continue;
            }
            let gap = div.generator(u) + div.fenchel_conjugate(t) - u * t;
            assert!(
                gap.abs() < 1e-10 * (1.0 + (u * t).abs()),
                "{div}: equality gap {gap} at u = {u}"
            );
        }
    }
}

#[test]
fn output_activation_lands_in_the_conjugate_domain() {
    for div in Divergence::catalogue() {
        let dom = div.conjugate_domain();
        for k in -300..=300 {
            let v = 0.1 * k as f64;
            let t = div.output_activation(v);
            assert!(dom.contains(t), "{div}: g_f({v}) = {t} not in {dom}");
            let direct = div.fenchel_conjugate(t);
            let stable = div.conjugate_of_activation(v);
            assert!(stable.is_finite(), "{div}: f*(g_f({v})) not finite");
            if v.abs() <= 10.0 {
                assert!(
                    (direct - stable).abs() < 1e-9 * (1.0 + stable.abs()),
                    "{div}: f*(g_f({v})) = {direct} vs simplified {stable}"
                );
            }
        }
        // The optimal critic lies in the domain for every ratio.
        for &u in &U_GRID {
            assert!(
                dom.contains(div.optimal_critic(u)),
                "{div}: T*({u}) outside {dom}"
            );
        }
    }
}

#[test]
fn variational_bound_at_optimal_critic_equals_divergence() {
    // 20,000 draws from each of P = N(0.5, 1) and Q = N(0, 1); accept 4 standard errors.
    let (p, q) = reference_pair();
    for (k, div) in Divergence::catalogue().into_iter().enumerate() {
        let exact = f_divergence_gaussians_quadrature(div, p, q).unwrap().value;
        let est = bound_at_optimal_critic(div, 20_000, 500 + k as u64).unwrap();
        let z = (est.mean - exact) / est.std_error;
        println!(
            "{div}: bound {:.5} +- {:.5}, D_f {exact:.5}, z = {z:.2}",
            est.mean, est.std_error
        );
        assert!(z.abs() < 4.0, "{div}: z = {z}");
        assert!(est.std_error < 0.05, "{div}: s.e. {}", est.std_error);
    }
}

#[test]
fn monte_carlo_divergence_matches_quadrature() {
    let (p, q) = reference_pair();
    let mut rng = GmRng::new(42);
    let lr: Vec<f64> = rng
        .normal_vec(50_000)
        .into_iter()
        .map(|z| {
            let x = q.mean + q.std * z as f64;
            p.log_density(x) - q.log_density(x)
        })
        .collect();
    for div in Divergence::catalogue() {
        let exact = f_divergence_gaussians_quadrature(div, p, q).unwrap().value;
        let mc = f_divergence_monte_carlo(div, &lr).unwrap();
        let z = (mc.mean - exact) / mc.std_error;
        assert!(
            z.abs() < 4.0,
            "{div}: MC {} +- {} vs {exact}",
            mc.mean,
            mc.std_error
        );
    }
}

#[test]
fn closed_forms_equal_quadrature() {
    let pairs = [
        (
            Gaussian1d::new(0.0, 1.0).unwrap(),
            Gaussian1d::new(1.0, 1.0).unwrap(),
        ),
        (
            Gaussian1d::new(0.3, 1.2).unwrap(),
            Gaussian1d::new(-0.5, 0.9).unwrap(),
        ),
        (
            Gaussian1d::new(2.0, 0.8).unwrap(),
            Gaussian1d::new(0.0, 1.1).unwrap(),
        ),
    ];
    for (p, q) in pairs {
        for div in Divergence::catalogue() {
            if let Ok(c) = f_divergence_gaussians_closed_form(div, p, q) {
                let num = f_divergence_gaussians_quadrature(div, p, q)
                    .unwrap_or_else(|e| panic!("{div}, {p:?} vs {q:?}: {e}"))
                    .value;
                assert!(
                    (c - num).abs() < 1e-8 * (1.0 + c.abs()),
                    "{div}: closed {c} vs quadrature {num}"
                );
            }
        }
        // KL of Gaussians through its own formula too.
        let num = f_divergence_gaussians_quadrature(Divergence::KullbackLeibler, p, q)
            .unwrap()
            .value;
        assert!((kl_gaussian(p, q) - num).abs() < 1e-9);
    }
    // Pearson chi^2 diverges when 2 s_q^2 <= s_p^2: no closed form, an error.
    let wide = Gaussian1d::new(0.0, 2.0).unwrap();
    let narrow = Gaussian1d::new(0.0, 1.0).unwrap();
    assert!(
        f_divergence_gaussians_closed_form(Divergence::PearsonChiSquared, wide, narrow).is_err()
    );
}

#[test]
fn js_family_is_bounded_and_gan_is_two_js_minus_log_four() {
    let (p, q) = reference_pair();
    let js = f_divergence_gaussians_quadrature(Divergence::JensenShannon, p, q)
        .unwrap()
        .value;
    let wjs =
        f_divergence_gaussians_quadrature(Divergence::WeightedJensenShannon { pi: 0.5 }, p, q)
            .unwrap()
            .value;
    let gan = f_divergence_gaussians_quadrature(Divergence::Gan, p, q)
        .unwrap()
        .value;
    assert!(js > 0.0 && js < 2f64.ln());
    assert!((js - wjs).abs() < 1e-12);
    assert!((gan - (2.0 * js - 4f64.ln())).abs() < 1e-9);
    // Disjoint supports: JS = log 2, TV = 1.
    let d = f_divergence_discrete(Divergence::JensenShannon, &[1.0, 0.0], &[0.0, 1.0]).unwrap();
    assert!((d - 2f64.ln()).abs() < 1e-15);
    let tv = f_divergence_discrete(Divergence::TotalVariation, &[1.0, 0.0], &[0.0, 1.0]).unwrap();
    assert!((tv - 1.0).abs() < 1e-15);
}

#[test]
fn discrete_matches_sum_formula_for_all() {
    let p = [0.1, 0.4, 0.2, 0.3];
    let q = [0.25, 0.25, 0.3, 0.2];
    for div in Divergence::catalogue() {
        let d = f_divergence_discrete(div, &p, &q).unwrap();
        let direct: f64 = p
            .iter()
            .zip(&q)
            .map(|(a, b)| b * div.generator(a / b))
            .sum();
        assert!((d - direct).abs() < 1e-14);
        assert!(
            d >= div.value_at_one() - 1e-15,
            "{div}: Jensen's inequality"
        );
        assert!(
            f_divergence_discrete(div, &q, &q).unwrap().abs() - div.value_at_one().abs() < 1e-15
        );
    }
}

#[test]
fn tensor_bound_matches_scalar_formulas_and_gradients() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(3);
    let vr: Vec<f64> = rng
        .uniform_vec(64, -3.0, 3.0)
        .into_iter()
        .map(f64::from)
        .collect();
    let vf: Vec<f64> = rng
        .uniform_vec(64, -3.0, 3.0)
        .into_iter()
        .map(f64::from)
        .collect();
    for div in Divergence::catalogue() {
        let real = Var::from_tensor(&Tensor::from_vec(vr.clone(), 64, &dev)?)?;
        let fake = Var::from_tensor(&Tensor::from_vec(vf.clone(), 64, &dev)?)?;
        let bound = variational_bound(div, real.as_tensor(), fake.as_tensor())?;
        let scalar = vr.iter().map(|&v| div.output_activation(v)).sum::<f64>() / 64.0
            - vf.iter()
                .map(|&v| div.conjugate_of_activation(v))
                .sum::<f64>()
                / 64.0;
        let got = bound.to_scalar::<f64>()?;
        assert!(
            (got - scalar).abs() < 1e-12 * (1.0 + scalar.abs()),
            "{div}: {got} vs {scalar}"
        );
        // Gradient of the fake term against central differences of the scalar formula.
        let grads = bound.backward()?;
        let gf = grads.get(&fake).expect("fake gradient").to_vec1::<f64>()?;
        let gr = grads.get(&real).expect("real gradient").to_vec1::<f64>()?;
        let h = 1e-5;
        for i in [0, 17, 63] {
            let num_f = -(div.conjugate_of_activation(vf[i] + h)
                - div.conjugate_of_activation(vf[i] - h))
                / (2.0 * h * 64.0);
            let num_r = (div.output_activation(vr[i] + h) - div.output_activation(vr[i] - h))
                / (2.0 * h * 64.0);
            assert!(
                (gf[i] - num_f).abs() < 1e-7,
                "{div}: d/dv_fake {} vs {num_f}",
                gf[i]
            );
            assert!(
                (gr[i] - num_r).abs() < 1e-7,
                "{div}: d/dv_real {} vs {num_r}",
                gr[i]
            );
        }
        // Losses are the signed pieces of the bound.
        let cl = fgan_critic_loss(div, real.as_tensor(), fake.as_tensor())?.to_scalar::<f64>()?;
        assert!((cl + got).abs() < 1e-12);
        let gl = fgan_generator_loss(div, fake.as_tensor())?.to_scalar::<f64>()?;
        let ns = fgan_generator_loss_non_saturating(div, fake.as_tensor())?.to_scalar::<f64>()?;
        assert!(gl.is_finite() && ns.is_finite());
    }
    // f32 inputs work and stay finite at extreme critic outputs.
    let v = Tensor::new(&[-80f32, -10.0, 0.0, 10.0, 80.0], &dev)?;
    for div in Divergence::catalogue() {
        if matches!(
            div,
            Divergence::KullbackLeibler | Divergence::SquaredHellinger
        ) {
            continue; // e^(v - 1) and e^v legitimately overflow f32 at v = 80.
        }
        let b = variational_bound(div, &v, &v)?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        assert!(b.is_finite(), "{div}: bound {b} at extreme outputs");
    }
    Ok(())
}

#[test]
fn invalid_parameters_are_rejected_by_every_entry_point() {
    let bad = Divergence::Alpha { alpha: 1.0 };
    let (p, q) = reference_pair();
    assert!(f_divergence_discrete(bad, &[1.0], &[1.0]).is_err());
    assert!(f_divergence_gaussians_quadrature(bad, p, q).is_err());
    assert!(f_divergence_monte_carlo(bad, &[0.0, 0.1]).is_err());
    let t = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
    assert!(variational_bound(Divergence::WeightedJensenShannon { pi: 1.5 }, &t, &t).is_err());
}
