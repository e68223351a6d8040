//! BiGAN in the zoo: the encoder's features judged by 1-nearest-neighbour accuracy beside raw
//! pixels (section 4.2 of Donahue et al.), and the reconstructions `G(E(x))`.

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use gm_core::{fit, FitConfig};
use gm_eval::neighbours::{nearest_neighbour_accuracy, Distance};
use gm_gan::bigan::{BiganConfig, BiganTrainer};

use super::{
    interleave_rows, percent, report_table, steps_fit_config, ZooData, ZooOptions, ZooRow,
};

/// Trains the default [`BiganConfig`] (sized by the data's items) for `opts.steps` updates
/// through gm-core's `fit` (run folder `out_dir/bigan/run`), writes
/// `out_dir/bigan/reconstructions.png` (held-out items, each row followed by its
/// reconstructions `G(E(x))`), and returns the 1-NN accuracy of the held-out items on `E(x)`
/// and on raw pixels (Euclidean distance both; only when the data has labels), and the
/// reconstruction error beside that of the mean training item.
pub fn rows(opts: &ZooOptions, data: &ZooData, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = Instant::now();
    let dir = opts.out_dir.join("bigan");
    let cfg = BiganConfig {
        data_shape: data.item_shape().to_vec(),
        objective: opts.objective.clone().unwrap_or_default(),
        tricks: opts.tricks.clone(),
        ..BiganConfig::default()
    };
    let mut trainer = BiganTrainer::new(cfg, opts.seed, device)?;
    let fit_cfg = FitConfig {
        resume: opts.resume,
        ..steps_fit_config(opts.steps, opts.batch_size, data.train.len(), opts.seed)?
    };
    fit(
        &mut trainer,
        &data.train,
        &fit_cfg,
        &dir.join("run"),
        device,
    )?;

    let train = data.train.head(data.train.len(), device)?.x;
    let test = data.test.head(data.test.len(), device)?.x;
    let what = if data.mnist { "digits" } else { "items" };
    let mut measured = Vec::new();
    if let (Some(train_y), Some(test_y)) = (&data.train.labels, &data.test.labels) {
        let acc_e = nearest_neighbour_accuracy(
            &trainer.encode(&train)?,
            train_y,
            &trainer.encode(&test)?,
            test_y,
            Distance::Euclidean,
        )?;
        let acc_px = nearest_neighbour_accuracy(
            &train.flatten_from(1)?,
            train_y,
            &test.flatten_from(1)?,
            test_y,
            Distance::Euclidean,
        )?;
        let n = data.train.len();
        measured.push((
            format!("1-NN test accuracy on E(x) (Euclidean, {n} train {what})"),
            percent(acc_e),
            if data.mnist {
                "97.35 % (paper, full MNIST)".to_string()
            } else {
                "pixels: see the next row".to_string()
            },
        ));
        measured.push((
            format!("1-NN test accuracy on pixels (Euclidean, {n} train {what})"),
            percent(acc_px),
            "baseline, same run".into(),
        ));
    }
    let recon = trainer.reconstruct(&test)?;
    let mse = (&recon - &test)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64;
    let mean_item = train.mean_keepdim(0)?;
    let mse_mean = test
        .broadcast_sub(&mean_item)?
        .sqr()?
        .mean_all()?
        .to_scalar::<f32>()? as f64;
    measured.push((
        "reconstruction MSE |G(E(x)) - x|^2 per pixel".into(),
        format!("{mse:.4}"),
        format!("{mse_mean:.4} (mean training {})", &what[..what.len() - 1]),
    ));

    let k = 32.min(test.dim(0)?);
    let grid = interleave_rows(&[&test.narrow(0, 0, k)?, &recon.narrow(0, 0, k)?], 16)?;
    gm_core::viz::save_grid(&grid, 16, false, dir.join("reconstructions.png"))?;

    let wall_s = started.elapsed().as_secs_f64();
    let rows: Vec<ZooRow> = measured
        .into_iter()
        .map(|(metric, value, reference)| ZooRow {
            model: "BiGAN".into(),
            metric,
            value,
            reference,
            wall_s,
        })
        .collect();
    gm_core::viz::write_report(&dir, "BiGAN (Donahue et al. 2017)", &report_table(&rows))?;
    Ok(rows)
}
