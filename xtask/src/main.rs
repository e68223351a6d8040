//! gm's task runner: `cargo xtask <command>`. It calls cargo through `$CARGO`, so it uses the
//! same toolchain as the invocation, and keeps its own dependencies to `anyhow`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

mod bench;

/// Reference examples `cargo xtask run` knows, with one line each.
const EXAMPLES: &[(&str, &str)] = &[(
    "classifier",
    "MNIST convolutional classifier on the embedded digits (the evaluation feature network)",
)];

/// Reproductions `cargo xtask reproduce` knows.
const REPRODUCTIONS: &[(&str, &str)] = &[];

fn help() -> String {
    let mut s = String::from(
        "usage: cargo xtask <command>\n\ncommands:\n  ci                      fmt --check, clippy -D warnings, tests (what CI runs)\n  run <name> [args]       run a reference example in release mode\n  reproduce <name> [args] run a reproduction and print its table\n  export <run-dir> --out <dir>\n                          write a run's model as a Hub folder (safetensors, config, card)\n  bench [--peer torch] [--iters N] [--only W] [--setup-peer]\n                          step benchmarks, optionally beside PyTorch (venv-torch/)\n  help                    this text\n\nexamples (cargo xtask run <name>):\n",
    );
    for (n, d) in EXAMPLES {
        s.push_str(&format!("  {n:<22}  {d}\n"));
    }
    s.push_str("\nreproductions (cargo xtask reproduce <name>):\n");
    for (n, d) in REPRODUCTIONS {
        s.push_str(&format!("  {n:<22}  {d}\n"));
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
            if !EXAMPLES.iter().any(|(n, _)| n == name) {
                bail!("unknown example `{name}`\n\n{}", help());
            }
            run_example(name, &args[2..])
        }
        Some("reproduce") => {
            let Some(name) = args.get(1) else {
                bail!("`cargo xtask reproduce` needs a name\n\n{}", help());
            };
            if !REPRODUCTIONS.iter().any(|(n, _)| n == name) {
                bail!("unknown reproduction `{name}`\n\n{}", help());
            }
            run_example(name, &args[2..])
        }
        Some("bench") => bench::run(&args[1..]),
        Some("export") => run_example("export", &args[1..]),
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
    eprintln!("ci: all passed in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The interop tests read exported files with Python's `safetensors` and `numpy`.
fn python_deps() -> Result<()> {
    let have = Command::new("python3")
        .args(["-c", "import safetensors, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have {
        step(
            "pip install safetensors numpy",
            Command::new("python3").args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "safetensors",
                "numpy",
            ]),
        )?;
    }
    Ok(())
}

fn run_example(name: &str, rest: &[String]) -> Result<()> {
    let status = cargo()
        .args(["run", "--release", "--quiet", "--example", name, "--"])
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
        for (n, _) in EXAMPLES.iter().chain(REPRODUCTIONS) {
            assert!(
                root.join("examples").join(format!("{n}.rs")).exists(),
                "examples/{n}.rs"
            );
        }
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
