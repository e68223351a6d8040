//! A stop request (what Ctrl-C sends through `gm_core::cli::main_with`) ends `fit` after the
//! current step with a checkpoint, and the run resumes from it bit-identically. Alone in its
//! test binary: the request is process-wide.

use std::collections::BTreeMap;

use candle_core::Device;
use gm_core::classifier::{ClassifierConfig, ClassifierTrainConfig, ClassifierTrainer};
use gm_core::data::{mnist_embedded, Dataset};
use gm_core::train::{read_checkpoint, request_stop, stop_requested, CHECKPOINT_FILE};
use gm_core::{fit, FitConfig, Trainer};

fn small_classifier(seed: u64) -> (ClassifierTrainer, Dataset) {
    let m = mnist_embedded().unwrap();
    let (_, train) = m.train.split_off(160).unwrap();
    let (_, test) = m.test.split_off(50).unwrap();
    let cfg = ClassifierTrainConfig {
        model: ClassifierConfig {
            conv1: 4,
            conv2: 8,
            hidden: 16,
        },
        ..Default::default()
    };
    (
        ClassifierTrainer::new(cfg, seed, test, &Device::Cpu).unwrap(),
        train,
    )
}

fn weights_bits(t: &impl Trainer) -> BTreeMap<String, Vec<u32>> {
    t.weights()
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let v = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (k, v.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

#[test]
fn a_stop_request_ends_each_fit_after_one_step_with_a_checkpoint() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let cfg = FitConfig {
        epochs: 2,
        batch_size: 32,
        seed: 4,
        progress: false,
        ..Default::default()
    };
    let (mut straight, data) = small_classifier(1);
    let full = fit(&mut straight, &data, &cfg, &dir.path().join("full"), &dev).unwrap();
    assert_eq!((full.steps, full.stopped_early), (10, false));

    // The request stays set: every call below is stopped after one step, so the run is
    // carried to its end one interrupted step at a time, each by a fresh trainer.
    assert!(!stop_requested());
    request_stop();
    let run = dir.path().join("interrupted");
    for k in 1..=10u64 {
        // The first call starts from the straight run's seed; later ones from other seeds, so
        // every weight must come from the checkpoint.
        let (mut t, _) = small_classifier(if k == 1 { 1 } else { 100 + k });
        let cfg = FitConfig {
            resume: k > 1,
            ..cfg.clone()
        };
        let s = fit(&mut t, &data, &cfg, &run, &dev).unwrap();
        assert_eq!(s.steps, k);
        assert_eq!(s.stopped_early, k < 10);
        let ckpt = read_checkpoint(&run.join(CHECKPOINT_FILE), &dev).unwrap();
        assert_eq!(ckpt.step, k);
        if k == 10 {
            assert_eq!(weights_bits(&t), weights_bits(&straight));
            assert!(run.join("model.safetensors").exists());
        }
    }
}
