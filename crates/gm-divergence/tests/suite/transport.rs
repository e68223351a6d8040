//! Wasserstein distances: the sliced distance of 1-D data equals the exact 1-D distance, the
//! exact assignment equals the sorted 1-D matching, Sinkhorn converges to the exact cost as
//! epsilon shrinks, and the sliced loss carries gradients.

use candle_core::{DType, Device, Tensor, Var};
use gm_core::GmRng;
use gm_divergence::*;

fn cloud(rng: &mut GmRng, n: usize, d: usize, mean: f64) -> Tensor {
    rng.normal((n, d), mean, 1.0, &Device::Cpu).unwrap()
}

fn column(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

#[test]
fn sliced_wasserstein_of_one_dimensional_data_is_exact_w1() {
    let mut rng = GmRng::new(3);
    let x = cloud(&mut rng, 200, 1, 0.0);
    let y = cloud(&mut rng, 200, 1, 0.7);
    let exact = wasserstein_1d(&column(&x), &column(&y), 1.0).unwrap();
    // In 1-D every unit direction is +1 or -1, and W1 is invariant under x -> -x.
    let dirs = random_directions(1, 16, &mut rng, &Device::Cpu).unwrap();
    let value = sliced_wasserstein_value(&x, &y, &dirs, 1.0, false).unwrap();
    let tensor = sliced_wasserstein(&x, &y, &dirs, 1.0)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    println!("exact W1 {exact:.6}, sliced value {value:.6}, sliced tensor {tensor:.6}");
    assert!((value - exact).abs() < 1e-9 * exact.max(1.0));
    assert!((tensor - exact).abs() < 1e-5 * exact.max(1.0));
    // Unequal sizes through the value form.
    let y_small = cloud(&mut rng, 37, 1, 0.7);
    let exact = wasserstein_1d(&column(&x), &column(&y_small), 2.0).unwrap();
    let value = sliced_wasserstein_value(&x, &y_small, &dirs, 2.0, true).unwrap();
    assert!((value - exact).abs() < 1e-9 * exact.max(1.0));
}

#[test]
fn exact_assignment_in_one_dimension_is_the_sorted_matching() {
    let mut rng = GmRng::new(4);
    let x = cloud(&mut rng, 40, 1, 0.0);
    let y = cloud(&mut rng, 40, 1, 2.0);
    for p in [1.0, 2.0] {
        let sorted = wasserstein_1d(&column(&x), &column(&y), p).unwrap();
        let assigned = wasserstein_exact(&x, &y, p).unwrap();
        assert!(
            (sorted - assigned).abs() < 1e-9,
            "p {p}: {sorted} vs {assigned}"
        );
    }
}

#[test]
fn sinkhorn_cost_decreases_to_the_exact_optimum() {
    let mut rng = GmRng::new(5);
    let x = cloud(&mut rng, 30, 2, 0.0);
    let y = cloud(&mut rng, 30, 2, 1.0);
    let exact = wasserstein_exact(&x, &y, 2.0).unwrap().powi(2);
    let mut previous = f64::INFINITY;
    for eps in [1.0, 0.3, 0.1] {
        let s = sinkhorn(&x, &y, 2.0, eps, 50_000, 1e-8).unwrap();
        println!(
            "eps {eps}: cost {:.6} (exact {exact:.6}), {} iterations",
            s.transport_cost, s.iterations
        );
        // The entropic plan is feasible, so its cost is at least the optimum.
        assert!(s.transport_cost >= exact - 1e-6);
        assert!(s.transport_cost <= previous + 1e-9);
        previous = s.transport_cost;
        let col: f64 = (0..30).map(|i| s.plan[i * 30 + 3]).sum();
        assert!(
            (col - 1.0 / 30.0).abs() < 1e-9,
            "columns are exact after the g update"
        );
    }
    assert!((previous - exact) / exact < 0.02, "{previous} vs {exact}");
    assert!(sinkhorn(&x, &y, 2.0, 0.0, 10, 1e-9).is_err());
    assert!(sinkhorn(&x, &y, 2.0, 1e-3, 2, 1e-12).is_err());
}

#[test]
fn sliced_wasserstein_gradient_moves_points_towards_the_target() -> anyhow::Result<()> {
    let mut rng = GmRng::new(6);
    let target = cloud(&mut rng, 64, 2, 3.0);
    let x = Var::from_tensor(&cloud(&mut rng, 64, 2, 0.0))?;
    let dirs = random_directions(2, 32, &mut rng, &Device::Cpu)?;
    let before = sliced_wasserstein(x.as_tensor(), &target, &dirs, 2.0)?.to_scalar::<f32>()?;
    for _ in 0..50 {
        let loss = sliced_wasserstein(x.as_tensor(), &target, &dirs, 2.0)?;
        let g = loss.backward()?;
        let grad = g.get(x.as_tensor()).expect("gradient");
        x.set(&(x.as_tensor() - (grad * 20.0)?)?)?;
    }
    let after = sliced_wasserstein(x.as_tensor(), &target, &dirs, 2.0)?.to_scalar::<f32>()?;
    println!("SW2 before {before:.4}, after 50 steps {after:.4}");
    assert!(after < 0.2 * before);
    Ok(())
}

#[test]
fn bad_inputs_are_named_errors() {
    let mut rng = GmRng::new(7);
    let x = cloud(&mut rng, 10, 2, 0.0);
    let y = cloud(&mut rng, 12, 3, 0.0);
    let dirs = random_directions(2, 4, &mut rng, &Device::Cpu).unwrap();
    let e = sliced_wasserstein_value(&x, &y, &dirs, 1.0, false).unwrap_err();
    assert!(e.to_string().contains("dimension"), "{e}");
    assert!(sliced_wasserstein(&x, &x, &dirs, 0.5).is_err());
    assert!(wasserstein_1d(&[1.0, f64::NAN], &[0.0], 1.0).is_err());
}
