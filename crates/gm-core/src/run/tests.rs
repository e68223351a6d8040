//! Unit tests of gm-core's `run`.

use super::*;

fn args() -> Vec<String> {
    vec!["--seed".into(), "1".into()]
}

/// Another holder of `dir`'s lock: a second open file description locks like a second
/// process would (the operating system's locks belong to open files, not threads).
fn hold_as_other(dir: &Path, pid: &str) -> File {
    let path = dir.join(RUN_LOCK);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.try_lock().unwrap();
    writeln!(f, "{pid}").unwrap();
    f
}

#[test]
fn a_run_folder_held_by_another_process_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let other = hold_as_other(&dir, "4242");
    for mode in [RunMode::New, RunMode::Resume, RunMode::Overwrite] {
        let e = prepare(&dir, mode, "t", &args()).unwrap_err().to_string();
        assert!(e.contains("pid 4242") && e.contains("another --out"), "{e}");
    }
    // Nothing was written beside the lock while it was held.
    assert!(!dir.join(RUN_MARKER).exists());
    drop(other);
    prepare(&dir, RunMode::New, "t", &args()).unwrap();
    let pid = std::fs::read_to_string(dir.join(RUN_LOCK)).unwrap();
    assert_eq!(pid.trim(), std::process::id().to_string());
    // The holder takes its folder again, and a folder inside it, without refusal.
    prepare(&dir, RunMode::Resume, "t", &args()).unwrap();
    ensure_run_dir(&dir.join("stage"), "t").unwrap();
}

#[test]
fn a_lock_left_by_a_killed_process_is_not_a_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    prepare(&dir, RunMode::New, "t", &[]).unwrap();
    // A lock file whose process is gone (its lock died with it) holds only a pid.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(RUN_LOCK), "999999\n").unwrap();
    std::fs::write(
        other.join(RUN_MARKER),
        std::fs::read(dir.join(RUN_MARKER)).unwrap(),
    )
    .unwrap();
    prepare(&other, RunMode::Resume, "t", &args()).unwrap();
    let pid = std::fs::read_to_string(other.join(RUN_LOCK)).unwrap();
    assert_eq!(pid.trim(), std::process::id().to_string());
}

#[test]
fn a_folder_of_a_run_killed_before_its_marker_landed_is_taken_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(RUN_LOCK), "999999\n").unwrap();
    std::fs::write(dir.join(".run.json.tmp"), b"{\"gm_ver").unwrap();
    let e = prepare(&dir, RunMode::Resume, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no run to resume"), "{e}");
    prepare(&dir, RunMode::New, "t", &args()).unwrap();
    assert_eq!(RunMarker::read(&dir).unwrap().commands[0].args, args());
    assert!(!dir.join(".run.json.tmp").exists());
    // Any other file still makes the folder a user's.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(".notes.tmp"), b"mine").unwrap();
    assert!(prepare(&other, RunMode::New, "t", &[]).is_err());
}

#[test]
fn a_library_fit_inside_a_folder_another_process_holds_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(RUN_MARKER),
        serde_json::to_vec(&RunMarker::new("t")).unwrap(),
    )
    .unwrap();
    let _other = hold_as_other(&dir, "7");
    let e = ensure_run_dir(&dir.join("sub"), "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pid 7"), "{e}");
}

#[test]
fn a_new_folder_is_created_and_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b");
    prepare(&dir, RunMode::New, "t", &args()).unwrap();
    let m = RunMarker::read(&dir).unwrap();
    assert_eq!(m.name, "t");
    assert_eq!(m.commands.len(), 1);
    assert_eq!(m.commands[0].args, args());
}

#[test]
fn a_folder_with_a_users_file_is_refused_and_the_file_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("notes.txt");
    std::fs::write(&user, b"mine").unwrap();
    for mode in [RunMode::New, RunMode::Overwrite, RunMode::Resume] {
        let e = prepare(tmp.path(), mode, "t", &[]).unwrap_err().to_string();
        assert!(e.contains(&tmp.path().display().to_string()), "{e}");
        assert!(e.contains("not a gm run folder"), "{e}");
    }
    assert_eq!(std::fs::read(&user).unwrap(), b"mine");
    assert!(!tmp.path().join(RUN_MARKER).exists());
}

#[test]
fn the_current_folder_is_refused() {
    // The test runs in the package folder, which is no run folder.
    let e = prepare(Path::new("."), RunMode::Overwrite, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("current folder"), "{e}");
    assert!(!Path::new(RUN_MARKER).exists());
}

#[test]
fn a_previous_run_is_kept_unless_resumed_or_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    prepare(&dir, RunMode::New, "t", &[]).unwrap();
    crate::io::write_atomic(dir.join("model.safetensors"), b"weights").unwrap();
    std::fs::create_dir_all(dir.join("grids")).unwrap();
    crate::io::write_atomic(dir.join("grids/epoch_001.png"), b"png").unwrap();
    // A file the user put there after the run.
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let listed: Vec<_> = RunMarker::read(&dir).unwrap().files.into_iter().collect();
    assert_eq!(listed, ["grids/epoch_001.png", "model.safetensors"]);

    let e = prepare(&dir, RunMode::New, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("--resume") && e.contains("--overwrite"), "{e}");
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        b"weights"
    );

    prepare(&dir, RunMode::Resume, "t", &[]).unwrap();
    assert_eq!(RunMarker::read(&dir).unwrap().commands.len(), 2);
    assert!(dir.join("model.safetensors").exists());

    record_files(&dir, ["never/written.png".to_string()]).unwrap();
    prepare(&dir, RunMode::Overwrite, "t", &[]).unwrap();
    assert!(!dir.join("model.safetensors").exists());
    assert!(!dir.join("grids/epoch_001.png").exists());
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine");
    let m = RunMarker::read(&dir).unwrap();
    assert!(m.files.is_empty());
    assert_eq!(m.commands.len(), 1);
}

#[test]
fn resume_needs_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let e = prepare(&tmp.path().join("none"), RunMode::Resume, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no run to resume"), "{e}");
    let e = prepare(tmp.path(), RunMode::Resume, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no run to resume"), "{e}");
}

#[test]
fn a_marker_that_reaches_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("keep.txt");
    std::fs::write(&outside, b"mine").unwrap();
    let dir = tmp.path().join("run");
    prepare(&dir, RunMode::New, "t", &[]).unwrap();
    let mut m = RunMarker::read(&dir).unwrap();
    m.files.insert("../keep.txt".into());
    m.write(&dir).unwrap();
    let e = prepare(&dir, RunMode::Overwrite, "t", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("../keep.txt"), "{e}");
    assert!(outside.exists());
}

#[test]
fn numbered_folders_never_collide() {
    let tmp = tempfile::tempdir().unwrap();
    let a = next_numbered_dir(tmp.path()).unwrap();
    let b = next_numbered_dir(tmp.path()).unwrap();
    assert_eq!(a, tmp.path().join("1"));
    assert_eq!(b, tmp.path().join("2"));
    assert_eq!(latest_numbered_dir(tmp.path()).unwrap().1, b);
}

#[test]
fn ensure_accepts_new_empty_and_nested_folders_only() {
    let tmp = tempfile::tempdir().unwrap();
    ensure_run_dir(&tmp.path().join("new"), "t").unwrap();
    assert!(is_run_dir(&tmp.path().join("new")));
    ensure_run_dir(&tmp.path().join("new/inner"), "t").unwrap();
    assert!(!tmp.path().join("new/inner").join(RUN_MARKER).exists());
    std::fs::write(tmp.path().join("x.txt"), b"x").unwrap();
    assert!(ensure_run_dir(tmp.path(), "t").is_err());
}
