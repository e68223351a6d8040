//! `gm::models`: generators rebuilt from run folders and exports, and `sample` writing their
//! draws. Every run here is trained in a temporary folder with `gm_core::fit` for a few steps
//! on small networks, so that the files are real run folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use gm::core::data::{mnist_embedded, Dataset, Mixture2d};
use gm::core::{fit, FitConfig, Generator, GmRng, Trainer};
use gm::gan::{
    Activation, Architecture, GanConfig, GanTrainConfig, GanTrainer, LoadedGenerator, MlpInit,
    OutputActivation,
};
use gm::models::{load_generator, sample, SampleOptions, SampleOutput};

fn tiny_gan(data_shape: Vec<usize>, output: OutputActivation) -> GanConfig {
    GanConfig {
        latent_dim: 8,
        data_shape,
        generator: Architecture::Mlp {
            hidden: vec![32],
            activation: Activation::Relu,
        },
        discriminator: Architecture::Mlp {
            hidden: vec![32],
            activation: Activation::LeakyRelu,
        },
        output,
        mlp_init: MlpInit::Default,
    }
}

fn quick_fit(batch_size: usize) -> FitConfig {
    FitConfig {
        epochs: 1,
        batch_size,
        seed: 1,
        progress: false,
        ..Default::default()
    }
}

/// The last 256 embedded training digits.
fn digits() -> Dataset {
    mnist_embedded().unwrap().train.split_off(256).unwrap().1
}

/// A finished MLP GAN run on 256 digits (4 steps of 64) in `dir`.
fn train_mnist_gan(dir: &Path) -> GanTrainer {
    let cfg = GanTrainConfig {
        model: tiny_gan(vec![1, 28, 28], OutputActivation::Tanh),
        ..Default::default()
    };
    let mut t = GanTrainer::new(cfg, 1, &Device::Cpu).unwrap();
    let s = fit(&mut t, &digits(), &quick_fit(64), dir, &Device::Cpu).unwrap();
    assert!(!s.stopped_early);
    t
}

fn opts(n: usize, seed: u64) -> SampleOptions {
    SampleOptions {
        n: Some(n),
        seed,
        ..Default::default()
    }
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn bytes(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_other_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_mnist_gan(&run);
    let dev = Device::Cpu;
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let sa = sample(&run, &opts(10, 3), &SampleOutput::Folder(a.clone()), &dev).unwrap();
    let sb = sample(&run, &opts(10, 3), &SampleOutput::Folder(b.clone()), &dev).unwrap();
    let sc = sample(&run, &opts(10, 4), &SampleOutput::Folder(c.clone()), &dev).unwrap();

    assert_eq!(sa.model, "gan/gan");
    assert_eq!(sa.samples.dims(), &[10, 1, 28, 28]);
    assert_eq!(sa.latents.dims(), &[10, 8]);
    // Generators return data space: the tanh output mapped to [0, 1], drawn unsigned.
    assert!(values(&sa.samples).iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(values(&sa.samples), values(&sb.samples));
    assert_eq!(values(&sa.latents), values(&sb.latents));
    assert_ne!(values(&sa.samples), values(&sc.samples));

    // grid.png, sample_000.png .. sample_009.png, samples.safetensors.
    assert_eq!(sa.files.len(), 12, "{:?}", sa.files);
    for f in [
        "grid.png",
        "sample_000.png",
        "sample_009.png",
        "samples.safetensors",
    ] {
        assert_eq!(bytes(a.join(f)), bytes(b.join(f)), "{f}");
    }
    assert_ne!(bytes(a.join("grid.png")), bytes(c.join("grid.png")));
    let marker = gm::core::run::RunMarker::read(&a).unwrap();
    assert_eq!(marker.name, "sample");
    assert!(marker.files.contains("samples.safetensors"));

    // The tensors written are the ones returned.
    let (t, meta) = gm::core::io::load_safetensors(a.join("samples.safetensors"), &dev).unwrap();
    assert_eq!(values(&t["samples"]), values(&sa.samples));
    assert_eq!(values(&t["latents"]), values(&sa.latents));
    assert_eq!(meta["gm.seed"], "3");
    // And they are the generator's: G(z) for z from GmRng::new(seed).
    let g = load_generator(&run, &dev).unwrap().generator;
    let z = g.sample_latent(10, &mut GmRng::new(3), &dev).unwrap();
    assert_eq!(values(&g.generate(&z).unwrap()), values(&sa.samples));

    // A second sample into a folder that holds one is refused.
    let e = sample(&run, &opts(10, 3), &SampleOutput::Folder(a.clone()), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already holds a gm run"), "{e}");
}

#[test]
fn given_latents_are_decoded_and_a_wrong_shape_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_mnist_gan(&run);
    let dev = Device::Cpu;
    let z = GmRng::new(9).normal((5, 8), 0.0, 1.0, &dev).unwrap();
    // The only tensor of the file, whatever its name.
    let zfile = tmp.path().join("z.safetensors");
    let only = BTreeMap::from([("z".to_string(), z.clone())]);
    gm::core::io::save_safetensors(&zfile, &only, &BTreeMap::new()).unwrap();
    let o = SampleOptions {
        latent_file: Some(zfile.clone()),
        ..Default::default()
    };
    let s = sample(
        &run,
        &o,
        &SampleOutput::Folder(tmp.path().join("out")),
        &dev,
    )
    .unwrap();
    let g = load_generator(&run, &dev).unwrap().generator;
    assert_eq!(values(&s.latents), values(&z));
    assert_eq!(values(&s.samples), values(&g.generate(&z).unwrap()));
    let (_, meta) =
        gm::core::io::load_safetensors(tmp.path().join("out/samples.safetensors"), &dev).unwrap();
    assert_eq!(meta["gm.latents"], zfile.display().to_string());

    // --n must agree with the file's rows; the latent size must be the generator's.
    let o = SampleOptions {
        n: Some(4),
        latent_file: Some(zfile.clone()),
        ..Default::default()
    };
    let e = sample(&run, &o, &SampleOutput::Folder(tmp.path().join("x")), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&zfile.display().to_string()), "{e}");
    assert!(e.contains("[5, 8]") && e.contains("(4, 8)"), "{e}");
    let bad = tmp.path().join("bad.safetensors");
    let t = BTreeMap::from([(
        "latents".to_string(),
        GmRng::new(1).normal((5, 7), 0.0, 1.0, &dev).unwrap(),
    )]);
    gm::core::io::save_safetensors(&bad, &t, &BTreeMap::new()).unwrap();
    let o = SampleOptions {
        latent_file: Some(bad.clone()),
        ..Default::default()
    };
    let e = sample(&run, &o, &SampleOutput::Folder(tmp.path().join("y")), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&bad.display().to_string()), "{e}");
    assert!(e.contains("[5, 7]") && e.contains("(n, 8)"), "{e}");
    // Nothing was written for the refused latents.
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("y").exists());
}

#[test]
fn a_png_output_is_one_grid_and_an_existing_file_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_mnist_gan(&run);
    let dev = Device::Cpu;
    let mine = tmp.path().join("mine.png");
    std::fs::write(&mine, b"not gm's").unwrap();
    let e = sample(&run, &opts(4, 0), &SampleOutput::Png(mine.clone()), &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&mine.display().to_string()), "{e}");
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&mine).unwrap(), b"not gm's");

    let grid = tmp.path().join("grids/g.png");
    let s = sample(&run, &opts(4, 0), &SampleOutput::Png(grid.clone()), &dev).unwrap();
    assert_eq!(s.files, vec![grid.clone()]);
    assert!(bytes(grid).starts_with(b"\x89PNG"));
    // Only the grid: no run marker, no tensors.
    assert!(!tmp.path().join("grids/run.json").exists());
    assert!(!tmp.path().join("grids/samples.safetensors").exists());
}

#[test]
fn a_folder_without_weights_and_an_unsupported_model_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = SampleOutput::Folder(tmp.path().join("out"));
    let e = sample(&empty, &opts(2, 0), &out, &dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&empty.display().to_string()), "{e}");
    assert!(e.contains("model.safetensors"), "{e}");

    let lap = tmp.path().join("lapgan");
    std::fs::create_dir(&lap).unwrap();
    let meta = BTreeMap::from([
        ("gm.model".to_string(), "lapgan".to_string()),
        ("gm.config".to_string(), "{}".to_string()),
    ]);
    let t = BTreeMap::from([(
        "x".to_string(),
        Tensor::zeros(1, candle_core::DType::F32, &dev).unwrap(),
    )]);
    gm::core::io::save_safetensors(lap.join("model.safetensors"), &t, &meta).unwrap();
    let e = load_generator(&lap, &dev).unwrap_err().to_string();
    assert!(e.contains("model `lapgan` is not a generator"), "{e}");
    assert!(e.contains("gan/*") && e.contains("cyclegan"), "{e}");
    assert!(!tmp.path().join("out").exists());
}

#[cfg(not(feature = "remote"))]
#[test]
fn a_hub_id_without_the_hub_client_says_how_to_build_it() {
    let e = gm::models::resolve_source("someone/gm-vae-mnist")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cargo xtask sample") && e.contains("--features remote"),
        "{e}"
    );
    // A path that exists is a folder, whatever it looks like; other text is a path too.
    assert_eq!(
        gm::models::resolve_source("src").unwrap(),
        PathBuf::from("src")
    );
    assert_eq!(
        gm::models::resolve_source("runs/a/b").unwrap(),
        PathBuf::from("runs/a/b")
    );
}

#[test]
fn an_export_samples_like_its_run() {
    use gm::core::model::SavedModel;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_mnist_gan(&run);
    let dev = Device::Cpu;
    let parts = gm::cli::read_run_model(&run, &dev).unwrap();
    let g = LoadedGenerator::from_run(&parts.config, &parts.tensors, &dev).unwrap();
    let exported = tmp.path().join("export");
    gm::hub::export(&g, &exported, &Default::default()).unwrap();
    let from_run = load_generator(&run, &dev).unwrap();
    let from_export = load_generator(&exported, &dev).unwrap();
    assert_eq!(from_export.model, LoadedGenerator::MODEL);
    let draw = |g: &dyn Generator| values(&g.sample(6, &mut GmRng::new(2), &dev).unwrap());
    assert_eq!(
        draw(from_run.generator.as_ref()),
        draw(from_export.generator.as_ref())
    );
}

#[test]
fn two_dimensional_samples_get_a_scatter_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let dev = Device::Cpu;
    let cfg = GanTrainConfig {
        model: tiny_gan(vec![2], OutputActivation::Identity),
        ..Default::default()
    };
    let mut t = GanTrainer::new(cfg, 1, &dev).unwrap();
    let data = Mixture2d::ring8().dataset(128, 0).unwrap();
    fit(&mut t, &data, &quick_fit(64), &run, &dev).unwrap();
    let out = tmp.path().join("out");
    let s = sample(&run, &opts(50, 0), &SampleOutput::Folder(out.clone()), &dev).unwrap();
    assert_eq!(s.samples.dims(), &[50, 2]);
    assert_eq!(
        s.files,
        vec![out.join("scatter.png"), out.join("samples.safetensors")]
    );
    assert!(!out.join("grid.png").exists());
    let want = t.samples(50, &mut GmRng::new(0)).unwrap();
    assert_eq!(values(&s.samples), values(&want));
}

/// Each loader rebuilds the generator the trainer holds: the same seed draws the same
/// samples from the trainer and from its run folder.
fn assert_same_draws(trained: &dyn Generator, run: &Path) {
    let dev = Device::Cpu;
    let loaded = load_generator(run, &dev).unwrap();
    assert_eq!(loaded.generator.latent_dim(), trained.latent_dim());
    assert_eq!(loaded.generator.output_shape(), trained.output_shape());
    let draw = |g: &dyn Generator| values(&g.sample(7, &mut GmRng::new(5), &dev).unwrap());
    let (a, b) = (draw(trained), draw(loaded.generator.as_ref()));
    assert_eq!(a, b, "{}", loaded.model);
}

#[test]
fn mix_gan_bigan_progressive_and_vae_runs_rebuild_their_generators() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;

    let cfg = gm::gan::MixGanConfig {
        base: GanTrainConfig {
            model: tiny_gan(vec![2], OutputActivation::Identity),
            ..Default::default()
        },
        components: 3,
        ..Default::default()
    };
    let mut mix = gm::gan::MixGanTrainer::new(cfg, 1, &dev).unwrap();
    let ring = Mixture2d::ring8().dataset(128, 0).unwrap();
    fit(
        &mut mix,
        &ring,
        &quick_fit(64),
        &tmp.path().join("mix"),
        &dev,
    )
    .unwrap();
    assert_same_draws(mix.generator(), &tmp.path().join("mix"));

    let cfg = gm::gan::bigan::BiganConfig {
        latent_dim: 4,
        data_shape: vec![1, 28, 28],
        encoder_hidden: vec![16],
        generator_hidden: vec![16],
        discriminator_hidden: vec![16],
        ..Default::default()
    };
    let mut bigan = gm::gan::bigan::BiganTrainer::new(cfg, 1, &dev).unwrap();
    fit(
        &mut bigan,
        &digits(),
        &quick_fit(64),
        &tmp.path().join("bigan"),
        &dev,
    )
    .unwrap();
    assert_same_draws(bigan.generator(), &tmp.path().join("bigan"));

    // Two stages, 4x4 then 8x8: each stage's run samples at its own side, after its fade-in.
    let cfg = gm::gan::progressive::ProgressiveConfig {
        latent_dim: 4,
        start_size: 4,
        channels: vec![4, 4],
        stage_steps: 2,
        ..Default::default()
    };
    let mut pro = gm::gan::progressive::ProgressiveTrainer::new(cfg, 1, &dev).unwrap();
    let mut rng = GmRng::new(0);
    let x = rng.uniform_vec(64 * 64, 0.0, 1.0);
    let small = Dataset::new("noise", vec![1, 8, 8], x, None).unwrap();
    for stage in 0..2 {
        if stage > 0 {
            pro.grow().unwrap();
        }
        let dir = tmp.path().join(format!("progressive{stage}"));
        fit(&mut pro, &small, &quick_fit(32), &dir, &dev).unwrap();
        assert_eq!(pro.alpha(), 1.0);
        let loaded = load_generator(&dir, &dev).unwrap();
        let side = 4 << stage;
        assert_eq!(loaded.model, format!("progressive/{side}x{side}"));
        let want = pro.samples(7, &mut GmRng::new(5)).unwrap();
        let got = loaded
            .generator
            .sample(7, &mut GmRng::new(5), &dev)
            .unwrap();
        assert_eq!(got.dims(), &[7, 1, side, side]);
        assert_eq!(values(&got), values(&want));
    }

    let cfg = gm::vae::VaeTrainConfig {
        model: gm::vae::VaeConfig {
            latent_dim: 4,
            encoder_hidden: vec![16],
            decoder_hidden: vec![16],
            ..Default::default()
        },
        eval_images: 0,
        ..Default::default()
    };
    let mut vae = gm::vae::VaeTrainer::new(cfg, 1, None, &dev).unwrap();
    fit(
        &mut vae,
        &digits(),
        &quick_fit(64),
        &tmp.path().join("vae"),
        &dev,
    )
    .unwrap();
    assert_eq!(vae.model_name(), "vae");
    assert_same_draws(vae.vae().decoder(), &tmp.path().join("vae"));
}

#[test]
fn a_flow_run_rebuilds_its_generator() {
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = gm::flow::FlowTrainConfig {
        model: gm::flow::ImageFlowConfig {
            image_shape: vec![1, 8, 8],
            checkerboard_steps: 1,
            checkerboard_hidden: 4,
            levels: 2,
            steps_per_level: 1,
            hidden: 4,
            ..Default::default()
        },
        warmup_steps: 2,
        eval_images: 0,
        ..Default::default()
    };
    let mut flow = gm::flow::FlowTrainer::new(cfg, 1, None, &dev).unwrap();
    let mut rng = GmRng::new(0);
    let x = rng.uniform_vec(64 * 64, 0.0, 1.0);
    let small = Dataset::new("noise", vec![1, 8, 8], x, None).unwrap();
    let dir = tmp.path().join("flow");
    fit(&mut flow, &small, &quick_fit(32), &dir, &dev).unwrap();
    let loaded = load_generator(&dir, &dev).unwrap();
    assert_eq!(loaded.model, "flow");
    assert_eq!(loaded.generator.output_shape(), vec![1, 8, 8]);
    assert_same_draws(flow.flow(), &dir);
}

#[test]
fn a_made_run_rebuilds_its_generator() {
    use gm::autoregressive::trainer::{ArTrainConfig, ArTrainer};
    use gm::autoregressive::{Made, MadeConfig};
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ArTrainConfig {
        model: MadeConfig {
            hidden: vec![16],
            num_masks: 2,
            ..Default::default()
        },
        eval_images: 0,
        grid_samples: 0,
        ..Default::default()
    };
    let mut made = ArTrainer::<Made>::new(cfg, 1, None, &dev).unwrap();
    let dir = tmp.path().join("made");
    fit(&mut made, &digits(), &quick_fit(64), &dir, &dev).unwrap();
    let loaded = load_generator(&dir, &dev).unwrap();
    assert_eq!(loaded.model, "made");
    assert_eq!(loaded.generator.output_shape(), vec![1, 28, 28]);
    assert_same_draws(made.model(), &dir);
}
