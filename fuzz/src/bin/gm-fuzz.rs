//! Runs the fuzz targets: `gm-fuzz [--target NAME] [--execs N] [--seed S]`, or
//! `gm-fuzz --replay TARGET FILE` to read one saved input again. Failing inputs are saved in
//! `fuzz/crashes/<target>/`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use gm_fuzz::{alloc, corpus, engine, targets};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut target, mut execs, mut seed) = (None, 100_000u64, 0u64);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--target" => target = Some(value()?),
            "--execs" => execs = value()?.parse().context("--execs")?,
            "--seed" => seed = value()?.parse().context("--seed")?,
            "--replay" => {
                let name = value()?;
                let file = value()?;
                let t = targets::find(&name).with_context(|| format!("no target `{name}`"))?;
                let input = std::fs::read(&file).with_context(|| file.clone())?;
                return match engine::check(t, &input) {
                    Ok(peak) => {
                        println!("{name}: {file} passes (peak {peak} bytes)");
                        Ok(())
                    }
                    Err(e) => bail!("{name}: {file}: {e}"),
                };
            }
            _ => bail!(
                "unknown argument `{a}`; usage: gm-fuzz [--target NAME] [--execs N] [--seed S]"
            ),
        }
    }
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
