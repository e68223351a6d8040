//! Unit tests of gm-core's `train`.

use super::*;
use crate::optim::AdamConfig;
use candle_core::Device;

/// One read decides; a non-finite weight is named, whichever sign its infinity has and
/// whatever the others hold.
#[test]
fn weight_check_names_the_non_finite_weight() {
    let t = |v: &[f32]| Tensor::new(v, &Device::Cpu).unwrap();
    let mut w: BTreeMap<String, Tensor> = [
        ("a".to_string(), t(&[3.0e38])),
        ("b".to_string(), t(&[3.0e38])),
    ]
    .into_iter()
    .collect();
    // The f32 sum of the sums overflows: each weight is then read, and all are finite
    // but their sum, which is reported.
    let e = check_weights(4, &w).unwrap_err();
    assert!(e.to_string().contains("sum of the weights"), "{e}");
    w.insert("b".into(), t(&[0.5, 0.5]));
    check_weights(4, &w).unwrap();
    w.insert("c".into(), t(&[f32::INFINITY]));
    w.insert("d".into(), t(&[f32::NEG_INFINITY]));
    let e = check_weights(5, &w).unwrap_err();
    assert!(
        matches!(&e, Error::NonFinite { step: 5, what } if what.contains("`c`")),
        "{e}"
    );
    check_weights(1, &BTreeMap::new()).unwrap();
}

#[test]
fn networks_round_trip_through_a_nested_state() {
    let dev = Device::Cpu;
    let store = ParamStore::new(3);
    let w = store
        .var_builder(&dev)
        .get_with_hints(4, "w", candle_nn::Init::Const(0.5))
        .unwrap();
    let mut opt = Adam::new(&store, AdamConfig::default()).unwrap();
    let grads = (&w * 3.0).unwrap().sum_all().unwrap().backward().unwrap();
    opt.step(&grads).unwrap();
    let mut inner = TrainState::default();
    inner.insert_network("g", &store, &opt).unwrap();
    let outer = inner.prefixed("level16.");
    assert!(outer.tensors.contains_key("level16.g.w"));
    assert!(outer.tensors.contains_key("level16.adam_g.m.w"));
    assert_eq!(outer.scalars["level16.adam_g.t"], "1");

    let fresh = ParamStore::new(4);
    fresh
        .var_builder(&dev)
        .get_with_hints(4, "w", candle_nn::Init::Const(0.0))
        .unwrap();
    let mut fresh_opt = Adam::new(&fresh, AdamConfig::default()).unwrap();
    outer
        .nested("level16.")
        .load_network("g", &fresh, &mut fresh_opt)
        .unwrap();
    assert_eq!(
        fresh.tensors()["w"].to_vec1::<f32>().unwrap(),
        store.tensors()["w"].to_vec1::<f32>().unwrap()
    );
    assert_eq!(fresh_opt.steps(), 1);
    // Outside its prefix the network is missing: an error, not a silent partial load.
    let e = outer.load_network("g", &fresh, &mut fresh_opt).unwrap_err();
    assert!(e.to_string().contains("checkpoint (g)"), "{e}");
}
