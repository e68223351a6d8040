//! Trains the 784-400-d VAE of the PyTorch example (d = 2 by default, for the latent map) on
//! the embedded digits with gm-core's `fit` loop, then writes samples, reconstructions,
//! latent interpolations and, when d = 2, the map of decoder means over the latent plane.
//!
//! cargo run -p gm-vae --release --example vae_mnist -- [--latent D] [--epochs N] [--out DIR]

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use gm_core::data::mnist_embedded;
use gm_core::{fit, FitConfig, GmRng};
use gm_vae::model::binarize;
use gm_vae::outputs::{save_interpolations, save_latent_map, save_reconstructions, save_samples};
use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

fn main() -> Result<()> {
    gm_core::runtime::init();
    let (mut latent, mut epochs) = (2usize, 10usize);
    let mut out = PathBuf::from("runs/gm-vae-mnist");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--latent" => latent = args.next().context("--latent D")?.parse()?,
            "--epochs" => epochs = args.next().context("--epochs N")?.parse()?,
            "--out" => out = PathBuf::from(args.next().context("--out DIR")?),
            s => bail!(
                "unknown argument {s}; usage: vae_mnist [--latent D] [--epochs N] [--out DIR]"
            ),
        }
    }
    let dev = Device::Cpu;
    let data = mnist_embedded()?;
    let cfg = VaeTrainConfig {
        model: VaeConfig {
            latent_dim: latent,
            ..VaeConfig::pytorch_example()
        },
        ..Default::default()
    };
    let mut trainer = VaeTrainer::new(cfg, 0, Some(&data.test), &dev)?;
    let fc = FitConfig {
        epochs,
        batch_size: 128,
        progress: true,
        ..Default::default()
    };
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let s = fit(&mut trainer, &data.train, &fc, &out, &dev)?;
    println!(
        "trained {} steps in {:.1} s; eval {:?}",
        s.steps, s.wall_seconds, s.eval
    );
    let vae = trainer.vae();
    let x = binarize(&data.test.head(16, &dev)?.x, &mut GmRng::new(1))?;
    save_samples(
        vae,
        64,
        8,
        &mut GmRng::new(2),
        &dev,
        out.join("samples.png"),
    )?;
    save_reconstructions(vae, &x, out.join("reconstructions.png"))?;
    save_interpolations(
        vae,
        &x.narrow(0, 0, 8)?,
        &x.narrow(0, 8, 8)?,
        10,
        out.join("interpolations.png"),
    )?;
    if latent == 2 {
        save_latent_map(vae, 20, 2.5, out.join("latent_map.png"))?;
    }
    println!("pictures in {}", out.display());
    Ok(())
}
