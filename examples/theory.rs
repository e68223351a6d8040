//! Checks the theorems and closed forms of every crate numerically and prints one markdown
//! table: the measured value, the value the theory predicts, the tolerance, pass or FAIL.
//! The table is also written to `theory.md` in the run folder (a new `runs/theory/<n>`, or
//! `--out DIR`); the command fails if any row fails.
//!
//! ```text
//! cargo xtask reproduce theory [--out DIR] [--overwrite]
//! ```

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use gm::cli::RunArgs;
use gm::core::theory::{markdown_table, TheoryRow};

/// Every crate's theorems and closed forms, checked numerically.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

/// A crate's row collector.
type RowsOf = fn() -> Vec<TheoryRow>;

const NAME: &str = "theory";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse(NAME, &[]);
    let out = cli.run.run_dir(NAME)?;
    let sources: [(&str, RowsOf); 5] = [
        ("gm-sampling", gm::sampling::theory_rows),
        ("gm-divergence", gm::divergence::theory_rows),
        ("gm-vae", gm::vae::theory_rows),
        ("gm-inverse", gm::inverse::theory_rows),
        ("gm-gan", gm::gan::theory_rows),
    ];
    let mut rows = Vec::new();
    for (name, rows_of) in sources {
        let t = Instant::now();
        let mut r = rows_of();
        eprintln!(
            "{name}: {} rows in {:.1} s",
            r.len(),
            t.elapsed().as_secs_f64()
        );
        rows.append(&mut r);
    }
    let table = markdown_table(&rows);
    print!("{table}");
    let path = out.join("theory.md");
    gm::core::io::write_atomic(&path, table.as_bytes())?;
    let failed = rows.iter().filter(|r| !r.pass()).count();
    eprintln!(
        "{} rows, {failed} failed; table written to {}",
        rows.len(),
        path.display()
    );
    if failed > 0 {
        bail!("{failed} theory rows failed");
    }
    Ok(())
}
