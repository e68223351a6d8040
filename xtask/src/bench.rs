//! `cargo xtask bench`: gm's step benchmarks (`benches/steps.rs`) and, with `--peer torch`,
//! the PyTorch reference (`benches/peer/torch_steps.py`) run alternately workload by workload
//! in one invocation, then one table: median milliseconds, ratio, achieved GFLOP/s and the
//! fraction of the machine's measured sgemm peak.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

const WORKLOADS: &[&str] = &[
    "vae", "dcgan", "gandcgan", "convt", "conv", "mlpgan", "geninf", "mmd", "sliced", "normal",
    "csgm", "flow",
];
/// Workloads that also run on the slower path (candle-nn's convolutions, or candle's autograd
/// for the MLP steps), as the "before" rows.
const NAIVE: &[&str] = &[
    "dcgan", "gandcgan", "convt", "conv", "geninf", "mlpgan", "vae", "csgm", "flow",
];
const VENV: &str = "venv-torch";

/// Floating-point operations of one call, counted from the layer shapes (a backward pass is
/// counted as twice the forward pass).
fn flops(name: &str) -> Option<f64> {
    let dense = |b: f64, i: f64, o: f64| 2.0 * b * i * o;
    // conv(T) with k x k kernel: 2 * N * (spatial positions of the larger side) * Cin * Cout * k^2 / stride^2.
    let conv = |n: f64, small_hw: f64, cin: f64, cout: f64| 2.0 * n * small_hw * cin * cout * 16.0;
    let gen_fwd =
        |b: f64| dense(b, 100.0, 6272.0) + conv(b, 49.0, 128.0, 64.0) + conv(b, 196.0, 64.0, 1.0);
    let disc_fwd =
        |b: f64| conv(b, 196.0, 1.0, 64.0) + conv(b, 49.0, 64.0, 128.0) + dense(b, 6272.0, 1.0);
    let mlp = |b: f64, o: f64| dense(b, 2.0, 256.0) + dense(b, 256.0, 256.0) + dense(b, 256.0, o);
    let name = name.strip_prefix("naive_").unwrap_or(name);
    Some(match name {
        "vae_step_b128" => {
            3.0 * (dense(128.0, 784.0, 400.0)
                + 2.0 * dense(128.0, 400.0, 20.0)
                + dense(128.0, 20.0, 400.0)
                + dense(128.0, 400.0, 784.0))
        }
        // D on real and fake (forward + backward), then G through D (forward + backward of both).
        "dcgan_step_b64" => 3.0 * gen_fwd(64.0) + 9.0 * disc_fwd(64.0),
        "gen_infer_b1024" => gen_fwd(1024.0),
        "conv2d_fwd" | "convT2d_fwd" => conv(64.0, 49.0, 128.0, 64.0),
        "conv2d_fwd_bwd" | "convT2d_fwd_bwd" => 3.0 * conv(64.0, 49.0, 128.0, 64.0),
        "mlpgan2d_step_b512" => 3.0 * mlp(512.0, 2.0) + 9.0 * mlp(512.0, 1.0),
        // Three Gram matrices of 2,048 x 784 points.
        "mmd2_unbiased_2048x784" => 3.0 * dense(2048.0, 784.0, 2048.0),
        // Both clouds projected on 128 directions.
        "sliced_w2_2048x784_p128" => 2.0 * dense(2048.0, 784.0, 128.0),
        // 150 latent rows through 20-500-500-784, forward and backward, 20 steps.
        "csgm_batched_30img_5restarts_20steps" => {
            20.0 * 3.0
                * (dense(150.0, 20.0, 500.0)
                    + dense(150.0, 500.0, 500.0)
                    + dense(150.0, 500.0, 784.0)
                    + dense(150.0, 784.0, 100.0))
        }
        _ => return None,
    })
}

struct Row {
    name: String,
    median_ms: f64,
    gflops: Option<f64>,
}

/// Reads the `{"name": ..., "median_ms": ...}` lines of either side.
fn parse(out: &str) -> Vec<Row> {
    out.lines()
        .filter_map(|l| {
            let name = field(l, "\"name\": \"")?.split('"').next()?.to_string();
            let median_ms = num(field(l, "\"median_ms\": ")?)?;
            let gflops = field(l, "\"gflops_median\": ").and_then(num);
            Some(Row {
                name,
                median_ms,
                gflops,
            })
        })
        .collect()
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.find(key).map(|i| &line[i + key.len()..])
}

fn num(s: &str) -> Option<f64> {
    let end = s.find([',', '}']).unwrap_or(s.len());
    s[..end].trim().parse().ok()
}

fn run_capture(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn gm_side(workload: &str, iters: usize) -> Result<Vec<Row>> {
    let out = run_capture(
        super::cargo()
            .args(["bench", "--quiet", "--bench", "steps", "--"])
            .args([workload, &iters.to_string()])
            .env("RAYON_NUM_THREADS", "2"),
        &format!("gm bench {workload}"),
    )?;
    Ok(parse(&out))
}

fn torch_side(workload: &str, iters: usize) -> Result<Vec<Row>> {
    let py = Path::new(VENV).join("bin/python");
    let out = run_capture(
        Command::new(py).args([
            "benches/peer/torch_steps.py",
            workload,
            &iters.to_string(),
            "--threads",
            "2",
        ]),
        &format!("torch bench {workload}"),
    )?;
    Ok(parse(&out))
}

fn setup_peer() -> Result<()> {
    eprintln!("creating {VENV}/ and installing torch and numpy (a large download)");
    let ok = Command::new("python3")
        .args(["-m", "venv", VENV])
        .status()?
        .success()
        && Command::new(Path::new(VENV).join("bin/pip"))
            .args(["install", "--quiet", "torch", "numpy"])
            .status()?
            .success();
    if !ok {
        bail!("could not set up {VENV}/");
    }
    Ok(())
}

/// `cargo xtask bench` flags.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Also time the PyTorch reference (needs venv-torch/, see --setup-peer)
    #[arg(long, value_name = "PEER", value_parser = ["torch"])]
    peer: Option<String>,
    /// Timed iterations per workload
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
    /// One workload only
    #[arg(long, value_parser = WORKLOADS.to_vec())]
    only: Option<String>,
    /// Create venv-torch/ with PyTorch and numpy, then stop
    #[arg(long)]
    setup_peer: bool,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.setup_peer {
        return setup_peer();
    }
    let (peer, iters, only) = (args.peer.is_some(), args.iters as usize, args.only.clone());
    let have_torch = Path::new(VENV).join("bin/python").exists();
    if peer && !have_torch {
        eprintln!(
            "{VENV}/ not found: run `cargo xtask bench --setup-peer` first; showing gm alone"
        );
    }
    let peer = peer && have_torch;
    eprintln!("==> building benches/steps.rs");
    super::step(
        "cargo bench --no-run",
        super::cargo().args(["bench", "--quiet", "--bench", "steps", "--no-run"]),
    )?;
    let mut gm_rows = gm_side("peak", iters)?;
    let mut torch_rows = if peer {
        torch_side("peak", iters)?
    } else {
        Vec::new()
    };
    for w in WORKLOADS
        .iter()
        .filter(|w| only.as_deref().is_none_or(|o| o == **w))
    {
        eprintln!("==> {w}");
        gm_rows.extend(gm_side(w, iters)?);
        if NAIVE.contains(w) {
            gm_rows.extend(gm_side(&format!("naive_{w}"), iters)?);
        }
        if peer {
            torch_rows.extend(torch_side(w, iters)?);
        }
    }
    let peak = gm_rows
        .iter()
        .filter_map(|r| r.gflops)
        .fold(0.0f64, f64::max);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("\n{cores} cores; sgemm peak (gm, best of 256..2048): {peak:.1} GFLOP/s\n");
    println!("| workload | gm median ms | PyTorch median ms | gm / PyTorch | gm GFLOP/s | fraction of peak |");
    println!("|---|---|---|---|---|---|");
    for r in gm_rows.iter().filter(|r| !r.name.starts_with("sgemm")) {
        let base = r.name.strip_prefix("naive_").unwrap_or(&r.name);
        let t = torch_rows.iter().find(|t| t.name == base);
        let gf = flops(&r.name).map(|f| f / r.median_ms / 1e6);
        println!(
            "| {} | {:.2} | {} | {} | {} | {} |",
            r.name,
            r.median_ms,
            t.map(|t| format!("{:.2}", t.median_ms))
                .unwrap_or_else(|| "-".into()),
            t.map(|t| format!("{:.2}x", r.median_ms / t.median_ms))
                .unwrap_or_else(|| "-".into()),
            gf.map(|g| format!("{g:.1}")).unwrap_or_else(|| "-".into()),
            gf.filter(|_| peak > 0.0)
                .map(|g| format!("{:.0} %", 100.0 * g / peak))
                .unwrap_or_else(|| "-".into()),
        );
    }
    for r in gm_rows.iter().filter(|r| r.name.starts_with("sgemm")) {
        let t = torch_rows.iter().find(|t| t.name == r.name);
        println!(
            "| {} | {:.2} | {} | {} | {} | - |",
            r.name,
            r.median_ms,
            t.map(|t| format!("{:.2}", t.median_ms))
                .unwrap_or_else(|| "-".into()),
            t.map(|t| format!("{:.2}x", r.median_ms / t.median_ms))
                .unwrap_or_else(|| "-".into()),
            r.gflops
                .map(|g| format!("{g:.1}"))
                .unwrap_or_else(|| "-".into()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_sides() {
        let rows = parse(
            "{\"fw\": \"gm\", \"name\": \"vae_step_b128\", \"median_ms\": 12.5, \"min_ms\": 11.0}\nnoise\n{\"fw\": \"torch\", \"name\": \"sgemm_256\", \"median_ms\": 0.2, \"min_ms\": 0.1, \"gflops_median\": 160.0}",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "vae_step_b128");
        assert_eq!(rows[0].median_ms, 12.5);
        assert_eq!(rows[1].gflops, Some(160.0));
    }

    #[test]
    fn dcgan_flops_match_the_layer_count() {
        // About 10.4 GFLOP per DCGAN step at batch 64 (PyTorch's ~85 ms is ~120 GFLOP/s).
        let f = flops("dcgan_step_b64").unwrap();
        assert!((f / 1e9 - 10.4).abs() < 0.3, "{f}");
    }
}
