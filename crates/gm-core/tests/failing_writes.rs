//! A write that fails half way through a run (a full disk, a folder that refuses writes) stops
//! `fit` with an I/O error naming the file, leaves no temporary file and keeps the previous
//! checkpoint loadable; resumed once the fault is gone, the run ends with the same files as an
//! uninterrupted one. Covered: `config.json`, `metrics.jsonl` (its rewrite on resume and its
//! appended lines), a grid, the checkpoint, `run.json` and the final files (`model.safetensors`,
//! `loss.svg`, `report_metrics.json`, `report.html`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Device;
use gm_core::classifier::{ClassifierConfig, ClassifierTrainConfig, ClassifierTrainer};
use gm_core::data::{mnist_embedded, Dataset};
use gm_core::io::fail_writes_matching;
use gm_core::train::{read_checkpoint, CHECKPOINT_FILE};
use gm_core::{fit, Error, FitConfig};

/// 80 training and 50 test digits, read once.
fn digits() -> &'static (Dataset, Dataset) {
    static DIGITS: OnceLock<(Dataset, Dataset)> = OnceLock::new();
    DIGITS.get_or_init(|| {
        let m = mnist_embedded().unwrap();
        let (_, train) = m.train.split_off(80).unwrap();
        let (_, test) = m.test.split_off(50).unwrap();
        (train, test)
    })
}

fn small_classifier() -> (ClassifierTrainer, Dataset) {
    let (train, test) = digits().clone();
    let cfg = ClassifierTrainConfig {
        model: ClassifierConfig {
            conv1: 4,
            conv2: 8,
            hidden: 16,
        },
        ..Default::default()
    };
    (
        ClassifierTrainer::new(cfg, 1, test, &Device::Cpu).unwrap(),
        train,
    )
}

/// Two epochs of 5 steps, a checkpoint every 2 steps and at each epoch's end (steps 2, 4, 5,
/// 6, 8, 10), a grid at each epoch's end.
fn fit_config(resume: bool, stop_after: Option<u64>) -> FitConfig {
    FitConfig {
        epochs: 2,
        batch_size: 16,
        seed: 4,
        checkpoint_every: 2,
        stop_after,
        resume,
        progress: false,
        ..Default::default()
    }
}

fn run(dir: &Path, resume: bool, stop_after: Option<u64>) -> gm_core::Result<u64> {
    let (mut t, data) = small_classifier();
    let cfg = fit_config(resume, stop_after);
    fit(&mut t, &data, &cfg, dir, &Device::Cpu).map(|s| s.steps)
}

fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                todo.push(r);
            } else {
                out.insert(r.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The bytes of a run's file, with the `--resume` flag that `config.json` (and the report that
/// shows it) records set as in an uninterrupted run.
fn contents(dir: &Path, file: &str) -> Vec<u8> {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    if file == "config.json" || file == "report.html" {
        let text = String::from_utf8(bytes).unwrap();
        return text
            .replacen("\"resume\": true", "\"resume\": false", 1)
            .into_bytes();
    }
    bytes
}

/// Every file of `dir` but its record and lock, as the uninterrupted run `reference` has them.
fn assert_same_run(dir: &Path, reference: &Path) {
    let keep = |d: &Path| -> BTreeSet<String> {
        files(d)
            .into_iter()
            .filter(|f| f != "run.json" && f != "run.lock")
            .collect()
    };
    let want = keep(reference);
    assert!(want.contains("model.safetensors") && want.contains("grids/epoch_002.png"));
    assert_eq!(keep(dir), want, "{}", dir.display());
    for f in &want {
        assert!(
            contents(dir, f) == contents(reference, f),
            "{}: {f} differs from the uninterrupted run's",
            dir.display()
        );
    }
}

fn temporary(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| f.rsplit('/').next().is_some_and(|n| n.ends_with(".tmp")))
        .collect()
}

/// Checks a failed `fit`: an I/O error naming `file` in `dir`, no temporary file, and the
/// checkpoint at `step`. Returns the error's message.
fn assert_failed_cleanly(
    result: gm_core::Result<u64>,
    dir: &Path,
    file: &str,
    step: u64,
) -> String {
    let e = result.expect_err("the write fault must stop fit");
    let path = dir.join(file);
    match &e {
        Error::Io { path: p, .. } => assert_eq!(p, &path, "{e}"),
        other => panic!("{file}: expected an I/O error naming it, got {other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert_eq!(temporary(dir), Vec::<String>::new(), "after {msg}");
    let ckpt = read_checkpoint(&dir.join(CHECKPOINT_FILE), &Device::Cpu).unwrap();
    assert_eq!(ckpt.step, step, "after {msg}");
    msg
}

#[test]
fn a_failed_write_stops_fit_naming_the_file_and_the_run_resumes_to_the_same_end() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("straight");
    assert_eq!(run(&reference, false, None).unwrap(), 10);

    // (file, matching writes that succeed first, checkpoint step left) for a run resumed at
    // step 3, which has no grid yet.
    let cases: [(&str, usize, u64); 11] = [
        ("config.json", 0, 3),
        // The log's rewrite on resume and the lines of steps 4 and 5 get through; the eval
        // line of step 5 fails, before the checkpoint of step 5.
        ("metrics.jsonl", 0, 3),
        ("metrics.jsonl", 3, 4),
        ("checkpoint.safetensors", 1, 4),
        // Listing the first grid in the record fails before the grid is written.
        ("run.json", 0, 4),
        ("grids/epoch_001.png", 0, 4),
        ("grids/epoch_002.png", 0, 8),
        ("model.safetensors", 0, 10),
        ("loss.svg", 0, 10),
        ("report_metrics.json", 0, 10),
        ("report.html", 0, 10),
    ];
    for (k, (file, after, step)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case{k}"));
        assert_eq!(run(&dir, false, Some(3)).unwrap(), 3);
        fail_writes_matching(Some((file, after)));
        let result = run(&dir, true, None);
        fail_writes_matching(None);
        let msg = assert_failed_cleanly(result, &dir, file, step);
        assert!(msg.contains("no space left on device"), "{msg}");
        assert_eq!(run(&dir, true, None).unwrap(), 10, "{file}");
        assert_same_run(&dir, &reference);
    }
}

#[test]
fn a_temporary_path_that_cannot_be_written_stops_fit_and_keeps_the_checkpoint() {
    // A real failure of the operating system, which holds even for root: the temporary file of
    // the checkpoint's write is a folder.
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("straight");
    run(&reference, false, None).unwrap();
    let dir = tmp.path().join("run");
    run(&dir, false, Some(3)).unwrap();
    let blocker = dir.join(".checkpoint.safetensors.tmp");
    std::fs::create_dir(&blocker).unwrap();
    let e = run(&dir, true, None).expect_err("the checkpoint cannot be written");
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Io { ref path, .. } if *path == dir.join(CHECKPOINT_FILE)),
        "{msg}"
    );
    assert_eq!(
        read_checkpoint(&dir.join(CHECKPOINT_FILE), &Device::Cpu)
            .unwrap()
            .step,
        3
    );
    std::fs::remove_dir(&blocker).unwrap();
    assert_eq!(run(&dir, true, None).unwrap(), 10);
    assert_same_run(&dir, &reference);
}

/// Makes `dir` refuse writes for this user until dropped: mode 0o555, and where permissions
/// do not bind (root), the immutable attribute (`chattr +i`), which holds for root too.
#[cfg(unix)]
struct ReadOnly {
    dir: PathBuf,
    immutable: bool,
}

#[cfg(unix)]
impl ReadOnly {
    /// `None` when neither makes the folder refuse a write here (no `chattr`, or a file
    /// system without the attribute).
    fn new(dir: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut guard = Self {
            dir: dir.to_path_buf(),
            immutable: false,
        };
        let probe = dir.join("probe");
        let refuses = |probe: &Path| match std::fs::write(probe, b"") {
            Ok(()) => {
                std::fs::remove_file(probe).unwrap();
                false
            }
            Err(_) => true,
        };
        if refuses(&probe) {
            return Some(guard);
        }
        guard.immutable = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        (guard.immutable && refuses(&probe)).then_some(guard)
    }
}

#[cfg(unix)]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.dir)
                .status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_run_folder_stops_fit_and_keeps_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("straight");
    run(&reference, false, None).unwrap();
    let dir = tmp.path().join("run");
    run(&dir, false, Some(3)).unwrap();
    let Some(read_only) = ReadOnly::new(&dir) else {
        eprintln!("skipped: no way to make a folder refuse this user's writes here");
        return;
    };
    let result = run(&dir, true, None);
    drop(read_only);
    let msg = assert_failed_cleanly(result, &dir, "config.json", 3);
    let lower = msg.to_lowercase();
    assert!(
        lower.contains("permission denied") || lower.contains("operation not permitted"),
        "{msg}"
    );
    assert_eq!(run(&dir, true, None).unwrap(), 10);
    assert_same_run(&dir, &reference);
}
