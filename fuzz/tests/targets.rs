//! A short seeded run of every target, and the committed corpus against its generator.

use gm_fuzz::{alloc, corpus, engine, targets};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

#[test]
fn every_target_survives_a_short_run() {
    let mut failures = Vec::new();
    for t in targets::TARGETS {
        let seeds = corpus::load(t.name);
        assert!(!seeds.is_empty(), "{} has no corpus", t.name);
        let stats = engine::run(t, &seeds, 300, 1, None);
        assert_eq!(stats.execs, 300);
        for c in stats.crashes.iter().take(3) {
            failures.push(format!(
                "{}: {} (input {:?})",
                t.name,
                c.what,
                &c.input[..c.input.len().min(64)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_seeds_are_read_without_error() {
    // A target that refuses its own valid seeds would fuzz nothing but the first check.
    for t in targets::TARGETS {
        for (name, bytes) in corpus::generate(t.name) {
            let dir = tempfile::tempdir().unwrap();
            (t.read)(dir.path(), &bytes).unwrap();
            assert!(!bytes.is_empty(), "{}/{name}", t.name);
        }
    }
}

#[test]
fn committed_corpus_matches_the_generator() {
    // Set GM_FUZZ_WRITE_CORPUS=1 to write the corpus after changing the generator.
    let write = std::env::var_os("GM_FUZZ_WRITE_CORPUS").is_some();
    for t in targets::TARGETS {
        let dir = corpus::root().join(t.name);
        for (name, bytes) in corpus::generate(t.name) {
            let path = dir.join(&name);
            if write {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            }
            assert!(
                bytes.len() <= 4096,
                "{} is {} bytes",
                path.display(),
                bytes.len()
            );
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e}; run with GM_FUZZ_WRITE_CORPUS=1", path.display())
            });
            assert_eq!(
                committed,
                bytes,
                "{} differs from the generator",
                path.display()
            );
        }
    }
}
