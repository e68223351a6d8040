//! Closed-form distributions: one error per bad parameter, KS tests of inversion samples
//! against the exact CDF over a parameter grid, cdf/quantile consistency, value stability.

use gm_core::GmRng;
use gm_sampling::stats::{ks_critical, ks_statistic};
use gm_sampling::*;

/// KS at alpha = 0.001 (1.95 / sqrt(n)): many fixed-seed tests run, each must hold.
fn ks_check<D: Univariate>(name: &str, d: &D, seed: u64) {
    let n = 20_000;
    let mut rng = GmRng::new(seed);
    let mut xs = d.sample_n(n, &mut rng);
    let stat = ks_statistic(&mut xs, |x| d.cdf(x));
    let crit = ks_critical(n, 0.001);
    println!("KS {name}: D = {stat:.5}, critical(0.001) = {crit:.5}");
    assert!(stat < crit, "{name}: D = {stat} >= {crit}");
}

fn roundtrip<D: Univariate>(name: &str, d: &D) {
    for i in 1..100 {
        let p = i as f64 / 100.0;
        let x = d.quantile(p);
        assert!(
            (d.cdf(x) - p).abs() < 1e-12,
            "{name}: cdf(quantile({p})) = {}",
            d.cdf(x)
        );
        assert!((d.sf(x) - (1.0 - p)).abs() < 1e-12, "{name}: sf at p = {p}");
        assert!(
            (d.isf(1.0 - p) - x).abs() <= 1e-9 * x.abs().max(1.0),
            "{name}: isf"
        );
        let lp = d.ln_pdf(x);
        assert!((lp - d.pdf(x).ln()).abs() < 1e-10, "{name}: ln_pdf");
        // pdf is the derivative of cdf (central difference).
        let h = 1e-5 * x.abs().max(1.0);
        let num = (d.cdf(x + h) - d.cdf(x - h)) / (2.0 * h);
        assert!(
            (num - d.pdf(x)).abs() < 1e-5 * d.pdf(x).max(1.0),
            "{name}: pdf vs cdf'"
        );
    }
    assert!(d.quantile(1.5).is_nan() && d.quantile(-0.1).is_nan() && d.quantile(f64::NAN).is_nan());
}

#[test]
fn ks_grid_all_distributions() {
    let mut seed = 100;
    let mut next = || {
        seed += 1;
        seed
    };
    for (a, b) in [(0.0, 1.0), (-3.0, 5.0)] {
        ks_check("uniform", &Uniform::new(a, b).unwrap(), next());
    }
    for rate in [0.5, 1.0, 7.0] {
        ks_check("exponential", &Exponential::new(rate).unwrap(), next());
    }
    for (m, s) in [(0.0, 1.0), (2.0, 0.3)] {
        ks_check("laplace", &Laplace::new(m, s).unwrap(), next());
        ks_check("logistic", &Logistic::new(m, s).unwrap(), next());
        ks_check("cauchy", &Cauchy::new(m, s).unwrap(), next());
        ks_check("normal", &Normal::new(m, s).unwrap(), next());
    }
    for (k, l) in [(0.5, 1.0), (1.5, 2.0), (5.0, 0.5)] {
        ks_check("weibull", &Weibull::new(k, l).unwrap(), next());
    }
    for (xm, a) in [(1.0, 0.5), (2.0, 3.0)] {
        ks_check("pareto", &Pareto::new(xm, a).unwrap(), next());
    }
    for s in [0.5, 2.0] {
        ks_check("rayleigh", &Rayleigh::new(s).unwrap(), next());
    }
    ks_check(
        "normal truncated [1, 2]",
        &Truncated::new(Normal::standard(), 1.0, 2.0).unwrap(),
        next(),
    );
    ks_check(
        "normal truncated [8, inf)",
        &Truncated::new(Normal::standard(), 8.0, f64::INFINITY).unwrap(),
        next(),
    );
    ks_check(
        "cauchy truncated (-inf, -2]",
        &Truncated::new(Cauchy::new(0.0, 1.0).unwrap(), f64::NEG_INFINITY, -2.0).unwrap(),
        next(),
    );
}

#[test]
fn ks_detects_a_wrong_distribution() {
    // The same test must reject N(0, 1.1) samples against N(0, 1): the test has power.
    let n = 20_000;
    let mut rng = GmRng::new(3);
    let mut xs = Normal::new(0.0, 1.1).unwrap().sample_n(n, &mut rng);
    let stat = ks_statistic(&mut xs, |x| Normal::standard().cdf(x));
    assert!(stat > ks_critical(n, 0.001), "D = {stat}");
}

#[test]
fn cdf_quantile_consistency() {
    roundtrip("uniform", &Uniform::new(-1.0, 3.0).unwrap());
    roundtrip("exponential", &Exponential::new(2.5).unwrap());
    roundtrip("laplace", &Laplace::new(1.0, 2.0).unwrap());
    roundtrip("logistic", &Logistic::new(-1.0, 0.5).unwrap());
    roundtrip("cauchy", &Cauchy::new(0.5, 2.0).unwrap());
    roundtrip("weibull", &Weibull::new(1.7, 3.0).unwrap());
    roundtrip("pareto", &Pareto::new(1.5, 2.5).unwrap());
    roundtrip("rayleigh", &Rayleigh::new(1.3).unwrap());
    roundtrip("normal", &Normal::new(3.0, 2.0).unwrap());
    roundtrip(
        "truncated",
        &Truncated::new(Exponential::new(1.0).unwrap(), 0.5, 3.0).unwrap(),
    );
}

#[test]
fn far_tail_truncation_stays_accurate() {
    // N(0,1) on [10, inf): mass ~ 7.6e-24, sampling through the survival function.
    let t = Truncated::new(Normal::standard(), 10.0, f64::INFINITY).unwrap();
    assert!((t.mass() - 7.619_853_024_160_527e-24).abs() < 1e-36);
    let med = t.quantile(0.5);
    assert!((t.cdf(med) - 0.5).abs() < 1e-10, "median {med}");
    assert!(med > 10.0 && med < 10.1);
}

#[test]
fn value_stability_first_samples() {
    let mut rng = GmRng::new(42);
    let n = Normal::standard();
    let got: Vec<f64> = (0..3).map(|_| n.sample(&mut rng)).collect();
    let want = PINNED_NORMAL;
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "got {got:?}");
    }
    let mut rng = GmRng::new(42);
    let e = Exponential::new(1.0).unwrap();
    let got: Vec<f64> = (0..3).map(|_| e.sample(&mut rng)).collect();
    for (g, w) in got.iter().zip(PINNED_EXP) {
        assert!((g - w).abs() < 1e-12, "got {got:?}");
    }
}

const PINNED_NORMAL: [f64; 3] = [
    0.473_007_798_548_054_8,
    1.647_529_856_219_627_7,
    -0.182_700_777_448_427_75,
];
// Consistency: u = Phi(0.4730...) = 0.6819..., and -ln(1 - u) = 1.1453...
const PINNED_EXP: [f64; 3] = [
    1.145_377_510_184_475_4,
    3.001_255_652_817_368,
    0.557_771_195_241_961_8,
];

#[test]
fn open_unit_never_hits_the_ends() {
    let mut rng = GmRng::new(0);
    for _ in 0..10_000 {
        let u = open_unit(&mut rng);
        assert!(u > 0.0 && u < 1.0);
    }
}

// One error per bad parameter.
#[test]
fn uniform_bounds_must_be_ordered() {
    assert!(matches!(
        Uniform::new(1.0, 1.0),
        Err(Error::InvalidInterval { .. })
    ));
    assert!(matches!(
        Uniform::new(0.0, f64::INFINITY),
        Err(Error::InvalidInterval { .. })
    ));
}
#[test]
fn exponential_rate_must_be_positive() {
    assert!(matches!(
        Exponential::new(0.0),
        Err(Error::RateNotPositive(_))
    ));
    assert!(matches!(
        Exponential::new(f64::NAN),
        Err(Error::RateNotPositive(_))
    ));
}
#[test]
fn laplace_location_must_be_finite() {
    assert!(matches!(
        Laplace::new(f64::NAN, 1.0),
        Err(Error::LocationNotFinite(_))
    ));
}
#[test]
fn laplace_scale_must_be_positive() {
    assert!(matches!(
        Laplace::new(0.0, -1.0),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn logistic_location_must_be_finite() {
    assert!(matches!(
        Logistic::new(f64::INFINITY, 1.0),
        Err(Error::LocationNotFinite(_))
    ));
}
#[test]
fn logistic_scale_must_be_positive() {
    assert!(matches!(
        Logistic::new(0.0, 0.0),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn cauchy_location_must_be_finite() {
    assert!(matches!(
        Cauchy::new(f64::NAN, 1.0),
        Err(Error::LocationNotFinite(_))
    ));
}
#[test]
fn cauchy_scale_must_be_positive() {
    assert!(matches!(
        Cauchy::new(0.0, f64::INFINITY),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn weibull_shape_must_be_positive() {
    assert!(matches!(
        Weibull::new(0.0, 1.0),
        Err(Error::ShapeNotPositive(_))
    ));
}
#[test]
fn weibull_scale_must_be_positive() {
    assert!(matches!(
        Weibull::new(1.0, -2.0),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn pareto_scale_must_be_positive() {
    assert!(matches!(
        Pareto::new(0.0, 1.0),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn pareto_shape_must_be_positive() {
    assert!(matches!(
        Pareto::new(1.0, -1.0),
        Err(Error::ShapeNotPositive(_))
    ));
}
#[test]
fn rayleigh_scale_must_be_positive() {
    assert!(matches!(
        Rayleigh::new(f64::NAN),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn normal_mean_must_be_finite() {
    assert!(matches!(
        Normal::new(f64::NAN, 1.0),
        Err(Error::LocationNotFinite(_))
    ));
}
#[test]
fn normal_std_must_be_positive() {
    assert!(matches!(
        Normal::new(0.0, 0.0),
        Err(Error::ScaleNotPositive(_))
    ));
}
#[test]
fn truncation_bounds_must_be_ordered() {
    let r = Truncated::new(Normal::standard(), 2.0, 1.0);
    assert!(matches!(r, Err(Error::InvalidTruncation { .. })));
}
#[test]
fn truncation_must_carry_mass() {
    let r = Truncated::new(Exponential::new(1.0).unwrap(), -3.0, -1.0);
    assert!(matches!(r, Err(Error::TruncationMassZero { .. })));
}
