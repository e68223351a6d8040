//! Rejection, sequential conditional inversion, transformed densities, sphere maps, Monte
//! Carlo and importance sampling, batched tensor sampling and the theory rows.

use candle_core::Device;
use gm_core::GmRng;
use gm_sampling::conditional::{bivariate_normal, simplex3};
use gm_sampling::manifold::*;
use gm_sampling::monte_carlo::*;
use gm_sampling::special::std_normal_cdf;
use gm_sampling::stats::{chi_square_test, histogram, ks_critical, ks_statistic};
use gm_sampling::transform::{
    chi_square1_pdf, cubic_of_uniform, polar_to_cartesian, square_of_normal,
};
use gm_sampling::*;

const PI: f64 = std::f64::consts::PI;
const Z_999: f64 = 3.290_526_731_491_926;

#[test]
fn rejection_normal_from_cauchy_is_exact_with_rate_z_over_l() {
    let bound = 2.0 * PI * (-0.5f64).exp();
    let rej = Rejection::new(
        |x: &f64| (-0.5 * x * x).exp(),
        Cauchy::new(0.0, 1.0).unwrap(),
        bound,
    )
    .unwrap();
    let mut rng = GmRng::new(7);
    let n = 20_000;
    let mut run = rej.sample_n(n, &mut rng).unwrap();
    let p = rej.expected_acceptance((2.0 * PI).sqrt());
    let se = run.acceptance_std_error(p);
    println!(
        "rejection: rate {:.5} vs 1/L-type {:.5} (SE {:.5}), max f/h {:.5} <= L {:.5}",
        run.acceptance_rate(),
        p,
        se,
        run.max_ratio,
        bound
    );
    assert!((run.acceptance_rate() - p).abs() < Z_999 * se);
    assert!(run.max_ratio <= bound);
    let d = ks_statistic(&mut run.samples, std_normal_cdf);
    println!(
        "rejection KS D = {d:.5}, critical(0.01) = {:.5}",
        ks_critical(n, 0.01)
    );
    assert!(d < ks_critical(n, 0.01));
}

#[test]
fn violated_bound_is_an_error() {
    // sup f/h is 3.81 here; L = 2 is too small and must be detected, not silently biased.
    let rej = Rejection::new(
        |x: &f64| (-0.5 * x * x).exp(),
        Cauchy::new(0.0, 1.0).unwrap(),
        2.0,
    )
    .unwrap();
    let r = rej.sample_n(1000, &mut GmRng::new(1));
    assert!(matches!(r, Err(Error::BoundViolated { .. })), "{r:?}");
}

#[test]
fn rejection_bound_must_be_positive() {
    let r = Rejection::new(|x: &f64| *x, Cauchy::new(0.0, 1.0).unwrap(), 0.0);
    assert!(matches!(r, Err(Error::BoundNotPositive(_))));
}

#[test]
fn rejection_vector_valued_unit_disc() {
    // Uniform on the unit disc from the uniform square [-1,1]^2: f = 1/pi inside, h = 1/4,
    // L = 4/pi, acceptance pi/4; the radius squared of a uniform disc point is Uniform(0, 1).
    let target = |x: &Vec<f64>| {
        if x[0] * x[0] + x[1] * x[1] <= 1.0 {
            1.0 / PI
        } else {
            0.0
        }
    };
    let boxp = UniformBox::new(vec![-1.0, -1.0], vec![1.0, 1.0]).unwrap();
    let rej = Rejection::new(target, boxp, 4.0 / PI).unwrap();
    let n = 20_000;
    let run = rej.sample_n(n, &mut GmRng::new(9)).unwrap();
    let p = PI / 4.0;
    assert!((run.acceptance_rate() - p).abs() < Z_999 * run.acceptance_std_error(p));
    let mut r2: Vec<f64> = run
        .samples
        .iter()
        .map(|x| x[0] * x[0] + x[1] * x[1])
        .collect();
    let d = ks_statistic(&mut r2, |t| t.clamp(0.0, 1.0));
    assert!(d < ks_critical(n, 0.01), "D = {d}");
}

#[test]
fn bivariate_normal_by_conditional_inversion() {
    let rho = 0.8;
    let s = bivariate_normal(rho).unwrap();
    let n = 20_000;
    let xs = s.sample_n(n, &mut GmRng::new(21)).unwrap();
    // X2 marginal is N(0,1) and X1 + X2 ~ N(0, 2 + 2 rho): both test the joint law.
    let mut x2: Vec<f64> = xs.iter().map(|x| x[1]).collect();
    let mut sum: Vec<f64> = xs.iter().map(|x| x[0] + x[1]).collect();
    let crit = ks_critical(n, 0.01);
    let d2 = ks_statistic(&mut x2, std_normal_cdf);
    let ds = ks_statistic(&mut sum, |v| std_normal_cdf(v / (2.0 + 2.0 * rho).sqrt()));
    println!("bivariate normal: KS x2 {d2:.5}, KS x1+x2 {ds:.5}, critical {crit:.5}");
    assert!(d2 < crit && ds < crit);
    assert!(matches!(
        bivariate_normal(1.0),
        Err(Error::CorrelationOutOfRange(_))
    ));
}

#[test]
fn simplex_by_conditional_inversion_quantile_pdf_and_cdf() {
    let s = simplex3();
    let n = 4000;
    let xs = s.sample_n(n, &mut GmRng::new(22)).unwrap();
    let crit = ks_critical(n, 0.01);
    // Uniform on the 3-simplex: P(x1 + x2 + x3 <= t) = t^3, and every marginal is Beta(1, 3).
    let mut sum: Vec<f64> = xs.iter().map(|x| x[0] + x[1] + x[2]).collect();
    let mut x2: Vec<f64> = xs.iter().map(|x| x[1]).collect();
    let mut x3: Vec<f64> = xs.iter().map(|x| x[2]).collect();
    let beta13 = |t: f64| 1.0 - (1.0 - t.clamp(0.0, 1.0)).powi(3);
    let ds = ks_statistic(&mut sum, |t| t.clamp(0.0, 1.0).powi(3));
    let d2 = ks_statistic(&mut x2, beta13);
    let d3 = ks_statistic(&mut x3, beta13);
    println!("simplex: KS sum {ds:.5}, x2 {d2:.5}, x3 {d3:.5}, critical {crit:.5}");
    assert!(ds < crit && d2 < crit && d3 < crit);
    assert!(xs
        .iter()
        .all(|x| x.iter().all(|v| *v >= 0.0) && x.iter().sum::<f64>() <= 1.0 + 1e-12));
}

#[test]
fn square_of_normal_is_chi_square_1() {
    let t = square_of_normal().unwrap();
    for x in [0.01, 0.3, 1.0, 2.5, 7.0] {
        let p = t.density(x);
        assert!(
            (p - chi_square1_pdf(x)).abs() < 1e-7 * chi_square1_pdf(x),
            "x = {x}: {p}"
        );
        assert_eq!(t.roots(x).len(), 2);
    }
    let total = t.total_probability(100);
    println!("Z^2 density integral = {total:.10}");
    assert!((total - 1.0).abs() < 1e-6);
}

#[test]
fn cubic_has_three_roots_integrates_to_one_and_matches_histogram() {
    let t = cubic_of_uniform().unwrap();
    let cps = t.critical_points();
    assert_eq!(cps.len(), 2);
    assert!(
        (cps[0] + 1.0).abs() < 1e-6 && (cps[1] - 1.0).abs() < 1e-6,
        "{cps:?}"
    );
    assert_eq!(t.roots(0.5).len(), 3);
    assert_eq!(t.roots(3.0).len(), 1);
    let total = t.total_probability(100);
    println!("z^3 - 3z density integral = {total:.10}");
    assert!((total - 1.0).abs() < 1e-6);
    let n = 20_000;
    let mut rng = GmRng::new(31);
    let xs: Vec<f64> = (0..n)
        .map(|_| t.apply(-2.5 + 5.0 * open_unit(&mut rng)))
        .collect();
    let edges: Vec<f64> = (0..=30).map(|k| -4.0 + 8.0 * k as f64 / 30.0).collect();
    let mut counts = histogram(&xs, &edges);
    let mut probs: Vec<f64> = edges
        .windows(2)
        .map(|w| t.probability(w[0], w[1], 40))
        .collect();
    counts.push(n as u64 - counts.iter().sum::<u64>());
    probs.push(1.0 - probs.iter().sum::<f64>());
    let c = chi_square_test(&counts, &probs).unwrap();
    println!(
        "cubic chi-square {:.2} on {} dof, p = {:.4}",
        c.statistic, c.dof, c.p_value
    );
    assert!(c.p_value > 0.001);
    // Power: a wrong density (ignoring all but one root) is rejected.
    let wrong: Vec<f64> = edges
        .windows(2)
        .map(|w| {
            let m = 0.5 * (w[0] + w[1]);
            let z = t.roots(m).last().copied().unwrap_or(0.0);
            0.2 / (3.0 * z * z - 3.0).abs().max(1e-3) * (w[1] - w[0])
        })
        .collect();
    let mut wp = wrong.clone();
    wp.push(probs[probs.len() - 1]);
    let cw = chi_square_test(&counts, &wp).unwrap();
    assert!(cw.p_value < 1e-6);
}

#[test]
fn polar_to_cartesian_jacobian_gives_gaussian() {
    let t = polar_to_cartesian();
    for x in [[0.3, -0.2], [1.5, 2.0], [-2.0, -0.7]] {
        let p = t.density(&x).unwrap();
        let exact = (-0.5 * (x[0] * x[0] + x[1] * x[1])).exp() / (2.0 * PI);
        assert!(
            (p - exact).abs() < 1e-8 * exact.max(1e-3),
            "{x:?}: {p} vs {exact}"
        );
    }
    let (x, p) = t.density_at_preimage(&[1.0, 0.5]).unwrap();
    assert!((x[0] - 0.5f64.cos()).abs() < 1e-15);
    assert!((p - (-0.5f64).exp() / (2.0 * PI)).abs() < 1e-8);
}

#[test]
fn naive_sphere_map_is_not_uniform() {
    let n = 20_000;
    let mut rng = GmRng::new(41);
    let naive: Vec<[f64; 3]> = (0..n)
        .map(|_| sphere_naive(open_unit(&mut rng), open_unit(&mut rng), 2.0))
        .collect();
    let uniform: Vec<[f64; 3]> = (0..n)
        .map(|_| sphere_uniform(open_unit(&mut rng), open_unit(&mut rng), 2.0))
        .collect();
    assert!(naive
        .iter()
        .chain(&uniform)
        .all(|p| ((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - 2.0).abs() < 1e-12));
    let c = 0.9;
    let fn_ = polar_cap_fraction(&naive, 2.0, c);
    let fu = polar_cap_fraction(&uniform, 2.0, c);
    println!(
        "caps |cos| > 0.9: naive {fn_:.4} (theory {:.4}), uniform {fu:.4} (area {:.4})",
        polar_cap_naive_probability(c),
        polar_cap_area_fraction(c)
    );
    let se = |p: f64| (p * (1.0 - p) / n as f64).sqrt();
    assert!(
        (fn_ - polar_cap_naive_probability(c)).abs() < Z_999 * se(polar_cap_naive_probability(c))
    );
    assert!((fu - polar_cap_area_fraction(c)).abs() < Z_999 * se(0.1));
    let hn = height_uniformity(&naive, 2.0, 20).unwrap();
    let hu = height_uniformity(&uniform, 2.0, 20).unwrap();
    println!(
        "height chi-square: naive {:.1} (p {:.2e}), uniform {:.1} (p {:.3})",
        hn.statistic, hn.p_value, hu.statistic, hu.p_value
    );
    assert!(hn.p_value < 1e-10);
    assert!(hu.p_value > 0.001);
}

#[test]
fn monte_carlo_and_importance_sampling() {
    let mut rng = GmRng::new(51);
    let n = 20_000;
    // E[X^2] = 1 for X ~ N(0,1).
    let xs = Normal::standard().sample_n(n, &mut rng);
    let v: Vec<f64> = xs.iter().map(|x| x * x).collect();
    let est = monte_carlo(&v).unwrap();
    let (lo, hi) = est.confidence_interval(0.999).unwrap();
    assert!(lo < 1.0 && 1.0 < hi, "{est:?}");
    assert!((est.std_error - (2.0 / n as f64).sqrt()).abs() < 0.1 * (2.0 / n as f64).sqrt());
    // P(X > 3) under N(0,1) by importance sampling from N(3, 1).
    let q = Normal::new(3.0, 1.0).unwrap();
    let p = Normal::standard();
    let ys = q.sample_n(n, &mut rng);
    let w: Vec<f64> = ys.iter().map(|y| p.pdf(*y) / q.pdf(*y)).collect();
    let f: Vec<f64> = ys
        .iter()
        .map(|y| if *y > 3.0 { 1.0 } else { 0.0 })
        .collect();
    let truth = p.sf(3.0);
    let is = importance_sampling(&f, &w).unwrap();
    assert!(
        (is.mean - truth).abs() < Z_999 * is.std_error,
        "{is:?} vs {truth}"
    );
    assert!(is.std_error < 0.05 * truth);
    // Self-normalized with an unnormalized target (2.5 p): E_p[X] = 0.
    let w2: Vec<f64> = w.iter().map(|w| 2.5 * w).collect();
    let snis = self_normalized_importance_sampling(&ys, &w2).unwrap();
    assert!(snis.mean.abs() < Z_999 * snis.std_error, "{snis:?}");
    // ESS: equal weights give n; the N(3,1) proposal for N(0,1) gives n / e^9 in expectation.
    assert!((effective_sample_size(&[1.0; 10]) - 10.0).abs() < 1e-12);
    println!(
        "IS: estimate {:.3e} +- {:.1e} (truth {truth:.3e}), ESS {:.1} of {n}",
        is.mean, is.std_error, is.ess
    );
    assert!(is.ess < 0.01 * n as f64);
    assert!(matches!(
        importance_sampling(&[1.0, 2.0], &[0.0, 0.0]),
        Err(Error::DegenerateWeights(_))
    ));
    assert!(matches!(
        est.confidence_interval(1.0),
        Err(Error::InvalidLevel(_))
    ));
}

#[test]
fn batched_tensor_inversion_matches_exact_cdfs() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let n = 100_000;
    let mut rng = GmRng::new(61);
    let crit = ks_critical(n, 0.001);
    macro_rules! check {
        ($name:expr, $d:expr) => {{
            let d = $d;
            let t = d.sample_tensor(n, &mut rng, &dev)?;
            let mut xs: Vec<f64> = t.to_vec1::<f32>()?.into_iter().map(f64::from).collect();
            assert!(xs.iter().all(|x| x.is_finite()), "{}", $name);
            let stat = ks_statistic(&mut xs, |x| d.cdf(x));
            println!(
                "batched {}: KS D = {stat:.5}, critical(0.001) = {crit:.5}",
                $name
            );
            assert!(stat < crit, "{}: {stat}", $name);
        }};
    }
    check!("normal(1, 2)", Normal::new(1.0, 2.0)?);
    check!("exponential(3)", Exponential::new(3.0)?);
    check!("cauchy", Cauchy::new(0.0, 1.0)?);
    check!("laplace", Laplace::new(0.5, 1.5)?);
    check!("logistic", Logistic::new(0.0, 1.0)?);
    check!("weibull", Weibull::new(2.0, 1.0)?);
    check!("pareto", Pareto::new(1.0, 2.0)?);
    check!("rayleigh", Rayleigh::new(1.0)?);
    check!("uniform", Uniform::new(-1.0, 2.0)?);
    // The tensor normal quantile agrees with the f64 AS 241 one to f32 precision.
    let u = candle_core::Tensor::new(&[1e-6f32, 0.01, 0.3, 0.5, 0.9, 0.999_99], &dev)?;
    let z = Normal::standard().quantile_tensor(&u)?.to_vec1::<f32>()?;
    for (ui, zi) in u.to_vec1::<f32>()?.iter().zip(&z) {
        let want = Normal::standard().quantile(*ui as f64);
        assert!(
            (*zi as f64 - want).abs() < 1e-5 * want.abs().max(1.0),
            "{ui}: {zi} vs {want}"
        );
    }
    // Seeded: the same seed gives the same tensor.
    let a = Normal::standard()
        .sample_tensor(8, &mut GmRng::new(1), &dev)?
        .to_vec1::<f32>()?;
    let b = Normal::standard()
        .sample_tensor(8, &mut GmRng::new(1), &dev)?
        .to_vec1::<f32>()?;
    assert_eq!(a, b);
    Ok(())
}

#[test]
fn theory_rows_all_pass() {
    let t0 = std::time::Instant::now();
    let rows = theory_rows();
    println!("{}", gm_core::theory::markdown_table(&rows));
    println!("theory rows in {:.2?}", t0.elapsed());
    assert!(rows.len() >= 10);
    for r in &rows {
        assert!(r.pass(), "{r:?}");
    }
}
