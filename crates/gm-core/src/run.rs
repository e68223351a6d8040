//! Run folders: the only folders gm writes a run into, and the rules that keep a user's files
//! safe.
//!
//! A run folder carries a marker, [`RUN_MARKER`] (`run.json`), with gm's version, the commands
//! that wrote into it and the list of files gm wrote there. Every file gm writes through
//! [`crate::io::write_atomic`] inside a run folder is added to that list before its bytes land,
//! so the list stays complete even when a process is killed half way.
//!
//! The rules ([`prepare`]):
//! - a folder that does not exist is created and marked;
//! - an existing folder that is not a run folder is refused (its files are never touched), the
//!   current folder and its parents included;
//! - an existing run folder is refused unless the run is resumed ([`RunMode::Resume`]) or
//!   replaced ([`RunMode::Overwrite`]); replacing removes only the files the marker lists,
//!   so a file the user put there stays;
//! - one process writes a run folder at a time: the first to prepare it holds an exclusive
//!   operating-system lock on its [`RUN_LOCK`] file (holding its pid) until it exits, and a
//!   second process is refused with that pid. The lock dies with its process, so a run killed
//!   by SIGKILL leaves no stale lock behind.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name of the marker that makes a folder a gm run folder.
pub const RUN_MARKER: &str = "run.json";

/// File name of a run folder's lock: the pid of the process writing the folder, which holds
/// an exclusive lock on it while it lives.
pub const RUN_LOCK: &str = "run.lock";

/// The run folders this process holds (canonical paths) with their open, locked files.
static HELD: Mutex<Vec<(PathBuf, File)>> = Mutex::new(Vec::new());

/// Takes the run folder `dir` for this process, or refuses it when another process holds it
/// (naming that process). Taking a folder this process already holds is a no-op; the lock is
/// released when the process ends, however it ends.
pub fn lock(dir: &Path) -> Result<()> {
    let root = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if held.iter().any(|(p, _)| *p == root) {
        return Ok(());
    }
    let path = root.join(RUN_LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another process (pid {holder})")
            };
            return Err(Error::Msg(format!(
                "{}: {who} is writing this run folder; wait for it to end or choose another \
                 --out",
                dir.display()
            )));
        }
        Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.flush())
        .map_err(|e| Error::io(&path, e))?;
    held.push((root, file));
    Ok(())
}

/// What a run does with an existing run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// The folder must not hold a run yet.
    New,
    /// Continue the run the folder holds.
    Resume,
    /// Replace the run the folder holds (only the files gm wrote there).
    Overwrite,
}

/// One command that wrote into a run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCommand {
    /// The program's arguments, without the program name.
    pub args: Vec<String>,
    /// How the command treated the folder.
    pub mode: RunMode,
    /// Seconds since the Unix epoch.
    pub started: u64,
}

/// The contents of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMarker {
    /// gm's version that created the folder.
    pub gm_version: String,
    /// What ran there (an example or reproduction name).
    pub name: String,
    /// Every command that wrote into the folder, oldest first.
    pub commands: Vec<RunCommand>,
    /// Files gm wrote, relative to the folder, sorted.
    pub files: BTreeSet<String>,
}

impl RunMarker {
    fn new(name: &str) -> Self {
        Self {
            gm_version: env!("CARGO_PKG_VERSION").to_string(),
            name: name.to_string(),
            commands: Vec::new(),
            files: BTreeSet::new(),
        }
    }

    /// Reads the marker of `dir`; a marker that is not gm's is an error naming the file.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(RUN_MARKER);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Msg(format!(
                "{}: not a gm run marker ({e}); this folder was not written by gm",
                path.display()
            ))
        })
    }

    fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Msg(e.to_string()))?;
        // Not synced: an update lost in a crash leaves a file unlisted, which --overwrite then
        // keeps; the safe side. Syncing on every listed write made many small writes slow.
        crate::io::write_unrecorded(&dir.join(RUN_MARKER), text.as_bytes(), false)
    }
}

/// Whether `dir` holds a gm run marker.
pub fn is_run_dir(dir: &Path) -> bool {
    RunMarker::read(dir).is_ok()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether `dir` holds nothing but, at most, a run lock and the temporary file of a first
/// marker write (a run that was starting there, or was killed before its marker landed).
fn is_empty_dir(dir: &Path) -> Result<bool> {
    let marker_tmp = format!(".{RUN_MARKER}.tmp");
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = entry.map_err(|e| Error::io(dir, e))?.file_name();
        if name != RUN_LOCK && name != marker_tmp.as_str() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// True when `dir` is the current folder or one of its parents.
fn holds_current_dir(dir: &Path) -> bool {
    let (Ok(dir), Ok(cwd)) = (dir.canonicalize(), std::env::current_dir()) else {
        return false;
    };
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    cwd.starts_with(dir)
}

/// Makes `dir` ready for a run of `name` started with `args`, by the rules of the module
/// documentation, and records the command in its marker.
pub fn prepare(dir: &Path, mode: RunMode, name: &str, args: &[String]) -> Result<()> {
    let mut marker = if !dir.exists() {
        if mode == RunMode::Resume {
            return Err(Error::Msg(format!(
                "{}: there is no run to resume here (the folder does not exist)",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        lock(dir)?;
        RunMarker::new(name)
    } else if !dir.is_dir() {
        return Err(Error::Msg(format!(
            "{}: exists and is not a folder; choose another --out",
            dir.display()
        )));
    } else if dir.join(RUN_MARKER).exists() {
        let mut marker = RunMarker::read(dir)?;
        if mode != RunMode::New {
            lock(dir)?;
        }
        match mode {
            RunMode::New => {
                return Err(Error::Msg(format!(
                    "{} already holds a gm run ({}): pass --resume to continue it, --overwrite \
                     to replace it, or choose another --out",
                    dir.display(),
                    marker.name
                )))
            }
            RunMode::Resume => {}
            RunMode::Overwrite => {
                remove_recorded(dir, &marker)?;
                marker = RunMarker::new(name);
            }
        }
        marker
    } else if holds_current_dir(dir) {
        return Err(Error::Msg(format!(
            "{}: is the current folder or one of its parents, not a run folder; gm writes a \
             run only into a new folder or a previous run's",
            dir.display()
        )));
    } else if is_empty_dir(dir)? {
        // A run starting here in another process is named before anything else is said.
        lock(dir)?;
        if mode == RunMode::Resume {
            return Err(Error::Msg(format!(
                "{}: there is no run to resume here (the folder is empty)",
                dir.display()
            )));
        }
        RunMarker::new(name)
    } else {
        return Err(Error::Msg(format!(
            "{}: exists, is not empty and is not a gm run folder (no {RUN_MARKER}); gm never \
             writes into or deletes such a folder: choose a new --out",
            dir.display()
        )));
    };
    marker.commands.push(RunCommand {
        args: args.to_vec(),
        mode,
        started: now(),
    });
    let _guard = MARKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    marker.write(dir)
}

/// Marks `dir` as a run folder for a library caller (such as [`crate::fit`]) when it is new
/// or empty; a folder inside a run folder is accepted as it is. Any other existing folder is
/// refused, so that a library call never writes among a user's files.
pub fn ensure_run_dir(dir: &Path, name: &str) -> Result<()> {
    if let Some(root) = enclosing_run(dir) {
        lock(&root)?;
        return std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e));
    }
    prepare(dir, RunMode::New, name, &[])
}

/// Removes the files `marker` lists (and the temporary files of interrupted writes to them).
fn remove_recorded(dir: &Path, marker: &RunMarker) -> Result<()> {
    for rel in &marker.files {
        let rel_path = Path::new(rel);
        // The list is gm's own, but a hand-edited marker must not reach outside the folder.
        if rel_path.is_absolute()
            || rel_path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::Msg(format!(
                "{}: lists `{rel}`, which is not a path inside the run folder",
                dir.join(RUN_MARKER).display()
            )));
        }
        let path = dir.join(rel_path);
        let mut victims = vec![path.clone()];
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            victims.push(parent.join(format!(".{}.tmp", name.to_string_lossy())));
        }
        for p in victims {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
    }
    Ok(())
}

/// Serialises updates of markers within this process.
static MARKER_LOCK: Mutex<()> = Mutex::new(());

/// The nearest folder at or above `dir` that holds a gm run marker.
fn enclosing_run(dir: &Path) -> Option<PathBuf> {
    let start = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(dir)
    };
    start
        .ancestors()
        .find(|d| d.join(RUN_MARKER).is_file())
        .map(Path::to_path_buf)
}

/// Adds `path` to the file list of the run folder that contains it, if any. Called by
/// [`crate::io::write_atomic`] before the file is written.
pub(crate) fn record_write(path: &Path) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Some(root) = enclosing_run(parent) else {
        return Ok(());
    };
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let Ok(rel) = abs.strip_prefix(&root) else {
        return Ok(());
    };
    let rel = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    if rel.is_empty() || rel == RUN_MARKER {
        return Ok(());
    }
    let _guard = MARKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // A marker that is not gm's is left alone: the folder is then not a run folder.
    let Ok(mut marker) = RunMarker::read(&root) else {
        return Ok(());
    };
    if marker.files.insert(rel) {
        marker.write(&root)?;
    }
    Ok(())
}

/// Adds `files` (paths relative to the run folder `dir`) to its list in one update of the
/// marker: for a command that writes many files, before it writes them.
pub fn record_files(dir: &Path, files: impl IntoIterator<Item = String>) -> Result<()> {
    let _guard = MARKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut marker = RunMarker::read(dir)?;
    let before = marker.files.len();
    marker.files.extend(files);
    if marker.files.len() > before {
        marker.write(dir)?;
    }
    Ok(())
}

/// A fresh numbered folder `base/<n>` (n = 1, 2, ...), created atomically so that two runs
/// started at once never share one.
pub fn next_numbered_dir(base: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(base).map_err(|e| Error::io(base, e))?;
    let mut n = latest_numbered_dir(base).map_or(0, |(n, _)| n) + 1;
    loop {
        let dir = base.join(n.to_string());
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
}

/// The numbered folder `base/<n>` with the largest `n`, if any.
pub fn latest_numbered_dir(base: &Path) -> Option<(u64, PathBuf)> {
    std::fs::read_dir(base)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let n: u64 = e.file_name().to_str()?.parse().ok()?;
            e.path().is_dir().then(|| (n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
}

#[cfg(test)]
mod tests;
