//! Numerical inversion: u-error below the requested resolution for several densities, setup
//! cost in pdf evaluations, and errors for bad densities.

use gm_core::GmRng;
use gm_sampling::special::std_normal_cdf;
use gm_sampling::stats::{ks_critical, ks_statistic};
use gm_sampling::{Error, NumericalInversion, Univariate};

const PI: f64 = std::f64::consts::PI;

fn report(name: &str, ni: &NumericalInversion) -> gm_sampling::UError {
    let u = ni.u_error(20_000).unwrap();
    println!(
        "{name}: u_error max {:.3e} mean {:.3e} (exact cdf: {}), setup pdf evals {}, intervals {}, cut {:?}",
        u.max,
        u.mean,
        u.exact_cdf,
        ni.setup_pdf_evaluations(),
        ni.intervals(),
        ni.cut_off()
    );
    u
}

#[test]
fn standard_normal_reaches_1e_10() {
    let ni = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .cdf(std_normal_cdf)
        .build()
        .unwrap();
    let u = report("normal", &ni);
    assert!(u.max < 1e-10, "{u:?}");
    assert!(u.exact_cdf);
    // The setup's count is a real count: well above zero, far below a brute-force table.
    assert!(ni.setup_pdf_evaluations() > 100 && ni.setup_pdf_evaluations() < 100_000);
    // Normalization: the area of e^{-x^2/2} is sqrt(2 pi).
    assert!((ni.area() - (2.0 * PI).sqrt()).abs() < 1e-9);
}

#[test]
fn gamma_like_density_reaches_1e_10() {
    // f(x) = x^2 e^{-x} / 2 on [0, inf): Gamma(3), F(x) = 1 - e^{-x}(1 + x + x^2/2).
    let ni = NumericalInversion::builder(|x: f64| 0.5 * x * x * (-x).exp())
        .domain(0.0, f64::INFINITY)
        .center(2.0)
        .cdf(|x: f64| {
            if x <= 0.0 {
                0.0
            } else {
                -(-x).exp_m1() - (-x).exp() * (x + 0.5 * x * x)
            }
        })
        .build()
        .unwrap();
    let u = report("gamma(3)", &ni);
    assert!(u.max < 1e-10, "{u:?}");
}

#[test]
fn bimodal_mixture_reaches_1e_10() {
    // 0.3 N(-3, 1) + 0.7 N(2, 0.5^2).
    let pdf = |x: f64| {
        0.3 * (-0.5 * (x + 3.0).powi(2)).exp() / (2.0 * PI).sqrt()
            + 0.7 * (-0.5 * ((x - 2.0) / 0.5).powi(2)).exp() / (0.5 * (2.0 * PI).sqrt())
    };
    let cdf = |x: f64| 0.3 * std_normal_cdf(x + 3.0) + 0.7 * std_normal_cdf((x - 2.0) / 0.5);
    let ni = NumericalInversion::builder(pdf).cdf(cdf).build().unwrap();
    let u = report("bimodal", &ni);
    assert!(u.max < 1e-10, "{u:?}");
}

#[test]
fn heavy_tails_reach_1e_10() {
    let cauchy = NumericalInversion::builder(|x: f64| 1.0 / (PI * (1.0 + x * x)))
        .cdf(|x: f64| 0.5 + x.atan() / PI)
        .build()
        .unwrap();
    let u = report("cauchy", &cauchy);
    assert!(u.max < 1e-10, "{u:?}");
    // Student t with 3 degrees of freedom (unnormalized density).
    let t3 = NumericalInversion::builder(|x: f64| (1.0 + x * x / 3.0).powi(-2))
        .cdf(|t: f64| {
            let s = 3f64.sqrt();
            0.5 + (t / (s * (1.0 + t * t / 3.0)) + (t / s).atan()) / PI
        })
        .build()
        .unwrap();
    let u = report("student t3", &t3);
    assert!(u.max < 1e-10, "{u:?}");
}

#[test]
fn coarser_resolution_costs_fewer_evaluations() {
    let fine = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .build()
        .unwrap();
    let coarse = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .u_resolution(1e-6)
        .cdf(std_normal_cdf)
        .build()
        .unwrap();
    let u = report("normal at 1e-6", &coarse);
    assert!(u.max < 1e-6);
    assert!(coarse.setup_pdf_evaluations() < fine.setup_pdf_evaluations());
    // Without a CDF the u-error is measured by quadrature of the pdf.
    let q = fine.u_error(2000).unwrap();
    assert!(!q.exact_cdf && q.max < 1e-10, "{q:?}");
}

#[test]
fn samples_pass_ks_against_exact_cdf() {
    let ni = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .build()
        .unwrap();
    let mut rng = GmRng::new(11);
    let n = 50_000;
    let mut xs = ni.sample_n(n, &mut rng);
    let d = ks_statistic(&mut xs, std_normal_cdf);
    println!(
        "pinv normal KS D = {d:.5}, critical(0.01) = {:.5}",
        ks_critical(n, 0.01)
    );
    assert!(d < ks_critical(n, 0.01));
    // Same seed, same draws as closed-form inversion up to the u-resolution.
    let mut a = GmRng::new(5);
    let mut b = GmRng::new(5);
    let normal = gm_sampling::Normal::standard();
    for _ in 0..1000 {
        let x = ni.sample(&mut a);
        let y = normal.sample(&mut b);
        assert!((std_normal_cdf(x) - std_normal_cdf(y)).abs() < 1e-10);
    }
}

#[test]
fn negative_density_is_an_error() {
    let r = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp() - 0.01).build();
    assert!(matches!(r, Err(Error::NegativeDensity { .. })), "{r:?}");
}

#[test]
fn nan_density_is_an_error() {
    let r = NumericalInversion::builder(|x: f64| if x > 3.0 { f64::NAN } else { (-x * x).exp() })
        .build();
    assert!(matches!(r, Err(Error::NonFiniteDensity { .. })), "{r:?}");
}

#[test]
fn non_integrable_tail_is_an_error() {
    let r = NumericalInversion::builder(|x: f64| 1.0 / (1.0 + x.abs())).build();
    assert!(matches!(r, Err(Error::NonIntegrableTail { .. })), "{r:?}");
}

#[test]
fn zero_density_is_not_normalizable() {
    let r = NumericalInversion::builder(|_x: f64| 0.0).build();
    assert!(matches!(r, Err(Error::ZeroAtCentre(_))), "{r:?}");
}

#[test]
fn bad_resolution_is_an_error() {
    let r = NumericalInversion::builder(|x: f64| (-x * x).exp())
        .u_resolution(0.5)
        .build();
    assert!(matches!(r, Err(Error::InvalidResolution(_))), "{r:?}");
}
