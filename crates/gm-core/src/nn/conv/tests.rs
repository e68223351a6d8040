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

/// Blocks of one image, blocks that do not divide the batch of 5 and one block for the whole
/// batch give the same outputs and gradients, for both ops (and for a kernel that covers the
/// whole image, one position per image).
#[test]
fn block_sizes_give_the_same_convolutions() {
    let dev = Device::Cpu;
    let cases = [
        // (n, c_in, H, W), c_out, k, stride, pad: transposed when the last is true
        ((5, 3, 9, 8), 4, 4, 2, 1, false),
        ((5, 4, 7, 7), 2, 7, 1, 0, false),
        ((5, 3, 4, 5), 2, 4, 2, 1, true),
        ((5, 6, 1, 1), 3, 7, 1, 0, true),
    ];
    for (i, (xs, co, k, s, p, transposed)) in cases.into_iter().enumerate() {
        let mut rng = GmRng::new(40 + i as u64);
        let ws = if transposed {
            (xs.1, co, k, k)
        } else {
            (co, xs.1, k, k)
        };
        let x = Var::from_tensor(&rng.normal(xs, 0.0, 1.0, &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&rng.normal(ws, 0.0, 0.3, &dev).unwrap()).unwrap();
        let run = |block: Blocks| {
            let y = if transposed {
                conv_transpose2d_blocked(&x, &w, (s, p, 0), block).unwrap()
            } else {
                conv2d_blocked(&x, &w, s, p, block).unwrap()
            };
            let gy = GmRng::new(9)
                .normal(y.shape().clone(), 0.0, 1.0, &dev)
                .unwrap();
            let g = (&y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
            [y, g.get(&x).unwrap().clone(), g.get(&w).unwrap().clone()]
        };
        let whole = run(Blocks::at_most(usize::MAX));
        // Per image, the patches hold 147 to 768 floats: blocks of 1 to 4 images.
        for block in [1, 300, 700, 2000] {
            for (a, b) in run(Blocks::at_most(block)).iter().zip(&whole) {
                assert!(
                    max_diff(a, b) <= 1e-5 * scale(b),
                    "case {i}, {block} floats per block: {}",
                    max_diff(a, b)
                );
            }
        }
    }
}

/// The weight gradient as an op of its own (what a second-order gradient through a weight
/// gradient differentiates): its value is candle's conv2d weight gradient, and its backward
/// pass gives `d/d dy <gw, dW(x, dy)> = conv(x, gw)` and `d/dx = conv_t(dy, gw)`, against
/// candle's convolutions.
#[test]
fn the_weight_gradient_op_and_its_backward_match_candle() {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(77);
    let (n, c_in, c_out, k, s, p) = (3, 2, 4, 4, 2, 1);
    let g = Geometry {
        c_in,
        c_out,
        big: (8, 8),
        small: (4, 4),
        k,
        stride: s,
        pad: p,
        block: Blocks::at_most(300),
    };
    let x = Var::from_tensor(&rng.normal((n, c_in, 8, 8), 0.0, 1.0, &dev).unwrap()).unwrap();
    let dy = Var::from_tensor(&rng.normal((n, c_out, 4, 4), 0.0, 1.0, &dev).unwrap()).unwrap();
    let gw = rng.normal((c_out, c_in, k, k), 0.0, 1.0, &dev).unwrap();
    let dw = apply(Kind::WeightGrad, g, &x, &dy).unwrap();
    // candle's weight gradient of <dy, conv(x, w)> at any w.
    let w = Var::from_tensor(&gw.zeros_like().unwrap()).unwrap();
    let y = x.detach().conv2d(&w, p, s, 1, 1).unwrap();
    let want = (y * dy.detach())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let want = want.get(&w).unwrap();
    assert!(max_diff(&dw, want) <= 1e-4 * scale(want), "value");
    let grads = (dw * &gw).unwrap().sum_all().unwrap().backward().unwrap();
    let d_dy = x.detach().conv2d(&gw, p, s, 1, 1).unwrap();
    let d_x = dy.detach().conv_transpose2d(&gw, p, 0, s, 1).unwrap();
    for (name, v, want) in [("dy", &dy, &d_dy), ("x", &x, &d_x)] {
        let got = grads.get(v).unwrap();
        assert_eq!(got.dims(), want.dims(), "{name}");
        assert!(max_diff(got, want) <= 1e-4 * scale(want), "d/d{name}");
    }
}
