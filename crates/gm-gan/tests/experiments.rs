//! The zoo's measurement helpers (examples/experiments): step plans, tables, stage plans and
//! option checks.

#[path = "../examples/experiments/mod.rs"]
mod experiments;

use candle_core::{Device, Tensor};
use experiments::{
    epoch_plan, interleave_rows, markdown_table, steps_fit_config, ZooOptions, ZooRow,
};

/// Progressive growing starts from the side that doubles to the data's: the digits from 7x7.
#[test]
fn progressive_growing_starts_where_doublings_reach_the_side() {
    use experiments::progressive::start_side;
    assert_eq!(start_side(28), 7);
    assert_eq!(start_side(32), 4);
    assert_eq!(start_side(64), 4);
    assert_eq!(start_side(48), 6);
    assert_eq!(start_side(12), 6);
    // An odd side cannot be reached by doublings: the side itself (refused by the model).
    assert_eq!(start_side(9), 9);
}

#[test]
fn epoch_plan_is_exact_when_a_divisor_fits() {
    assert_eq!(epoch_plan(1_500, 64, 8_000).unwrap(), (12, 8_000));
    assert_eq!(epoch_plan(60, 64, 8_000).unwrap(), (1, 3_840));
    // 1,499 is prime: 12 epochs of 125 steps, one more than asked.
    assert_eq!(epoch_plan(1_499, 64, 8_000).unwrap(), (12, 8_000));
    assert!(epoch_plan(10, 64, 63).is_err());
}

#[test]
fn steps_fit_config_stops_at_the_step_budget() {
    let c = steps_fit_config(60, 64, 8_000, 3).unwrap();
    assert_eq!((c.epochs, c.stop_after), (1, Some(60)));
    let c = steps_fit_config(1_500, 64, 8_000, 3).unwrap();
    assert_eq!((c.epochs, c.stop_after), (12, Some(1_500)));
    assert!(steps_fit_config(1, 64, 10, 0).is_err());
}

#[test]
fn interleave_puts_each_row_above_its_partner() {
    let dev = Device::Cpu;
    let a = Tensor::arange(0f32, 4.0, &dev).unwrap();
    let b = Tensor::arange(10f32, 14.0, &dev).unwrap();
    let v = interleave_rows(&[&a, &b], 2)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(v, [0.0, 1.0, 10.0, 11.0, 2.0, 3.0, 12.0, 13.0]);
}

#[test]
fn options_are_validated() {
    let ok = ZooOptions::new(true, 0, "/tmp/unused");
    ok.validate().unwrap();
    for (bad, field) in [
        (
            ZooOptions {
                steps: 0,
                ..ok.clone()
            },
            "steps",
        ),
        (
            ZooOptions {
                batch_size: 1,
                ..ok.clone()
            },
            "batch_size",
        ),
        (
            ZooOptions {
                fd_samples: 1,
                ..ok.clone()
            },
            "fd_samples",
        ),
    ] {
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.starts_with(field), "{e}");
    }
}

#[test]
fn table_escapes_pipes_inside_cells() {
    let row = ZooRow {
        model: "CycleGAN".into(),
        metric: "|G(x) - T(x)|".into(),
        value: "0.5".into(),
        reference: "identity".into(),
        wall_s: 1.0,
    };
    let t = markdown_table(&[row]);
    let line = t.lines().nth(2).unwrap();
    assert_eq!(
        line,
        "| CycleGAN | \\|G(x) - T(x)\\| | 0.5 | identity | 1.0 |"
    );
}

/// A small data set of colour (or grey) images: a bright square at a random place, labels by
/// quadrant.
fn squares(n: usize, c: usize, side: usize, seed: u64) -> gm_core::data::Dataset {
    let mut rng = gm_core::GmRng::new(seed);
    let places = rng.uniform_vec(2 * n, 0.0, (side - 4) as f32);
    let mut v = vec![0f32; n * c * side * side];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let (r, q) = (places[2 * i] as usize, places[2 * i + 1] as usize);
        labels.push(u32::from(r >= side / 2) * 2 + u32::from(q >= side / 2));
        for ch in 0..c {
            for y in r..r + 4 {
                for x in q..q + 4 {
                    v[((i * c + ch) * side + y) * side + x] = 0.25 + 0.25 * ch as f32;
                }
            }
        }
    }
    gm_core::data::Dataset::new("squares", vec![c, side, side], v, Some(labels)).unwrap()
}

/// Every zoo model trains on data that is not the digits and is measured with the any-data
/// metrics, at the side and channels of that data.
#[test]
fn zoo_models_train_on_other_data() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ZooOptions::new(true, 0, dir.path());
    opts.steps = 4;
    opts.batch_size = 8;
    opts.fd_samples = 16;
    let colour = experiments::ZooData {
        train: squares(64, 3, 16, 1),
        test: squares(16, 3, 16, 2),
        mnist: false,
    };
    let rows = experiments::lapgan::rows(&opts, &colour, &dev).unwrap();
    assert!(rows[0].metric.contains("FD on"), "{}", rows[0].metric);
    assert!(rows[0].value.parse::<f64>().unwrap().is_finite());
    // 4, 8 and 16 pixels.
    let rows = experiments::progressive::rows(&opts, &colour, &dev).unwrap();
    assert_eq!(rows.len(), 3);
    let rows = experiments::bigan::rows(&opts, &colour, &dev).unwrap();
    assert!(rows.iter().any(|r| r.metric.starts_with("1-NN")));
    // CycleGAN refuses colour, naming the flag that fixes it, and trains on grey images.
    let e = experiments::cyclegan::rows(&opts, &colour, &dev).unwrap_err();
    assert!(e.to_string().contains("--channels 1"), "{e}");
    let grey = experiments::ZooData {
        train: squares(64, 1, 16, 1),
        test: squares(16, 1, 16, 2),
        mnist: false,
    };
    let rows = experiments::cyclegan::rows(&opts, &grey, &dev).unwrap();
    assert_eq!(rows.len(), 2);
    // A side progressive growing cannot reach is refused with the flag to use.
    let odd = experiments::ZooData {
        train: squares(64, 1, 9, 1),
        test: squares(16, 1, 9, 2),
        mnist: false,
    };
    let e = experiments::progressive::rows(&opts, &odd, &dev).unwrap_err();
    assert!(e.to_string().contains("--image-size"), "{e}");
}
