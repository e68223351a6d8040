//! Unit tests of gm-core's `nn::conv`.

use super::*;
use crate::nn::test_util::{max_diff, scale};
use crate::GmRng;
use candle_core::{Device, Var};

/// Forward and both gradients against candle's reference op.
fn check(
    xs: (usize, usize, usize, usize),
    ws: (usize, usize, usize, usize),
    ours: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
    reference: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
    seed: u64,
) {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let x = Var::from_tensor(&rng.normal(xs, 0.0, 1.0, &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&rng.normal(ws, 0.0, 0.3, &dev).unwrap()).unwrap();
    let y_ref = reference(&x, &w).unwrap();
    let y = ours(&x, &w).unwrap();
    assert_eq!(y.dims(), y_ref.dims(), "shape for x {xs:?} w {ws:?}");
    let tol = 1e-4 * scale(&y_ref);
    assert!(max_diff(&y, &y_ref) <= tol, "forward x {xs:?} w {ws:?}");
    let gy = rng.normal(y.shape().clone(), 0.0, 1.0, &dev).unwrap();
    let g_ref = (y_ref * &gy)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = (y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
    for (name, v) in [("x", &x), ("w", &w)] {
        let (a, b) = (g.get(v).unwrap(), g_ref.get(v).unwrap());
        assert!(
            max_diff(a, b) <= 1e-4 * scale(b),
            "grad {name} for x {xs:?} w {ws:?}: {}",
            max_diff(a, b)
        );
    }
}

#[test]
fn conv2d_matches_candle_forward_and_gradients() {
    let cases = [
        // (n, c_in, H, W), c_out, k, stride, pad
        ((2, 3, 7, 9), 4, 3, 1, 0),
        ((2, 3, 7, 9), 4, 3, 1, 1),
        ((3, 2, 14, 14), 5, 4, 2, 1),
        ((1, 1, 28, 28), 6, 5, 1, 2),
        ((2, 4, 11, 9), 3, 3, 2, 0),
        ((2, 2, 5, 5), 3, 5, 2, 2),
        ((2, 2, 10, 10), 3, 3, 3, 1),
        ((1, 3, 12, 9), 2, 4, 3, 2),
    ];
    for (i, (xs, co, k, s, p)) in cases.into_iter().enumerate() {
        check(
            xs,
            (co, xs.1, k, k),
            &|x, w| conv2d_op(x, w, s, p),
            &|x, w| x.conv2d(w, p, s, 1, 1),
            i as u64,
        );
    }
}

/// Where (H + 2p - k) is not a multiple of the stride, candle's own conv2d backward fails
/// (its transposed convolution returns a smaller image); ours must still be the exact
/// adjoint: <conv(x'), gy> = <x', grad_x> for any x', since conv is linear in x.
#[test]
fn conv2d_gradient_is_the_adjoint_when_the_stride_does_not_divide() {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(7);
    let w = rng.normal((3, 4, 3, 3), 0.0, 0.3, &dev).unwrap();
    let x = Var::from_tensor(&rng.normal((2, 4, 11, 8), 0.0, 1.0, &dev).unwrap()).unwrap();
    let y = conv2d_op(&x, &w, 2, 0).unwrap();
    assert_eq!(y.dims(), &[2, 3, 5, 3]);
    let y_ref = x.conv2d(&w, 0, 2, 1, 1).unwrap();
    assert!(max_diff(&y, &y_ref) <= 1e-4 * scale(&y_ref));
    let gy = rng.normal((2, 3, 5, 3), 0.0, 1.0, &dev).unwrap();
    let gx = (&y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
    let gx = gx.get(&x).unwrap();
    let x2 = rng.normal((2, 4, 11, 8), 0.0, 1.0, &dev).unwrap();
    let lhs = (conv2d_op(&x2, &w, 2, 0).unwrap() * &gy)
        .unwrap()
        .sum_all()
        .unwrap();
    let rhs = (&x2 * gx).unwrap().sum_all().unwrap();
    let (l, r) = (
        lhs.to_scalar::<f32>().unwrap(),
        rhs.to_scalar::<f32>().unwrap(),
    );
    assert!((l - r).abs() <= 1e-4 * l.abs().max(1.0), "{l} vs {r}");
}

#[test]
fn conv_transpose2d_matches_candle_forward_and_gradients() {
    let cases = [
        // (n, c_in, h, w), c_out, k, stride, pad, output_padding
        ((2, 3, 4, 5), 2, 3, 1, 0, 0),
        ((2, 3, 4, 5), 2, 3, 1, 1, 0),
        ((3, 4, 7, 7), 2, 4, 2, 1, 0),
        ((2, 3, 5, 3), 4, 3, 2, 1, 1),
        ((1, 2, 6, 6), 3, 5, 2, 2, 1),
        ((2, 5, 3, 4), 3, 4, 2, 0, 0),
        ((2, 3, 4, 4), 2, 3, 3, 1, 0),
        ((1, 2, 3, 5), 3, 4, 3, 2, 2),
    ];
    for (i, (xs, co, k, s, p, op)) in cases.into_iter().enumerate() {
        check(
            xs,
            (xs.1, co, k, k),
            &|x, w| conv_transpose2d_op(x, w, s, p, op),
            &|x, w| x.conv_transpose2d(w, p, op, s, 1),
            100 + i as u64,
        );
    }
}

/// The portable path (Metal's) against candle's convolutions, fed a non-contiguous
/// kernel (the same values, transposed twice) as candle's conv backward feeds one.
#[test]
fn gathered_convolutions_match_candle_with_a_strided_kernel() {
    let strided = |w: &Tensor| {
        w.transpose(0, 1)
            .unwrap()
            .contiguous()
            .unwrap()
            .transpose(0, 1)
            .unwrap()
    };
    for (i, (xs, co, k, s, p)) in [((3, 2, 14, 14), 5, 4, 2, 1), ((2, 4, 11, 9), 3, 3, 2, 0)]
        .into_iter()
        .enumerate()
    {
        let ours = |x: &Tensor, w: &Tensor| {
            let w = strided(w);
            assert!(!w.is_contiguous());
            conv2d_gather(x, &w, s, p)
        };
        check(
            xs,
            (co, xs.1, k, k),
            &ours,
            &|x, w| x.conv2d(w, p, s, 1, 1),
            200 + i as u64,
        );
    }
    for (i, (xs, co, k, s, p, op)) in [((3, 4, 7, 7), 2, 4, 2, 1, 0), ((2, 3, 5, 3), 4, 3, 2, 1, 1)]
        .into_iter()
        .enumerate()
    {
        let ours = |x: &Tensor, w: &Tensor| conv_transpose2d_gather(x, &strided(w), s, p, op);
        let reference = |x: &Tensor, w: &Tensor| x.conv_transpose2d(w, p, op, s, 1);
        check(xs, (xs.1, co, k, k), &ours, &reference, 300 + i as u64);
    }
}

#[test]
fn layers_keep_candle_parameter_names() {
    let store = crate::ParamStore::new(0);
    let vb = store.var_builder(&Device::Cpu);
    let c = conv2d(1, 2, 3, ConvConfig::default(), vb.pp("c")).unwrap();
    let t = conv_transpose2d(
        2,
        1,
        4,
        ConvConfig {
            stride: 2,
            padding: 1,
            output_padding: 0,
        },
        vb.pp("t"),
    )
    .unwrap();
    assert_eq!(
        store.names(),
        vec!["c.bias", "c.weight", "t.bias", "t.weight"]
    );
    let x = Tensor::zeros((1, 1, 8, 8), DType::F32, &Device::Cpu).unwrap();
    let y = t.forward(&c.forward(&x).unwrap()).unwrap();
    assert_eq!(y.dims(), &[1, 1, 12, 12]);
}

#[test]
fn mismatched_shapes_are_errors() {
    let x = Tensor::zeros((1, 3, 8, 8), DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((2, 4, 3, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(conv2d_op(&x, &w, 1, 0).is_err());
    assert!(conv_transpose2d_op(&x, &w, 1, 0, 0).is_err());
}
