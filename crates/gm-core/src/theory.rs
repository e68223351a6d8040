//! Rows of `cargo xtask reproduce theory`: one theorem or closed form, checked numerically.

/// One checked statement: what it says, the value measured, the reference, the tolerance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TheoryRow {
    /// The crate the statement belongs to.
    pub area: &'static str,
    /// The statement, in words.
    pub statement: String,
    /// The measured quantity (e.g. a KS distance, an error, a rate).
    pub measured: f64,
    /// The value the theory predicts.
    pub expected: f64,
    /// The largest |measured - expected| accepted.
    pub tolerance: f64,
}

impl TheoryRow {
    /// A row from its fields (see [`TheoryRow`]).
    pub fn new(
        area: &'static str,
        statement: impl Into<String>,
        measured: f64,
        expected: f64,
        tolerance: f64,
    ) -> Self {
        Self {
            area,
            statement: statement.into(),
            measured,
            expected,
            tolerance,
        }
    }

    /// Whether the measurement is within tolerance.
    pub fn pass(&self) -> bool {
        (self.measured - self.expected).abs() <= self.tolerance
    }
}

/// Renders rows as a markdown table.
pub fn markdown_table(rows: &[TheoryRow]) -> String {
    let mut s = String::from("| area | statement | measured | expected | tolerance | result |\n|---|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {:.6} | {:.6} | {:.2e} | {} |\n",
            r.area,
            r.statement,
            r.measured,
            r.expected,
            r.tolerance,
            if r.pass() { "pass" } else { "FAIL" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_fail() {
        assert!(TheoryRow::new("x", "a", 1.0, 1.05, 0.1).pass());
        assert!(!TheoryRow::new("x", "a", 1.0, 1.2, 0.1).pass());
        assert!(markdown_table(&[TheoryRow::new("x", "a", 1.0, 1.2, 0.1)]).contains("FAIL"));
    }
}
