//! Trains the multi-scale flow (RealNVP's architecture with Glow's steps) on the embedded
//! digits by exact maximum likelihood with gm-core's `fit` loop, then reports the test
//! bits per dimension of the 8-bit pixels (all 2,000 test digits, uniform dequantization)
//! and writes sample grids at temperature 1 and `--temperature`.
//!
//! `--data PATH` trains on your own images (see gm-data); their sides must be divisible by 4
//! (two squeezes), and pixel values are read as 8-bit levels `k / 255`.
//!
//! The run folder ends with `model.safetensors` (model `flow`), `report.html`, the curves,
//! per-epoch sample grids, `samples_t1.png` and `samples_t<T>.png`.
//!
//! ```text
//! cargo run --release -p gm-flow --example flow_mnist -- [--epochs 5] [--steps-per-level 4]
//!     [--hidden 64] [--temperature 0.7] [--seed 0] [--out DIR] [--resume | --overwrite]
//! ```

use anyhow::Result;
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::{fit, AdamConfig, GmRng};
use gm_flow::{FlowTrainConfig, FlowTrainer, ImageFlowConfig};

/// A multi-scale normalizing flow on the embedded MNIST digits: exact log-likelihood, test
/// bits per dimension, samples.
#[derive(Parser)]
struct Cli {
    /// Steps of flow (ActNorm, 1x1 convolution, channel coupling) per level
    #[arg(long, value_name = "K", default_value_t = 4)]
    steps_per_level: usize,
    /// Checkerboard coupling steps at full resolution, before the first squeeze
    #[arg(long, value_name = "N", default_value_t = 2)]
    checkerboard_steps: usize,
    /// Conditioner width of the channel couplings
    #[arg(long, value_name = "H", default_value_t = 64)]
    hidden: usize,
    /// Temperature of the final extra sample grid (latents t z, z ~ N(0, I))
    #[arg(long, value_name = "T", default_value_t = 0.7)]
    temperature: f64,
    /// The training images (default: the embedded digits)
    #[command(flatten)]
    data: gm_data::DataArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "flow";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &gm_core::cli::epochs_budget("5", "64", "1e-3"));
    let args = &cli.run;
    let (device, epochs, batch_size) = args.epoch_budget()?;
    let data = cli.data.load_or_digits(args.seed, args.progress())?;
    let cfg = FlowTrainConfig {
        model: ImageFlowConfig {
            image_shape: data.train.item_shape.clone(),
            steps_per_level: cli.steps_per_level,
            checkerboard_steps: cli.checkerboard_steps,
            hidden: cli.hidden,
            ..Default::default()
        },
        adam: AdamConfig {
            lr: RunArgs::need(args.lr, "lr")?,
            ..Default::default()
        },
        ..Default::default()
    };
    let out = args.run_dir(NAME)?;
    let mut trainer = FlowTrainer::new(cfg, args.seed, Some(&data.test), &device)?;
    println!(
        "training the multi-scale flow ({} parameters) on {} images of {:?}, {epochs} epochs, \
         device {}",
        trainer.store().num_params(),
        data.train.len(),
        data.train.item_shape,
        gm_core::device::device_name(&device)
    );
    let fc = args.fit_config(epochs, batch_size);
    let Some(s) = gm_core::cli::finished(fit(&mut trainer, &data.train, &fc, &out, &device)?)
    else {
        return Ok(());
    };
    let flow = trainer.flow();
    let started = std::time::Instant::now();
    let bpd = flow.bits_per_dim_of(
        &data.test,
        data.test.len(),
        250,
        args.seed ^ 0x7e57,
        &device,
    )?;
    println!(
        "trained {} steps in {:.1} s; test: {bpd:.4} bits/dim over {} images \
         ({:.1} nats/image; evaluated in {:.1} s)",
        s.steps,
        s.wall_seconds,
        data.test.len(),
        bpd * flow.data_dim() as f64 * std::f64::consts::LN_2,
        started.elapsed().as_secs_f64()
    );
    let mut rng = GmRng::new(args.seed.wrapping_add(2));
    let t1 = flow.sample_at(64, 1.0, &mut rng, &device)?;
    gm_core::viz::save_grid(&t1, 8, false, out.join("samples_t1.png"))?;
    let tt = flow.sample_at(64, cli.temperature, &mut rng, &device)?;
    let tname = format!("samples_t{}.png", cli.temperature);
    gm_core::viz::save_grid(&tt, 8, false, out.join(&tname))?;
    gm_core::viz::update_report(
        &out,
        NAME,
        &[(
            format!("test bits/dim ({} images)", data.test.len()),
            format!("{bpd:.4}"),
        )],
    )?;
    println!("run folder: {} (samples_t1.png, {tname})", out.display());
    Ok(())
}
