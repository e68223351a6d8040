//! Unit tests of gm-inverse's `theory`.

use super::*;

#[test]
fn measurement_gradient_matches_finite_differences() {
    let g = FixedGenerator::new(3, 8, 12, 1);
    let mut rng = GmRng::new(2);
    let mut normal =
        |len: usize| -> Vec<f64> { rng.normal_vec(len).into_iter().map(f64::from).collect() };
    let (a, b, z) = (normal(5 * 12), normal(5), normal(3));
    let loss = |z: &[f64]| -> f64 {
        let x = g.generate(z);
        (0..5)
            .map(|i| ((0..12).map(|j| a[i * 12 + j] * x[j]).sum::<f64>() - b[i]).powi(2))
            .sum()
    };
    let (_, grad) = g.measurement_gradient(&z, &a, &b);
    let h = 1e-6;
    for j in 0..3 {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[j] += h;
        down[j] -= h;
        let fd = (loss(&up) - loss(&down)) / (2.0 * h);
        assert!(
            (fd - grad[j]).abs() < 1e-6 * (1.0 + fd.abs()),
            "{j}: {fd} vs {}",
            grad[j]
        );
    }
}

#[test]
fn jacobi_finds_known_eigenvalues() {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    let mut e = symmetric_eigenvalues(&[2.0, 1.0, 1.0, 2.0], 2);
    e.sort_by(|a, b| a.total_cmp(b));
    assert!(
        (e[0] - 1.0).abs() < 1e-12 && (e[1] - 3.0).abs() < 1e-12,
        "{e:?}"
    );
    // A diagonal matrix in a rotated basis: Q diag(1, 2, 5) Q^T, trace and spectrum kept.
    let (c, s) = (0.6f64, 0.8f64);
    let q = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
    let dvals = [1.0, 2.0, 5.0];
    let mut a = vec![0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            a[i * 3 + j] = (0..3).map(|t| q[i * 3 + t] * dvals[t] * q[j * 3 + t]).sum();
        }
    }
    let mut e = symmetric_eigenvalues(&a, 3);
    e.sort_by(|a, b| a.total_cmp(b));
    for (g, w) in e.iter().zip(dvals) {
        assert!((g - w).abs() < 1e-10, "{e:?}");
    }
}

#[test]
fn theory_rows_pass() {
    let rows = theory_rows();
    assert_eq!(rows.len(), 4 + SREC_MEASUREMENTS.len() + 2);
    for r in &rows {
        assert!(r.pass(), "{r:?}");
    }
}

#[test]
fn ric_shrinks_with_more_measurements() {
    let (d1, _, _) = empirical_ric(50, 200, 5, 200, 9).unwrap();
    let (d2, _, _) = empirical_ric(400, 200, 5, 200, 9).unwrap();
    // Marchenko-Pastur: delta ~ 2 sqrt(k/m) for one support; 8x the measurements at
    // least halves it.
    assert!(d2 < 0.5 * d1, "{d1} -> {d2}");
    assert!(empirical_ric(10, 20, 0, 5, 0).is_err());
}

#[test]
fn srec_ratio_concentrates_as_m_grows() {
    let g = FixedGenerator::new(4, 16, 60, 1);
    let spread = |m: usize| {
        let (lo, mean, hi) = srec_ratios(&g, m, 200, 2).unwrap();
        assert!(lo > 0.0 && lo <= mean && mean <= hi, "{lo} {mean} {hi}");
        (hi - lo, (mean - 1.0).abs(), lo)
    };
    let (s_small, _, lo_small) = spread(10);
    let (s_large, bias_large, lo_large) = spread(640);
    // 64x the measurements: the 1/sqrt(2m) spread falls 8x; demand 4x.
    assert!(s_large < s_small / 4.0, "{s_small} -> {s_large}");
    assert!(lo_large > lo_small, "{lo_small} -> {lo_large}");
    // E sqrt(chi^2_m / m) = 1 - 1/(4m) + ...; the pairs share one A, so allow the mean
    // 5 standard deviations 1/sqrt(2m) of a single ratio.
    assert!(bias_large < 5.0 / (2.0 * 640f64).sqrt(), "{bias_large}");
    assert!(srec_ratios(&g, 0, 10, 0).is_err());
}
