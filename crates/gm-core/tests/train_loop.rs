//! The training loop end to end: bit-identical resume, the non-finite guard, and refusals
//! that leave a user's files alone.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use gm_core::classifier::{ClassifierConfig, ClassifierTrainConfig, ClassifierTrainer};
use gm_core::data::{mnist_embedded, Batch, Dataset};
use gm_core::train::{read_checkpoint, CHECKPOINT_FILE};
use gm_core::{
    fit, Adam, AdamConfig, Error, FitConfig, GmRng, Metrics, ParamStore, TrainState, Trainer,
};

fn small_classifier(seed: u64) -> (ClassifierTrainer, Dataset) {
    let m = mnist_embedded().unwrap();
    let (_, train) = m.train.split_off(320).unwrap();
    let (_, test) = m.test.split_off(100).unwrap();
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

fn fit_cfg() -> FitConfig {
    FitConfig {
        epochs: 2,
        batch_size: 32,
        seed: 11,
        progress: false,
        ..Default::default()
    }
}

fn weights_bytes(t: &impl Trainer) -> BTreeMap<String, Vec<u32>> {
    t.weights()
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let bits = v
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect();
            (k, bits)
        })
        .collect()
}

#[test]
fn interrupted_and_resumed_run_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, data) = small_classifier(3);
    let full = fit(
        &mut a,
        &data,
        &fit_cfg(),
        &dir.path().join("full"),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(full.steps, 20);
    assert!(!full.stopped_early);

    // Interrupted mid-epoch at step 7, then resumed by a fresh process-like trainer.
    let run = dir.path().join("resumed");
    let (mut b, _) = small_classifier(3);
    let cfg = FitConfig {
        stop_after: Some(7),
        ..fit_cfg()
    };
    let part = fit(&mut b, &data, &cfg, &run, &Device::Cpu).unwrap();
    assert!(part.stopped_early);
    assert_eq!(
        read_checkpoint(&run.join(CHECKPOINT_FILE), &Device::Cpu)
            .unwrap()
            .step,
        7
    );
    let (mut c, _) = small_classifier(99); // different init: everything must come from the checkpoint
    let cfg = FitConfig {
        resume: true,
        ..fit_cfg()
    };
    let rest = fit(&mut c, &data, &cfg, &run, &Device::Cpu).unwrap();
    assert_eq!(rest.steps, 20);

    assert_eq!(weights_bytes(&a), weights_bytes(&c));
    for f in [
        "model.safetensors",
        "config.json",
        "metrics.jsonl",
        "loss.svg",
        "report.html",
        "grids",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    // The log holds each step exactly once after the resume.
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"train\"")).count(), 20);
}

#[test]
fn existing_checkpoint_is_not_overwritten_without_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, data) = small_classifier(1);
    let cfg = FitConfig {
        stop_after: Some(3),
        ..fit_cfg()
    };
    fit(&mut a, &data, &cfg, dir.path(), &Device::Cpu).unwrap();
    let before = std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap();
    let e = fit(&mut a, &data, &fit_cfg(), dir.path(), &Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("--resume"), "{e}");
    assert_eq!(
        std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap(),
        before
    );
}

/// A one-parameter regression trainer whose weight is poisoned with NaN at a chosen step.
struct Poisoned {
    store: ParamStore,
    opt: Adam,
    poison_at: u64,
    steps: u64,
}

impl Poisoned {
    fn new(poison_at: u64) -> Self {
        let store = ParamStore::new(0);
        let _ = store
            .var_builder(&Device::Cpu)
            .get_with_hints(1, "w", candle_nn::init::Init::Const(0.5))
            .unwrap();
        let opt = Adam::new(&store, AdamConfig::default()).unwrap();
        Self {
            store,
            opt,
            poison_at,
            steps: 0,
        }
    }
    fn w(&self) -> Tensor {
        self.store.tensors()["w"].clone()
    }
}

impl Trainer for Poisoned {
    fn model_name(&self) -> String {
        "poisoned".into()
    }
    fn config_json(&self) -> serde_json::Value {
        serde_json::json!({})
    }
    fn step(&mut self, batch: &Batch, _rng: &mut GmRng) -> gm_core::Result<Metrics> {
        self.steps += 1;
        let x = batch.x.flatten_all()?;
        let loss = x.broadcast_sub(&self.w())?.sqr()?.mean_all()?;
        self.opt.backward_step(&loss)?;
        if self.steps == self.poison_at {
            self.store.varmap().data().lock().unwrap()["w"]
                .set(&Tensor::new(&[f32::NAN], &Device::Cpu)?)?;
        }
        Ok(vec![("loss".into(), loss.to_scalar::<f32>()? as f64)])
    }
    fn state(&self) -> gm_core::Result<TrainState> {
        let mut tensors = self.store.tensors();
        tensors.extend(self.opt.state_tensors("adam.")?);
        let mut scalars = BTreeMap::new();
        scalars.insert("adam.t".into(), self.opt.steps().to_string());
        Ok(TrainState { tensors, scalars })
    }
    fn load_state(&mut self, s: &TrainState) -> gm_core::Result<()> {
        self.store.load(&s.tensors, "checkpoint")?;
        self.opt
            .load_state(&s.tensors, "adam.", s.scalar("adam.t")?)
    }
    fn weights(&self) -> gm_core::Result<BTreeMap<String, Tensor>> {
        Ok(self.store.tensors())
    }
}

fn toy_data() -> Dataset {
    Dataset::new(
        "toy",
        vec![1],
        (0..64).map(|i| i as f32 / 64.0).collect(),
        None,
    )
    .unwrap()
}

#[test]
fn non_finite_weight_stops_with_the_step_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Poisoned::new(7);
    let cfg = FitConfig {
        epochs: 3,
        batch_size: 8,
        checkpoint_every: 2,
        progress: false,
        ..Default::default()
    };
    let e = fit(&mut t, &toy_data(), &cfg, dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(e, Error::NonFinite { step: 7, .. }), "{e}");
    assert!(
        e.to_string().contains("step 7") && e.to_string().contains("`w`"),
        "{e}"
    );
    let ck = read_checkpoint(&dir.path().join(CHECKPOINT_FILE), &Device::Cpu).unwrap();
    assert_eq!(ck.step, 6);
    assert!(ck.state.tensors["w"].to_vec1::<f32>().unwrap()[0].is_finite());
    assert!(!dir.path().join("model.safetensors").exists());
}

#[test]
fn checkpoint_of_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Poisoned::new(u64::MAX);
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 8,
        stop_after: Some(2),
        progress: false,
        ..Default::default()
    };
    fit(&mut p, &toy_data(), &cfg, dir.path(), &Device::Cpu).unwrap();
    let (mut c, data) = small_classifier(0);
    let cfg = FitConfig {
        resume: true,
        ..fit_cfg()
    };
    let e = fit(&mut c, &data, &cfg, dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(e, Error::CheckpointModel { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("poisoned")
            && msg.contains("mnist-classifier")
            && msg.contains(CHECKPOINT_FILE),
        "{msg}"
    );
}

#[test]
fn unwritable_output_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"user data").unwrap();
    let mut p = Poisoned::new(u64::MAX);
    let cfg = FitConfig {
        progress: false,
        batch_size: 8,
        ..Default::default()
    };
    let out = file.join("run");
    let e = fit(&mut p, &toy_data(), &cfg, &out, &Device::Cpu).unwrap_err();
    assert!(e.to_string().contains(&*out.to_string_lossy()), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), b"user data");
    assert!(!Path::new(&out).exists());
}

#[test]
fn bad_fit_config_is_named() {
    let mut p = Poisoned::new(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    for (cfg, field) in [
        (
            FitConfig {
                batch_size: 0,
                ..Default::default()
            },
            "batch_size",
        ),
        (
            FitConfig {
                epochs: 0,
                ..Default::default()
            },
            "epochs",
        ),
        (
            FitConfig {
                batch_size: 1000,
                ..Default::default()
            },
            "batch_size",
        ),
    ] {
        let e = fit(&mut p, &toy_data(), &cfg, dir.path(), &Device::Cpu).unwrap_err();
        assert!(
            matches!(e, Error::Config { field: f, .. } if f == field),
            "{e}"
        );
    }
}
