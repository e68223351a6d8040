//! Unit tests of gm-eval's `evaluate`.

use std::collections::BTreeMap;

use candle_core::Device;
use gm_core::GmRng;

use super::table::states_count;
use super::*;
use crate::any_data::compare_features;
use crate::config::EvalConfig;

/// A report of any-data metrics between two small random feature sets, under the given
/// names of the feature space and the reference set.
fn any_data_report(features: &str, reference: &str, n_reference: usize) -> EvalReport {
    let mut rng = GmRng::new(0);
    let fake = rng.normal((40, 8), 0.0, 1.0, &Device::Cpu).unwrap();
    let real = rng.normal((40, 8), 0.5, 1.0, &Device::Cpu).unwrap();
    let cfg = EvalConfig {
        kid_subsets: 2,
        kid_subset_size: 20,
        max_neighbour_points: 40,
        sliced_projections: 8,
        ..EvalConfig::default()
    };
    let (mut m, _) = compare_features(&fake, &real, &cfg, features, reference).unwrap();
    m.n_reference = n_reference;
    let mut r = new_report("tensor", &cfg, 40);
    r.any_data = Some(m);
    r
}

/// The parenthesised groups of `s`, innermost-agnostic: `a (b) (c)` gives `(b)`, `(c)`.
fn groups(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(&s[start..=i]);
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn any_data_rows_state_each_description_once() {
    let cases = [
        // Names that state their size keep it once ...
        (
            "random-conv(seed 0, 8-d)",
            "reference tensor (40 items of 3x4x4)",
            40,
            "random-conv(seed 0, 8-d)",
            "reference tensor (40 items of 3x4x4)",
        ),
        (
            "mnist-classifier(8-d penultimate)",
            "mnist-10k/test (2,000 digits)",
            2_000,
            "mnist-classifier(8-d penultimate)",
            "mnist-10k/test (2,000 digits)",
        ),
        // ... names that do not get it added.
        (
            "pixels(avg-pooled to at most 32x32)",
            "held-out faces",
            40,
            "pixels(avg-pooled to at most 32x32) (8-d)",
            "held-out faces (40 items)",
        ),
        (
            "my-net(1,280 channels)",
            "faces of 280 people",
            1_280,
            "my-net(1,280 channels) (8-d)",
            "faces of 280 people (1280 items)",
        ),
    ];
    for (features, reference, n, want_space, want_ref) in cases {
        let table: BTreeMap<String, String> =
            metrics_table(&any_data_report(features, reference, n))
                .into_iter()
                .collect();
        assert_eq!(table["eval: feature space"], want_space);
        assert_eq!(table["eval: reference set"], want_ref);
        assert!(!table["eval: FD (vs reference)"].contains("FID"));
        for (k, v) in &table {
            let g = groups(v);
            for (i, a) in g.iter().enumerate() {
                assert!(!g[i + 1..].contains(a), "{k} = {v} repeats {a}");
            }
        }
    }
}

#[test]
fn counts_are_read_as_whole_numbers() {
    assert!(states_count("reference tensor (80 items of 3x4x4)", 80));
    assert!(states_count("mnist-10k/test (2,000 digits)", 2_000));
    assert!(states_count("2000 faces", 2_000));
    assert!(!states_count("1,280 faces", 280));
    assert!(!states_count("12000 faces", 2_000));
    assert!(!states_count("faces (3x80x80)", 8));
    assert!(!states_count("faces (3x80x80)", 80));
    assert!(!states_count("280 faces", 2_280));
}
