//! Each objective's losses against their definitions.

use super::*;
use candle_core::Device;

#[test]
fn bce_is_stable_and_matches_the_formula() {
    let dev = Device::Cpu;
    let x = Tensor::new(&[-1000f32, -2.0, 0.0, 3.0, 1000.0], &dev).unwrap();
    let l = bce_with_logits(&x, 0.9)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap() as f64;
    // Reference: mean of -y log s(x) - (1 - y) log(1 - s(x)), in f64 with log1p.
    let want: f64 = [-1000f64, -2.0, 0.0, 3.0, 1000.0]
        .iter()
        .map(|&v| {
            let sp = |t: f64| t.max(0.0) + (-t.abs()).exp().ln_1p();
            0.9 * sp(-v) + 0.1 * sp(v)
        })
        .sum::<f64>()
        / 5.0;
    assert!(l.is_finite());
    assert!((l - want).abs() < 1e-3 * want, "{l} vs {want}");
}

fn values(obj: &Objective, real: &[f32], fake: &[f32]) -> (f64, f64) {
    let dev = Device::Cpu;
    let r = Tensor::new(real, &dev)
        .unwrap()
        .reshape((real.len(), 1))
        .unwrap();
    let f = Tensor::new(fake, &dev)
        .unwrap()
        .reshape((fake.len(), 1))
        .unwrap();
    let c = obj
        .critic_loss(&r, &f, 1.0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let g = obj.generator_loss(&f).unwrap().to_scalar::<f32>().unwrap();
    (c as f64, g as f64)
}

#[test]
fn hinge_and_least_squares_match_their_definitions() {
    let real = [2.0f32, 0.5, -0.25, 1.0];
    let fake = [-3.0f32, -0.5, 0.75];
    let mean = |v: &[f32], f: &dyn Fn(f64) -> f64| {
        v.iter().map(|&x| f(x as f64)).sum::<f64>() / v.len() as f64
    };
    let (c, g) = values(&Objective::Hinge, &real, &fake);
    // Only the real scores below 1 and the generated ones above -1 pay.
    let want_c = mean(&real, &|v| (1.0 - v).max(0.0)) + mean(&fake, &|v| (1.0 + v).max(0.0));
    assert!((want_c - (0.5 + 1.25) / 4.0 - (0.5 + 1.75) / 3.0).abs() < 1e-12);
    assert!((c - want_c).abs() < 1e-6, "{c} vs {want_c}");
    assert!((g - mean(&fake, &|v| -v)).abs() < 1e-6);
    let (c, g) = values(&Objective::LeastSquares, &real, &fake);
    let want_c = 0.5 * (mean(&real, &|v| (v - 1.0).powi(2)) + mean(&fake, &|v| v * v));
    assert!((c - want_c).abs() < 1e-6, "{c} vs {want_c}");
    assert!((g - 0.5 * mean(&fake, &|v| (v - 1.0).powi(2))).abs() < 1e-6);
    // Both critics are minimised by scores past the margins / on the targets.
    assert_eq!(values(&Objective::Hinge, &[1.5, 3.0], &[-1.0, -2.0]).0, 0.0);
    assert_eq!(values(&Objective::LeastSquares, &[1.0], &[0.0]).0, 0.0);
    for o in [Objective::Hinge, Objective::LeastSquares] {
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(serde_json::from_value::<Objective>(json).unwrap(), o);
    }
}

/// A user-defined cost trains like a built-in: the cross-entropy pair rebuilt from
/// (omega, rho) gives C's losses up to the constant phi and psi are defined up to.
#[test]
fn a_custom_cost_is_an_objective_and_names_itself_in_configs() {
    let custom = DiscriminatorCost::custom("C rebuilt", |r| r / (1.0 + r), |t| 1.0 / t).unwrap();
    let o = Objective::OmegaRhoCustom {
        cost: CustomCost(custom),
    };
    let c = Objective::OmegaRho { cost: OmegaCost::C };
    let (r, f) = ([0.5f32, -1.0, 2.0], [0.25f32, -0.5, 1.0]);
    let (co, go) = values(&o, &r, &f);
    let (cc, gc) = values(&c, &r, &f);
    // phi and psi of the custom cost vanish at omega(1) = 1/2: C's are log(1/2) there.
    let half = 0.5f64.ln();
    // The critic's loss is -J: -(J_C - 2 log(1/2)).
    assert!((co - (cc + 2.0 * half)).abs() < 1e-4, "{co} vs {cc}");
    assert!((go - (gc - half)).abs() < 1e-4, "{go} vs {gc}");
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["cost"], "C rebuilt");
    let e = serde_json::from_value::<Objective>(json).unwrap_err();
    assert!(e.to_string().contains("defined in code"), "{e}");
}

#[test]
fn clip_must_be_positive() {
    for c in [0.0, -0.1, f64::NAN] {
        assert!(matches!(
            Objective::Wgan { clip: c }.validate(),
            Err(Error::Config {
                field: "objective.clip",
                ..
            })
        ));
    }
    Objective::Wgan { clip: 0.01 }.validate().unwrap();
}

#[test]
fn penalty_weight_must_be_positive() {
    for p in [0.0, -10.0, f64::INFINITY] {
        assert!(matches!(
            Objective::WganGp { penalty: p }.validate(),
            Err(Error::Config {
                field: "objective.penalty",
                ..
            })
        ));
    }
}

#[test]
fn bandwidths_must_be_positive_and_present() {
    for b in [vec![], vec![1.0, 0.0]] {
        assert!(matches!(
            Objective::Mmd { bandwidths: b }.validate(),
            Err(Error::Config {
                field: "objective.bandwidths",
                ..
            })
        ));
    }
}

#[test]
fn bad_f_divergence_parameter_is_refused() {
    let o = Objective::FGan {
        divergence: Divergence::Alpha { alpha: 1.0 },
        non_saturating: true,
    };
    assert!(matches!(o.validate(), Err(Error::Divergence(_))));
}

#[test]
fn every_catalogue_divergence_round_trips() {
    for d in Divergence::catalogue() {
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(serde_json::from_value::<Divergence>(json).unwrap(), d);
    }
    assert_eq!(
        serde_json::to_value(Divergence::WeightedJensenShannon { pi: 0.25 }).unwrap(),
        serde_json::json!({"name": "weighted_jensen_shannon", "pi": 0.25})
    );
}

#[test]
fn kernel_objective_has_no_critic() {
    let dev = Device::Cpu;
    let v = Tensor::zeros((2, 1), candle_core::DType::F32, &dev).unwrap();
    let o = Objective::Mmd {
        bandwidths: vec![1.0],
    };
    assert!(o.critic_loss(&v, &v, 1.0).is_err());
    assert!(o.generator_loss(&v).is_err());
}
