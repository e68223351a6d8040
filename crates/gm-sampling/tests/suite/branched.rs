//! Several roots in several dimensions: p_Y(y) = sum_k p_Z(g_k^{-1}(y)) |det J_{g_k^{-1}}(y)|
//! for (z1^2, z2) and (|z1|, |z2|) of Z ~ N(0, I_2), against their closed forms
//! (chi-square(1) x N(0, 1); half-normal x half-normal), their total mass, and samples.

use gm_core::GmRng;
use gm_sampling::roots::solve_bracketed;
use gm_sampling::special::std_normal_pdf;
use gm_sampling::stats::chi_square_sf;
use gm_sampling::transform::{
    abs_of_normal, chi_square1_pdf, half_normal_pdf, square_first_of_normal,
    BranchedVectorTransform, InverseBranch,
};
use gm_sampling::{Normal, Univariate};

fn normal2(z: &[f64]) -> f64 {
    std_normal_pdf(z[0]) * std_normal_pdf(z[1])
}

fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

fn max_relative_error(
    t: &BranchedVectorTransform,
    exact: impl Fn(&[f64]) -> f64,
    g1: &[f64],
    g2: &[f64],
) -> f64 {
    let mut worst: f64 = 0.0;
    for &a in g1 {
        for &b in g2 {
            let y = [a, b];
            let p = t.density(&y).unwrap();
            worst = worst.max((p - exact(&y)).abs() / exact(&y));
        }
    }
    worst
}

fn chi_square_exact(y: &[f64]) -> f64 {
    chi_square1_pdf(y[0]) * std_normal_pdf(y[1])
}

fn half_normals(y: &[f64]) -> f64 {
    half_normal_pdf(y[0]) * half_normal_pdf(y[1])
}

#[test]
fn square_first_density_is_chi_square_times_normal() {
    let t = square_first_of_normal();
    let (g1, g2) = (grid(0.001, 8.0, 80), grid(-5.0, 5.0, 41));
    let e = max_relative_error(&t, chi_square_exact, &g1, &g2);
    println!("(z1^2, z2): max relative error {e:.2e}");
    assert!(e < 1e-10, "{e}");
    // No mass where y1 <= 0.
    assert_eq!(t.density(&[-0.5, 0.0]).unwrap(), 0.0);
    assert_eq!(t.density(&[0.0, 0.0]).unwrap(), 0.0);
    // Only the +sqrt branch: half the density, so the sum over branches is what is tested.
    let one = BranchedVectorTransform::new(
        2,
        |z: &[f64]| vec![z[0] * z[0], z[1]],
        normal2,
        vec![InverseBranch::with_abs_det(
            |y: &[f64]| (y[0] > 0.0).then(|| vec![y[0].sqrt(), y[1]]),
            |y: &[f64]| 0.5 / y[0].sqrt(),
        )],
    )
    .unwrap();
    let e = max_relative_error(&one, chi_square_exact, &g1, &g2);
    assert!((e - 0.5).abs() < 1e-10, "{e}");
}

#[test]
fn abs_density_is_product_of_half_normals() {
    let t = abs_of_normal();
    let g = grid(0.0, 5.0, 51);
    let e = max_relative_error(&t, half_normals, &g, &g);
    println!("(|z1|, |z2|): max relative error {e:.2e}");
    assert!(e < 1e-10, "{e}");
    assert_eq!(t.density(&[-0.1, 0.3]).unwrap(), 0.0);
    assert_eq!(t.preimages(&[0.2, 0.3]).unwrap().len(), 4);
    assert_eq!(t.preimages(&[0.2, -0.3]).unwrap().len(), 0);
}

#[test]
fn finite_difference_jacobians_agree_with_closed_forms() {
    // The same maps with |det J| left to central differences of the inverse branches.
    let square = BranchedVectorTransform::new(
        2,
        |z: &[f64]| vec![z[0] * z[0], z[1]],
        normal2,
        [1.0, -1.0]
            .into_iter()
            .map(|s| {
                InverseBranch::new(move |y: &[f64]| {
                    (y[0] > 0.0).then(|| vec![s * y[0].sqrt(), y[1]])
                })
            })
            .collect(),
    )
    .unwrap();
    let e = max_relative_error(
        &square,
        chi_square_exact,
        &grid(0.05, 8.0, 40),
        &grid(-4.0, 4.0, 17),
    );
    println!("(z1^2, z2), finite differences: max relative error {e:.2e}");
    assert!(e < 1e-6, "{e}");
    let mut branches = Vec::new();
    for s1 in [1.0, -1.0] {
        for s2 in [1.0, -1.0] {
            branches.push(InverseBranch::new(move |y: &[f64]| {
                (y[0] >= 0.0 && y[1] >= 0.0).then(|| vec![s1 * y[0], s2 * y[1]])
            }));
        }
    }
    let abs = BranchedVectorTransform::new(
        2,
        |z: &[f64]| vec![z[0].abs(), z[1].abs()],
        normal2,
        branches,
    )
    .unwrap();
    // Includes y_i = 0, where the differences are one-sided.
    let e = max_relative_error(&abs, half_normals, &grid(0.0, 4.0, 21), &grid(0.0, 4.0, 21));
    assert!(e < 1e-6, "{e}");
}

#[test]
fn branched_densities_integrate_to_one() {
    let t = square_first_of_normal();
    let total = t.probability_box(&[0.0, -12.0], &[80.0, 12.0], 60).unwrap();
    println!("(z1^2, z2): integral {total:.15}");
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    // P(Y1 <= 1) = P(|Z1| <= 1) = 0.682689492137086 (erf(1/sqrt 2)), times P(|Y2| <= 1).
    let p = t.probability_box(&[0.0, -1.0], &[1.0, 1.0], 20).unwrap();
    let want = 0.682_689_492_137_086f64.powi(2);
    assert!((p - want).abs() < 1e-10, "{p} vs {want}");
    let t = abs_of_normal();
    let total = t.probability_box(&[0.0, 0.0], &[12.0, 12.0], 60).unwrap();
    println!("(|z1|, |z2|): integral {total:.15}");
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

fn critical(dof: usize, alpha: f64) -> f64 {
    solve_bracketed(
        |x| chi_square_sf(x, dof) - alpha,
        0.0,
        20.0 * dof as f64 + 100.0,
        1e-10,
    )
    .unwrap()
}

fn draws(n: usize, seed: u64, map: impl Fn(f64, f64) -> Vec<f64>) -> Vec<Vec<f64>> {
    let normal = Normal::standard();
    let mut rng = GmRng::new(seed);
    (0..n)
        .map(|_| {
            let (a, b) = (normal.sample(&mut rng), normal.sample(&mut rng));
            map(a, b)
        })
        .collect()
}

#[test]
fn samples_pass_chi_square_and_a_wrong_law_fails() {
    let n = 20_000;
    let square = square_first_of_normal();
    let edges = vec![
        vec![0.0, 0.02, 0.1, 0.25, 0.5, 1.0, 1.7, 2.7, 4.5],
        vec![-2.0, -1.0, -0.4, 0.4, 1.0, 2.0],
    ];
    let ys = draws(n, 11, |a, b| square.apply(&[a, b]).unwrap());
    let c = square.goodness_of_fit(&ys, &edges, 4).unwrap();
    let crit = critical(c.dof, 0.001);
    println!(
        "(z1^2, z2): X^2 = {:.2}, dof {}, crit {crit:.2}",
        c.statistic, c.dof
    );
    assert_eq!(c.dof, 40);
    assert!(c.statistic < crit);
    // 1.25 z1^2 is not chi-square(1): the same test must reject it (1.1 z1^2 gives X^2 = 69,
    // below the critical value at this n: the power of 41 cells is limited).
    let wrong = draws(n, 11, |a, b| vec![1.25 * a * a, b]);
    let c = square.goodness_of_fit(&wrong, &edges, 4).unwrap();
    println!("(1.25 z1^2, z2): X^2 = {:.2}", c.statistic);
    assert!(c.statistic > crit);

    let abs = abs_of_normal();
    let e = vec![0.0, 0.15, 0.35, 0.6, 0.9, 1.3, 1.8, 2.5];
    let edges = vec![e.clone(), e];
    let ys = draws(n, 12, |a, b| abs.apply(&[a, b]).unwrap());
    let c = abs.goodness_of_fit(&ys, &edges, 4).unwrap();
    let crit = critical(c.dof, 0.001);
    println!(
        "(|z1|, |z2|): X^2 = {:.2}, dof {}, crit {crit:.2}",
        c.statistic, c.dof
    );
    assert_eq!(c.dof, 49);
    assert!(c.statistic < crit);
    let wrong = draws(n, 12, |a, b| vec![a.abs(), 1.25 * b.abs()]);
    let c = abs.goodness_of_fit(&wrong, &edges, 4).unwrap();
    println!("(|z1|, 1.25 |z2|): X^2 = {:.2}", c.statistic);
    assert!(c.statistic > crit);
}

#[test]
fn bad_inputs_are_errors_naming_the_value() {
    let t = square_first_of_normal();
    let e = t.density(&[f64::NAN, 0.0]).unwrap_err().to_string();
    assert!(e.contains("coordinate 0") && e.contains("NaN"), "{e}");
    let e = t.density(&[1.0]).unwrap_err().to_string();
    assert!(e.contains("expected 2, got 1"), "{e}");
    let e = t.apply(&[0.0, f64::INFINITY]).unwrap_err().to_string();
    assert!(e.contains("inf"), "{e}");
    let e = t
        .probability_box(&[1.0, 0.0], &[0.5, 1.0], 4)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1, 0.5]"), "{e}");
    assert!(t.probability_box(&[0.0, 0.0], &[1.0, 1.0], 0).is_err());
    let e = t
        .goodness_of_fit(&[vec![0.5, 0.0]], &[vec![0.0, 1.0]], 4)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 2, got 1"), "{e}");
    let e = t
        .goodness_of_fit(&[vec![0.5, 0.0]], &[vec![0.0, 1.0], vec![2.0, 1.0]], 4)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[2, 1]"), "{e}");
    let none = BranchedVectorTransform::new(2, |z: &[f64]| z.to_vec(), normal2, Vec::new());
    assert!(none.unwrap_err().to_string().contains("inverse branches"));
    let zero = BranchedVectorTransform::new(
        0,
        |z: &[f64]| z.to_vec(),
        normal2,
        vec![InverseBranch::new(|y: &[f64]| Some(y.to_vec()))],
    );
    assert!(zero.unwrap_err().to_string().contains("dimension"));
    // A finite-difference branch asked for its Jacobian outside its image.
    let b = InverseBranch::new(|y: &[f64]| (y[0] > 0.0).then(|| y.to_vec()));
    let e = b.jacobian(&[-1.0, 0.0]).unwrap_err().to_string();
    assert!(e.contains("-1"), "{e}");
}
