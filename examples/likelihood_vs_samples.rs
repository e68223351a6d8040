//! Log-likelihood against sample quality on the embedded MNIST digits (8,000 train / 2,000
//! test), with the two warnings of Theis, van den Oord and Bethge (2016), "A note on the
//! evaluation of generative models", built on purpose:
//!
//! - case 1: a mixture of 1 % of a model and 99 % noise keeps
//!   `log p_mix(x) >= log 0.01 + log p_model(x)`, so its test log-likelihood is within
//!   `log 100 = 4.61` nats of the model's, while 99 % of its samples are noise;
//! - case 2: a model that memorises the training set (samples are training images; density a
//!   mixture of narrow Bernoullis centred on them) has near-perfect sample metrics and a worse
//!   test log-likelihood than the independent-pixel model.
//!
//! The likelihood model here is the independent-pixel Bernoulli fitted to the binarized
//! training digits (closed form, no training loop). Trained models join the table with
//! `--run DIR` (repeatable; any run folder of `run made`, `run pixelcnn`, `run vae`,
//! `run flow`, `run dcgan`, `run gan`, ...), each scored by its own family's likelihood:
//! exact NLL for MADE and PixelCNN, importance sampling with `k = 5000` draws from the encoder
//! for a VAE (`k = 100` with `--quick`), exact bits per dimension of the dequantized 8-bit
//! pixels for a flow (a density on another space: not comparable with the binary rows), and
//! Parzen windows on the samples for a GAN (an estimate, not a bound). Every likelihood is in nats per image on
//! the test digits binarized once as gm-vae's iwae example does (`binarize`, seed 12345);
//! the sample metrics are gm-eval's (MNIST FD, classifier score, precision/recall) on the
//! same number of samples for every row.
//!
//! ```text
//! cargo xtask reproduce likelihood-vs-samples [--run DIR]... [--quick] [--seed 0] [--out DIR]
//! ```

use anyhow::Result;
use candle_core::{DType, Device, Tensor, D};
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_core::data::mnist_embedded;
use gm_core::GmRng;
use gm_eval::{evaluate_samples, EvalConfig, EvalReport};
use gm_vae::model::binarize;

/// Test log-likelihood against sample metrics (Theis et al. 2016) on the embedded MNIST.
#[derive(Parser)]
struct Cli {
    /// Smoke run: 500 samples per row (without it: 2,000)
    #[arg(long)]
    quick: bool,
    /// A trained model's run folder to add as a row (repeatable)
    #[arg(long = "run", value_name = "DIR")]
    runs: Vec<std::path::PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "likelihood-vs-samples";

/// Flip probability of the memorising model's Bernoullis around each training image.
const MEMORISE_EPS: f64 = 0.01;

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

/// One row of the table.
#[derive(serde::Serialize)]
struct Row {
    model: String,
    log_likelihood_nats: f64,
    likelihood_note: String,
    frechet_distance: f64,
    classifier_score: f64,
    precision: f64,
    recall: f64,
}

/// `log sum_j exp(a_ij)` over the last dimension, stable.
fn logsumexp_last(a: &Tensor) -> Result<Tensor> {
    let m = a.max_keepdim(D::Minus1)?;
    let s = a.broadcast_sub(&m)?.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok((s + m)?.squeeze(D::Minus1)?)
}

/// Per-item `log p(x | c)` for Bernoulli means `c` (rows of `probs`, shape `(k, 784)`) of
/// binary `x` `(n, 784)`: `x . (log c - log(1 - c)) + sum log(1 - c)`, shape `(n, k)`.
fn bernoulli_log_probs(x: &Tensor, probs: &Tensor) -> Result<Tensor> {
    let log_c = probs.log()?;
    let log_1mc = probs.affine(-1.0, 1.0)?.log()?;
    let w = (&log_c - &log_1mc)?;
    let b = log_1mc.sum(D::Minus1)?.unsqueeze(0)?;
    Ok(x.matmul(&w.t()?)?.broadcast_add(&b)?)
}

fn report_row(model: &str, ll: f64, note: &str, r: &EvalReport) -> Result<Row> {
    let m = r
        .mnist
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("gm-eval gave no MNIST metrics for {model}"))?;
    Ok(Row {
        model: model.into(),
        log_likelihood_nats: ll,
        likelihood_note: note.into(),
        frechet_distance: m.frechet_distance,
        classifier_score: m.classifier_score.mean,
        precision: m.precision_recall.precision,
        recall: m.precision_recall.recall,
    })
}

/// The test log-likelihood of a trained model by its family's method, and its note.
fn trained_likelihood(
    saved: &gm::models::SavedGenerator,
    x_test: &Tensor,
    test: &gm_core::data::Dataset,
    quick: bool,
    seed: u64,
    dev: &Device,
) -> Result<Option<(f64, String)>> {
    use gm::models::SavedGenerator as S;
    Ok(Some(match saved {
        S::Made(m) => (
            -gm_autoregressive::mean_nll(m.as_ref(), x_test, 500)?,
            "nats/image, exact".into(),
        ),
        S::PixelCnn(m) => (
            -gm_autoregressive::mean_nll(m.as_ref(), x_test, 250)?,
            "nats/image, exact".into(),
        ),
        S::Vae(v) => {
            let k = if quick { 100 } else { 5000 };
            let lp = gm_vae::bound::log_likelihood(
                &v.vae,
                x_test,
                k,
                1 << 19,
                &mut GmRng::derive(seed, 7),
            )?;
            (
                lp.iter().sum::<f64>() / lp.len() as f64,
                format!("nats/image, importance sampling, k = {k}"),
            )
        }
        S::Flow(f) => {
            let n = if quick { 500 } else { test.len() };
            let bpd = f.flow.bits_per_dim_of(test, n, 100, seed ^ 0x7e57, dev)?;
            let d = test.item_shape.iter().product::<usize>() as f64;
            (
                -bpd * d * std::f64::consts::LN_2,
                format!(
                    "exact on dequantized 8-bit pixels ({bpd:.3} bits/dim; another space, not \
                     comparable)"
                ),
            )
        }
        _ => return Ok(None),
    }))
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[]);
    let args = &cli.run;
    let dev: Device = args.device()?;
    let dir = args.run_dir(NAME)?;
    let n_samples = if cli.quick { 500 } else { 2000 };
    let data = mnist_embedded()?;
    let d = 784usize;

    let train = data.train.head(data.train.len(), &dev)?.x.flatten_from(1)?;
    let test = data.test.head(data.test.len(), &dev)?.x.flatten_from(1)?;
    let x_test = binarize(&test, &mut GmRng::new(12345))?;
    let x_train = binarize(&train, &mut GmRng::new(54321))?;
    let n_train = x_train.dim(0)?;

    // Independent-pixel Bernoulli: maximum likelihood with a +1/+2 (Laplace) smoothing.
    let marg = ((x_train.sum(0)? + 1.0)? / (n_train as f64 + 2.0))?;
    let lp_model = bernoulli_log_probs(&x_test, &marg.unsqueeze(0)?)?.squeeze(1)?;
    let ll_model = lp_model.mean_all()?.to_scalar::<f32>()? as f64;

    // Theis case 1: 0.01 p_model + 0.99 uniform noise (each pixel Bernoulli(1/2)).
    let lp_noise = -(d as f64) * std::f64::consts::LN_2;
    let a = Tensor::stack(
        &[
            (&lp_model + 0.01f64.ln())?,
            (lp_model.ones_like()? * (0.99f64.ln() + lp_noise))?,
        ],
        1,
    )?;
    let lp_mix = logsumexp_last(&a)?;
    let ll_mix = lp_mix.mean_all()?.to_scalar::<f32>()? as f64;
    let bound_ok = (lp_mix - (&lp_model + 0.01f64.ln())?)?
        .min(0)?
        .to_scalar::<f32>()?
        >= -1e-4;

    // Theis case 2: memorise the training set, p(x) = mean_j Bern(x; flip eps around t_j).
    let centres = x_train.affine(1.0 - 2.0 * MEMORISE_EPS, MEMORISE_EPS)?;
    let mut lps = Vec::new();
    for start in (0..x_test.dim(0)?).step_by(250) {
        let len = 250.min(x_test.dim(0)? - start);
        let lp = bernoulli_log_probs(&x_test.narrow(0, start, len)?, &centres)?;
        lps.push((logsumexp_last(&lp)? - (n_train as f64).ln())?);
    }
    let ll_mem = Tensor::cat(&lps, 0)?.mean_all()?.to_scalar::<f32>()? as f64;

    // Samples, the same number per row.
    let mut rng = GmRng::new(args.seed);
    let u = rng.uniform((n_samples, d), 0.0, 1.0, &dev)?;
    let s_model = u.broadcast_lt(&marg.unsqueeze(0)?)?.to_dtype(DType::F32)?;
    let n_keep = n_samples / 100;
    let noise = rng
        .uniform((n_samples - n_keep, d), 0.0, 1.0, &dev)?
        .ge(0.5)?
        .to_dtype(DType::F32)?;
    let s_mix = Tensor::cat(&[s_model.narrow(0, 0, n_keep)?, noise], 0)?;
    let s_mem = train.narrow(0, 0, n_samples)?;

    let mut cfg = if cli.quick {
        EvalConfig::quick()
    } else {
        EvalConfig::default()
    };
    cfg.n_samples = n_samples;
    cfg.parzen = false;
    let eval = |s: &Tensor| -> Result<EvalReport> {
        Ok(evaluate_samples(&s.reshape((n_samples, 1, 28, 28))?, &cfg)?)
    };
    let mut rows = vec![
        report_row(
            "Independent-pixel Bernoulli",
            ll_model,
            "nats/image, exact",
            &eval(&s_model)?,
        )?,
        report_row(
            "Theis 1: 1 % Bernoulli + 99 % noise",
            ll_mix,
            &format!(
                "nats/image, exact; >= model - log 100 = {:.2}: {}",
                ll_model - 100f64.ln(),
                if bound_ok {
                    "holds per digit"
                } else {
                    "VIOLATED"
                }
            ),
            &eval(&s_mix)?,
        )?,
        report_row(
            "Theis 2: memorised training set",
            ll_mem,
            &format!("nats/image, exact (Bernoulli mixture, eps {MEMORISE_EPS}, 8,000 centres)"),
            &eval(&s_mem)?,
        )?,
    ];

    let mut parzen_cfg = cfg.clone();
    parzen_cfg.parzen = true;
    for dir in &cli.runs {
        let gm::cli::RunModel {
            model,
            config,
            tensors,
        } = gm::cli::read_run_model(dir, &dev)?;
        let file = dir.join(gm::models::MODEL_FILE);
        let saved = gm::models::SavedGenerator::from_parts(&model, &config, tensors, &file, &dev)?;
        let name = format!("{model} ({})", dir.display());
        println!("{name}: scoring");
        let samples = saved
            .generator()
            .sample(n_samples, &mut GmRng::derive(args.seed, 3), &dev)?
            .reshape((n_samples, 1, 28, 28))?;
        let row = match trained_likelihood(&saved, &x_test, &data.test, cli.quick, args.seed, &dev)?
        {
            Some((ll, note)) => report_row(&name, ll, &note, &eval(&samples)?)?,
            None => {
                let r = evaluate_samples(&samples, &parzen_cfg)?;
                let p = r
                    .mnist
                    .as_ref()
                    .and_then(|m| m.parzen.as_ref())
                    .ok_or_else(|| anyhow::anyhow!("{name}: no Parzen estimate"))?;
                let note = format!(
                    "Parzen estimate on the samples (sigma {:.3}, +- {:.1}; not a likelihood)",
                    p.sigma, p.stderr
                );
                report_row(&name, p.mean, &note, &r)?
            }
        };
        rows.push(row);
    }

    let mut md = format!(
        "Test log-likelihood vs sample metrics, embedded MNIST (2,000 test digits binarized \
         once, seed 12345); {n_samples} samples per row\n\n\
         | model | test log p(x) | unit / note | MNIST FD | classifier score | precision | recall |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.2} | {} | {:.2} | {:.2} | {:.3} | {:.3} |\n",
            r.model,
            r.log_likelihood_nats,
            r.likelihood_note,
            r.frechet_distance,
            r.classifier_score,
            r.precision,
            r.recall
        ));
    }
    println!("{md}");
    gm_core::io::write_atomic(dir.join("table.md"), md.as_bytes())?;
    gm_core::io::write_atomic(
        dir.join("table.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    println!("wrote {}", dir.join("table.md").display());
    Ok(())
}
