//! A flow trained by gm-core's `fit` writes a run folder whose `model.safetensors` rebuilds
//! the same flow (model `flow`, config in `gm.config`), and an interrupted run resumed from
//! its checkpoint ends where the uninterrupted run ends.

use candle_core::Device;
use gm_core::data::Dataset;
use gm_core::model::SavedModel;
use gm_core::{fit, FitConfig, Generator, GmRng};
use gm_flow::{FlowTrainConfig, FlowTrainer, ImageFlowConfig, LoadedFlow};

fn tiny() -> FlowTrainConfig {
    FlowTrainConfig {
        model: ImageFlowConfig {
            image_shape: vec![1, 8, 8],
            checkerboard_steps: 1,
            checkerboard_hidden: 4,
            levels: 2,
            steps_per_level: 1,
            hidden: 4,
            ..Default::default()
        },
        warmup_steps: 2,
        eval_images: 16,
        eval_batch: 8,
        ..Default::default()
    }
}

fn images(n: usize, seed: u64) -> Dataset {
    let mut rng = GmRng::new(seed);
    let px: Vec<u8> = (0..n * 64)
        .map(|_| rand::Rng::random_range(&mut rng, 0..=255u8))
        .collect();
    Dataset::from_u8("noise", vec![1, 8, 8], px, None).unwrap()
}

fn fit_config(stop_after: Option<u64>, resume: bool) -> FitConfig {
    FitConfig {
        epochs: 2,
        batch_size: 16,
        seed: 3,
        stop_after,
        resume,
        progress: false,
        ..Default::default()
    }
}

#[test]
fn a_run_folder_reloads_as_the_trained_flow() {
    let dev = Device::Cpu;
    let (train, test) = (images(64, 1), images(16, 2));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut trainer = FlowTrainer::new(tiny(), 0, Some(&test), &dev).unwrap();
    let s = fit(&mut trainer, &train, &fit_config(None, false), &out, &dev).unwrap();
    assert_eq!(s.steps, 8);
    assert!(s
        .eval
        .iter()
        .any(|(k, v)| k == "test_bits_per_dim" && v.is_finite()));
    for f in [
        "config.json",
        "metrics.jsonl",
        "model.safetensors",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let (tensors, meta) =
        gm_core::io::load_safetensors(out.join("model.safetensors"), &dev).unwrap();
    assert_eq!(meta["gm.model"], "flow");
    let config: serde_json::Value = serde_json::from_str(&meta["gm.config"]).unwrap();
    let loaded = LoadedFlow::from_parts(&config, tensors, &dev).unwrap();
    let z = GmRng::new(4).normal((3, 64), 0.0, 1.0, &dev).unwrap();
    let a = trainer.flow().generate(&z).unwrap();
    let b = loaded.flow.generate(&z).unwrap();
    assert_eq!(
        a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
}

#[test]
fn a_resumed_run_ends_where_the_uninterrupted_one_does() {
    let dev = Device::Cpu;
    let train = images(64, 1);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let mut a = FlowTrainer::new(tiny(), 0, None, &dev).unwrap();
    fit(&mut a, &train, &fit_config(None, false), &whole, &dev).unwrap();

    let parts = dir.path().join("parts");
    let mut b = FlowTrainer::new(tiny(), 0, None, &dev).unwrap();
    let s = fit(&mut b, &train, &fit_config(Some(3), false), &parts, &dev).unwrap();
    assert!(s.stopped_early);
    // A fresh process: a new trainer that has not seen the data-dependent initialisation.
    let mut c = FlowTrainer::new(tiny(), 0, None, &dev).unwrap();
    fit(&mut c, &train, &fit_config(None, true), &parts, &dev).unwrap();
    let (wa, wc) = (a.store().tensors(), c.store().tensors());
    assert_eq!(wa.len(), wc.len());
    for (name, t) in &wa {
        assert_eq!(
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            wc[name].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            "{name} differs"
        );
    }
}
