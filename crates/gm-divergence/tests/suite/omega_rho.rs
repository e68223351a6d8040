//! The omega/rho theorem: the pointwise maximiser of f phi(D) + g psi(D) is omega(g/f), the
//! value at f = g is phi(omega(1)) + psi(omega(1)), the built-ins' closed forms integrate
//! their (omega, rho), custom costs work, and the tensor cost matches the scalar one.

use candle_core::{Device, Tensor, Var};
use gm_divergence::estimate::Gaussian1d;
use gm_divergence::optimize::maximize;
use gm_divergence::DiscriminatorCost;

fn search_range(cost: &DiscriminatorCost) -> (f64, f64) {
    match cost.domain() {
        (a, b) if a.is_finite() && b.is_finite() => {
            let pad = 1e-9 * (b - a);
            (a + pad, b - pad)
        }
        // A's ratio g / f reaches about 25 at x = 3 for the Gaussians below.
        (a, _) if a.is_finite() => (a + 1e-9, 100.0),
        _ => (-20.0, 20.0),
    }
}

fn custom_costs() -> Vec<DiscriminatorCost> {
    vec![
        // The cross-entropy pair, rebuilt from (omega, rho) only.
        DiscriminatorCost::custom("C rebuilt", |r| r / (1.0 + r), |t| 1.0 / t).unwrap(),
        // omega = atan(log r) on (-pi/2, pi/2), rho = 1 + t^2.
        DiscriminatorCost::custom("atan", |r: f64| r.ln().atan(), |t| 1.0 + t * t).unwrap(),
    ]
}

#[test]
fn closed_forms_equal_integrated_omega_rho() {
    for cost in DiscriminatorCost::closed_forms() {
        let t0 = cost.omega(1.0);
        let (lo, hi) = match cost.domain() {
            (a, b) if a.is_finite() && b.is_finite() => (a + 0.02, b - 0.02),
            (a, _) if a.is_finite() => (a + 0.02, 5.0),
            _ => (-3.0, 3.0),
        };
        for k in 0..=40 {
            let t = lo + (hi - lo) * k as f64 / 40.0;
            let phi = cost.phi(t) - cost.phi(t0);
            let psi = cost.psi(t) - cost.psi(t0);
            let phi_num = cost.phi_integrated(t).unwrap();
            let psi_num = cost.psi_integrated(t).unwrap();
            assert!(
                (phi - phi_num).abs() < 1e-9,
                "{}: phi({t}) {phi} vs {phi_num}",
                cost.name()
            );
            assert!(
                (psi - psi_num).abs() < 1e-9,
                "{}: psi({t}) {psi} vs {psi_num}",
                cost.name()
            );
            // omega and its inverse agree.
            let r = cost.omega_inverse(t);
            assert!((cost.omega(r) - t).abs() < 1e-12);
        }
    }
}

#[test]
fn pointwise_maximiser_is_omega_of_the_ratio() {
    let f = Gaussian1d::new(0.0, 1.0).unwrap();
    let g = Gaussian1d::new(1.0, 1.5).unwrap();
    let mut costs: Vec<DiscriminatorCost> = DiscriminatorCost::closed_forms().to_vec();
    costs.extend(custom_costs());
    for cost in &costs {
        let (lo, hi) = search_range(cost);
        // Custom phi and psi are quadratures of a bisection-inverted omega: fewer points.
        let (points, grid) = match cost {
            DiscriminatorCost::Custom(_) => (4, 100),
            _ => (20, 2000),
        };
        for i in 0..=points {
            let x = -3.0 + 6.0 * i as f64 / points as f64;
            let (fd, gd) = (f.log_density(x).exp(), g.log_density(x).exp());
            let (d, _) = maximize(|d| cost.pointwise_value(fd, gd, d), lo, hi, grid);
            let star = cost.optimal_discriminator(fd, gd);
            assert!(
                (d - star).abs() < 1e-6,
                "{}: argmax {d} vs omega(g/f) {star} at x = {x}",
                cost.name()
            );
        }
        // f = g: the best constant discriminator attains phi(omega(1)) + psi(omega(1)).
        let (d, best) = maximize(|d| cost.phi(d) + cost.psi(d), lo, hi, grid);
        assert!((d - cost.omega(1.0)).abs() < 1e-6, "{}", cost.name());
        assert!(
            (best - cost.value_at_equality()).abs() < 1e-9,
            "{}",
            cost.name()
        );
    }
}

#[test]
fn builtin_values_at_equality() {
    // A: -1/2 + 1; B: -1 - 1; C: 2 log(1/2); mean square: -1/4 - 1/4.
    let v: Vec<f64> = DiscriminatorCost::closed_forms()
        .iter()
        .map(|c| c.value_at_equality())
        .collect();
    assert!((v[0] - 0.5).abs() < 1e-15);
    assert!((v[1] + 2.0).abs() < 1e-15);
    assert!((v[2] + 4f64.ln()).abs() < 1e-15);
    assert!((v[3] + 0.5).abs() < 1e-15);
}

#[test]
fn custom_cross_entropy_matches_builtin_up_to_constants() {
    let custom = &custom_costs()[0];
    let c = DiscriminatorCost::CrossEntropy;
    let t0 = c.omega(1.0);
    for k in 1..20 {
        let t = k as f64 / 20.0;
        assert!((custom.phi(t) - (c.phi(t) - c.phi(t0))).abs() < 1e-9);
        assert!((custom.psi(t) - (c.psi(t) - c.psi(t0))).abs() < 1e-9);
        assert!(
            (custom.omega_inverse(t) - c.omega_inverse(t)).abs()
                < 1e-9 * (1.0 + c.omega_inverse(t))
        );
    }
}

#[test]
fn tensor_cost_matches_scalar_and_has_the_right_gradient() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let dr = [0.2f64, 0.45, 0.7, 0.9];
    let df = [0.1f64, 0.3, 0.55, 0.8];
    let mut costs: Vec<DiscriminatorCost> = DiscriminatorCost::closed_forms().to_vec();
    costs.extend(custom_costs());
    for cost in &costs {
        let real = Var::from_tensor(&Tensor::new(&dr, &dev)?)?;
        let fake = Var::from_tensor(&Tensor::new(&df, &dev)?)?;
        let j = cost.cost(real.as_tensor(), fake.as_tensor())?;
        let expect = dr.iter().map(|&t| cost.phi(t)).sum::<f64>() / 4.0
            + df.iter().map(|&t| cost.psi(t)).sum::<f64>() / 4.0;
        let got = j.to_scalar::<f64>()?;
        assert!(
            (got - expect).abs() < 1e-9,
            "{}: {got} vs {expect}",
            cost.name()
        );
        let grads = j.backward()?;
        let gr = grads.get(&real).expect("grad").to_vec1::<f64>()?;
        let gf = grads.get(&fake).expect("grad").to_vec1::<f64>()?;
        for i in 0..4 {
            assert!(
                (gr[i] - cost.phi_prime(dr[i]) / 4.0).abs() < 1e-9,
                "{}",
                cost.name()
            );
            assert!(
                (gf[i] - cost.psi_prime(df[i]) / 4.0).abs() < 1e-9,
                "{}",
                cost.name()
            );
        }
        let gl = cost.generator_loss(fake.as_tensor())?.to_scalar::<f64>()?;
        let psi_mean = df.iter().map(|&t| cost.psi(t)).sum::<f64>() / 4.0;
        assert!((gl - psi_mean).abs() < 1e-9);
    }
    // Cross entropy from logits is the stable form of the sigmoid composition.
    let v = Tensor::new(&[-2.0f64, 0.0, 1.5, 3.0], &dev)?;
    let c = DiscriminatorCost::CrossEntropy;
    let a = c.cost_from_logits(&v, &v)?.to_scalar::<f64>()?;
    let s = c.activation_tensor(&v)?;
    let b = c.cost(&s, &s)?.to_scalar::<f64>()?;
    assert!((a - b).abs() < 1e-12);
    // Extreme logits stay finite.
    let big = Tensor::new(&[-200.0f32, 200.0], &dev)?;
    let e = c.cost_from_logits(&big, &big)?.to_scalar::<f32>()?;
    assert!(e.is_finite());
    Ok(())
}

/// The notes' cost A estimates the density ratio itself: D* = g / f, with D = softplus(v)
/// positive for any raw score.
#[test]
fn cost_a_is_the_density_ratio() {
    let a = DiscriminatorCost::Ratio;
    for (f, g) in [(1.0, 1.0), (0.2, 0.6), (0.5, 0.05)] {
        assert!((a.optimal_discriminator(f, g) - g / f).abs() < 1e-15);
    }
    assert!((a.phi_prime(2.0) + 2.0).abs() < 1e-15);
    let v = Tensor::new(&[-30.0f64, 0.0, 3.0], &Device::Cpu).unwrap();
    let d = a.activation_tensor(&v).unwrap().to_vec1::<f64>().unwrap();
    assert!(d.iter().all(|&t| t > 0.0), "{d:?}");
    assert!((d[1] - 2f64.ln()).abs() < 1e-12);
}
