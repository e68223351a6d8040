//! Shared by the examples: the Bora et al. (2017) VAE prior, trained on the embedded
//! training digits with gm-vae or read from an earlier run, and returned as a decoder whose
//! weights are plain tensors (not variables), so that backpropagation to z skips them.
//!
//! A prior is identified by its settings, `vae_bora2017_{n}digits_{epochs}ep_seed{seed}` on
//! the digits (`vae_bora2017_{data}_{shape}_{n}items_{epochs}ep_seed{seed}` on other data), and
//! trained by gm-core's `fit` into a folder of that name, which ends with its
//! `model.safetensors`. It is looked for, in order, in `--prior-dir` when given (such a
//! folder, a run holding one under `prior/`, or the single-file cache of earlier versions),
//! else in the current run's `prior/`, in the runs of csgm and inpainting (newest first),
//! and in the caches earlier versions kept in `runs/csgm` and `runs/csgm-quick`. A missing
//! prior is trained into `--prior-dir` (a new folder or a gm run folder, by the rules of
//! `gm_core::run`), else into the current run's `prior/`; nothing is ever deleted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use gm_core::data::Dataset;
use gm_core::{fit, FitConfig, ParamStore};
use gm_vae::{Decoder, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

/// Where a prior comes from and where a missing one is trained.
pub struct PriorPlace<'a> {
    /// `--prior-dir`, if given.
    pub prior_dir: Option<&'a Path>,
    /// The current run folder.
    pub run_dir: &'a Path,
    /// Continue an interrupted training of the prior (`--resume`).
    pub resume: bool,
    /// Progress output while training.
    pub progress: bool,
    /// Stop the prior's training after this many steps (`--stop-after`).
    pub stop_after: Option<u64>,
}

/// The runs whose `prior/` folders may hold a prior trained earlier.
const SHARING: [&str; 2] = ["csgm", "inpainting"];

/// The numbered run folders under `base`, newest first.
fn numbered_runs(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut runs: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let n: u64 = e.file_name().to_str()?.parse().ok()?;
            e.path().is_dir().then(|| (n, e.path()))
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.0));
    runs.into_iter().map(|(_, p)| p).collect()
}

/// The files that may hold the prior `key`, in the order they are tried.
fn candidates(key: &str, place: &PriorPlace) -> Vec<PathBuf> {
    let model = |dir: &Path| dir.join(key).join("model.safetensors");
    let legacy = |dir: &Path| dir.join(format!("{key}.safetensors"));
    match place.prior_dir {
        Some(dir) => vec![model(dir), model(&dir.join("prior")), legacy(dir)],
        None => {
            let mut c = vec![model(&place.run_dir.join("prior"))];
            for name in SHARING {
                for run in numbered_runs(&gm_core::cli::default_base(name)) {
                    c.push(model(&run.join("prior")));
                }
            }
            c.push(legacy(Path::new("runs/csgm")));
            c.push(legacy(Path::new("runs/csgm-quick")));
            c
        }
    }
}

/// The name of the prior trained on `train`: the digits keep the name earlier versions gave
/// their priors; other data adds its name and item shape, so that priors of different data
/// never share a folder.
fn prior_key(train: &Dataset, epochs: usize, seed: u64) -> String {
    if train.name.starts_with("mnist") && train.item_shape == [1, 28, 28] {
        return format!("vae_bora2017_{}digits_{epochs}ep_seed{seed}", train.len());
    }
    let slug = train
        .name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let shape: Vec<String> = train.item_shape.iter().map(usize::to_string).collect();
    format!(
        "vae_bora2017_{}_{}_{}items_{epochs}ep_seed{seed}",
        slug,
        shape.join("x"),
        train.len()
    )
}

/// The `--prior-dir` flag of the examples that recover images with a trained prior.
#[derive(clap::Args, Debug, Clone)]
pub struct PriorArgs {
    /// Folder of a prior trained earlier (searched first; a missing prior is trained into
    /// it). Default: the newest csgm or inpainting run holding a prior with these settings,
    /// else this run's prior/ folder
    #[arg(long, value_name = "DIR")]
    pub prior_dir: Option<PathBuf>,
}

impl PriorArgs {
    /// The prior of a run: [`bora_prior`] placed by the run's command line (`--prior-dir`,
    /// `--resume`, progress, `--stop-after`) and its folder `out`; `None` when its training
    /// stopped early.
    pub fn for_run(
        &self,
        run: &gm_core::cli::RunArgs,
        out: &Path,
        train: &Dataset,
        epochs: usize,
        device: &Device,
    ) -> Result<Option<Decoder>> {
        let place = PriorPlace {
            prior_dir: self.prior_dir.as_deref(),
            run_dir: out,
            resume: run.resume,
            progress: run.progress(),
            stop_after: run.stop_after,
        };
        bora_prior(train, epochs, run.seed, &place, device)
    }
}

/// The decoder of a Bora et al. VAE trained for `epochs` on `train` (seed `seed`): read from
/// an earlier run, or trained now (see the module documentation). `None` when the training
/// stopped early (`--stop-after`).
pub fn bora_prior(
    train: &Dataset,
    epochs: usize,
    seed: u64,
    place: &PriorPlace,
    device: &Device,
) -> Result<Option<Decoder>> {
    let cfg = VaeConfig {
        data_shape: train.item_shape.clone(),
        ..VaeConfig::bora2017()
    };
    let key = prior_key(train, epochs, seed);
    let found = candidates(&key, place).into_iter().find(|p| p.is_file());
    let tensors = if let Some(path) = found {
        eprintln!("prior: loading {}", path.display());
        let store = ParamStore::new(seed);
        let _ = Vae::init(cfg.clone(), &store, device)?;
        let (t, _) = gm_core::io::load_safetensors(&path, device)?;
        store
            .load(&t, &path.display().to_string())
            .with_context(|| {
                format!(
                    "{}: does not fit the Bora et al. architecture",
                    path.display()
                )
            })?;
        store.tensors()
    } else {
        let dir = place
            .prior_dir
            .map_or_else(|| place.run_dir.join("prior"), Path::to_path_buf)
            .join(&key);
        let t0 = Instant::now();
        eprintln!(
            "prior: training the Bora et al. VAE (20-500-500-{}) on {} items of {} for {epochs} \
             epochs into {}",
            train.item_size(),
            train.len(),
            train.name,
            dir.display()
        );
        let tc = VaeTrainConfig {
            model: cfg.clone(),
            eval_images: 0,
            adam: gm_core::AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut trainer = VaeTrainer::new(tc, seed, None, device)?;
        let fc = FitConfig {
            epochs,
            batch_size: 100,
            seed,
            grid_every: 0,
            progress: place.progress,
            resume: place.resume,
            stop_after: place.stop_after,
            ..Default::default()
        };
        // `fit` writes only into a new folder or one inside a gm run folder.
        let s = fit(&mut trainer, train, &fc, &dir, device)?;
        if s.stopped_early {
            eprintln!(
                "prior: stopped after step {}/{} in {}; continue with --resume",
                s.steps,
                s.total_steps,
                dir.display()
            );
            return Ok(None);
        }
        eprintln!(
            "prior: trained in {:.1} s, saved in {}",
            t0.elapsed().as_secs_f64(),
            dir.join("model.safetensors").display()
        );
        trainer.store().tensors()
    };
    let plain: std::collections::HashMap<String, candle_core::Tensor> =
        tensors.into_iter().map(|(k, v)| (k, v.detach())).collect();
    let vb = VarBuilder::from_tensors(plain, DType::F32, device);
    Ok(Some(Decoder::new(&cfg, vb.pp("decoder"))?))
}
