//! Tests of the dense stacks: outputs and gradients against candle's autograd, the
//! vectorized exponential, logarithm and softplus against libm, and size errors as values.

use super::*;
use candle_core::{Device, Tensor, Var};

/// The same stack through candle's autograd: output, parameter and input gradients of
/// `sum(out * w)`.
fn reference(
    widths: &[usize],
    acts: &[DenseActivation],
    params: &[Vec<f32>],
    x: &[f32],
    rows: usize,
    weight: &[f32],
) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>) {
    let dev = Device::Cpu;
    let vars: Vec<Var> = widths
        .windows(2)
        .enumerate()
        .flat_map(|(i, w)| {
            [
                Var::from_tensor(
                    &Tensor::from_vec(params[2 * i].clone(), (w[1], w[0]), &dev).unwrap(),
                )
                .unwrap(),
                Var::from_tensor(&Tensor::from_vec(params[2 * i + 1].clone(), w[1], &dev).unwrap())
                    .unwrap(),
            ]
        })
        .collect();
    let xv =
        Var::from_tensor(&Tensor::from_vec(x.to_vec(), (rows, widths[0]), &dev).unwrap()).unwrap();
    let mut h = xv.as_tensor().clone();
    for (i, act) in acts.iter().enumerate() {
        h = h
            .matmul(&vars[2 * i].as_tensor().t().unwrap())
            .unwrap()
            .broadcast_add(vars[2 * i + 1].as_tensor())
            .unwrap();
        h = match act {
            DenseActivation::Identity => h,
            DenseActivation::Relu => h.relu().unwrap(),
            DenseActivation::LeakyRelu(a) => candle_nn::ops::leaky_relu(&h, *a as f64).unwrap(),
            DenseActivation::Tanh => h.tanh().unwrap(),
            DenseActivation::Softplus => (h.relu().unwrap()
                + (h.abs().unwrap().neg().unwrap().exp().unwrap() + 1.0)
                    .unwrap()
                    .log()
                    .unwrap())
            .unwrap(),
            DenseActivation::Sigmoid => candle_nn::ops::sigmoid(&h).unwrap(),
        };
    }
    let wt = Tensor::from_vec(weight.to_vec(), h.shape(), &dev).unwrap();
    let loss = (&h * wt).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (
        flat(&h),
        vars.iter()
            .map(|v| flat(grads.get(v.as_tensor()).unwrap()))
            .collect(),
        flat(grads.get(xv.as_tensor()).unwrap()),
    )
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * scale, "{what}: {x} vs {y}");
    }
}

#[test]
fn forward_and_gradients_match_candle_autograd() {
    let mut rng = crate::GmRng::new(3);
    for (widths, hidden, output) in [
        (
            vec![3, 17, 9, 2],
            DenseActivation::Relu,
            DenseActivation::Identity,
        ),
        (
            vec![5, 33, 1],
            DenseActivation::LeakyRelu(0.2),
            DenseActivation::Identity,
        ),
        (
            vec![4, 64, 64, 6],
            DenseActivation::Tanh,
            DenseActivation::Tanh,
        ),
        (
            vec![6, 40, 11],
            DenseActivation::Softplus,
            DenseActivation::Sigmoid,
        ),
    ] {
        let stack = DenseStack::new(&widths, hidden, output).unwrap();
        let params: Vec<Vec<f32>> = stack
            .param_lens()
            .into_iter()
            .map(|l| rng.normal_vec(l).iter().map(|v| 0.4 * v).collect())
            .collect();
        let rows = 37;
        let x = rng.normal_vec(rows * widths[0]);
        let w = rng.normal_vec(rows * widths[widths.len() - 1]);
        let layers = widths.len() - 1;
        let mut acts = vec![hidden; layers];
        acts[layers - 1] = output;
        let (out, pgrads, xgrad) = reference(&widths, &acts, &params, &x, rows, &w);
        let p: Vec<&[f32]> = params.iter().map(|v| v.as_slice()).collect();
        let tape = stack.forward(&p, x.clone(), rows).unwrap();
        assert_close(tape.output(), &out, "output");
        // Gradients accumulate: two passes give twice the gradient.
        let mut grads = stack.zero_grads();
        stack
            .backward(&p, &tape, w.clone(), Some(&mut grads), false)
            .unwrap();
        let dx = stack
            .backward(&p, &tape, w.clone(), Some(&mut grads), true)
            .unwrap()
            .unwrap();
        for (i, (g, r)) in grads.iter().zip(&pgrads).enumerate() {
            let half: Vec<f32> = g.iter().map(|v| v / 2.0).collect();
            assert_close(&half, r, &format!("{widths:?} parameter {i}"));
        }
        assert_close(&dx, &xgrad, "input gradient");
    }
}

#[test]
fn vectorizable_exp_and_log_match_libm() {
    let rel = |a: f32, b: f32| ((a - b) / b.abs().max(f32::MIN_POSITIVE)).abs();
    let mut worst = [0f32; 3];
    for i in 0..=200_000 {
        let x = -87.0 * i as f32 / 200_000.0;
        worst[0] = worst[0].max(rel(exp_nonpositive(x), x.exp()));
        let u = i as f32 / 200_000.0;
        if u > 0.0 {
            worst[1] = worst[1].max(rel(ln_1p_unit(u), u.ln_1p()));
        }
        let y = 20.0 * i as f32 / 200_000.0;
        if y > 0.0 {
            worst[2] = worst[2].max(rel(one_minus_exp_neg(y), -(-y).exp_m1()));
        }
    }
    // A few ulp (f32's epsilon is 1.2e-7).
    assert!(worst.iter().all(|w| *w < 6e-7), "{worst:?}");
    assert_eq!(exp_nonpositive(0.0), 1.0);
    assert!(rel(exp_nonpositive(-1000.0), (-87f32).exp()) < 6e-7);
    assert_eq!(ln_1p_unit(0.0), 0.0);
}

#[test]
fn mismatched_sizes_are_errors() {
    let stack =
        DenseStack::new(&[2, 3, 1], DenseActivation::Relu, DenseActivation::Identity).unwrap();
    let params = stack.zero_grads();
    let p: Vec<&[f32]> = params.iter().map(|v| v.as_slice()).collect();
    assert!(stack.forward(&p, vec![0.0; 5], 3).is_err());
    assert!(stack.forward(&p[..3], vec![0.0; 6], 3).is_err());
    let tape = stack.forward(&p, vec![0.0; 6], 3).unwrap();
    assert!(stack.backward(&p, &tape, vec![0.0; 2], None, true).is_err());
    assert!(DenseStack::new(&[2], DenseActivation::Relu, DenseActivation::Identity).is_err());
    assert!(DenseStack::new(&[2, 0, 1], DenseActivation::Relu, DenseActivation::Identity).is_err());
}

#[test]
fn split_and_vectorized_activations_equal_the_scalar_loop_bit_for_bit() {
    // Long enough to be split across threads, with an odd tail.
    let n = (1 << 16) + 37;
    let x: Vec<f32> = (0..n)
        .map(|i: usize| (i.wrapping_mul(7919) % 2001) as f32 / 100.0 - 10.0)
        .collect();
    let g: Vec<f32> = (0..n)
        .map(|i: usize| (i.wrapping_mul(104_729) % 997) as f32 / 500.0 - 1.0)
        .collect();
    for act in [
        DenseActivation::Relu,
        DenseActivation::LeakyRelu(0.2),
        DenseActivation::Tanh,
        DenseActivation::Softplus,
        DenseActivation::Sigmoid,
    ] {
        let mut fast = x.clone();
        act.apply(&mut fast);
        let mut slow = x.clone();
        for v in slow.iter_mut() {
            act.apply_portable(std::slice::from_mut(v));
        }
        assert!(
            fast.iter()
                .zip(&slow)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{act:?} forward"
        );
        let mut fast_g = g.clone();
        act.backprop(&slow, &mut fast_g);
        let mut slow_g = g.clone();
        for (gv, y) in slow_g.iter_mut().zip(&slow) {
            act.backprop_portable(std::slice::from_ref(y), std::slice::from_mut(gv));
        }
        assert!(
            fast_g
                .iter()
                .zip(&slow_g)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{act:?} backward"
        );
    }
}
