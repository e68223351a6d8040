//! A write that fails while a model is exported (a full disk) stops the export with an error
//! naming the file: that file keeps the previous export's bytes, no temporary file is left,
//! and the export succeeds once the fault is gone.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use gm::core::io::fail_writes_matching;
use gm::core::model::{var_builder_from, SavedModel};
use gm::core::ParamStore;
use gm::hub::{export, load, ExportOptions, FILES};

/// One linear layer: enough to be saved and rebuilt.
struct Tiny {
    fc: candle_nn::Linear,
}

impl SavedModel for Tiny {
    const MODEL: &'static str = "tiny";
    fn config_json(&self) -> serde_json::Value {
        serde_json::json!({ "in": 3, "out": 4 })
    }
    fn weights(&self) -> BTreeMap<String, Tensor> {
        let mut m = BTreeMap::new();
        m.insert("fc.weight".into(), self.fc.weight().clone());
        m.insert("fc.bias".into(), self.fc.bias().unwrap().clone());
        m
    }
    fn from_parts(
        _cfg: &serde_json::Value,
        t: BTreeMap<String, Tensor>,
        dev: &Device,
    ) -> gm::core::Result<Self> {
        let fc = candle_nn::linear(3, 4, var_builder_from(t, dev).pp("fc"))?;
        Ok(Self { fc })
    }
}

fn tiny(seed: u64) -> Tiny {
    let store = ParamStore::new(seed);
    let fc = candle_nn::linear(3, 4, store.var_builder(&Device::Cpu).pp("fc")).unwrap();
    Tiny { fc }
}

fn options(seed: u64) -> ExportOptions {
    let grid = (Tensor::arange(0f32, 64., &Device::Cpu).unwrap() / (64. + seed as f64))
        .unwrap()
        .reshape((4, 1, 4, 4))
        .unwrap();
    ExportOptions {
        samples: Some((grid, false)),
        ..Default::default()
    }
}

fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn weight(m: &Tiny) -> Vec<f32> {
    m.fc.weight().flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn a_failed_export_write_names_the_file_and_keeps_its_previous_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    export(&tiny(1), &dir, &options(1)).unwrap();
    let before = contents(&dir);
    assert_eq!(before.len(), FILES.len());

    let new = tiny(2);
    for file in FILES {
        fail_writes_matching(Some((file, 0)));
        let result = export(&new, &dir, &options(2));
        fail_writes_matching(None);
        let e = result.expect_err(file);
        let path = dir.join(file);
        assert!(
            matches!(&e, gm::hub::Error::Core(gm::core::Error::Io { path: p, .. }) if *p == path),
            "{file}: {e}"
        );
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let now = contents(&dir);
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "after {e}"
        );
        assert!(now[file] == before[file], "{file} changed after {e}");
    }
    export(&new, &dir, &options(2)).unwrap();
    let back: Tiny = load(&dir, &Device::Cpu).unwrap();
    assert_eq!(weight(&back), weight(&new));
    assert_ne!(weight(&back), weight(&tiny(1)));
}
