//! Your own data, end to end: gm-data writes the seeded coloured-shapes set as a PNG folder,
//! loads it back as 3x16x16 images with a held-out split, a DCGAN sized by the data trains on
//! it through `fit`, the run is sampled with `gm::models::sample`, scored against the held-out
//! images with gm-eval's any-data metrics, exported as a Hub folder, and the export samples
//! the same images as the run.

use candle_core::Device;
use gm::core::{fit, FitConfig};
use gm::data::{load, LoadOptions};
use gm::eval::{evaluate_generator_with_reference, EvalConfig, FeatureSpace};
use gm::gan::{GanConfig, GanTrainConfig, GanTrainer, LoadedGenerator};
use gm::hub::{export, ExportOptions};
use gm::models::{sample, SampleOptions, SampleOutput};

#[test]
fn a_png_folder_loads_trains_samples_evaluates_and_exports() {
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let pngs = tmp.path().join("shapes");
    gm::data::shapes::write_shapes_folder(&pngs, 120, 16, 3).unwrap();

    let opts = LoadOptions {
        holdout: 0.2,
        seed: 1,
        ..LoadOptions::default()
    };
    let data = load(&pngs, &opts).unwrap();
    assert_eq!(data.train.item_shape, [3, 16, 16]);
    assert_eq!((data.train.len(), data.test.len()), (96, 24));
    assert_eq!(data.info.class_names, ["circle", "square", "triangle"]);

    let cfg = GanTrainConfig {
        model: GanConfig::dcgan(16, 3).unwrap(),
        grid_samples: 16,
        ..GanTrainConfig::dcgan_mnist()
    };
    let mut trainer = GanTrainer::new(cfg, 1, &dev).unwrap();
    let run = tmp.path().join("run");
    let fc = FitConfig {
        epochs: 1,
        batch_size: 16,
        seed: 1,
        progress: false,
        ..FitConfig::default()
    };
    let summary = fit(&mut trainer, &data.train, &fc, &run, &dev).unwrap();
    assert_eq!(summary.steps, 6);
    // The grid of a colour data set is a colour PNG.
    let grid = image::open(run.join("grids/epoch_001.png")).unwrap();
    assert_eq!(grid.color().channel_count(), 3);

    let drawn = sample(
        &run,
        &SampleOptions {
            n: Some(8),
            seed: 5,
            ..Default::default()
        },
        &SampleOutput::Png(tmp.path().join("drawn.png")),
        &dev,
    )
    .unwrap();
    assert_eq!(drawn.samples.dims(), [8, 3, 16, 16]);

    let eval_cfg = EvalConfig {
        n_samples: 48,
        batch_size: 16,
        kid_subset_size: 24,
        kid_subsets: 5,
        features: FeatureSpace::Pixels,
        ..EvalConfig::default()
    };
    let reference = data.test.head(24, &dev).unwrap().x;
    let report =
        evaluate_generator_with_reference(trainer.generator(), &reference, &eval_cfg, &dev)
            .unwrap();
    assert!(report.mnist.is_none());
    let m = report.any_data.expect("any-data metrics");
    assert!(m.features.starts_with("pixels"), "{}", m.features);
    assert_eq!(m.feature_dim, 3 * 16 * 16);
    assert!(m.frechet_distance.is_finite() && m.frechet_distance > 0.0);
    // Six steps are far from the data: a classifier tells them apart.
    assert!(m.one_nn.accuracy > 0.6, "{}", m.one_nn.accuracy);

    let (tensors, meta) =
        gm::core::io::load_safetensors(run.join("model.safetensors"), &dev).unwrap();
    let config: serde_json::Value = serde_json::from_str(&meta["gm.config"]).unwrap();
    let g = LoadedGenerator::from_run(&config, &tensors, &dev).unwrap();
    let exported = tmp.path().join("export");
    export(&g, &exported, &ExportOptions::default()).unwrap();
    let again = sample(
        &exported,
        &SampleOptions {
            n: Some(8),
            seed: 5,
            ..Default::default()
        },
        &SampleOutput::Png(tmp.path().join("again.png")),
        &dev,
    )
    .unwrap();
    let a = drawn
        .samples
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = again
        .samples
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        std::fs::read(tmp.path().join("drawn.png")).unwrap(),
        std::fs::read(tmp.path().join("again.png")).unwrap()
    );
}
