//! Unit tests of gm-gan's `mix`.

use super::*;
use gm_core::data::Mixture2d;

/// With fixed component losses `c`, the weights' objective `sum_i w_i c_i - lambda H(w)`
/// has its minimum on the simplex at `w = softmax(-c / lambda)` (the Gibbs distribution):
/// gradient descent on the logits through the trainer's own weights and entropy reaches it.
#[test]
fn entropy_regularised_weights_reach_the_gibbs_distribution() {
    let dev = Device::Cpu;
    let c = [0.3f64, 1.0, -0.2];
    let lambda = 0.5;
    let costs = Tensor::new(&c, &dev).unwrap();
    let logits = candle_core::Var::new(&[0.0f64, 0.0, 0.0], &dev).unwrap();
    for _ in 0..3000 {
        let (w, neg_h) = weights_and_neg_entropy(logits.as_tensor()).unwrap();
        let obj = ((&w * &costs).unwrap().sum_all().unwrap() + neg_h.affine(lambda, 0.0).unwrap())
            .unwrap();
        let g = obj.backward().unwrap();
        let step = g
            .get(logits.as_tensor())
            .unwrap()
            .affine(-0.5, 0.0)
            .unwrap();
        logits.set(&(logits.as_tensor() + step).unwrap()).unwrap();
    }
    let (w, _) = weights_and_neg_entropy(logits.as_tensor()).unwrap();
    let w = w.to_vec1::<f64>().unwrap();
    let z: f64 = c.iter().map(|ci| (-ci / lambda).exp()).sum();
    for (wi, ci) in w.iter().zip(c) {
        let want = (-ci / lambda).exp() / z;
        assert!((wi - want).abs() < 1e-6, "{w:?} vs {want} for cost {ci}");
    }
}

#[test]
fn components_must_be_in_range() {
    for k in [0, MAX_COMPONENTS + 1] {
        let c = MixGanConfig {
            components: k,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "components",
                ..
            })
        ));
    }
}

#[test]
fn entropy_weight_must_be_non_negative() {
    let c = MixGanConfig {
        entropy_weight: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        c.validate(),
        Err(Error::Config {
            field: "entropy_weight",
            ..
        })
    ));
}

#[test]
fn steps_move_the_weights_and_sampling_follows_them() {
    let dev = Device::Cpu;
    let mut base = GanTrainConfig::default();
    base.model.latent_dim = 4;
    base.adam_g.lr = 1e-2;
    let cfg = MixGanConfig {
        base,
        components: 3,
        entropy_weight: 0.0,
    };
    let mut t = MixGanTrainer::new(cfg, 0, &dev).unwrap();
    assert_eq!(t.generator().weights().unwrap(), vec![1.0 / 3.0; 3]);
    let (x, _) = Mixture2d::ring8().sample(64, &mut GmRng::new(1));
    let x = Tensor::from_vec(x, (64, 2), &dev).unwrap();
    let mut rng = GmRng::new(2);
    for _ in 0..5 {
        let m = t.train_step(&x, &mut rng).unwrap();
        assert!(m.iter().all(|(_, v)| v.is_finite()), "{m:?}");
    }
    let w = t.generator().weights().unwrap();
    assert!(w.iter().any(|&p| (p - 1.0 / 3.0).abs() > 1e-4), "{w:?}");
    assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let s = t.generator().sample(10, &mut rng, &dev).unwrap();
    assert_eq!(s.dims(), &[10, 2]);
    // The last latent coordinate picks the component by the weights' CDF: u = 0 is the
    // first component, u just below 1 the last.
    let zz = rng.normal((2, 4), 0.0, 1.0, &dev).unwrap();
    let u = Tensor::new(&[[0f32], [0.99999]], &dev).unwrap();
    let z = Tensor::cat(&[&zz, &u], 1).unwrap();
    let out = t
        .generator()
        .generate(&z)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let c = t.generator().components();
    let first = c[0].generate(&zz).unwrap().to_vec2::<f32>().unwrap();
    let last = c[2].generate(&zz).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(out[0], first[0]);
    assert_eq!(out[1], last[1]);
}
