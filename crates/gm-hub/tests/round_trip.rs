//! Export, reload, compare: identical tensors and identical samples for a seed; every kind of
//! bad folder is a clear error; the file reads in Python's `safetensors`.

use std::collections::BTreeMap;

use candle_core::{Device, Module, Tensor};
use gm_core::classifier::MnistClassifier;
use gm_core::model::{var_builder_from, SavedModel};
use gm_core::{Generator, GmRng, ParamStore};
use gm_hub::{export, load, load_parts, Error, ExportOptions, ModelCard};

/// A tiny generator x = tanh(W z + b), to test sampling after reload.
#[derive(Debug)]
struct TinyGen {
    fc: candle_nn::Linear,
    latent: usize,
}

impl SavedModel for TinyGen {
    const MODEL: &'static str = "tiny-gen";
    fn config_json(&self) -> serde_json::Value {
        serde_json::json!({ "latent": self.latent })
    }
    fn weights(&self) -> BTreeMap<String, Tensor> {
        let mut m = BTreeMap::new();
        m.insert("fc.weight".into(), self.fc.weight().clone());
        m.insert("fc.bias".into(), self.fc.bias().unwrap().clone());
        m
    }
    fn from_parts(
        cfg: &serde_json::Value,
        t: BTreeMap<String, Tensor>,
        dev: &Device,
    ) -> gm_core::Result<Self> {
        let latent = cfg["latent"]
            .as_u64()
            .ok_or_else(|| gm_core::Error::Msg("latent".into()))? as usize;
        let fc = candle_nn::linear(latent, 16, var_builder_from(t, dev).pp("fc"))?;
        Ok(Self { fc, latent })
    }
}

impl Generator for TinyGen {
    fn latent_dim(&self) -> usize {
        self.latent
    }
    fn output_shape(&self) -> Vec<usize> {
        vec![1, 4, 4]
    }
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let n = z.dim(0)?;
        Ok(self.fc.forward(z)?.tanh()?.reshape((n, 1, 4, 4))?)
    }
}

fn tiny(seed: u64) -> TinyGen {
    let store = ParamStore::new(seed);
    let fc = candle_nn::linear(3, 16, store.var_builder(&Device::Cpu).pp("fc")).unwrap();
    TinyGen { fc, latent: 3 }
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn generator_round_trip_gives_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let g = tiny(4);
    let before = g.sample(8, &mut GmRng::new(21), &dev).unwrap();
    let opts = ExportOptions {
        samples: Some((before.clone(), true)),
        card: ModelCard {
            tags: vec!["gan".into()],
            metrics: vec![("fd".into(), 1.5)],
            ..Default::default()
        },
        ..Default::default()
    };
    let out = export(&g, dir.path(), &opts).unwrap();
    let names: Vec<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "model.safetensors",
            "config.json",
            "samples.png",
            "README.md"
        ]
    );
    let back: TinyGen = load(dir.path(), &dev).unwrap();
    for (k, v) in g.weights() {
        assert_eq!(bits(&v), bits(&back.weights()[&k]), "{k}");
    }
    let after = back.sample(8, &mut GmRng::new(21), &dev).unwrap();
    assert_eq!(bits(&before), bits(&after));

    let parts = load_parts(dir.path(), &dev).unwrap();
    assert_eq!(parts.metadata["format"], "pt");
    assert_eq!(parts.metadata["gm.model"], "tiny-gen");
    assert!(parts.metadata.contains_key("gm.version"));
    let card = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(
        card.starts_with("---\nlicense: \"apache-2.0\"\nlibrary_name: candle\n"),
        "{card}"
    );
    for needle in [
        "pipeline_tag: \"unconditional-image-generation\"",
        "  - \"gan\"",
        "  - \"rust\"",
        "samples.png",
        "| fd | 1.500000 |",
    ] {
        assert!(card.contains(needle), "card lacks {needle}");
    }
    // A second export over a previous one is allowed.
    export(&g, dir.path(), &opts).unwrap();
}

#[test]
fn classifier_round_trip_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let m = MnistClassifier::pretrained(&dev).unwrap();
    export(&m, dir.path(), &ExportOptions::default()).unwrap();
    let back: MnistClassifier = load(dir.path(), &dev).unwrap();
    let x = gm_core::data::mnist_embedded()
        .unwrap()
        .test
        .head(50, &dev)
        .unwrap()
        .x;
    assert_eq!(
        bits(&m.logits(&x).unwrap()),
        bits(&back.logits(&x).unwrap())
    );
}

#[test]
fn bad_folders_are_named_errors() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let g = tiny(1);
    export(&g, dir.path(), &ExportOptions::default()).unwrap();
    let w = dir.path().join("model.safetensors");

    // Loading as another model type.
    let e = load::<MnistClassifier>(dir.path(), &dev).unwrap_err();
    assert!(
        matches!(e, Error::WrongModel { .. }) && e.to_string().contains("tiny-gen"),
        "{e}"
    );

    // A config.json of another model.
    let cfg = dir.path().join("config.json");
    let good_cfg = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, good_cfg.replace("tiny-gen", "mnist-classifier")).unwrap();
    let e = load::<TinyGen>(dir.path(), &dev).unwrap_err();
    assert!(
        e.to_string().contains("config.json") && e.to_string().contains("mnist-classifier"),
        "{e}"
    );
    std::fs::write(&cfg, &good_cfg).unwrap();

    // A missing tensor.
    let good = std::fs::read(&w).unwrap();
    let mut t = g.weights();
    t.remove("fc.bias");
    let mut meta = BTreeMap::new();
    meta.insert("gm.model".to_string(), "tiny-gen".to_string());
    gm_core::io::save_safetensors(&w, &t, &meta).unwrap();
    let e = load::<TinyGen>(dir.path(), &dev).unwrap_err();
    assert!(
        matches!(&e, Error::MissingTensor { name, .. } if name == "fc.bias"),
        "{e}"
    );

    // A foreign safetensors file (no gm metadata).
    gm_core::io::save_safetensors(&w, &g.weights(), &BTreeMap::new()).unwrap();
    let e = load::<TinyGen>(dir.path(), &dev).unwrap_err();
    assert!(
        e.to_string().contains("gm.model") && e.to_string().contains("model.safetensors"),
        "{e}"
    );

    // A truncated file.
    std::fs::write(&w, &good[..good.len() / 2]).unwrap();
    let e = load::<TinyGen>(dir.path(), &dev).unwrap_err();
    assert!(e.to_string().contains("model.safetensors"), "{e}");
}

#[test]
fn a_folder_with_user_files_is_not_written_into() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    let e = export(&tiny(0), dir.path(), &ExportOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::NotAnExport { .. }) && e.to_string().contains("notes.txt"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_export_killed_half_way_can_be_exported_again() {
    let dir = tempfile::tempdir().unwrap();
    // What the atomic writer leaves when the process dies between its write and its rename.
    std::fs::write(dir.path().join(".model.safetensors.tmp"), b"partial").unwrap();
    export(&tiny(0), dir.path(), &ExportOptions::default()).unwrap();
    assert!(dir.path().join("model.safetensors").is_file());
    // A temporary-looking name that is not one of an export's files is still a user's.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join(".notes.txt.tmp"), b"mine").unwrap();
    let e = export(&tiny(0), other.path(), &ExportOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotAnExport { .. }), "{e}");
}

/// Python's reference loader reads our file: names, shapes and values agree with Rust.
/// Needs `python3` with `safetensors` and `numpy` (`cargo xtask ci` installs them).
#[test]
fn python_safetensors_reads_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let g = tiny(9);
    export(&g, dir.path(), &ExportOptions::default()).unwrap();
    let script = r#"
import json, sys
from safetensors.numpy import load_file
from safetensors import safe_open
t = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework="numpy") as f:
    meta = f.metadata()
print(json.dumps({"meta": meta, "tensors": {k: {"shape": list(v.shape), "sum": float(v.astype("float64").sum()), "first": float(v.reshape(-1)[0])} for k, v in t.items()}}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.path().join("model.safetensors"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["meta"]["format"], "pt");
    assert_eq!(v["meta"]["gm.model"], "tiny-gen");
    for (k, t) in g.weights() {
        let py = &v["tensors"][&k];
        assert_eq!(py["shape"], serde_json::json!(t.dims()), "{k}");
        let vals = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let sum: f64 = vals.iter().map(|&x| x as f64).sum();
        assert!((py["sum"].as_f64().unwrap() - sum).abs() < 1e-9, "{k}");
        assert_eq!(py["first"].as_f64().unwrap(), vals[0] as f64, "{k}");
    }
}
