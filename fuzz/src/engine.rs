//! The fuzzing loop: mutate a corpus entry, read it in a fresh scratch folder under
//! `catch_unwind`, measure the peak allocation, and save every failing input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::mutate::Mutator;
use crate::targets::Target;

/// One failing input.
#[derive(Debug, Clone)]
pub struct Crash {
    /// Panic, allocation over the bound, or a refusal that does not name the file.
    pub what: String,
    pub input: Vec<u8>,
    /// Where the input was saved, if a folder was given.
    pub saved: Option<PathBuf>,
}

/// The outcome of [`run`].
#[derive(Debug, Default)]
pub struct Stats {
    pub execs: u64,
    pub elapsed: Duration,
    /// The largest allocation peak seen for one input, in bytes.
    pub max_peak: usize,
    pub crashes: Vec<Crash>,
}

impl Stats {
    pub fn execs_per_sec(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The last panic message, set by the hook that [`run`] installs.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Where the scratch folders go: memory (`/dev/shm`) where the system has it, since every
/// input is written to a fresh folder and a disk makes that the bottleneck (7-8x fewer inputs
/// per second on the development machine); `TMPDIR` or the system's temporary folder
/// otherwise, and always when `TMPDIR` is set.
fn scratch_root() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Reads `input` with `target` once; `Err` describes the failure.
pub fn check(target: &Target, input: &[u8]) -> Result<usize, String> {
    let dir = tempfile::Builder::new()
        .prefix("gm-fuzz-")
        .tempdir_in(scratch_root())
        .map_err(|e| format!("scratch folder: {e}"))?;
    let base = crate::alloc::start();
    let r = catch_unwind(AssertUnwindSafe(|| (target.read)(dir.path(), input)));
    let peak = crate::alloc::peak_since(base);
    match r {
        Err(_) => {
            let msg = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
            Err(format!("panic: {msg}"))
        }
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) if peak > crate::alloc::bound(input.len()) => Err(format!(
            "allocated {peak} bytes at peak for an input of {} bytes (bound {})",
            input.len(),
            crate::alloc::bound(input.len())
        )),
        Ok(Ok(())) => Ok(peak),
    }
}

/// Runs `target` for `execs` inputs mutated from `corpus` (every corpus entry is also read
/// as it is, first), seeded by `seed`; failing inputs are saved in `crash_dir` if given.
pub fn run(
    target: &Target,
    corpus: &[Vec<u8>],
    execs: u64,
    seed: u64,
    crash_dir: Option<&std::path::Path>,
) -> Stats {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = info.to_string();
        }
    }));
    let mut m = Mutator::new(seed);
    let mut stats = Stats::default();
    let t = Instant::now();
    for i in 0..execs {
        let input = match corpus.get(i as usize) {
            Some(c) => c.clone(),
            None if corpus.is_empty() => m.mutate(&[], corpus),
            None => {
                let k = m.below(corpus.len());
                m.mutate(&corpus[k], corpus)
            }
        };
        match check(target, &input) {
            Ok(peak) => stats.max_peak = stats.max_peak.max(peak),
            Err(what) => {
                let saved = crash_dir.and_then(|d| save(d, target.name, &input));
                stats.crashes.push(Crash { what, input, saved });
            }
        }
        stats.execs += 1;
    }
    stats.elapsed = t.elapsed();
    std::panic::set_hook(hook);
    stats
}

fn save(root: &std::path::Path, target: &str, input: &[u8]) -> Option<PathBuf> {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir).ok()?;
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{hash:016x}"));
    std::fs::write(&path, input).ok()?;
    Some(path)
}
