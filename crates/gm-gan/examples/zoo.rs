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
//! sub-folder, and `--resume` continues every model from its last checkpoint.

mod common;

use anyhow::{bail, Result};
use clap::Parser;
use gm_core::cli::RunArgs;
use gm_gan::zoo::{dcgan_rows, markdown_table, ZooOptions, ZooRow};
use gm_gan::{bigan, cyclegan, lapgan, progressive};

type RowsFn = fn(&ZooOptions, &candle_core::Device) -> gm_gan::Result<Vec<ZooRow>>;

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
        ("lapgan", lapgan::zoo_rows),
        ("progressive", progressive::zoo_rows),
        ("bigan", bigan::zoo_rows),
        ("cyclegan", cyclegan::zoo_rows),
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
    let out = args.run_dir(NAME)?;
    opts.out_dir = out.clone();
    let mut rows = Vec::new();
    for (key, f) in all {
        if !cli.models.is_empty() && !cli.models.iter().any(|m| m == key) {
            continue;
        }
        eprintln!("==> {key}");
        let r = f(&opts, &device)?;
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
