//! gm's task runner: `cargo xtask <command>`. It calls cargo through `$CARGO`, so it uses the
//! same toolchain as the invocation, and keeps its own dependencies to `anyhow`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

mod bench;

/// A runnable target: its name on the command line, the package and example that implement
/// it, and one line of description.
struct Target {
    name: &'static str,
    package: &'static str,
    example: &'static str,
    about: &'static str,
}

const fn target(
    name: &'static str,
    package: &'static str,
    example: &'static str,
    about: &'static str,
) -> Target {
    Target {
        name,
        package,
        example,
        about,
    }
}

/// Reference examples `cargo xtask run` knows.
const EXAMPLES: &[Target] = &[
    target(
        "dcgan",
        "gm-gan",
        "dcgan",
        "DCGAN on the embedded digits: grids, curves, report.html and gm-eval metrics",
    ),
    target(
        "classifier",
        "gm",
        "classifier",
        "MNIST convolutional classifier on the embedded digits (the evaluation feature network)",
    ),
    target(
        "vae",
        "gm-vae",
        "vae_mnist",
        "784-400-20 VAE on the embedded digits: samples, reconstructions, interpolations",
    ),
    target(
        "sampling-tour",
        "gm-sampling",
        "sampling_tour",
        "inversion, rejection, conditional inversion and transforms, with histograms",
    ),
    target(
        "divergence-table",
        "gm-divergence",
        "divergence_table",
        "every f-divergence: f, f*, dom f*, g_f, T*, closed form vs Monte Carlo",
    ),
    target(
        "gradient-variance",
        "gm-vae",
        "gradient_variance",
        "score-function vs reparameterization gradient variance on one model and batch",
    ),
    target(
        "svi",
        "gm-vae",
        "svi",
        "per-datapoint (SVI) vs amortized inference: ELBO and cost",
    ),
];

/// Reproductions `cargo xtask reproduce` knows.
const REPRODUCTIONS: &[Target] = &[
    target(
        "theory",
        "gm",
        "theory",
        "every crate's theorems and closed forms, checked numerically",
    ),
    target(
        "iwae",
        "gm-vae",
        "iwae",
        "VAE vs IWAE (k=5), test log-likelihood with k=5000 (Burda et al. 2016)",
    ),
    target(
        "mode-collapse",
        "gm-gan",
        "mode_collapse",
        "ring of 8 and grid of 25: modes and high-quality samples per GAN variant",
    ),
    target(
        "fgan",
        "gm-gan",
        "fgan",
        "f-GAN on MNIST with every divergence: Parzen log-likelihood and FD",
    ),
    target(
        "omega-costs",
        "gm-gan",
        "omega_costs",
        "discriminator costs A, B, C on the ring and on MNIST",
    ),
    target(
        "csgm",
        "gm-inverse",
        "csgm",
        "compressed sensing with a VAE prior vs Lasso (Bora et al. 2017), --quick for a smoke run",
    ),
    target(
        "eval-baselines",
        "gm-eval",
        "eval_baselines",
        "every evaluation metric on real digits: what a perfect generator scores",
    ),
    target(
        "zoo",
        "gm-gan",
        "zoo",
        "LAPGAN, progressive growing, BiGAN, CycleGAN measured in one table, with DCGAN at the same budget",
    ),
];

fn find(list: &'static [Target], name: &str) -> Option<&'static Target> {
    list.iter().find(|t| t.name == name)
}

fn help() -> String {
    let mut s = String::from(
        "usage: cargo xtask <command>\n\ncommands:\n  ci                      fmt --check, clippy -D warnings, tests (what CI runs)\n  run <name> [args]       run a reference example in release mode\n  reproduce <name> [args] run a reproduction and print its table\n  eval <run-dir> [--samples PATH] [--quick]\n                          evaluate a run's generator or samples; adds to its report.html\n  export <run-dir> --out <dir> [--push user/name] [--private] [--dry-run]\n                          write a run's model as a Hub folder; --push publishes it\n  pull <user/name> [--offline] [--out DIR]\n                          download a gm model from the Hub (through its cache) and use it\n  bench [--peer torch] [--iters N] [--only W] [--setup-peer]\n                          step benchmarks, optionally beside PyTorch (venv-torch/)\n  help                    this text\n\nexamples (cargo xtask run <name>):\n",
    );
    for t in EXAMPLES {
        s.push_str(&format!("  {:<22}  {}\n", t.name, t.about));
    }
    s.push_str("\nreproductions (cargo xtask reproduce <name>):\n");
    for t in REPRODUCTIONS {
        s.push_str(&format!("  {:<22}  {}\n", t.name, t.about));
    }
    s.push_str("\nexample options: --out DIR --epochs N --batch-size N --lr X --seed N --cpu --resume --quiet\n");
    s
}

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root).with_context(|| format!("cd {}", root.display()))?;
    match args.first().map(String::as_str) {
        None | Some("help") | Some("-h") | Some("--help") => {
            print!("{}", help());
            Ok(())
        }
        Some("ci") => ci(),
        Some("run") => {
            let Some(name) = args.get(1) else {
                bail!("`cargo xtask run` needs an example name\n\n{}", help());
            };
            let Some(t) = find(EXAMPLES, name) else {
                bail!("unknown example `{name}`\n\n{}", help());
            };
            run_example(t.package, t.example, &args[2..])
        }
        Some("reproduce") => {
            let Some(name) = args.get(1) else {
                bail!("`cargo xtask reproduce` needs a name\n\n{}", help());
            };
            let Some(t) = find(REPRODUCTIONS, name) else {
                bail!("unknown reproduction `{name}`\n\n{}", help());
            };
            run_example(t.package, t.example, &args[2..])
        }
        Some("bench") => bench::run(&args[1..]),
        Some("export") => {
            // Publishing needs the Hub client, which only builds with the `remote` feature.
            if args.iter().any(|a| a == "--push") {
                run_example_with("gm", "export", &["remote"], &args[1..])
            } else {
                run_example("gm", "export", &args[1..])
            }
        }
        Some("pull") => run_example_with("gm", "pull", &["remote"], &args[1..]),
        Some("eval") => run_example("gm", "eval", &args[1..]),
        Some(other) => bail!("unknown command `{other}`\n\n{}", help()),
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn step(name: &str, cmd: &mut Command) -> Result<f64> {
    eprintln!("==> {name}");
    let t = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start {name}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{name} failed ({status}) after {secs:.0} s");
    }
    eprintln!("<== {name}: ok in {secs:.1} s");
    Ok(secs)
}

fn ci() -> Result<()> {
    let t = Instant::now();
    step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    python_deps()?;
    step("cargo test", cargo().args(["test", "--workspace"]))?;
    step(
        "cargo clippy --features remote",
        cargo().args([
            "clippy",
            "-p",
            "gm",
            "-p",
            "gm-hub",
            "--features",
            "gm/remote,gm-hub/remote",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "cargo test -p gm-hub --features remote (loopback Hub server)",
        cargo().args(["test", "-p", "gm-hub", "--features", "remote"]),
    )?;
    eprintln!("ci: all passed in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The interop tests read exported files with Python's `safetensors` and `numpy`.
fn python_deps() -> Result<()> {
    let have = || {
        Command::new("python3")
            .args(["-c", "import safetensors, numpy"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if have() {
        return Ok(());
    }
    let has_pip = Command::new("python3")
        .args(["-m", "pip", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_pip {
        let _ = Command::new("python3")
            .args(["-m", "ensurepip", "--user"])
            .status();
    }
    // A system Python may refuse global installs (PEP 668): try a user install next.
    let attempts: [&[&str]; 3] = [&[], &["--user"], &["--user", "--break-system-packages"]];
    for extra in attempts {
        let ok = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet"])
            .args(extra)
            .args(["safetensors", "numpy"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok && have() {
            eprintln!("<== pip install safetensors numpy {}: ok", extra.join(" "));
            return Ok(());
        }
    }
    bail!("could not install Python's safetensors and numpy with pip (the interop tests need them)")
}

fn run_example(package: &str, name: &str, rest: &[String]) -> Result<()> {
    run_example_with(package, name, &[], rest)
}

fn run_example_with(package: &str, name: &str, features: &[&str], rest: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "-p",
        package,
        "--example",
        name,
    ]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let status = cmd
        .arg("--")
        .args(rest)
        .status()
        .with_context(|| format!("could not start example {name}"))?;
    if !status.success() {
        bail!("example `{name}` failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example and reproduction the runner lists exists as a file.
    #[test]
    fn listed_examples_exist() {
        let root = project_root();
        for t in EXAMPLES.iter().chain(REPRODUCTIONS) {
            let dir = if t.package == "gm" {
                root.join("examples")
            } else {
                root.join("crates").join(t.package).join("examples")
            };
            let file = dir.join(format!("{}.rs", t.example));
            assert!(file.exists(), "{} for `{}`", file.display(), t.name);
        }
        let mut names: Vec<_> = EXAMPLES
            .iter()
            .chain(REPRODUCTIONS)
            .map(|t| t.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            EXAMPLES.len() + REPRODUCTIONS.len(),
            "duplicate names"
        );
    }

    /// Tidiness: each library module opens with a `//!` comment and has no debug prints.
    #[test]
    fn modules_open_with_a_doc_comment_and_have_no_dbg() {
        let root = project_root().join("crates");
        let mut stack = vec![root];
        let mut seen = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    let n = p.file_name().unwrap().to_string_lossy().to_string();
                    if n != "target" {
                        stack.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "rs")
                    && p.components().any(|c| c.as_os_str() == "src")
                {
                    let text = std::fs::read_to_string(&p).unwrap();
                    assert!(
                        text.trim_start().starts_with("//!"),
                        "{} lacks a //! header",
                        p.display()
                    );
                    assert!(!text.contains("dbg!("), "{} has dbg!", p.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 10);
    }
}
