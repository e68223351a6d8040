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
/// reconstructions `G(E(x))`), and returns the 1-NN accuracy of the held-out items on `E(x)`,
/// on the encoder's last hidden layer (after training and before it) and on raw pixels
/// (Euclidean distance all; only when the data has labels), and the reconstruction error
/// beside that of the mean training item.
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
    let train = data.train.head(data.train.len(), device)?.x;
    let test = data.test.head(data.test.len(), device)?.x;
    // The untrained encoder's last hidden layer: what its architecture gives before any
    // training (wide random features keep the pixels' neighbours).
    let untrained = (
        trainer.encoder_features(&train)?,
        trainer.encoder_features(&test)?,
    );
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

    let what = if data.mnist { "digits" } else { "items" };
    let mut measured = Vec::new();
    if let (Some(train_y), Some(test_y)) = (&data.train.labels, &data.test.labels) {
        let n = data.train.len();
        // (the feature space, its train and test features, the reference on MNIST, on
        // other data).
        let pixels = "pixels: see the last of these rows";
        let spaces = [
            (
                "1-NN test accuracy on E(x)",
                (trainer.encode(&train)?, trainer.encode(&test)?),
                "92.10 % (Donahue et al.'s code, full MNIST, 400 epochs)",
                pixels,
            ),
            (
                "1-NN test accuracy on E's last hidden layer",
                (
                    trainer.encoder_features(&train)?,
                    trainer.encoder_features(&test)?,
                ),
                "97.35 % (the same code on this layer; the paper's Table 1: 97.39 %)",
                pixels,
            ),
            (
                "the same layer before training",
                untrained,
                "96.84 % (the same code, epoch 0)",
                "baseline, same run",
            ),
            (
                "1-NN test accuracy on pixels",
                (train.flatten_from(1)?, test.flatten_from(1)?),
                "baseline, same run",
                "baseline, same run",
            ),
        ];
        for (space, (tr, te), on_mnist, elsewhere) in spaces {
            let acc = nearest_neighbour_accuracy(&tr, train_y, &te, test_y, Distance::Euclidean)?;
            measured.push((
                format!("{space} (Euclidean, {n} train {what})"),
                percent(acc),
                if data.mnist { on_mnist } else { elsewhere }.to_string(),
            ));
        }
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
