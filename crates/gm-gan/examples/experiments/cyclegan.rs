//! CycleGAN in the zoo, on a translation whose truth is known: `Y = T(X)` with
//! [`thicken_and_invert`], trained on disjoint halves of the training items, so no pair
//! `(x, T(x))` is ever seen; measured by the translation and cycle errors against `T` and,
//! on the digits, by the shipped classifier's label agreement.

use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use gm_core::classifier::MnistClassifier;
use gm_core::fit;
use gm_gan::cyclegan::{thicken_and_invert, transformed_halves, CycleGanConfig, CycleGanTrainer};

use super::{
    interleave_rows, percent, report_table, steps_fit_config, ZooData, ZooOptions, ZooRow,
};

/// The largest batch the zoo trains CycleGAN on: the paper uses 1; on a CPU a batch of 16
/// costs less per image than larger ones (the im2col buffers stay in cache).
pub const MAX_BATCH: usize = 16;

/// The fraction of equal labels in two predictions of the same items.
fn agreement(a: &[u32], b: &[u32]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        bail!("predicted labels: {} against {}", b.len(), a.len());
    }
    let same = a.iter().zip(b).filter(|(u, v)| u == v).count();
    Ok(same as f64 / a.len() as f64)
}

/// Mean absolute difference per pixel.
fn mean_l1(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok((a - b)?.abs()?.mean_all()?.to_scalar::<f32>()? as f64)
}

/// Trains the default [`CycleGanConfig`] (sized by the data: one-channel square images of an
/// even side) for `opts.steps` updates (the schedule's length) on batches of
/// `min(opts.batch_size, MAX_BATCH)` through gm-core's `fit` on [`transformed_halves`] (run
/// folder `out_dir/cyclegan/run`), writes `out_dir/cyclegan/translations.png` (rows x, G(x),
/// T(x), F(G(x)) of held-out items), and returns, on the held-out items (500 at the quick
/// budget), the translation error `|G(x) - T(x)|` and the cycle error `|F(G(x)) - x|`, each
/// beside the identity map, and on the digits the classifier's label agreement between x and
/// F(G(x)) and between x and F(T(x)).
pub fn rows(opts: &ZooOptions, data: &ZooData, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = Instant::now();
    let dir = opts.out_dir.join("cyclegan");
    let (c, side) = data.square("CycleGAN")?;
    if c != 1 {
        bail!(
            "the zoo's CycleGAN translates one-channel images; {} has {c} channels (load it \
             with --channels 1)",
            data.train.name
        );
    }
    let domains = transformed_halves(&data.train, opts.seed)?;
    let cfg = CycleGanConfig {
        total_steps: opts.steps,
        image_size: side,
        objective: opts.objective.clone(),
        tricks: opts.tricks.clone(),
        ..CycleGanConfig::default()
    };
    let mut trainer = CycleGanTrainer::new(cfg, opts.seed, device)?;
    let batch_size = opts.batch_size.min(MAX_BATCH);
    let mut fit_cfg = steps_fit_config(opts.steps, batch_size, domains.len(), opts.seed)?;
    fit_cfg.grid_every = 0;
    fit_cfg.resume = opts.resume;
    fit(&mut trainer, &domains, &fit_cfg, &dir.join("run"), device)?;

    // The quick budget is a smoke test: a quarter of the test digits keeps it to seconds.
    let n_eval = if opts.quick { 500 } else { data.test.len() };
    let x = data.test.head(n_eval, device)?.x;
    let n_eval = x.dim(0)?;
    let tx = thicken_and_invert(&x)?;
    let gx = trainer.translate_x_to_y(&x)?;
    let fgx = trainer.translate_y_to_x(&gx)?;
    let ftx = trainer.translate_y_to_x(&tx)?;
    let translation = mean_l1(&gx, &tx)?;
    let translation_id = mean_l1(&x, &tx)?;
    let cycle = mean_l1(&fgx, &x)?;
    let what = if data.mnist {
        "test digits"
    } else {
        "held-out items"
    };
    let mut measured = vec![
        (
            format!("translation L1 |G(x) - T(x)| per pixel ({n_eval} {what})"),
            format!("{translation:.4}"),
            format!("{translation_id:.4} (identity map)"),
        ),
        (
            format!("cycle L1 |F(G(x)) - x| per pixel ({n_eval} {what})"),
            format!("{cycle:.4}"),
            "0.0000 (identity map)".into(),
        ),
    ];
    if data.mnist {
        let clf = MnistClassifier::pretrained(device)?;
        let labels_x = clf.predict(&x)?;
        let agree = |other: &Tensor| -> Result<f64> { agreement(&labels_x, &clf.predict(other)?) };
        measured.push((
            "classifier label agreement x vs F(G(x))".into(),
            percent(agree(&fgx)?),
            "100.00 % (identity map)".into(),
        ));
        measured.push((
            "classifier label agreement x vs F(T(x))".into(),
            percent(agree(&ftx)?),
            format!("{} (identity map: x vs T(x))", percent(agree(&tx)?)),
        ));
    }

    let k = 12.min(x.dim(0)?);
    let rows: Vec<Tensor> = [&x, &gx, &tx, &fgx]
        .iter()
        .map(|t| t.narrow(0, 0, k))
        .collect::<candle_core::Result<_>>()?;
    let grid = interleave_rows(&rows.iter().collect::<Vec<_>>(), k)?;
    gm_core::viz::save_grid(&grid, k, false, dir.join("translations.png"))?;

    let wall_s = started.elapsed().as_secs_f64();
    let rows: Vec<ZooRow> = measured
        .into_iter()
        .map(|(metric, value, reference)| ZooRow {
            model: "CycleGAN".into(),
            metric,
            value,
            reference,
            wall_s,
        })
        .collect();
    gm_core::viz::write_report(&dir, "CycleGAN (Zhu et al. 2017)", &report_table(&rows))?;
    Ok(rows)
}
