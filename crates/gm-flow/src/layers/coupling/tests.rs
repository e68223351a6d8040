//! Unit tests of gm-flow's `layers::coupling`.

use super::*;
use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};
use gm_core::{GmRng, ParamStore};

fn layers(store: &ParamStore, scale_fn: ScaleFn) -> Vec<(AffineCoupling, Vec<usize>)> {
    let dev = Device::Cpu;
    let vb = store.var_builder(&dev);
    vec![
        (
            checkerboard_coupling(1, 4, false, scale_fn, vb.pp("c0")).unwrap(),
            vec![1, 1, 4, 4],
        ),
        (
            checkerboard_coupling(2, 4, true, scale_fn, vb.pp("c1")).unwrap(),
            vec![1, 2, 3, 3],
        ),
        (
            channel_coupling(4, 4, false, scale_fn, vb.pp("c2")).unwrap(),
            vec![1, 4, 2, 2],
        ),
        (
            channel_coupling(3, 4, true, scale_fn, vb.pp("c3")).unwrap(),
            vec![1, 3, 2, 2],
        ),
        (
            alternating_coupling(2, 8, false, scale_fn, vb.pp("c4")).unwrap(),
            vec![1, 2],
        ),
        (
            alternating_coupling(5, 8, true, scale_fn, vb.pp("c5")).unwrap(),
            vec![1, 5],
        ),
    ]
}

#[test]
fn every_mask_inverts_and_log_det_matches_the_jacobian() {
    for scale_fn in [ScaleFn::Tanh, ScaleFn::Sigmoid] {
        let store = ParamStore::new(1);
        let ls = layers(&store, scale_fn);
        // Away from the zero initialisation, so the couplings are not the identity.
        randomize(&store, 2, 0.5);
        for (i, (layer, shape)) in ls.iter().enumerate() {
            let x = GmRng::new(10 + i as u64)
                .normal(shape.clone(), 0.0, 1.0, &Device::Cpu)
                .unwrap();
            let (z, ld) = layer.forward(&x).unwrap();
            let moved = (&z - &x).unwrap().abs().unwrap().max_all().unwrap();
            assert!(
                moved.to_scalar::<f32>().unwrap() > 1e-3,
                "layer {i} is the identity"
            );
            assert!(
                ld.abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
                    > 1e-3
            );
            assert_round_trip(layer, &x, 1e-5);
            assert_log_det_matches(layer, &x, 1e-4);
        }
    }
}

#[test]
fn kept_part_is_unchanged_and_zero_init_is_the_identity() {
    let store = ParamStore::new(1);
    let layer =
        checkerboard_coupling(1, 4, false, ScaleFn::Tanh, store.var_builder(&Device::Cpu)).unwrap();
    let x = GmRng::new(3)
        .normal((2, 1, 4, 4), 0.0, 1.0, &Device::Cpu)
        .unwrap();
    let (z, ld) = layer.forward(&x).unwrap();
    assert_eq!(
        z.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    assert_eq!(ld.to_vec1::<f32>().unwrap(), vec![0.0, 0.0]);
    randomize(&store, 4, 0.5);
    let (z, _) = layer.forward(&x).unwrap();
    let (zv, xv) = (
        z.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
    );
    // Pixel (0, 0) has even parity: with odd = false it is kept.
    for k in 0..32 {
        let (i, j) = ((k % 16) / 4, k % 4);
        if (i + j) % 2 == 0 {
            assert_eq!(zv[k], xv[k], "kept pixel {k} changed");
        }
    }
}

#[test]
fn wrong_shapes_and_sizes_are_refused() {
    let store = ParamStore::new(1);
    let vb = store.var_builder(&Device::Cpu);
    let layer = channel_coupling(4, 4, false, ScaleFn::Tanh, vb.pp("a")).unwrap();
    let x = Tensor::zeros((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(layer.forward(&x), Err(Error::Shape { .. })));
    assert!(matches!(
        channel_coupling(1, 4, false, ScaleFn::Tanh, vb.pp("b")),
        Err(Error::Config {
            field: "channels",
            ..
        })
    ));
    assert!(matches!(
        alternating_coupling(2, 0, false, ScaleFn::Tanh, vb.pp("c")),
        Err(Error::Config {
            field: "hidden",
            ..
        })
    ));
}
