//! The report as rows of the run's metric table in `report.html`: one row per metric, with
//! the settings that give it its meaning.

use super::report::EvalReport;

/// The report as a metric table for `report.html`.
pub fn metrics_table(r: &EvalReport) -> Vec<(String, String)> {
    let mut t = vec![
        ("eval: source".to_string(), r.source.clone()),
        ("eval: samples".to_string(), r.n_samples.to_string()),
    ];
    let mut row = |k: &str, v: String| t.push((format!("eval: {k}"), v));
    if let Some(m) = &r.mnist {
        row(
            "MNIST FD (vs test digits)",
            format!("{:.4}", m.frechet_distance),
        );
        row(
            "classifier score",
            format!(
                "{:.4} ± {:.4} ({} splits)",
                m.classifier_score.mean, m.classifier_score.std, m.classifier_score.splits
            ),
        );
        row(
            "KID",
            format!(
                "{:.4} ± {:.4} ({} subsets of {})",
                m.kernel_distance.mean,
                m.kernel_distance.std,
                m.kernel_distance.subsets,
                m.kernel_distance.subset_size
            ),
        );
        row(
            "digit classes covered",
            format!(
                "{} / {} {:?}",
                m.labels.covered, m.labels.classes, m.labels.counts
            ),
        );
        row(
            "precision / recall",
            format!(
                "{:.4} / {:.4} (k = {})",
                m.precision_recall.precision, m.precision_recall.recall, m.precision_recall.k
            ),
        );
        row("1-NN accuracy", format!("{:.4}", m.one_nn.accuracy));
        if let Some(p) = &m.parzen {
            row(
                "Parzen log-likelihood",
                format!("{:.2} ± {:.2} (sigma {:.4})", p.mean, p.stderr, p.sigma),
            );
        }
    }
    if let Some(m) = &r.any_data {
        // The names usually state their own size (`random-conv(seed 0, 512-d)`,
        // `reference tensor (80 items of 3x16x16)`): add it only where they do not.
        let dim = format!("{}-d", m.feature_dim);
        row(
            "feature space",
            if m.features.contains(&dim) {
                m.features.clone()
            } else {
                format!("{} ({dim})", m.features)
            },
        );
        row(
            "reference set",
            if states_count(&m.reference, m.n_reference) {
                m.reference.clone()
            } else {
                format!("{} ({} items)", m.reference, m.n_reference)
            },
        );
        let fid = if m.features.starts_with(crate::inception::INCEPTION_FEATURES) {
            " (FID)"
        } else {
            ""
        };
        row(
            "FD (vs reference)",
            format!("{:.4}{fid}", m.frechet_distance),
        );
        let k = &m.kernel_distance;
        row(
            "KID (vs reference)",
            format!(
                "{:.4} ± {:.4} ({} subsets of {})",
                k.mean, k.std, k.subsets, k.subset_size
            ),
        );
        let g = &m.gaussian_mmd;
        row(
            "MMD² (Gaussian kernel, vs reference)",
            format!(
                "{:.6} (bandwidth {:.4}, {} vs {} items)",
                g.mmd2, g.bandwidth, g.n_x, g.n_y
            ),
        );
        let sw = &m.sliced_wasserstein;
        row(
            "sliced Wasserstein (vs reference)",
            format!(
                "{:.4} (SW_{}, {} projections)",
                sw.distance, sw.p, sw.projections
            ),
        );
        row(
            "precision / recall (vs reference)",
            format!(
                "{:.4} / {:.4} (k = {})",
                m.precision_recall.precision, m.precision_recall.recall, m.precision_recall.k
            ),
        );
        row(
            "1-NN accuracy (vs reference)",
            format!("{:.4}", m.one_nn.accuracy),
        );
    }
    if let Some(m) = &r.mixture {
        let c = &m.coverage;
        row(
            "modes captured",
            format!("{} / {} ({:?})", c.modes_captured, c.modes, m.mixture),
        );
        row(
            "high-quality samples",
            format!("{:.2} %", 100.0 * c.high_quality),
        );
        row(
            "reverse KL to uniform modes",
            c.reverse_kl.map_or("n/a".into(), |v| format!("{v:.4}")),
        );
    }
    t
}

/// Whether `name` states the count `n` as a number of things of its own (`80 items`,
/// `2,000 digits`): the number, not part of a longer one, followed by a word.
pub(super) fn states_count(name: &str, n: usize) -> bool {
    let plain = n.to_string();
    let grouped = plain
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    // Part of a longer number: a digit next to it, or a thousands comma then a digit.
    let continues = |mut before: std::iter::Rev<std::str::Chars<'_>>| match before.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some(',') => before.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let counts_things = |mut after: std::str::Chars<'_>| {
        after.next() == Some(' ') && after.next().is_some_and(char::is_alphabetic)
    };
    [plain, grouped].iter().any(|form| {
        name.match_indices(form.as_str()).any(|(i, _)| {
            !continues(name[..i].chars().rev()) && counts_things(name[i + form.len()..].chars())
        })
    })
}
