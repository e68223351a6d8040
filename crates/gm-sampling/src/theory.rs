//! The crate's rows of `cargo xtask reproduce theory`: each classical theorem of sampling
//! checked numerically with a tolerance derived from the sample size (KS critical value at
//! alpha = 0.01, chi-square critical value at alpha = 0.001, 3.29 binomial standard errors).

use gm_core::theory::TheoryRow;
use gm_core::GmRng;

use crate::manifold::{
    polar_cap_area_fraction, polar_cap_fraction, polar_cap_naive_probability, sphere_naive,
    sphere_uniform,
};
use crate::pinv::NumericalInversion;
use crate::rejection::Rejection;
use crate::roots::solve_bracketed;
use crate::special::std_normal_cdf;
use crate::special::std_normal_pdf;
use crate::stats::{chi_square_sf, chi_square_test, histogram, ks_critical, ks_statistic};
use crate::transform::{
    abs_of_normal, chi_square1_pdf, cubic_of_uniform, half_normal_pdf, polar_to_cartesian,
    square_first_of_normal, BranchedVectorTransform,
};
use crate::univariate::{open_unit, Cauchy, Exponential, Normal, Univariate};

const AREA: &str = "gm-sampling";
/// Two-sided 0.001 normal quantile, for binomial tolerances.
const Z_999: f64 = 3.290_526_731_491_926;

/// The chi-square critical value with P(chi2_dof > c) = alpha.
pub(crate) fn chi_square_critical(dof: usize, alpha: f64) -> f64 {
    solve_bracketed(
        |x| chi_square_sf(x, dof) - alpha,
        0.0,
        20.0 * dof as f64 + 100.0,
        1e-10,
    )
    .unwrap_or(f64::NAN)
}

fn ks_row(statement: &str, samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> TheoryRow {
    let n = samples.len();
    let d = ks_statistic(samples, cdf);
    TheoryRow::new(AREA, statement, d, 0.0, ks_critical(n, 0.01))
}

fn failed(statement: &str, e: impl std::fmt::Display) -> TheoryRow {
    TheoryRow::new(
        AREA,
        format!("{statement} (error: {e})"),
        f64::NAN,
        0.0,
        0.0,
    )
}

/// A two-dimensional several-roots example: the transform, its closed-form density, the grid
/// the closed form is compared on, the box holding all but a negligible mass, and the cell
/// edges of the chi-square test.
pub(crate) struct BranchedExample {
    pub name: &'static str,
    pub transform: BranchedVectorTransform,
    pub closed_form: fn(&[f64]) -> f64,
    pub grid: [Vec<f64>; 2],
    pub mass_box: ([f64; 2], [f64; 2]),
    pub edges: Vec<Vec<f64>>,
}

/// (z1^2, z2) and (|z1|, |z2|) of Z ~ N(0, I_2).
pub(crate) fn branched_examples() -> [BranchedExample; 2] {
    let grid = |lo: f64, hi: f64, n: usize| -> Vec<f64> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    };
    let abs_edges = vec![0.0, 0.15, 0.35, 0.6, 0.9, 1.3, 1.8, 2.5];
    [
        BranchedExample {
            name: "(z1^2, z2): chi-square(1) x N(0,1)",
            transform: square_first_of_normal(),
            closed_form: |y| chi_square1_pdf(y[0]) * std_normal_pdf(y[1]),
            grid: [grid(0.01, 6.0, 60), grid(-4.0, 4.0, 41)],
            mass_box: ([0.0, -12.0], [80.0, 12.0]),
            edges: vec![
                vec![0.0, 0.02, 0.1, 0.25, 0.5, 1.0, 1.7, 2.7, 4.5],
                vec![-2.0, -1.0, -0.4, 0.4, 1.0, 2.0],
            ],
        },
        BranchedExample {
            name: "(|z1|, |z2|): half-normal x half-normal",
            transform: abs_of_normal(),
            closed_form: |y| half_normal_pdf(y[0]) * half_normal_pdf(y[1]),
            grid: [grid(0.0, 4.0, 41), grid(0.0, 4.0, 41)],
            mass_box: ([0.0, 0.0], [12.0, 12.0]),
            edges: vec![abs_edges.clone(), abs_edges],
        },
    ]
}

impl BranchedExample {
    /// max |p_Y - closed form| / closed form over the grid.
    pub fn max_relative_error(&self) -> crate::Result<f64> {
        let mut worst: f64 = 0.0;
        for &a in &self.grid[0] {
            for &b in &self.grid[1] {
                let y = [a, b];
                let exact = (self.closed_form)(&y);
                let p = self.transform.density(&y)?;
                worst = worst.max((p - exact).abs() / exact);
            }
        }
        Ok(worst)
    }

    /// int p_Y over the mass box (60 Gauss-Legendre panels per axis).
    pub fn total_probability(&self) -> crate::Result<f64> {
        let (lo, hi) = self.mass_box;
        self.transform.probability_box(&lo, &hi, 60)
    }

    /// Samples Y = G(Z), Z ~ N(0, I_2) drawn by inversion from `rng`.
    pub fn sample(&self, n: usize, rng: &mut GmRng) -> crate::Result<Vec<Vec<f64>>> {
        let normal = Normal::standard();
        (0..n)
            .map(|_| {
                let z = [normal.sample(rng), normal.sample(rng)];
                self.transform.apply(&z)
            })
            .collect()
    }
}

fn branched_rows(rows: &mut Vec<TheoryRow>, rng: &mut GmRng) {
    let st = "several roots in 2-D: p_Y(y) = sum_k p_Z(g_k^-1 y) |det J_{g_k^-1}(y)|";
    for ex in branched_examples() {
        match ex.max_relative_error() {
            Ok(e) => rows.push(TheoryRow::new(
                AREA,
                format!(
                    "{st}, {}: max relative error vs closed form on a {}x{} grid",
                    ex.name,
                    ex.grid[0].len(),
                    ex.grid[1].len()
                ),
                e,
                0.0,
                1e-10,
            )),
            Err(e) => rows.push(failed(st, e)),
        }
        match ex.total_probability() {
            Ok(t) => rows.push(TheoryRow::new(
                AREA,
                format!("{st}, {}: integral of p_Y (Gauss-Legendre)", ex.name),
                t,
                1.0,
                1e-9,
            )),
            Err(e) => rows.push(failed(st, e)),
        }
        let n = 20_000;
        let fit = ex
            .sample(n, rng)
            .and_then(|ys| ex.transform.goodness_of_fit(&ys, &ex.edges, 4));
        match fit {
            Ok(c) => {
                let crit = chi_square_critical(c.dof, 0.001);
                rows.push(TheoryRow::new(
                    AREA,
                    format!(
                        "{st}, {}: chi-square of G(Z) on {} cells vs p_Y, n = {n}, crit at 0.001",
                        ex.name,
                        c.dof + 1
                    ),
                    c.statistic,
                    c.dof as f64,
                    crit - c.dof as f64,
                ));
            }
            Err(e) => rows.push(failed(st, e)),
        }
    }
}

/// One row per theorem; runs in well under a few seconds.
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    let n = 20_000;

    // Inverse-CDF theorem.
    let mut rng = GmRng::new(1);
    let normal = Normal::standard();
    let mut xs = normal.sample_n(n, &mut rng);
    rows.push(ks_row(
        "inverse CDF: KS of Phi^-1(U) (AS 241) vs Phi, n = 20000",
        &mut xs,
        |x| normal.cdf(x),
    ));
    if let Ok(e) = Exponential::new(2.0) {
        let mut xs = e.sample_n(n, &mut rng);
        rows.push(ks_row(
            "inverse CDF: KS of -ln(1-U)/2 vs Exp(2) CDF, n = 20000",
            &mut xs,
            |x| e.cdf(x),
        ));
    }

    // Rejection: unnormalized f = e^{-x^2/2} under a Cauchy proposal, L = 2 pi e^{-1/2}.
    let st = "rejection: N(0,1) from Cauchy proposal";
    let bound = 2.0 * std::f64::consts::PI * (-0.5f64).exp();
    let target = |x: &f64| (-0.5 * x * x).exp();
    match Cauchy::new(0.0, 1.0).and_then(|c| Rejection::new(target, c, bound)) {
        Ok(rej) => match rej.sample_n(n, &mut rng) {
            Ok(mut run) => {
                let z = (2.0 * std::f64::consts::PI).sqrt();
                let p = rej.expected_acceptance(z);
                let rate = run.acceptance_rate();
                let se = run.acceptance_std_error(p);
                rows.push(ks_row(
                    &format!("{st}: KS of accepted draws vs Phi, n = 20000"),
                    &mut run.samples,
                    std_normal_cdf,
                ));
                rows.push(TheoryRow::new(
                    AREA,
                    format!("{st}: acceptance rate vs Z/L (tol 3.29 binomial SE)"),
                    rate,
                    p,
                    Z_999 * se,
                ));
            }
            Err(e) => rows.push(failed(st, e)),
        },
        Err(e) => rows.push(failed(st, e)),
    }

    // Several roots: X = Z^3 - 3Z, Z ~ U(-2.5, 2.5).
    let st = "several roots: p_X = sum p_Z(z_i)/|G'(z_i)| for G = z^3 - 3z";
    match cubic_of_uniform() {
        Ok(t) => {
            rows.push(TheoryRow::new(
                AREA,
                format!("{st}: integral of p_X"),
                t.total_probability(100),
                1.0,
                1e-6,
            ));
            let m = 20_000;
            let xs: Vec<f64> = (0..m)
                .map(|_| t.apply(-2.5 + 5.0 * open_unit(&mut rng)))
                .collect();
            let edges: Vec<f64> = (0..=20).map(|k| -2.0 + 0.2 * k as f64).collect();
            let mut counts = histogram(&xs, &edges);
            let inside: u64 = counts.iter().sum();
            let mut probs: Vec<f64> = edges
                .windows(2)
                .map(|w| t.probability(w[0], w[1], 40))
                .collect();
            // Outside [-2, 2] as one extra bin.
            counts.push(m as u64 - inside);
            probs.push(1.0 - probs.iter().sum::<f64>());
            match chi_square_test(&counts, &probs) {
                Ok(c) => {
                    let crit = chi_square_critical(c.dof, 0.001);
                    rows.push(TheoryRow::new(
                        AREA,
                        format!(
                            "{st}: chi-square of G(Z) histogram (21 bins) vs p_X, crit at 0.001"
                        ),
                        c.statistic,
                        c.dof as f64,
                        crit - c.dof as f64,
                    ));
                }
                Err(e) => rows.push(failed(st, e)),
            }
        }
        Err(e) => rows.push(failed(st, e)),
    }
    // Its own seed, so that the rows after it keep their draws.
    branched_rows(&mut rows, &mut GmRng::new(2));

    // Jacobian: polar -> Cartesian gives N(0, I).
    let polar = polar_to_cartesian();
    let (k, lim) = (160usize, 8.0);
    let h = 2.0 * lim / k as f64;
    let mut integral = 0.0;
    let mut max_err: f64 = 0.0;
    for i in 0..k {
        for j in 0..k {
            let x = [-lim + (i as f64 + 0.5) * h, -lim + (j as f64 + 0.5) * h];
            let p = polar.density(&x).unwrap_or(f64::NAN);
            let exact = (-0.5 * (x[0] * x[0] + x[1] * x[1])).exp() / (2.0 * std::f64::consts::PI);
            integral += p * h * h;
            max_err = max_err.max((p - exact).abs());
        }
    }
    rows.push(TheoryRow::new(
        AREA,
        "Jacobian: polar->Cartesian density integrates to 1 on [-8,8]^2 (midpoint, 160^2)",
        integral,
        1.0,
        1e-6,
    ));
    rows.push(TheoryRow::new(
        AREA,
        "Jacobian: max |p_Z(G^-1 x)/|det J| - e^{-|x|^2/2}/(2 pi)| (finite differences)",
        max_err,
        0.0,
        1e-8,
    ));

    // Numerical inversion.
    let st = "numerical inversion: max u-error of N(0,1), resolution 1e-10";
    match NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .cdf(std_normal_cdf)
        .build()
    {
        Ok(ni) => match ni.u_error(10_000) {
            Ok(u) => rows.push(TheoryRow::new(
                AREA,
                format!("{st} ({} pdf evaluations)", ni.setup_pdf_evaluations()),
                u.max,
                0.0,
                1e-10,
            )),
            Err(e) => rows.push(failed(st, e)),
        },
        Err(e) => rows.push(failed(st, e)),
    }

    // Sphere maps.
    let c = 0.9;
    let naive: Vec<[f64; 3]> = (0..n)
        .map(|_| sphere_naive(open_unit(&mut rng), open_unit(&mut rng), 1.0))
        .collect();
    let uniform: Vec<[f64; 3]> = (0..n)
        .map(|_| sphere_uniform(open_unit(&mut rng), open_unit(&mut rng), 1.0))
        .collect();
    let p_naive = polar_cap_naive_probability(c);
    let p_area = polar_cap_area_fraction(c);
    rows.push(TheoryRow::new(
        AREA,
        "sphere, naive map theta = pi z1: fraction in caps |cos theta| > 0.9 (area fraction 0.1)",
        polar_cap_fraction(&naive, 1.0, c),
        p_naive,
        Z_999 * (p_naive * (1.0 - p_naive) / n as f64).sqrt(),
    ));
    rows.push(TheoryRow::new(
        AREA,
        "sphere, uniform map cos theta = 1 - 2 z1: fraction in caps |cos theta| > 0.9",
        polar_cap_fraction(&uniform, 1.0, c),
        p_area,
        Z_999 * (p_area * (1.0 - p_area) / n as f64).sqrt(),
    ));
    rows
}
