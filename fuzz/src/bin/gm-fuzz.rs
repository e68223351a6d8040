//! Runs the fuzz targets: `gm-fuzz [--target NAME] [--execs N] [--seed S]`, or
//! `gm-fuzz --replay TARGET FILE` to read one saved input again. Failing inputs are saved in
//! `fuzz/crashes/<target>/`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Parser;
use gm_fuzz::{alloc, corpus, engine, targets};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Fuzzes gm's readers of outside bytes with a seeded mutation loop over the committed
/// corpus; failing inputs are saved in `fuzz/crashes/<target>/`.
#[derive(Parser)]
#[command(name = "gm-fuzz")]
struct Cli {
    /// One target (all when omitted)
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// Inputs per target
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    execs: u64,
    /// Seed of the mutation stream
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Read one saved input again with a target's reader, instead of fuzzing
    #[arg(long, num_args = 2, value_names = ["TARGET", "FILE"])]
    replay: Option<Vec<String>>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some([name, file]) = cli.replay.as_deref() {
        let t = targets::find(name).with_context(|| format!("no target `{name}`"))?;
        let input = std::fs::read(file).with_context(|| file.clone())?;
        return match engine::check(t, &input) {
            Ok(peak) => {
                println!("{name}: {file} passes (peak {peak} bytes)");
                Ok(())
            }
            Err(e) => bail!("{name}: {file}: {e}"),
        };
    }
    let (target, execs, seed) = (cli.target, cli.execs, cli.seed);
    let chosen: Vec<&targets::Target> = match &target {
        Some(n) => vec![targets::find(n).with_context(|| {
            let names: Vec<&str> = targets::TARGETS.iter().map(|t| t.name).collect();
            format!("no target `{n}`; the targets are {names:?}")
        })?],
        None => targets::TARGETS.iter().collect(),
    };
    let crashes = Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes");
    println!(
        "{:<18} {:>10} {:>8} {:>10} {:>9} {:>8}",
        "target", "execs", "secs", "execs/s", "peak MiB", "crashes"
    );
    let mut total = 0;
    for t in chosen {
        let stats = engine::run(t, &corpus::load(t.name), execs, seed, Some(&crashes));
        println!(
            "{:<18} {:>10} {:>8.1} {:>10.0} {:>9.1} {:>8}",
            t.name,
            stats.execs,
            stats.elapsed.as_secs_f64(),
            stats.execs_per_sec(),
            stats.max_peak as f64 / (1 << 20) as f64,
            stats.crashes.len()
        );
        for c in stats.crashes.iter().take(5) {
            let at = c
                .saved
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            println!("  {at}: {}", c.what.lines().next().unwrap_or_default());
        }
        total += stats.crashes.len();
    }
    if total > 0 {
        bail!("{total} failing inputs, saved in {}", crashes.display());
    }
    Ok(())
}
