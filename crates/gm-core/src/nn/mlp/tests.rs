//! Tests of the shared MLP: the same values as candle-nn's linear layers from the same seed,
//! the written-out parameter gradient against autograd, each activation's derivative against
//! autograd, orthogonal initial weights, dropout and the activated output.

use candle_core::{Device, Module, Tensor, Var};

use super::*;
use crate::nn::test_util::{max_diff, scale};
use crate::ParamStore;

const ACTS: [DenseActivation; 6] = [
    DenseActivation::Identity,
    DenseActivation::Relu,
    DenseActivation::LeakyRelu(0.2),
    DenseActivation::Tanh,
    DenseActivation::Softplus,
    DenseActivation::Sigmoid,
];

fn input(n: usize, d: usize) -> Tensor {
    GmRng::new(9)
        .normal((n, d), 0.0, 1.5, &Device::Cpu)
        .unwrap()
}

#[test]
fn forward_equals_candle_nn_layers_from_the_same_seed() {
    let dev = Device::Cpu;
    let widths = [5, 7, 3];
    let mlp = Mlp::new(
        &widths,
        DenseActivation::Tanh,
        MlpInit::Default,
        ParamStore::new(4).var_builder(&dev),
        "fc",
    )
    .unwrap();
    let store = ParamStore::new(4);
    let vb = store.var_builder(&dev);
    let l0 = candle_nn::linear(5, 7, vb.pp("fc0")).unwrap();
    let l1 = candle_nn::linear(7, 3, vb.pp("fc1")).unwrap();
    let x = input(6, 5);
    let want = l1
        .forward(&l0.forward(&x).unwrap().tanh().unwrap())
        .unwrap();
    assert_eq!(max_diff(&mlp.forward(&x).unwrap(), &want), 0.0);
    let names: Vec<String> = store.tensors().into_keys().collect();
    assert_eq!(names, ["fc0.bias", "fc0.weight", "fc1.bias", "fc1.weight"]);
    // With the activated output, the last layer is followed by tanh too.
    let hidden = mlp.clone().with_activated_output();
    assert_eq!(
        max_diff(&hidden.forward(&x).unwrap(), &want.tanh().unwrap()),
        0.0
    );
    assert!(Mlp::new(&[3], DenseActivation::Relu, MlpInit::Default, vb, "x").is_err());
}

#[test]
fn the_written_out_gradient_matches_autograd_for_every_activation() {
    let dev = Device::Cpu;
    let x = input(8, 4);
    for act in ACTS {
        let store = ParamStore::new(1);
        let mlp = Mlp::new(
            &[4, 6, 5, 2],
            act,
            MlpInit::Default,
            store.var_builder(&dev),
            "fc",
        )
        .unwrap();
        let target = input(8, 2);
        // loss = sum (out - target)^2 / 2: d loss / d out = out - target.
        let grads = mlp
            .param_gradient(mlp.params(), &x, |out| -> Result<Tensor> {
                Ok((out - &target)?)
            })
            .unwrap();
        let out = mlp.forward(&x).unwrap();
        let loss = ((out - &target).unwrap().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
        let auto = loss.backward().unwrap();
        for (p, g) in mlp.params().iter().zip(&grads) {
            let a = auto.get(p).unwrap();
            let tol = 1e-5 * scale(a);
            assert!(
                max_diff(g, a) <= tol,
                "{act:?}: {} vs {tol}",
                max_diff(g, a)
            );
        }
    }
}

#[test]
fn each_derivative_matches_autograd() {
    let z = Var::from_tensor(&input(5, 7)).unwrap();
    for act in ACTS {
        let out = act.apply_tensor(z.as_tensor()).unwrap();
        let auto = out.sum_all().unwrap().backward().unwrap();
        let a = auto.get(z.as_tensor()).unwrap();
        let d = act.derivative_tensor(z.as_tensor(), &out).unwrap();
        assert!(max_diff(&d, a) <= 1e-6, "{act:?}: {}", max_diff(&d, a));
    }
}

#[test]
fn orthogonal_weights_have_orthonormal_rows_or_columns() {
    let dev = Device::Cpu;
    for (widths, rows_orthonormal) in [([8, 4], true), ([3, 6], false)] {
        let mlp = Mlp::new(
            &widths,
            DenseActivation::Tanh,
            MlpInit::Orthogonal { gain: 1.4 },
            ParamStore::new(2).var_builder(&dev),
            "fc",
        )
        .unwrap();
        let w = &mlp.params()[0];
        let gram = if rows_orthonormal {
            w.matmul(&w.t().unwrap()).unwrap()
        } else {
            w.t().unwrap().matmul(w).unwrap()
        };
        let k = gram.dim(0).unwrap();
        let eye = (Tensor::eye(k, DType::F32, &dev).unwrap() * (1.4 * 1.4)).unwrap();
        assert!(max_diff(&gram, &eye) < 1e-5, "{widths:?}");
        let b = mlp.params()[1].abs().unwrap().sum_all().unwrap();
        assert_eq!(b.to_scalar::<f32>().unwrap(), 0.0);
    }
}

#[test]
fn dropout_keeps_units_at_the_kept_share_and_none_at_zero() {
    let dev = Device::Cpu;
    let mlp = Mlp::new(
        &[4, 200, 1],
        DenseActivation::Relu,
        MlpInit::Default,
        ParamStore::new(3).var_builder(&dev),
        "fc",
    )
    .unwrap();
    let x = input(16, 4);
    let plain = mlp.forward(&x).unwrap();
    let none = mlp.forward_dropout(&x, 0.0, &mut GmRng::new(0)).unwrap();
    assert_eq!(max_diff(&plain, &none), 0.0);
    let dropped = mlp.forward_dropout(&x, 0.5, &mut GmRng::new(0)).unwrap();
    assert!(max_diff(&plain, &dropped) > 1e-4);
    // Inverted dropout keeps the mean: over many masks the output's mean is the plain one.
    let mut rng = GmRng::new(1);
    let mut sum = plain.zeros_like().unwrap();
    for _ in 0..400 {
        sum = (sum + mlp.forward_dropout(&x, 0.5, &mut rng).unwrap()).unwrap();
    }
    let mean = (sum / 400.0).unwrap();
    assert!(
        max_diff(&mean, &plain) < 0.1 * scale(&plain),
        "{}",
        max_diff(&mean, &plain)
    );
}

#[test]
fn softplus_is_finite_and_exact_at_the_extremes() {
    let x = Tensor::new(&[-200f32, -1.0, 0.0, 1.0, 200.0], &Device::Cpu).unwrap();
    let y = softplus(&x).unwrap().to_vec1::<f32>().unwrap();
    let want = [0.0, 0.313_261_7, std::f32::consts::LN_2, 1.313_261_7, 200.0];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}
