//! LAPGAN in the zoo: the pyramid trained for `steps` updates of every level, its
//! coarse-to-fine chains and samples, and the Frechet distance of its samples.

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use gm_core::{fit, FitConfig, GmRng};
use gm_gan::lapgan::{LapganConfig, LapganTrainer};

use super::{as_data, draw_samples, epoch_plan, head_dataset, ZooData, ZooOptions, ZooRow};

/// Trains LAPGAN (three levels) on the data (the embedded digits at 28, 14 and 7 pixels;
/// other data needs a side divisible by 4) for `opts.steps` updates of every level, writes its run
/// folder under `opts.out_dir/lapgan` (sample grids, the coarse-to-fine chain `chain.png`,
/// metrics, report) and returns the FD row.
pub fn rows(opts: &ZooOptions, data: &ZooData, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = Instant::now();
    let run_dir = opts.out_dir.join("lapgan");
    let train = data.train.clone();
    let (c, side) = data.square("LAPGAN")?;
    let cfg = LapganConfig {
        image_size: side,
        image_channels: c,
        objective: opts.objective.clone().unwrap_or_default(),
        tricks: opts.tricks.clone(),
        ..LapganConfig::default()
    };
    cfg.validate()?;
    let (epochs, items) = epoch_plan(opts.steps, opts.batch_size, train.len())?;
    let steps = epochs * (items / opts.batch_size);
    let train = head_dataset(&train, items)?;
    let mut trainer = LapganTrainer::new(cfg, opts.seed, device)?;
    let fit_cfg = FitConfig {
        epochs,
        batch_size: opts.batch_size,
        seed: opts.seed,
        grid_every: epochs.div_ceil(4).max(1),
        resume: opts.resume,
        progress: !opts.quick,
        ..FitConfig::default()
    };
    fit(&mut trainer, &train, &fit_cfg, &run_dir, device)?;

    let mut rng = GmRng::derive(opts.seed, 1);
    let chain = trainer.sample_chain(8, &mut rng)?;
    gm_core::viz::save_grid(
        &chain.picture()?,
        chain.columns(),
        false,
        run_dir.join("chain.png"),
    )?;
    gm_core::viz::save_grid(
        &trainer.samples(64, &mut rng)?,
        8,
        false,
        run_dir.join("samples.png"),
    )?;
    let samples = draw_samples(opts.fd_samples, |k| as_data(&trainer.samples(k, &mut rng)?))?;
    let (value, metric) = data.frechet_distance(&samples, device)?;
    gm_core::viz::update_report(
        &run_dir,
        "lapgan",
        &[(
            format!("{metric} ({} samples)", opts.fd_samples),
            format!("{value:.3}"),
        )],
    )?;
    Ok(vec![ZooRow {
        model: "LAPGAN (Denton et al. 2015)".into(),
        metric: format!("{metric} ({steps} updates per level)"),
        value: format!("{value:.2}"),
        reference: "DCGAN at the same budget: see its row".into(),
        wall_s: started.elapsed().as_secs_f64(),
    }])
}
