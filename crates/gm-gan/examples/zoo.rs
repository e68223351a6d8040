//! The zoo of part 2 measured in one table: LAPGAN (FD), progressive growing (FD at each
//! resolution), BiGAN (1-nearest-neighbour accuracy of encoder features, beside raw pixels),
//! CycleGAN (translation, cycle and label-agreement errors against the known transform,
//! beside the identity map), with part 1's DCGAN trained for the same number of generator
//! steps as the FD baseline. Each model writes its run folder (grids, chains,
//! reconstructions, report.html) under `--out`; the table is also written as `zoo.json` and
//! `zoo.md` there.
//!
//! ```text
//! cargo run --release -p gm-gan --example zoo -- [--quick] [--steps N] [--seed 0]
//!     [--models dcgan,lapgan,progressive,bigan,cyclegan] [--out runs/gm-gan/zoo]
//! ```

mod common;

use anyhow::{bail, Result};
use gm_core::select_device;
use gm_gan::zoo::{dcgan_rows, markdown_table, ZooOptions, ZooRow};
use gm_gan::{bigan, cyclegan, lapgan, progressive};

type RowsFn = fn(&ZooOptions, &candle_core::Device) -> gm_gan::Result<Vec<ZooRow>>;

fn main() -> Result<()> {
    gm_core::runtime::init();
    let args = common::Args::parse("zoo", &["steps", "models", "fd-samples"], &[])?;
    let device = select_device(args.cpu)?;
    let out = args.out.clone().unwrap_or_else(|| "runs/gm-gan/zoo".into());
    let mut opts = ZooOptions::new(args.quick, args.seed.unwrap_or(0), &out);
    opts.steps = args.get("steps", opts.steps)?;
    opts.fd_samples = args.get("fd-samples", opts.fd_samples)?;
    if let Some(b) = args.batch_size {
        opts.batch_size = b;
    }
    opts.validate()?;
    let all: [(&str, RowsFn); 5] = [
        ("dcgan", dcgan_rows),
        ("lapgan", lapgan::zoo_rows),
        ("progressive", progressive::zoo_rows),
        ("bigan", bigan::zoo_rows),
        ("cyclegan", cyclegan::zoo_rows),
    ];
    let models: String = args.get("models", String::new())?;
    for m in models.split(',').filter(|m| !m.is_empty()) {
        if !all.iter().any(|(k, _)| *k == m) {
            bail!(
                "--models: unknown model `{m}`; one of {:?}",
                all.iter().map(|(k, _)| *k).collect::<Vec<_>>()
            );
        }
    }
    std::fs::create_dir_all(&out)?;
    let mut rows = Vec::new();
    for (key, f) in all {
        if !models.is_empty() && !models.split(',').any(|m| m == key) {
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
