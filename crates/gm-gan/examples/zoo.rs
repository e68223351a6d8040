//! The zoo of part 2 measured in one table: LAPGAN (FD), progressive growing (FD at each
//! resolution), BiGAN (1-nearest-neighbour accuracy of encoder features, beside raw pixels),
//! CycleGAN (translation, cycle and label-agreement errors against the known transform,
//! beside the identity map), with part 1's DCGAN trained for the same number of generator
//! steps as the FD baseline. Each model writes its run folder (grids, chains,
//! reconstructions, report.html) under `--out`; the table is also written as `zoo.json` and
//! `zoo.md` there.
//!
//! ```text
//! cargo xtask reproduce zoo [--quick] [--steps N] [--seed 0] [--out DIR]
//!     [--models dcgan,lapgan,progressive,bigan,cyclegan] [--resume | --overwrite]
//!     (--help lists every flag)
//! ```
//!
//! Without `--out` each run gets a new folder `runs/zoo/<n>`; each model writes into its own
//! sub-folder, and `--resume` continues every model from its last checkpoint. With
//! `--data PATH` every model trains on your images instead of the digits (where its design
//! allows: square images; LAPGAN a side divisible by 4, progressive growing a side that
//! halves to 4 or more, CycleGAN one channel) and is scored with gm-eval's any-data metrics.

mod experiments;

use anyhow::{bail, Result};
use candle_core::Device;
use clap::Parser;
use experiments::{markdown_table, ZooData, ZooOptions, ZooRow};
use gm_core::cli::RunArgs;
use gm_core::{fit, FitConfig, Generator, GmRng};
use gm_gan::{GanConfig, GanTrainConfig, GanTrainer};

type RowsFn = fn(&ZooOptions, &ZooData, &Device) -> Result<Vec<ZooRow>>;

/// Part 1's DCGAN trained for `opts.steps` generator updates on the training data (run
/// folder `opts.out_dir/dcgan`): the FD baseline of LAPGAN and progressive growing at the
/// same budget.
fn dcgan_rows(opts: &ZooOptions, data: &ZooData, device: &Device) -> Result<Vec<ZooRow>> {
    opts.validate()?;
    let started = std::time::Instant::now();
    let dir = opts.out_dir.join("dcgan");
    let cfg = if data.mnist {
        GanTrainConfig::dcgan_mnist()
    } else {
        let (c, side) = data.square("DCGAN")?;
        GanTrainConfig {
            model: GanConfig::dcgan(side, c)?,
            ..GanTrainConfig::dcgan_mnist()
        }
    };
    let mut trainer = GanTrainer::new(cfg, opts.seed, device)?;
    let per_epoch = data.train.len() / opts.batch_size;
    let fc = FitConfig {
        epochs: opts.steps.div_ceil(per_epoch.max(1)),
        batch_size: opts.batch_size,
        seed: opts.seed,
        stop_after: Some(opts.steps as u64),
        drop_last: true,
        resume: opts.resume,
        progress: !opts.quick,
        ..Default::default()
    };
    fit(&mut trainer, &data.train, &fc, &dir, device)?;
    let mut rng = GmRng::derive(opts.seed, 7);
    let samples = trainer
        .generator()
        .sample(opts.fd_samples, &mut rng, device)?;
    let (fd, metric) = data.frechet_distance(&samples, device)?;
    Ok(vec![ZooRow {
        model: "DCGAN (part 1)".into(),
        metric: format!("{metric} ({} samples)", opts.fd_samples),
        value: format!("{fd:.1}"),
        reference: format!(
            "baseline: {} generator steps, batch {}",
            opts.steps, opts.batch_size
        ),
        wall_s: started.elapsed().as_secs_f64(),
    }])
}

/// LAPGAN, progressive growing, BiGAN and CycleGAN measured in one table, with DCGAN at the same
/// budget.
///
/// --steps (generator updates per model; a quarter per stage for progressive growing) defaults
/// to 1000 (60 with --quick).
#[derive(Parser)]
struct Cli {
    /// The models to run, comma-separated [default: all]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = ["dcgan", "lapgan", "progressive", "bigan", "cyclegan"]
    )]
    models: Vec<String>,
    /// Samples drawn for each Frechet distance [default: 2000, 500 with --quick]
    #[arg(long, value_name = "N", value_parser = gm_core::cli::positive_usize)]
    fd_samples: Option<usize>,
    /// Smoke run: 60 steps per model, 500 samples per Frechet distance
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    data: gm_data::DataArgs,
    // Last, so that --help lists the example's own flags before the shared ones.
    #[command(flatten)]
    run: RunArgs,
}

const NAME: &str = "zoo";

fn main() -> std::process::ExitCode {
    gm_core::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm_core::cli::parse(NAME, &[("steps", None), ("batch-size", Some("64"))]);
    let args = &cli.run;
    // Each model trains its own step budget through its own `fit`s: one step count to stop
    // at or checkpoint every has no single meaning across them.
    if args.stop_after.is_some() || args.checkpoint_every.is_some() {
        bail!("zoo does not take --stop-after or --checkpoint-every");
    }
    let device = args.device()?;
    let all: [(&str, RowsFn); 5] = [
        ("dcgan", dcgan_rows),
        ("lapgan", experiments::lapgan::rows),
        ("progressive", experiments::progressive::rows),
        ("bigan", experiments::bigan::rows),
        ("cyclegan", experiments::cyclegan::rows),
    ];
    // The run folder is made once the options are known to be valid.
    let mut opts = ZooOptions::new(cli.quick, args.seed, "");
    if let Some(s) = args.steps {
        opts.steps = s;
    }
    if let Some(n) = cli.fd_samples {
        opts.fd_samples = n;
    }
    opts.batch_size = RunArgs::need(args.batch_size, "batch-size")?;
    opts.resume = args.resume;
    opts.validate()?;
    let data = ZooData::load(&cli.data, args.seed, args.progress())?;
    let out = args.run_dir(NAME)?;
    opts.out_dir = out.clone();
    let mut rows = Vec::new();
    for (key, f) in all {
        if !cli.models.is_empty() && !cli.models.iter().any(|m| m == key) {
            continue;
        }
        eprintln!("==> {key}");
        let r = f(&opts, &data, &device)?;
        for row in &r {
            eprintln!("    {}: {} = {}", row.model, row.metric, row.value);
        }
        rows.extend(r);
    }
    let table = markdown_table(&rows);
    println!(
        "\n{} generator steps per model (a quarter per stage for progressive growing), batch {}, seed {}\n",
        opts.steps, opts.batch_size, opts.seed
    );
    println!("{table}");
    gm_core::io::write_atomic(out.join("zoo.md"), table.as_bytes())?;
    gm_core::io::write_atomic(
        out.join("zoo.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    Ok(())
}
