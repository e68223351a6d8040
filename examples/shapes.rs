//! Writes gm's generated image data set: seeded coloured circles, squares and triangles as PNG
//! files in the ImageFolder layout (`circle/`, `square/`, `triangle/`), the data to try
//! `--data` on without a data set of one's own.
//!
//! ```text
//! cargo xtask run shapes [--n 5000] [--size 32] [--seed 0] [--out DIR]
//! cargo xtask run dcgan --data runs/shapes/1
//! ```

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

/// Writes a seeded set of coloured shapes as PNG files (ImageFolder layout).
#[derive(Parser)]
struct Cli {
    /// Images to write
    #[arg(long, default_value_t = 5000)]
    n: usize,
    /// Side of each image in pixels
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Seed: the same seed writes the same bytes
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A new folder [default: a new runs/shapes/<n>]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

const NAME: &str = "shapes";

fn main() -> std::process::ExitCode {
    gm::cli::main_with(run)
}

fn run() -> Result<()> {
    let cli: Cli = gm::cli::parse(NAME, &[]);
    let out = match cli.out {
        Some(dir) => dir,
        None => gm::core::run::next_numbered_dir(&gm::cli::default_base(NAME))?,
    };
    let t = std::time::Instant::now();
    gm::data::shapes::write_shapes_folder(&out, cli.n, cli.size, cli.seed)?;
    println!(
        "wrote {} images of {}x{} to {} in {:.1} s; train on them with `cargo xtask run dcgan --data {}`",
        cli.n,
        cli.size,
        cli.size,
        out.display(),
        t.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
