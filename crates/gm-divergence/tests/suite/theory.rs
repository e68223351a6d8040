//! The crate's rows of `cargo xtask reproduce theory`, run as a test: every row must pass
//! its tolerance, so a regression in any checked theorem fails `cargo test` and not only the
//! reproduce command.

use gm_divergence::theory_rows;

#[test]
fn theory_rows_all_pass() {
    let t0 = std::time::Instant::now();
    let rows = theory_rows();
    println!("{}", gm_core::theory::markdown_table(&rows));
    println!("theory rows in {:.2?}", t0.elapsed());
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.pass())
        .map(|r| {
            format!(
                "{}: measured {}, expected {}, tolerance {}",
                r.statement, r.measured, r.expected, r.tolerance
            )
        })
        .collect();
    assert!(failed.is_empty(), "failing rows:\n{}", failed.join("\n"));
}
