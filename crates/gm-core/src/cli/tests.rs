//! Unit tests of gm-core's `cli`.

use super::*;

/// A toy example.
#[derive(Parser, Debug)]
struct Toy {
    #[command(flatten)]
    run: RunArgs,
    /// Latent size
    #[arg(long, default_value_t = 20)]
    latent: usize,
}

fn parse(args: &[&str]) -> std::result::Result<Toy, ParseError> {
    try_parse_from("toy", &[("epochs", Some("8")), ("lr", None)], args)
}

#[test]
fn defaults_and_shared_flags() {
    let t = parse(&["--lr", "0.01", "--cpu", "--latent", "5", "--seed", "3"]).unwrap();
    assert_eq!(t.run.epochs, Some(8));
    assert_eq!(t.run.lr, Some(0.01));
    assert_eq!(t.run.seed, 3);
    assert_eq!(t.latent, 5);
    assert!(t.run.device().unwrap().is_cpu());
    let t = parse(&["--device", "cpu", "--epochs", "2", "--epochs", "3"]).unwrap();
    assert_eq!(t.run.epochs, Some(3), "the last value wins");
}

#[test]
fn bad_values_name_the_flag() {
    for (args, needle) in [
        (vec!["--epochs", "0"], "--epochs"),
        (vec!["--lr", "-1"], "--lr"),
        (vec!["--lr", "abc"], "--lr"),
        (vec!["--device", "tpu"], "--device"),
        (vec!["--bogus"], "--bogus"),
        (vec!["--steps", "5"], "does not take --steps"),
        (vec!["--resume", "--overwrite"], "--overwrite"),
    ] {
        let e = parse(&args).unwrap_err().to_string();
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn help_lists_defaults_and_hides_unused_budget_flags() {
    let e = parse(&["--help"]).unwrap_err();
    let ParseError::Clap(e) = e else {
        panic!("help is clap's")
    };
    assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
    let help = e.to_string();
    assert!(
        help.contains("--epochs <N>") && help.contains("[default: 8]"),
        "{help}"
    );
    assert!(
        help.contains("--latent") && help.contains("[default: 20]"),
        "{help}"
    );
    assert!(
        help.contains("--overwrite") && help.contains("--device"),
        "{help}"
    );
    assert!(!help.contains("--steps"), "{help}");
}

/// A command that does not train: no run flags.
#[derive(Parser, Debug)]
struct Tool {
    #[command(flatten)]
    device: DeviceArgs,
    source: PathBuf,
}

#[test]
fn commands_without_run_flags_parse() {
    let t: Tool = try_parse_from("tool", &[], ["x", "--cpu"]).unwrap();
    assert_eq!(t.source, PathBuf::from("x"));
    assert!(t.device.device().unwrap().is_cpu());
    let e = try_parse_from::<Tool, _, _>("tool", &[], ["x", "--epochs", "3"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("--epochs"), "{e}");
}

#[test]
fn out_follows_the_run_folder_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("mine");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(user.join("thesis.tex"), b"years of work").unwrap();
    let u = user.to_str().unwrap();
    for extra in [&[][..], &["--overwrite"], &["--resume"]] {
        let mut args = vec!["--out", u];
        args.extend_from_slice(extra);
        let e = parse(&args).unwrap().run.run_dir("toy").unwrap_err();
        assert!(e.to_string().contains(u), "{e}");
    }
    assert_eq!(
        std::fs::read(user.join("thesis.tex")).unwrap(),
        b"years of work"
    );
    let e = parse(&["--out", ".", "--overwrite"])
        .unwrap()
        .run
        .run_dir("toy")
        .unwrap_err();
    assert!(e.to_string().contains("current folder"), "{e}");
    assert!(!Path::new(run::RUN_MARKER).exists());

    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    parse(&["--out", r]).unwrap().run.run_dir("toy").unwrap();
    assert!(parse(&["--out", r]).unwrap().run.run_dir("toy").is_err());
    parse(&["--out", r, "--resume"])
        .unwrap()
        .run
        .run_dir("toy")
        .unwrap();
    parse(&["--out", r, "--overwrite"])
        .unwrap()
        .run
        .run_dir("toy")
        .unwrap();
    let e = parse(&["--overwrite"])
        .unwrap()
        .run
        .run_dir("toy")
        .unwrap_err();
    assert!(e.to_string().contains("--out"), "{e}");
}

#[test]
fn config_reruns_the_recorded_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let recorded: Vec<String> = ["--latent", "7", "--epochs", "2", "--out", "x", "--resume"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    run::prepare(&dir, RunMode::New, "toy", &recorded_args(&recorded)).unwrap();
    crate::io::write_atomic(dir.join("config.json"), b"{}").unwrap();
    let cfg = dir.join("config.json").display().to_string();
    let t = parse(&["--config", &cfg, "--epochs", "4"]).unwrap();
    assert_eq!(t.latent, 7);
    assert_eq!(t.run.epochs, Some(4));
    assert_eq!(t.run.out, None);

    let e = try_parse_from::<Toy, _, _>("other", &[], ["--config", cfg.as_str()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("a run of `toy`"), "{e}");
    let e = parse(&["--config", tmp.path().to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("not the config of a gm run"), "{e}");
}
