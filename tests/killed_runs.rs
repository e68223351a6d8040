//! Runs killed with SIGKILL at seeded-random moments (during a step, an evaluation, a grid, a
//! checkpoint write, the final writes or the start of the process) and resumed with `--resume`
//! until they end hold the same files, byte for byte, as an uninterrupted run with the same
//! seed: weights, checkpoint, metrics log, grids, curves and report. After every kill the last
//! checkpoint still loads, and at the end no temporary file is left and every file is listed
//! in `run.json`.
//!
//! The training process is this test binary itself, started again with `GM_KILL_TEST_ARGS`
//! set: its ignored test `training_process` parses those arguments with gm's command line
//! (`--out`, `--seed`, `--epochs`, `--checkpoint-every`, `--resume`) and trains a small
//! classifier, a VAE, a DCGAN or a multi-scale flow through `fit`, printing a line as each
//! phase begins so that a kill can aim at it. `GM_KILLS=500 cargo test -p gm --test
//! killed_runs` raises the number of kills from 50 to 500, as does the ignored test
//! `five_hundred_kills`. A Ctrl-C (SIGINT) in a step ends the run after that step with a
//! checkpoint and the hint of how to resume, and the resumed run ends with the same files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use candle_core::Device;
use clap::Parser;
use gm::cli::RunArgs;
use gm::core::classifier::{ClassifierConfig, ClassifierTrainConfig, ClassifierTrainer};
use gm::core::data::{mnist_embedded, Batch};
use gm::core::run::{RunMarker, RUN_LOCK, RUN_MARKER};
use gm::core::train::{read_checkpoint, Metrics, CHECKPOINT_FILE};
use gm::core::{fit, GmRng, TrainState, Trainer};
use gm::flow::{FlowTrainConfig, FlowTrainer, ImageFlowConfig};
use gm::gan::{Architecture as GanArchitecture, GanConfig, GanTrainConfig, GanTrainer};
use gm::vae::{Activation, Architecture, Likelihood, VaeConfig, VaeTrainConfig, VaeTrainer};
use rand::Rng;

/// The arguments of a training process, one per line.
const CHILD_ENV: &str = "GM_KILL_TEST_ARGS";
/// The prefix of the lines a training process prints as a phase begins.
const PHASE: &str = "gm-phase ";
const NAME: &str = "killed-run";
/// 80 digits in batches of 16: 5 steps an epoch, 6 epochs.
const EPOCHS: usize = 6;
const CHECKPOINT_EVERY: u64 = 2;

#[derive(Parser)]
struct TrainCli {
    #[command(flatten)]
    run: RunArgs,
    /// `classifier`, `vae`, `gan` or `flow`
    #[arg(long)]
    model: String,
}

/// A trainer that says on stdout when each phase of `fit` begins: `step`, `eval`, `grid`,
/// `checkpoint` (the state is taken just before the checkpoint is written) and `finish` (the
/// model config is read just before `model.safetensors` is written).
struct Traced<T>(T);

fn phase(name: &str) {
    println!("{PHASE}{name}");
}

impl<T: Trainer> Trainer for Traced<T> {
    fn model_name(&self) -> String {
        self.0.model_name()
    }
    fn config_json(&self) -> serde_json::Value {
        self.0.config_json()
    }
    fn model_config_json(&self) -> serde_json::Value {
        phase("finish");
        self.0.model_config_json()
    }
    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> gm::core::Result<Metrics> {
        phase("step");
        self.0.step(batch, rng)
    }
    fn state(&self) -> gm::core::Result<TrainState> {
        phase("checkpoint");
        self.0.state()
    }
    fn load_state(&mut self, state: &TrainState) -> gm::core::Result<()> {
        self.0.load_state(state)
    }
    fn weights(&self) -> gm::core::Result<BTreeMap<String, candle_core::Tensor>> {
        self.0.weights()
    }
    fn grid_images(
        &mut self,
        rng: &mut GmRng,
    ) -> gm::core::Result<Option<(candle_core::Tensor, bool)>> {
        phase("grid");
        self.0.grid_images(rng)
    }
    fn evaluate(&mut self) -> gm::core::Result<Metrics> {
        phase("eval");
        self.0.evaluate()
    }
}

/// The training process: does nothing unless started by a kill test.
#[test]
#[ignore = "the training process that the kill tests start"]
fn training_process() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let argv = args.lines().map(String::from).collect();
    let code = gm::cli::main_with(|| train(argv));
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
}

fn train(argv: Vec<String>) -> anyhow::Result<()> {
    let cli: TrainCli = gm::cli::parse_from(
        NAME,
        &[("epochs", Some("6")), ("batch-size", Some("16"))],
        argv,
    );
    let args = &cli.run;
    let device = args.device()?;
    let out = args.run_dir(NAME)?;
    let mnist = mnist_embedded()?;
    let (_, train) = mnist.train.split_off(80)?;
    let (_, test) = mnist.test.split_off(50)?;
    let cfg = args.fit_config(
        RunArgs::need(args.epochs, "epochs")?,
        RunArgs::need(args.batch_size, "batch-size")?,
    );
    let summary = match cli.model.as_str() {
        "classifier" => {
            let tc = ClassifierTrainConfig {
                model: ClassifierConfig {
                    conv1: 4,
                    conv2: 8,
                    hidden: 16,
                },
                ..Default::default()
            };
            let mut t = Traced(ClassifierTrainer::new(tc, args.seed, test, &device)?);
            fit(&mut t, &train, &cfg, &out, &device)?
        }
        "vae" => {
            let tc = VaeTrainConfig {
                model: VaeConfig {
                    data_shape: vec![1, 28, 28],
                    latent_dim: 4,
                    encoder_hidden: vec![32],
                    decoder_hidden: vec![32],
                    activation: Activation::Relu,
                    likelihood: Likelihood::Bernoulli,
                    architecture: Architecture::Mlp,
                },
                eval_images: 50,
                ..Default::default()
            };
            let mut t = Traced(VaeTrainer::new(tc, args.seed, Some(&test), &device)?);
            fit(&mut t, &train, &cfg, &out, &device)?
        }
        "gan" => {
            // DCGAN with batch norm: two networks, two optimizers, running statistics.
            let tc = GanTrainConfig {
                model: GanConfig {
                    generator: GanArchitecture::Dcgan { channels: 4 },
                    discriminator: GanArchitecture::Dcgan { channels: 4 },
                    latent_dim: 8,
                    ..GanConfig::dcgan_mnist()
                },
                grid_samples: 16,
                ..GanTrainConfig::dcgan_mnist()
            };
            let mut t = Traced(GanTrainer::new(tc, args.seed, &device)?);
            fit(&mut t, &train, &cfg, &out, &device)?
        }
        "flow" => {
            // Data-dependent initialisation on the first batch, dequantization noise.
            let tc = FlowTrainConfig {
                model: ImageFlowConfig {
                    checkerboard_steps: 1,
                    checkerboard_hidden: 4,
                    levels: 2,
                    steps_per_level: 1,
                    hidden: 4,
                    ..Default::default()
                },
                warmup_steps: 2,
                eval_images: 20,
                eval_batch: 10,
                ..Default::default()
            };
            let mut t = Traced(FlowTrainer::new(tc, args.seed, Some(&test), &device)?);
            fit(&mut t, &train, &cfg, &out, &device)?
        }
        other => anyhow::bail!("--model {other}: expected classifier, vae, gan or flow"),
    };
    // As the examples do: an interrupted run says how to continue.
    if let Some(hint) = summary.resume_hint() {
        println!("{hint}");
    }
    Ok(())
}

/// Starts a training process of `model` into `out`; its stderr goes to `log`.
fn start(model: &str, seed: u64, out: &Path, resume: bool, log: &Path) -> Child {
    let mut args: Vec<String> = [
        "--model",
        model,
        "--cpu",
        "--quiet",
        "--seed",
        &seed.to_string(),
        "--epochs",
        &EPOCHS.to_string(),
        "--checkpoint-every",
        &CHECKPOINT_EVERY.to_string(),
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(out.to_str().expect("a UTF-8 temporary folder").to_string());
    if resume {
        args.push("--resume".into());
    }
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args([
            "training_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, args.join("\n"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Where a kill aims: the `count`-th line of `phase` (or, for `start`, the spawn), then
/// `delay` more.
#[derive(Debug, Clone, Copy)]
struct Aim {
    phase: &'static str,
    count: usize,
    delay: Duration,
}

impl Aim {
    /// A seeded-random aim, with delays of the order of a few steps of the classifier times
    /// `scale` (a model's step time relative to the classifier's).
    fn draw(rng: &mut GmRng, scale: f64) -> Aim {
        let us = |rng: &mut GmRng, max: u64| {
            Duration::from_micros(rng.random_range(0..=(max as f64 * scale) as u64))
        };
        let (phase, count, delay) = match rng.random_range(0..100u32) {
            0..30 => ("step", rng.random_range(1..=6), us(rng, 4_000)),
            30..55 => ("checkpoint", rng.random_range(1..=3), us(rng, 3_000)),
            55..67 => ("eval", rng.random_range(1..=2), us(rng, 3_000)),
            67..79 => ("grid", rng.random_range(1..=2), us(rng, 3_000)),
            79..90 => ("start", 0, us(rng, 150_000)),
            _ => ("finish", 1, us(rng, 6_000)),
        };
        Aim {
            phase,
            count,
            delay,
        }
    }
}

/// The files of a run folder (relative, `/`-separated) below `dir`; none when a process was
/// killed before it made the folder.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !dir.exists() {
        return out;
    }
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                todo.push(r);
            } else {
                out.insert(r.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// The temporary files of interrupted writes below `dir`.
fn temporary(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            name.starts_with('.') && name.ends_with(".tmp")
        })
        .collect()
}

fn run_to_end(model: &str, seed: u64, out: &Path, log: &Path) {
    let status = start(model, seed, out, false, log).wait().unwrap();
    assert!(
        status.success(),
        "{model}: {status}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A model the kill tests train, with its seed and the scale of its kills' delays.
#[derive(Clone, Copy)]
struct Model {
    name: &'static str,
    seed: u64,
    scale: f64,
}

/// What the kills did.
#[derive(Default)]
struct Tally {
    kills: usize,
    by_model: BTreeMap<String, usize>,
    by_phase: BTreeMap<&'static str, usize>,
    /// Kills that left a temporary file that was not there before the process: they landed
    /// inside a write.
    inside_writes: usize,
    interrupted_files: BTreeSet<String>,
    processes: usize,
}

/// Runs `model` into `out`, killing each process at a drawn moment and resuming until a
/// process ends on its own; returns once the run is complete.
fn killed_run(model: Model, out: &Path, log: &Path, rng: &mut GmRng, tally: &mut Tally) {
    let Model {
        name: model,
        seed,
        scale,
    } = model;
    let ckpt = out.join(CHECKPOINT_FILE);
    let mut last_step = 0;
    for attempt in 0.. {
        assert!(
            attempt < 200,
            "{model}: the run did not end in 200 processes"
        );
        let aim = Aim::draw(rng, scale);
        // As a user would: `--resume` once the folder is a run folder, else the same command
        // again (a process killed before its `run.json` landed left no run to resume).
        let resume = out.join(RUN_MARKER).exists();
        let before: BTreeSet<String> = if resume {
            temporary(out).into_iter().collect()
        } else {
            BTreeSet::new()
        };
        let mut child = start(model, seed, out, resume, log);
        tally.processes += 1;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix(PHASE) {
                    let _ = tx.send(p.to_string());
                }
            }
        });
        let mut fire = aim.phase == "start";
        if !fire {
            let mut seen = 0;
            for p in rx.iter() {
                seen += usize::from(p == aim.phase);
                if seen == aim.count {
                    fire = true;
                    break;
                }
            }
        }
        if fire {
            std::thread::sleep(aim.delay);
            // SIGKILL; an error only means the process already ended and was reaped.
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        reader.join().unwrap();
        if status.signal() != Some(9) {
            assert!(
                status.success(),
                "{model}, process {attempt} ({aim:?}): {status}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return;
        }
        tally.kills += 1;
        *tally.by_model.entry(model.to_string()).or_default() += 1;
        *tally.by_phase.entry(aim.phase).or_default() += 1;
        let left: Vec<String> = temporary(out)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !left.is_empty() {
            tally.inside_writes += 1;
            tally.interrupted_files.extend(left);
        }
        // Whatever the kill interrupted, the last checkpoint loads and none is lost.
        if ckpt.exists() {
            let c = read_checkpoint(&ckpt, &Device::Cpu).unwrap_or_else(|e| {
                panic!("{model}: after a kill aimed at {aim:?}: {e}");
            });
            assert!(
                c.step >= last_step,
                "{model}: checkpoint went back from {last_step} to {}",
                c.step
            );
            last_step = c.step;
        } else {
            assert_eq!(
                last_step, 0,
                "{model}: the checkpoint vanished after {aim:?}"
            );
        }
    }
}

/// The files a run must reproduce: all but its record and its lock.
fn compared(dir: &Path) -> BTreeSet<String> {
    files(dir)
        .into_iter()
        .filter(|f| ![RUN_MARKER, RUN_LOCK].contains(&f.as_str()))
        .collect()
}

/// The bytes of a run's file, with the `--resume` flag that `config.json` (and the report that
/// shows it) records set as in an uninterrupted run.
fn contents(dir: &Path, file: &str) -> Vec<u8> {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    if file == "config.json" || file == "report.html" {
        let text = String::from_utf8(bytes).unwrap();
        let fixed = text.replacen("\"resume\": true", "\"resume\": false", 1);
        assert!(fixed.contains("\"resume\": false"), "{file}: {text}");
        return fixed.into_bytes();
    }
    bytes
}

fn kill_and_resume(kills: usize) {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("stderr.log");
    let models = [
        Model {
            name: "classifier",
            seed: 3,
            scale: 1.0,
        },
        // A step of the VAE takes about a tenth of the classifier's.
        Model {
            name: "vae",
            seed: 5,
            scale: 0.25,
        },
        Model {
            name: "gan",
            seed: 7,
            scale: 0.5,
        },
        Model {
            name: "flow",
            seed: 9,
            scale: 0.5,
        },
    ];
    let mut rng = GmRng::new(27);
    let mut tally = Tally::default();
    let mut references: BTreeMap<&str, PathBuf> = BTreeMap::new();
    let mut round = 0;
    // Every model runs at least once, whatever the number of kills asked for.
    while tally.kills < kills || round < models.len() {
        let m = models[round % models.len()];
        let (model, seed) = (m.name, m.seed);
        let reference = references.entry(model).or_insert_with(|| {
            let dir = tmp.path().join(format!("{model}-straight"));
            run_to_end(model, seed, &dir, &log);
            dir
        });
        let out = tmp.path().join(format!("{model}-killed-{round}"));
        killed_run(m, &out, &log, &mut rng, &mut tally);

        let want = compared(reference);
        assert!(want.contains("model.safetensors") && want.contains("report.html"));
        assert!(want.iter().any(|f| f.starts_with("grids/")), "{want:?}");
        assert_eq!(compared(&out), want, "{model}, round {round}");
        for f in &want {
            assert!(
                contents(&out, f) == contents(reference, f),
                "{model}, round {round}: {f} differs from the uninterrupted run's"
            );
        }
        assert_eq!(
            temporary(&out),
            Vec::<String>::new(),
            "{model}, round {round}"
        );
        let listed = RunMarker::read(&out).unwrap().files;
        for f in files(&out) {
            assert!(
                f == RUN_MARKER || f == RUN_LOCK || listed.contains(&f),
                "{model}, round {round}: {f} is not listed in run.json"
            );
        }
        round += 1;
    }
    eprintln!(
        "{} kills in {} processes over {round} runs ({:?}; aimed at {:?}); {} landed inside a \
         write (left {:?}); {:.1} s",
        tally.kills,
        tally.processes,
        tally.by_model,
        tally.by_phase,
        tally.inside_writes,
        tally.interrupted_files,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_files() {
    let kills = std::env::var("GM_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50);
    kill_and_resume(kills);
}

#[test]
#[ignore = "500 kills: about ten times the default's time"]
fn five_hundred_kills() {
    kill_and_resume(500);
}

#[test]
fn ctrl_c_finishes_the_step_writes_a_checkpoint_and_says_how_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("stderr.log");
    let reference = tmp.path().join("straight");
    run_to_end("classifier", 3, &reference, &log);
    let out = tmp.path().join("interrupted");
    let mut child = start("classifier", 3, &out, false, &log);
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    // SIGINT during the third step, as a terminal's Ctrl-C would send it.
    let mut steps = 0;
    let mut before = Vec::new();
    for line in lines.by_ref() {
        // (libtest's own "test training_process ... " may open the first line.)
        steps += usize::from(line.ends_with(&format!("{PHASE}step")));
        before.push(line);
        if steps == 3 {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.collect();
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status}\n{stderr}");
    assert!(
        stderr.contains("interrupt: finishing the current step and writing a checkpoint"),
        "{stderr}"
    );
    // The step under way when the signal lands ends, no later one starts, and the
    // checkpoint is of that step (the signal may land a step or two after the third began).
    let begun = 3 + rest
        .iter()
        .filter(|l| *l == &format!("{PHASE}step"))
        .count();
    let ckpt = read_checkpoint(&out.join(CHECKPOINT_FILE), &Device::Cpu).unwrap();
    assert_eq!(ckpt.step as usize, begun, "{before:?} then {rest:?}");
    assert!(begun < 30, "the run ended before the signal: {rest:?}");
    let hint = rest
        .iter()
        .find(|l| l.contains("continue with --resume --out"))
        .unwrap_or_else(|| panic!("no resume hint in {rest:?}"));
    assert!(
        hint.starts_with(&format!("stopped after step {begun}/30;")),
        "{hint}"
    );
    assert_eq!(temporary(&out), Vec::<String>::new());
    // The resumed run ends with the uninterrupted run's files.
    let status = start("classifier", 3, &out, true, &log).wait().unwrap();
    assert!(status.success(), "{status}");
    let want = compared(&reference);
    assert_eq!(compared(&out), want);
    for f in &want {
        assert!(contents(&out, f) == contents(&reference, f), "{f} differs");
    }
}
