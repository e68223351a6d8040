//! Trains the 784-400-d VAE of the PyTorch example (d = 2 by default, for the latent map) on
//! the embedded digits with gm-core's `fit` loop, then writes samples, reconstructions,
//! latent interpolations and, when d = 2, the map of decoder means over the latent plane.
//! With `--iwae-k K` (K > 1) the same model is trained on the importance-weighted bound L_K of
//! Burda, Grosse and Salakhutdinov (2016) instead of the ELBO (K = 1). `--data PATH` trains on
//! your own images (see gm-data): the MLP takes their shape, and the Bernoulli likelihood reads
//! each pixel value in [0, 1] as a probability, as for the digits. `--arch conv` trains the
//! convolutional VAE instead, sized by the images (strided convolutions down to 4x4 or 7x7 and
//! transposed ones back; square images of side 28 or a power of two from 16 to 128, 1 or 3
//! channels).
//!
//! The run folder ends with `model.safetensors` (model `vae`, readable by
//! `cargo xtask sample`), `report.html`, the curves, the sample grids and the pictures.
//!
//! ```text
//! cargo xtask run vae [--latent 2] [--iwae-k 1] [--arch mlp|conv] [--likelihood gaussian-learned]
//!                     [--data PATH]
//!                     [--epochs 10] [--seed 0] [--out DIR] [--resume | --overwrite] [--help]
//! ```

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::{fit, AdamConfig, GmRng};
use gm_vae::bound::KlEstimator;
use gm_vae::model::binarize;
use gm_vae::outputs::{save_interpolations, save_latent_map, save_reconstructions, save_samples};
use gm_vae::{Objective, VaeConfig, VaeTrainConfig, VaeTrainer};

/// A 784-400-d VAE (ReLU, Bernoulli pixels) on the embedded MNIST digits, trained on the ELBO
/// or the IWAE bound: samples, reconstructions, interpolations, latent map.
#[derive(Parser)]
struct Cli {
    /// Latent dimension d (d = 2 also draws the map of the latent plane)
    #[arg(long, value_name = "D", default_value_t = 2, value_parser = gm_core::cli::positive_u64)]
    latent: u64,
    /// Importance samples K of the training bound: 1 is the ELBO (analytic KL), K > 1 the
    /// IWAE bound L_K (Burda et al. 2016)
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = gm_core::cli::positive_u64)]
    iwae_k: u64,
    /// The networks: `mlp` (784-400-d, the PyTorch example) or `conv` (convolutions sized by
    /// the images)
    #[arg(long, value_name = "ARCH", default_value = "mlp", value_parser = ["mlp", "conv"])]
    arch: String,
    /// p(x|z): `bernoulli` (dynamically binarized pixels) or `gaussian-learned` (a mean and a
    /// learned standard deviation per pixel, on the grey values; MLP only)
    #[arg(
        long,
        value_name = "P",
        default_value = "bernoulli",
        value_parser = ["bernoulli", "gaussian-learned"]
    )]
    likelihood: String,
    /// The floor of the learned standard deviation (gaussian-learned)
    #[arg(long, value_name = "S", default_value_t = 0.05)]
    min_std: f64,
    /// The training images (default: the embedded digits)
    #[command(flatten)]
    data: gm_data::DataArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "vae";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &gm_core::cli::epochs_budget("10", "128", "1e-3"));
    let args = &cli.run;
    let (device, epochs, batch_size) = args.epoch_budget()?;
    let (latent, k) = (cli.latent as usize, cli.iwae_k as usize);
    let data = cli.data.load_or_digits(args.seed, args.progress())?;
    let model = if cli.arch == "conv" {
        let (c, side) = match data.train.item_shape[..] {
            [c, h, w] if h == w => (c, h),
            ref other => anyhow::bail!(
                "--arch conv needs square images (channels, side, side); {} holds items of \
                 shape {other:?} (load it with --image-size N)",
                data.train.name
            ),
        };
        VaeConfig {
            latent_dim: latent,
            ..VaeConfig::conv(side, c)?
        }
    } else {
        VaeConfig {
            latent_dim: latent,
            data_shape: data.train.item_shape.clone(),
            ..VaeConfig::pytorch_example()
        }
    };
    let learned = cli.likelihood == "gaussian-learned";
    let model = if learned {
        VaeConfig {
            likelihood: gm_vae::Likelihood::GaussianLearned {
                min_std: cli.min_std,
            },
            ..model
        }
    } else {
        model
    };
    let cfg = VaeTrainConfig {
        model,
        binarize: !learned,
        adam: AdamConfig {
            lr: RunArgs::need(args.lr, "lr")?,
            ..Default::default()
        },
        objective: if k == 1 {
            Objective::Elbo {
                kl: KlEstimator::Analytic,
            }
        } else {
            Objective::Iwae { k }
        },
        ..Default::default()
    };
    let out = args.run_dir(NAME)?;
    let mut trainer = VaeTrainer::new(cfg, args.seed, Some(&data.test), &device)?;
    let fc = args.fit_config(epochs, batch_size);
    let nets = if cli.arch == "conv" {
        format!("convolutional {:?}-{latent}", data.train.item_shape)
    } else {
        format!("{}-400-{latent}", data.train.item_size())
    };
    println!(
        "training the {nets} VAE on {} images ({}), {epochs} epochs, device {}",
        data.train.len(),
        if k == 1 {
            "ELBO".to_string()
        } else {
            format!("IWAE bound, k = {k}")
        },
        gm_core::device::device_name(&device)
    );
    let Some(s) = gm_core::cli::finished(fit(&mut trainer, &data.train, &fc, &out, &device)?)
    else {
        return Ok(());
    };
    println!(
        "trained {} steps in {:.1} s; eval {:?}",
        s.steps, s.wall_seconds, s.eval
    );
    let vae = trainer.vae();
    let x = data.test.head(16, &device)?.x;
    let x = if learned {
        x
    } else {
        binarize(&x, &mut GmRng::new(1))?
    };
    save_samples(
        vae,
        64,
        8,
        &mut GmRng::new(2),
        &device,
        out.join("samples.png"),
    )?;
    save_reconstructions(vae, &x, out.join("reconstructions.png"))?;
    // Memorisation: 8 samples beside their 5 nearest training images.
    let shown = vae.sample(8, &mut GmRng::new(3), &device)?;
    let train = data.train.head(data.train.len(), &device)?.x;
    gm_eval::save_nearest_neighbours(&shown, &train, 5, out.join("nearest.png"))?;
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
    println!("run folder: {}", out.display());
    Ok(())
}
