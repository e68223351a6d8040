//! The command line every gm example, reproduction and tool shares (feature `cli`, on clap).
//!
//! An example declares its own flags in a `clap::Parser` struct and flattens [`RunArgs`] into
//! it; [`parse`] adds the example's defaults to the shared flags (so `--help` lists them),
//! hides the budget flags the example does not use, and applies `--config`:
//!
//! ```no_run
//! use clap::Parser;
//! use gm_core::cli::{self, RunArgs};
//!
//! #[derive(Parser)]
//! /// A toy example.
//! struct Cli {
//!     #[command(flatten)]
//!     run: RunArgs,
//!     /// Latent size.
//!     #[arg(long, default_value_t = 20)]
//!     latent: usize,
//! }
//!
//! let cli: Cli = cli::parse("toy", &[("epochs", Some("10")), ("lr", None)]);
//! let device = cli.run.device().unwrap(); // --device, --cpu
//! let out = cli.run.run_dir("toy").unwrap(); // a new runs/toy/<n>, or --out by its rules
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Device;
use clap::Parser;

use crate::device::DeviceChoice;
use crate::run::{self, RunMarker, RunMode};
use crate::{Error, Result};

/// `--device` and its alias `--cpu`: for every command that computes with tensors.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct DeviceArgs {
    /// auto (CUDA, then Metal, else the CPU), cpu, cuda[:N] or metal[:N]
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
    /// Same as --device cpu
    #[arg(long)]
    pub cpu: bool,
}

impl DeviceArgs {
    /// The device `--device` (or `--cpu`) names.
    pub fn device(&self) -> Result<Device> {
        if self.cpu {
            return Ok(Device::Cpu);
        }
        self.device.device()
    }
}

/// The flags every example that trains takes.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
#[command(next_help_heading = "Run options")]
pub struct RunArgs {
    /// Output folder. Without it each run gets a new folder runs/<name>/<n>. An existing
    /// folder must be a previous gm run (see --resume and --overwrite)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The device flags, `--device` and `--cpu`.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Random seed: the same seed gives the same run on the CPU
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Training epochs
    #[arg(long, value_name = "N", value_parser = positive_usize, allow_negative_numbers = true)]
    pub epochs: Option<usize>,
    /// Training steps (generator updates for adversarial models)
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub steps: Option<usize>,
    /// Mini-batch size
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub batch_size: Option<usize>,
    /// Learning rate (every optimizer of the model)
    #[arg(long, value_name = "X", value_parser = positive_f64, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Continue the run in --out (without --out: the latest run of this command) from its
    /// last checkpoint
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace the run in --out: only the files gm wrote there are removed
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bars or progress lines
    #[arg(long)]
    pub quiet: bool,
    /// Write a checkpoint every N steps (default: at the end of each epoch)
    #[arg(long, value_name = "N", value_parser = positive_u64)]
    pub checkpoint_every: Option<u64>,
    /// Stop after N steps with a checkpoint, as if interrupted (continue with --resume)
    #[arg(long, value_name = "N", value_parser = positive_u64)]
    pub stop_after: Option<u64>,
    /// A run's config.json, run.json or folder: run its command again (flags given here win)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The budget flags of [`RunArgs`], which an example takes only when it says so.
const BUDGET_FLAGS: [&str; 4] = ["epochs", "steps", "batch-size", "lr"];

/// The arguments this process was started with, after `--config` (recorded in `run.json`).
static ARGS: OnceLock<Vec<String>> = OnceLock::new();

impl RunArgs {
    /// The device `--device` (or `--cpu`) names.
    pub fn device(&self) -> Result<Device> {
        self.device.device()
    }

    /// The [`FitConfig`](crate::FitConfig) of a run of `epochs` epochs of `batch_size`: seed,
    /// resume, progress, checkpoint interval and early stop from the flags.
    pub fn fit_config(&self, epochs: usize, batch_size: usize) -> crate::FitConfig {
        crate::FitConfig {
            epochs,
            batch_size,
            seed: self.seed,
            checkpoint_every: self.checkpoint_every.unwrap_or(0),
            stop_after: self.stop_after,
            resume: self.resume,
            progress: !self.quiet,
            ..Default::default()
        }
    }

    /// Progress output unless `--quiet`.
    pub fn progress(&self) -> bool {
        !self.quiet
    }

    /// The run mode `--resume` / `--overwrite` give.
    pub fn mode(&self) -> RunMode {
        if self.resume {
            RunMode::Resume
        } else if self.overwrite {
            RunMode::Overwrite
        } else {
            RunMode::New
        }
    }

    /// Prepares the output folder of a run of `name` by the rules of [`crate::run`]: `--out`
    /// when given, else a new `runs/<name>/<n>` (with `--resume`, the latest one).
    pub fn run_dir(&self, name: &str) -> Result<PathBuf> {
        let mode = self.mode();
        let dir = match (&self.out, mode) {
            (Some(out), _) => out.clone(),
            (None, RunMode::New) => run::next_numbered_dir(&default_base(name))?,
            (None, RunMode::Resume) => run::latest_numbered_dir(&default_base(name))
                .map(|(_, d)| d)
                .ok_or_else(|| {
                    Error::Msg(format!(
                        "--resume: no previous run under {}; name the run with --out DIR",
                        default_base(name).display()
                    ))
                })?,
            (None, RunMode::Overwrite) => {
                return Err(Error::Msg(
                    "--overwrite replaces one run: name it with --out DIR".into(),
                ))
            }
        };
        let args = ARGS.get().map(|a| recorded_args(a)).unwrap_or_default();
        run::prepare(&dir, mode, name, &args)?;
        Ok(dir)
    }

    /// The value of a budget flag the example gave a default (see [`parse`]).
    pub fn need<T: Copy>(value: Option<T>, flag: &str) -> Result<T> {
        value.ok_or_else(|| Error::Msg(format!("--{flag} needs a value")))
    }

    /// The device, `--epochs` and `--batch-size` of a command budgeted in epochs (each flag
    /// must have a value: a default or the user's).
    pub fn epoch_budget(&self) -> Result<(Device, usize, usize)> {
        let epochs = Self::need(self.epochs, "epochs")?;
        let batch_size = Self::need(self.batch_size, "batch-size")?;
        Ok((self.device()?, epochs, batch_size))
    }
}

/// Runs a command's body: the process-wide runtime settings first ([`crate::runtime::init`]),
/// then an error becomes one `error: ...` paragraph (with its causes) and exit code 1.
pub fn main_with<E: std::fmt::Display>(
    body: impl FnOnce() -> std::result::Result<(), E>,
) -> std::process::ExitCode {
    crate::runtime::init();
    // The first Ctrl-C ends each running `fit` after its current step with a checkpoint; a
    // second one quits at once (the last checkpoint stays usable: writes are atomic).
    let handler = ctrlc::set_handler(|| {
        if crate::train::stop_requested() {
            eprintln!("\ninterrupted again: quitting now");
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupt: finishing the current step and writing a checkpoint (Ctrl-C again to \
             quit at once)"
        );
        crate::train::request_stop();
    });
    if let Err(e) = handler {
        eprintln!("warning: Ctrl-C will quit without a checkpoint ({e})");
    }
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `runs/<name>`: where runs without `--out` go.
pub fn default_base(name: &str) -> PathBuf {
    Path::new("runs").join(name)
}

/// A clap value parser for counts that must be at least 1.
pub fn positive_usize(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a positive integer".into()),
    }
}

/// [`positive_usize`] as `u64`.
pub fn positive_u64(s: &str) -> std::result::Result<u64, String> {
    positive_usize(s).map(|n| n as u64)
}

/// A clap value parser for rates that must be positive and finite.
pub fn positive_f64(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        Ok(_) => Err("must be positive and finite".into()),
        Err(_) => Err("not a number".into()),
    }
}

/// The arguments worth recording: all but where the run goes and how it treats the folder.
fn recorded_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" | "--config" => {
                it.next();
            }
            "--resume" | "--overwrite" => {}
            s if s.starts_with("--out=") || s.starts_with("--config=") => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

/// The value of `--config` in `args`, if any.
fn config_flag(args: &[String]) -> Option<PathBuf> {
    let mut it = args.iter();
    let mut found = None;
    while let Some(a) = it.next() {
        if a == "--config" {
            found = it.next().map(PathBuf::from);
        } else if let Some(v) = a.strip_prefix("--config=") {
            found = Some(PathBuf::from(v));
        }
    }
    found
}

/// The command recorded in the run that `path` (a run folder, its `run.json` or its
/// `config.json`) belongs to; the run must be one of `name`.
pub fn recorded_command(path: &Path, name: &str) -> Result<Vec<String>> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    };
    if !dir.join(run::RUN_MARKER).exists() {
        return Err(Error::Msg(format!(
            "--config {}: no {} beside it: not the config of a gm run",
            path.display(),
            run::RUN_MARKER
        )));
    }
    let marker = RunMarker::read(&dir)?;
    if marker.name != name {
        return Err(Error::Msg(format!(
            "--config {}: a run of `{}`, not of `{name}`",
            path.display(),
            marker.name
        )));
    }
    let first = marker.commands.first().ok_or_else(|| {
        Error::Msg(format!(
            "--config {}: the run records no command",
            path.display()
        ))
    })?;
    Ok(recorded_args(&first.args))
}

/// `summary` when its run reached the end of its budget; `None`, after printing how to resume
/// it, when it stopped early (`--stop-after`, Ctrl-C), so that a command skips its evaluation.
pub fn finished(summary: crate::FitSummary) -> Option<crate::FitSummary> {
    match summary.resume_hint() {
        Some(hint) => {
            println!("{hint}");
            None
        }
        None => Some(summary),
    }
}

/// The budget flags of a command trained for whole epochs: `--epochs`, `--batch-size` and
/// `--lr` with these defaults (`--steps` refused), for [`parse`].
pub const fn epochs_budget(
    epochs: &'static str,
    batch_size: &'static str,
    lr: &'static str,
) -> [(&'static str, Option<&'static str>); 3] {
    [
        ("epochs", Some(epochs)),
        ("batch-size", Some(batch_size)),
        ("lr", Some(lr)),
    ]
}

/// Parses the process's arguments for the command `name` (see [`try_parse_from`]); on an
/// error, or for `--help`, clap prints the message and the process exits.
pub fn parse<T: Parser>(name: &str, budget: &[(&str, Option<&'static str>)]) -> T {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    parse_from(name, budget, argv)
}

/// [`parse`] of given arguments (for a command that reads a leading word itself, such as the
/// model a multi-model example trains).
pub fn parse_from<T: Parser>(
    name: &str,
    budget: &[(&str, Option<&'static str>)],
    argv: Vec<String>,
) -> T {
    match try_parse_from(name, budget, argv) {
        Ok(t) => t,
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Gm(e)) => {
            eprintln!("error: {e}");
            std::process::exit(2)
        }
    }
}

/// Why parsing failed.
#[derive(Debug)]
pub enum ParseError {
    /// A flag or value clap refused, or `--help` (clap prints it).
    Clap(clap::Error),
    /// `--config` could not be read.
    Gm(Error),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Clap(e) => write!(f, "{e}"),
            ParseError::Gm(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `argv` (without the program name) for the command `name`. `budget` lists the budget
/// flags (`epochs`, `steps`, `batch-size`, `lr`) the command takes, each with its default (shown
/// by `--help`) or `None`; the others are hidden and refused. With `--config`, the recorded
/// command of that run comes first and the given flags override it.
pub fn try_parse_from<T: Parser, I, S>(
    name: &str,
    budget: &[(&str, Option<&'static str>)],
    argv: I,
) -> std::result::Result<T, ParseError>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let given: Vec<String> = argv
        .into_iter()
        .map(|a| a.into().to_string_lossy().into_owned())
        .collect();
    let mut args = match config_flag(&given) {
        Some(cfg) => recorded_command(&cfg, name).map_err(ParseError::Gm)?,
        None => Vec::new(),
    };
    args.extend(given);
    let mut cmd = T::command().name(name.to_string()).args_override_self(true);
    // Commands without `RunArgs` (such as `sample`) have no budget flags to set up.
    let defined: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for flag in BUDGET_FLAGS {
        let id = flag.replace('-', "_");
        if !defined.contains(&id) {
            continue;
        }
        cmd = match budget.iter().find(|(f, _)| *f == flag) {
            Some((_, Some(d))) => cmd.mut_arg(&id, |a| a.default_value(*d)),
            Some((_, None)) => cmd,
            None => cmd.mut_arg(&id, |a| a.hide(true)),
        };
    }
    let matches = cmd
        .try_get_matches_from_mut(std::iter::once(name.to_string()).chain(args.iter().cloned()))
        .map_err(ParseError::Clap)?;
    for flag in BUDGET_FLAGS {
        let id = flag.replace('-', "_");
        if !defined.contains(&id) {
            continue;
        }
        let given = matches.value_source(&id) == Some(clap::parser::ValueSource::CommandLine);
        if given && !budget.iter().any(|(f, _)| *f == flag) {
            return Err(ParseError::Clap(cmd.error(
                clap::error::ErrorKind::UnknownArgument,
                format!("{name} does not take --{flag}"),
            )));
        }
    }
    let t = T::from_arg_matches(&matches).map_err(|e| ParseError::Clap(e.format(&mut cmd)))?;
    let _ = ARGS.set(args);
    Ok(t)
}

#[cfg(test)]
mod tests;
