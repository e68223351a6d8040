//! Shared by the examples: the Bora et al. (2017) VAE prior, trained on the embedded
//! training digits with gm-vae or loaded from a cache file, and returned as a decoder whose
//! weights are plain tensors (not variables), so that backpropagation to z skips them.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use gm_core::data::Dataset;
use gm_core::{fit, FitConfig, ParamStore, Trainer};
use gm_vae::{Decoder, Vae, VaeConfig, VaeTrainConfig, VaeTrainer};

/// The decoder of a Bora et al. VAE trained for `epochs` on `train` (seed `seed`), cached
/// under `out`.
pub fn bora_prior(
    train: &Dataset,
    epochs: usize,
    seed: u64,
    out: &Path,
    device: &Device,
) -> Result<Decoder> {
    let cfg = VaeConfig::bora2017();
    let cache = out.join(format!(
        "vae_bora2017_{}digits_{epochs}ep_seed{seed}.safetensors",
        train.len()
    ));
    let tensors = if cache.exists() {
        eprintln!("prior: loading {}", cache.display());
        let store = ParamStore::new(seed);
        let _ = Vae::init(cfg.clone(), &store, device)?;
        let (t, _) = gm_core::io::load_safetensors(&cache, device)?;
        store
            .load(&t, &cache.display().to_string())
            .context("cached VAE does not fit the Bora et al. architecture")?;
        store.tensors()
    } else {
        let t0 = Instant::now();
        eprintln!(
            "prior: training the Bora et al. VAE (20-500-500-784) on {} digits for {epochs} epochs",
            train.len()
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
        let run = out.join("vae_prior_run");
        if run.exists() {
            std::fs::remove_dir_all(&run)?;
        }
        let fc = FitConfig {
            epochs,
            batch_size: 100,
            seed,
            grid_every: 0,
            progress: false,
            ..Default::default()
        };
        fit(&mut trainer, train, &fc, &run, device)?;
        let t = trainer.weights()?;
        std::fs::create_dir_all(out)?;
        let mut meta = std::collections::BTreeMap::new();
        meta.insert("gm.model".to_string(), "vae".to_string());
        meta.insert("gm.config".to_string(), serde_json::to_string(&cfg)?);
        gm_core::io::save_safetensors(&cache, &t, &meta)?;
        eprintln!(
            "prior: trained in {:.1} s, cached in {}",
            t0.elapsed().as_secs_f64(),
            cache.display()
        );
        t
    };
    let plain: std::collections::HashMap<String, candle_core::Tensor> =
        tensors.into_iter().map(|(k, v)| (k, v.detach())).collect();
    let vb = VarBuilder::from_tensors(plain, DType::F32, device);
    Ok(Decoder::new(&cfg, vb.pp("decoder"))?)
}
