//! Progressive growing in the zoo: the stages (7x7, 14x14 and 28x28 on the digits), each a
//! `fit` run, and the Frechet distance of each stage's samples.

use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use gm_core::{fit, FitConfig, GmRng, Trainer};
use gm_gan::progressive::{ProgressiveConfig, ProgressiveTrainer};

use super::{as_data, draw_samples, epoch_plan, head_dataset, ZooData, ZooOptions, ZooRow};

/// Updates per stage: `opts.steps` shared by the stages, so that all of them together take
/// as many generator updates as DCGAN does.
pub fn stage_steps(opts: &ZooOptions, stages: usize) -> usize {
    (opts.steps / stages.max(1)).max(2)
}

/// `(n, c, r, r)` images upsampled (nearest) to `(n, c, side, side)`.
fn to_side(x: &Tensor, side: usize) -> Result<Tensor> {
    if x.dim(3)? == side {
        return Ok(x.clone());
    }
    Ok(x.upsample_nearest2d(side, side)?)
}

/// The first stage's side for images of side `side`: halved while it stays even and at least
/// 4 after halving (28 -> 7, 32 -> 4, 48 -> 6), so that doublings reach `side` exactly.
pub fn start_side(side: usize) -> usize {
    let mut s = side;
    while s.is_multiple_of(2) && s / 2 >= 4 {
        s /= 2;
    }
    s
}

/// The stages' sides from [`start_side`] to `side`, and their feature maps: the default
/// ones of the last stages (4x4 to 32x32: 32, 32, 16, 8), widened (32) when more stages
/// come before them.
fn stage_plan(side: usize) -> Result<(usize, Vec<usize>)> {
    let start = start_side(side);
    if start == side {
        bail!(
            "progressive growing doubles the side from at least 4: a side of {side} cannot be \
             reached (load the data with --image-size 8, 16, 28, 32 or 64)"
        );
    }
    let stages = (side / start).trailing_zeros() as usize + 1;
    let default = ProgressiveConfig::default().channels;
    let mut ch = vec![default[0]; stages.saturating_sub(default.len())];
    ch.extend(&default[default.len().saturating_sub(stages)..]);
    Ok((start, ch))
}

/// Trains the progressive GAN on the data (the embedded digits from 7x7; other data needs a
/// side that [`start_side`] can halve at least once) for [`stage_steps`] updates per stage,
/// each stage a `fit` run in `opts.out_dir/progressive/<r>x<r>`, with a sample grid
/// `samples_<r>x<r>.png` (upsampled to the final side) per stage, and returns one FD row per
/// resolution (samples upsampled to the final side by nearest neighbour).
pub fn rows(opts: &ZooOptions, data: &ZooData, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let root = opts.out_dir.join("progressive");
    let train = data.train.clone();
    let (c, side) = data.square("progressive growing")?;
    let (start_size, channels) = stage_plan(side)?;
    let (epochs, items) = epoch_plan(
        stage_steps(opts, channels.len()),
        opts.batch_size,
        train.len(),
    )?;
    let train = head_dataset(&train, items)?;
    let cfg = ProgressiveConfig {
        stage_steps: epochs * (items / opts.batch_size),
        image_channels: c,
        start_size,
        channels,
        objective: opts.objective.clone().unwrap_or_default(),
        tricks: opts.tricks.clone(),
        ..ProgressiveConfig::default()
    };
    let mut trainer = ProgressiveTrainer::new(cfg, opts.seed, device)?;
    let fit_cfg = FitConfig {
        epochs,
        batch_size: opts.batch_size,
        seed: opts.seed,
        grid_every: epochs.div_ceil(2).max(1),
        resume: opts.resume,
        progress: !opts.quick,
        ..FitConfig::default()
    };
    let mut rows = Vec::new();
    for stage in 0..trainer.config().stages() {
        let started = Instant::now();
        if stage > 0 {
            trainer.grow()?;
        }
        let r = trainer.resolution();
        let dir = root.join(format!("{r}x{r}"));
        fit(&mut trainer, &train, &fit_cfg, &dir, device)?;
        let mut rng = GmRng::derive(opts.seed, 1 + stage as u64);
        gm_core::viz::save_grid(
            &to_side(&trainer.samples(64, &mut rng)?, side)?,
            8,
            false,
            root.join(format!("samples_{r}x{r}.png")),
        )?;
        let samples = draw_samples(opts.fd_samples, |k| {
            as_data(&to_side(&trainer.samples(k, &mut rng)?, side)?)
        })?;
        let (value, metric) = data.frechet_distance(&samples, device)?;
        gm_core::viz::update_report(
            &dir,
            &trainer.model_name(),
            &[(
                format!(
                    "{metric} ({} samples, upsampled to {side}x{side})",
                    opts.fd_samples
                ),
                format!("{value:.3}"),
            )],
        )?;
        rows.push(ZooRow {
            model: "Progressive GAN (Karras et al. 2018)".into(),
            metric: format!("{metric} at {r}x{r}"),
            value: format!("{value:.2}"),
            reference: format!(
                "{} updates per stage; falls as the resolution grows; DCGAN: see its row",
                trainer.config().stage_steps
            ),
            wall_s: started.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}
