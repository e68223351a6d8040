//! gm's task runner: `cargo xtask <command>`. It calls cargo through `$CARGO`, so it uses the
//! same toolchain as the invocation, and keeps its own dependencies to `anyhow` and `clap`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

mod bench;

/// A runnable target: its name on the command line, the package and example that implement
/// it, the example's first argument (a multi-model example's model), and one line of
/// description.
struct Target {
    name: &'static str,
    package: &'static str,
    example: &'static str,
    lead: &'static [&'static str],
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
        lead: &[],
        about,
    }
}

/// gm-gan's multi-model example: `cargo xtask run <model>` for every model of gm-gan's
/// registry (`gm_gan::registry::MODELS`), which it lists with `--list`.
const GAN_MODELS: Target = Target {
    name: "models",
    package: "gm-gan",
    example: "train",
    lead: &[],
    about: "every model of gm-gan's registry: gan wgan wgan-gp fgan unrolled mixgan mmd kernel \
            lapgan progressive bigan cyclegan cgan, and any model added to it",
};

/// Reference examples `cargo xtask run` knows: one per model, then the tours.
const EXAMPLES: &[Target] = &[
    target(
        "dcgan",
        "gm-gan",
        "dcgan",
        "DCGAN (Radford et al. 2016) on the embedded digits: grids, curves, report.html, metrics",
    ),
    target(
        "vae",
        "gm-vae",
        "vae_mnist",
        "VAE (Kingma and Welling 2014), 784-400-20, on the embedded digits",
    ),
    Target {
        name: "iwae",
        package: "gm-vae",
        example: "vae_mnist",
        lead: &["--iwae-k", "5"],
        about: "IWAE (Burda et al. 2016): the VAE trained on the k = 5 importance-weighted bound",
    },
    target(
        "flow",
        "gm-flow",
        "flow_mnist",
        "normalizing flow (RealNVP/Glow, multi-scale) on the digits: exact bits/dim, samples",
    ),
    target(
        "flow-2d",
        "gm-flow",
        "flow_2d",
        "RealNVP, planar and radial flows on the ring, the grid and two moons: densities, KL",
    ),
    target(
        "made",
        "gm-autoregressive",
        "made_mnist",
        "MADE (Germain et al. 2015) on binarized digits: exact test NLL in nats, sequential samples",
    ),
    target(
        "pixelcnn",
        "gm-autoregressive",
        "pixelcnn_mnist",
        "PixelCNN (van den Oord et al. 2016), masked convolutions A/B: exact test NLL, samples",
    ),
    target(
        "shapes",
        "gm",
        "shapes",
        "a seeded set of coloured shapes as PNG files: data to try --data on",
    ),
    target(
        "classifier",
        "gm",
        "classifier",
        "MNIST convolutional classifier on the embedded digits (the evaluation feature network)",
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
    target(
        "inpainting",
        "gm-inverse",
        "inpainting",
        "inpainting with a VAE prior (Bora et al. 2017)",
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
        "srec",
        "gm-inverse",
        "srec",
        "Bora et al.'s S-REC condition and error bound on the trained VAE decoder, across m",
    ),
    target(
        "eval-baselines",
        "gm-eval",
        "eval_baselines",
        "every evaluation metric on real digits: what a perfect generator scores",
    ),
    target(
        "likelihood-vs-samples",
        "gm",
        "likelihood_vs_samples",
        "Theis et al.'s two warnings measured: a 1 % model + 99 % noise mixture and a memoriser",
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

/// `cargo xtask`: gm's task runner.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    disable_help_subcommand = true,
    after_help = "cargo xtask help lists every model, example and reproduction"
)]
enum Cli {
    /// fmt --check, clippy -D warnings, the tests (what CI runs)
    Ci,
    /// Run a reference example in release mode (cargo xtask run <name> --help for its flags)
    #[command(disable_help_flag = true)]
    Run {
        /// The example (cargo xtask help lists them)
        name: Option<String>,
        /// The example's own flags
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a reproduction and print its table
    #[command(disable_help_flag = true)]
    Reproduce {
        /// The reproduction (cargo xtask help lists them)
        name: Option<String>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Draw samples from a run folder, an exported folder or a Hub repository (user/name)
    #[command(disable_help_flag = true)]
    Sample {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Evaluate a run's generator or samples; adds the metrics to its report.html
    #[command(disable_help_flag = true)]
    Eval {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Write a run's model as a Hub folder; --push publishes it
    #[command(disable_help_flag = true)]
    Export {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Download a gm model from the Hub (through its cache) and use it
    #[command(disable_help_flag = true)]
    Pull {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Step benchmarks, optionally beside PyTorch (venv-torch/)
    Bench(bench::BenchArgs),
    /// Fuzz the readers of outside bytes (gm-fuzz; failing inputs go to
    /// fuzz/crashes/<target>/)
    Fuzz {
        /// One target (idx, idx_gz, npy, data_safetensors, image_folder, checkpoint,
        /// run_marker, metrics, hub_folder); every target without it
        #[arg(long)]
        target: Option<String>,
        /// Inputs per target
        #[arg(long, default_value_t = 100_000)]
        execs: u64,
        /// Seeds the mutations
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Every command, model, example and reproduction, one line each
    Help,
}

fn help() -> String {
    use clap::CommandFactory;
    let mut s = Cli::command().render_help().to_string();
    s.push_str(
        "\nmodels and examples (cargo xtask run <name> [flags]; <name> --help lists the flags):\n",
    );
    for t in EXAMPLES {
        s.push_str(&format!("  {:<18}  {}\n", t.name, t.about));
    }
    s.push_str(&format!(
        "  {:<18}  {} (cargo xtask run models lists them with their papers; any other name goes \
         to gm-gan's train)\n",
        "<gm-gan model>", GAN_MODELS.about
    ));
    s.push_str("\nreproductions (cargo xtask reproduce <name> [flags]):\n");
    for t in REPRODUCTIONS {
        s.push_str(&format!("  {:<18}  {}\n", t.name, t.about));
    }
    s.push_str(
        "\nflags every training example takes: --out DIR --device cpu|cuda[:N]|metal (--cpu) \
         --seed N --epochs N or --steps N --batch-size N --lr X --resume --overwrite --quiet \
         --config FILE\n",
    );
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

/// Runs `target` with its leading arguments and `args`.
fn run_target(
    kind: &str,
    list: &'static [Target],
    name: Option<String>,
    args: &[String],
) -> Result<()> {
    let Some(name) = name else {
        bail!("`cargo xtask {kind}` needs a name\n\n{}", help());
    };
    let mut all: Vec<String> = Vec::new();
    let t = match find(list, &name) {
        Some(t) => t,
        // gm-gan's train knows its registry's models, and names them if `name` is none.
        None if kind == "run" => {
            all.push(if name == GAN_MODELS.name {
                "--list".to_string()
            } else {
                name
            });
            &GAN_MODELS
        }
        None => bail!("unknown {kind} target `{name}`\n\n{}", help()),
    };
    all.extend(t.lead.iter().map(|s| s.to_string()));
    all.extend_from_slice(args);
    run_example(t.package, t.example, &all)
}

/// Whether `source` names a Hub repository (`user/name`) rather than a folder here.
fn is_hub_id(source: &str) -> bool {
    !Path::new(source).exists()
        && source.split('/').count() == 2
        && source
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

/// The SOURCE argument of `cargo xtask sample`: the first word that is neither a flag nor a
/// flag's value.
fn sample_source(args: &[String]) -> Option<&str> {
    const WITH_VALUE: [&str; 5] = ["--n", "--seed", "--out", "--latent", "--device"];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let root = project_root();
    std::env::set_current_dir(&root).with_context(|| format!("cd {}", root.display()))?;
    match cli {
        Cli::Help => {
            print!("{}", help());
            Ok(())
        }
        Cli::Ci => ci(),
        Cli::Run { name, args } => run_target("run", EXAMPLES, name, &args),
        Cli::Reproduce { name, args } => run_target("reproduce", REPRODUCTIONS, name, &args),
        Cli::Bench(b) => bench::run(&b),
        Cli::Fuzz {
            target,
            execs,
            seed,
        } => {
            // The dev profile: its dependencies are optimized already, and candle is not
            // compiled a second time for the release profile.
            let mut cmd = cargo();
            cmd.args(["run", "--package", "gm-fuzz", "--bin", "gm-fuzz", "--"]);
            if let Some(t) = target {
                cmd.args(["--target", &t]);
            }
            cmd.args(["--execs", &execs.to_string(), "--seed", &seed.to_string()]);
            step("gm-fuzz", &mut cmd).map(|_| ())
        }
        Cli::Sample { args } => {
            // A Hub id is downloaded through the hf-hub cache: the `remote` feature.
            if sample_source(&args).is_some_and(is_hub_id) {
                run_example_with("gm", "sample", &["remote"], &args)
            } else {
                run_example("gm", "sample", &args)
            }
        }
        Cli::Export { args } => {
            // Publishing needs the Hub client, which only builds with the `remote` feature.
            if args.iter().any(|a| a == "--push") {
                run_example_with("gm", "export", &["remote"], &args)
            } else {
                run_example("gm", "export", &args)
            }
        }
        Cli::Pull { args } => run_example_with("gm", "pull", &["remote"], &args),
        Cli::Eval { args } => run_example("gm", "eval", &args),
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
    // Every library crate packages on its own (its embedded files inside it): what crates.io
    // would receive, without compiling each package a second time.
    step(
        "cargo package (every crate, not compiled)",
        cargo().args(["package", "--workspace", "--no-verify", "--allow-dirty"]),
    )?;
    // One feature set for every step, the Hub client (`remote`) included, so that candle and
    // the workspace compile once for clippy and once for the tests.
    let features = ["--workspace", "--features", "gm/remote,gm-hub/remote"];
    step(
        "cargo clippy (feature remote included)",
        cargo()
            .args(["clippy", "--all-targets"])
            .args(features)
            .args(["--", "-D", "warnings"]),
    )?;
    python_deps()?;
    // Unit, integration and binary tests, then doc tests, on the libraries clippy checked;
    // the examples are type-checked by clippy (`--all-targets`) and not linked again here,
    // which a cold run would spend minutes on.
    step(
        "cargo test (the Hub client against a loopback server included)",
        cargo()
            .args(["test", "--lib", "--bins", "--tests"])
            .args(features),
    )?;
    step(
        "cargo test --doc",
        cargo().args(["test", "--doc"]).args(features),
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

    #[test]
    fn the_sample_source_is_found_among_flags() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            sample_source(&args(&["--n", "16", "user/x", "--seed", "2"])),
            Some("user/x")
        );
        assert_eq!(
            sample_source(&args(&["--cpu", "runs/gan/1"])),
            Some("runs/gan/1")
        );
        assert_eq!(sample_source(&args(&["--out", "a.png"])), None);
        assert!(is_hub_id("someone/gm-vae-mnist"));
        assert!(!is_hub_id("a/b/c"));
        assert!(!is_hub_id("../x"));
    }

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
        // `run fgan` (one divergence) and `reproduce fgan` (all of them) may share a name.
        for list in [EXAMPLES, REPRODUCTIONS] {
            let mut names: Vec<_> = list.iter().map(|t| t.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), list.len(), "duplicate names");
        }
        // The models the help line names are entries of gm-gan's registry.
        let file = root.join("crates/gm-gan/examples/train.rs");
        assert!(file.exists(), "{}", file.display());
        let mut sources = String::new();
        let mut stack = vec![root.join("crates/gm-gan/src")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    sources.push_str(&std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        let listed = GAN_MODELS.about.split_once(": ").unwrap().1;
        let names: Vec<&str> = listed
            .split(',')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        assert!(names.len() >= 13, "{names:?}");
        for n in names {
            // An entry is `name: "<n>"` or an image recipe `image(\n    "<n>",`.
            let entry = [format!("name: \"{n}\""), format!("image(\n    \"{n}\",")];
            assert!(
                entry.iter().any(|e| sources.contains(e.as_str())),
                "gm-gan's registry lacks `{n}`"
            );
            assert!(find(EXAMPLES, n).is_none(), "`{n}` is also an example");
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
