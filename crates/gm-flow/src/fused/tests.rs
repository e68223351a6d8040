//! The written-out flow step against candle's autograd on the same flow and inputs: the loss
//! and every gradient, for both scale functions, with and without 1x1 convolutions and with
//! multi-channel checkerboards; then twenty training steps of both paths.

use super::*;
use crate::dequantize::{dequantize, LEVELS};
use crate::layers::ScaleFn;
use crate::multiscale::{FlowTrainConfig, FlowTrainer, ImageFlow, ImageFlowConfig};
use crate::test_util::randomize;
use crate::Flow;
use candle_core::Device;
use gm_core::{GmRng, ParamStore};

/// `n` images of 8-bit levels stored as `k / 255`.
fn images(n: usize, shape: &[usize], seed: u64) -> Tensor {
    let mut dims = vec![n];
    dims.extend(shape);
    let k = GmRng::new(seed)
        .uniform(dims, 0.0, 256.0, &Device::Cpu)
        .unwrap();
    (k.floor().unwrap().clamp(0.0, 255.0).unwrap() / 255.0).unwrap()
}

fn configs() -> Vec<ImageFlowConfig> {
    vec![
        ImageFlowConfig {
            image_shape: vec![1, 8, 8],
            checkerboard_steps: 2,
            checkerboard_hidden: 4,
            levels: 2,
            steps_per_level: 2,
            hidden: 6,
            scale: ScaleFn::Tanh,
            invconv: true,
            ..Default::default()
        },
        ImageFlowConfig {
            image_shape: vec![2, 4, 4],
            checkerboard_steps: 1,
            checkerboard_hidden: 3,
            levels: 2,
            steps_per_level: 3,
            hidden: 5,
            scale: ScaleFn::Sigmoid,
            invconv: false,
            ..Default::default()
        },
    ]
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn loss_and_every_gradient_match_autograd() {
    let dev = Device::Cpu;
    for (i, cfg) in configs().into_iter().enumerate() {
        let store = ParamStore::new(3 + i as u64);
        let flow = ImageFlow::init(cfg.clone(), &store, &dev).unwrap();
        let mut rng = GmRng::new(1);
        let y = dequantize(&images(6, &cfg.image_shape, 2), &mut rng).unwrap();
        flow.data_init(&y).unwrap();
        // Off the identity: the last convolutions start at zero.
        randomize(&store, 7 + i as u64, 0.05);
        let d = flow.data_dim() as f64;
        let nll = flow
            .log_prob(&y)
            .unwrap()
            .neg()
            .unwrap()
            .mean_all()
            .unwrap();
        let grads = (&nll / d).unwrap().backward().unwrap();
        let nll = f64::from(nll.to_scalar::<f32>().unwrap());

        let fused = FusedFlow::new(flow.host_layers().unwrap()).unwrap();
        let (h, ld) = flow.logit().forward(&y).unwrap();
        let ld = f64::from(ld.sum_all().unwrap().to_scalar::<f32>().unwrap());
        let out = fused.loss(&h, ld).unwrap();
        assert!(
            (out.nll - nll).abs() <= 1e-5 * nll.abs(),
            "config {i}: nll {} vs autograd {nll}",
            out.nll
        );
        let pairs = fused.gradients(&out);
        // Every trained parameter of the store, and nothing else.
        let trained = store
            .vars()
            .iter()
            .filter(|(n, _)| !(n.ends_with("perm") || n.ends_with("sign")))
            .count();
        assert_eq!(pairs.len(), trained, "config {i}");
        for (t, g) in pairs {
            let want = grads
                .get(t)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let scale = max_abs(&want).max(1e-6);
            let err = g
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                err <= 1e-5 * scale.max(1e-3),
                "config {i}: gradient of a {:?} tensor off by {err} (largest {scale})",
                t.dims()
            );
        }
    }
}

#[test]
fn twenty_steps_follow_the_autograd_run() {
    let dev = Device::Cpu;
    let cfg = FlowTrainConfig {
        model: configs().remove(0),
        eval_images: 0,
        warmup_steps: 5,
        ..Default::default()
    };
    let mut fused = FlowTrainer::new(cfg.clone(), 4, None, &dev).unwrap();
    let mut plain = FlowTrainer::new(cfg, 4, None, &dev).unwrap();
    plain.set_fused(false).unwrap();
    assert!(fused.is_fused() && !plain.is_fused());
    let (mut ra, mut rb) = (GmRng::new(9), GmRng::new(9));
    for step in 0..20 {
        let x = images(8, &[1, 8, 8], 100 + step);
        let a = fused.train_step(&x, &mut ra).unwrap();
        let b = plain.train_step(&x, &mut rb).unwrap();
        let (na, nb) = (a[0].1, b[0].1);
        assert!(
            (na - nb).abs() <= 1e-4 * nb.abs(),
            "step {step}: nll {na} vs {nb}"
        );
        // The discrete nll is above the continuous one by D ln 256.
        assert!(na > 64.0 * LEVELS.ln() * 0.5);
    }
    let (ta, tb) = (fused.store().tensors(), plain.store().tensors());
    for (name, a) in &ta {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = tb[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let err = a
            .iter()
            .zip(&b)
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(err <= 1e-3, "{name} drifted by {err}");
    }
}

#[test]
fn vector_couplings_keep_the_autograd_path() {
    let dev = Device::Cpu;
    let store = ParamStore::new(0);
    let layer =
        crate::layers::alternating_coupling(2, 4, false, ScaleFn::Tanh, store.var_builder(&dev))
            .unwrap();
    assert!(layer.host_layer().is_none());
}
