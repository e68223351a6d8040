//! The trainers under gm-core's `fit`: training lowers the exact test NLL, a run stopped and
//! resumed ends bit-identical to one run straight through, and the run folder's model loads.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Device;
use gm_autoregressive::trainer::{ArModel, ArTrainConfig, ArTrainer};
use gm_autoregressive::{load_model, Made, MadeConfig, PixelCnn, PixelCnnConfig};
use gm_core::data::{mnist_embedded, Dataset};
use gm_core::{fit, FitConfig, Trainer};

fn digits() -> (Dataset, Dataset) {
    let m = mnist_embedded().unwrap();
    let (_, train) = m.train.split_off(192).unwrap();
    let (_, test) = m.test.split_off(64).unwrap();
    (train, test)
}

fn fit_cfg(stop_after: Option<u64>, resume: bool) -> FitConfig {
    FitConfig {
        epochs: 2,
        batch_size: 32,
        seed: 21,
        stop_after,
        resume,
        progress: false,
        ..Default::default()
    }
}

fn bits(t: &impl Trainer) -> BTreeMap<String, Vec<u32>> {
    t.weights()
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let b = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (k, b.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

fn eval_nll(t: &mut impl Trainer) -> f64 {
    let m = t.evaluate().unwrap();
    m.iter().find(|(k, _)| k == "test_nll").unwrap().1
}

/// Trains twice (straight, and stopped after 3 steps then resumed) and checks the two agree
/// bit for bit, the NLL went down, and `model.safetensors` reloads as an `M`.
fn check_fit_and_resume<M: ArModel>(cfg: ArTrainConfig<M::Config>, dir: &Path) {
    let dev = Device::Cpu;
    let (train, test) = digits();
    let mut straight = ArTrainer::<M>::new(cfg.clone(), 5, Some(&test), &dev).unwrap();
    let before = eval_nll(&mut straight);
    let s = fit(
        &mut straight,
        &train,
        &fit_cfg(None, false),
        &dir.join("a"),
        &dev,
    )
    .unwrap();
    assert_eq!(s.steps, 12);
    let after = eval_nll(&mut straight);
    assert!(after < before, "test NLL {before} -> {after}");

    let mut first = ArTrainer::<M>::new(cfg.clone(), 5, Some(&test), &dev).unwrap();
    let s = fit(
        &mut first,
        &train,
        &fit_cfg(Some(3), false),
        &dir.join("b"),
        &dev,
    )
    .unwrap();
    assert!(s.stopped_early);
    let mut resumed = ArTrainer::<M>::new(cfg, 5, Some(&test), &dev).unwrap();
    fit(
        &mut resumed,
        &train,
        &fit_cfg(None, true),
        &dir.join("b"),
        &dev,
    )
    .unwrap();
    assert_eq!(bits(&straight), bits(&resumed));

    for f in [
        "metrics.jsonl",
        "config.json",
        "model.safetensors",
        "grids/epoch_002.png",
    ] {
        assert!(dir.join("a").join(f).is_file(), "{f}");
    }
    let loaded: M = load_model(dir.join("a"), &dev).unwrap();
    let x = test
        .head(8, &dev)
        .unwrap()
        .x
        .ge(0.5)
        .unwrap()
        .to_dtype(candle_core::DType::F32)
        .unwrap();
    assert_eq!(
        loaded.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
        straight
            .model()
            .log_prob(&x)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    );
}

#[test]
fn made_trains_resumes_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArTrainConfig {
        model: MadeConfig {
            hidden: vec![32],
            num_masks: 4,
            order_agnostic: true,
            ensemble: 2,
            ..Default::default()
        },
        eval_images: 64,
        grid_samples: 4,
        ..Default::default()
    };
    check_fit_and_resume::<Made>(cfg, dir.path());
}

#[test]
fn pixelcnn_trains_resumes_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArTrainConfig {
        model: PixelCnnConfig {
            channels: 4,
            residual_blocks: 1,
            ..Default::default()
        },
        eval_images: 64,
        grid_samples: 2,
        ..Default::default()
    };
    check_fit_and_resume::<PixelCnn>(cfg, dir.path());
}
