//! Unit tests of gm-divergence's `f_divergence`.

use super::*;

#[test]
fn alpha_cannot_be_zero_or_one() {
    assert!(matches!(
        Divergence::alpha(0.0),
        Err(Error::InvalidAlpha(_))
    ));
    assert!(matches!(
        Divergence::alpha(1.0),
        Err(Error::InvalidAlpha(_))
    ));
    assert!(matches!(
        Divergence::alpha(f64::NAN),
        Err(Error::InvalidAlpha(_))
    ));
    assert!(Divergence::alpha(2.0).is_ok());
}

#[test]
fn pi_must_lie_in_open_unit_interval() {
    for pi in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(matches!(
            Divergence::weighted_jensen_shannon(pi),
            Err(Error::InvalidPi(_))
        ));
    }
    assert!(Divergence::weighted_jensen_shannon(0.3).is_ok());
}

#[test]
fn lambert_w_solves_its_equation() {
    for z in [-700.0, -20.0, -1.0, 0.0, 1.0, 5.0, 50.0, 700.0] {
        let w = lambert_w_of_exp(z);
        assert!(w > 0.0);
        assert!(
            (w + w.ln() - z).abs() < 1e-12 * (1.0 + z.abs()),
            "z {z} w {w}"
        );
    }
    // W(e) = 1.
    assert!((lambert_w_of_exp(1.0) - 1.0).abs() < 1e-15);
}

#[test]
fn alpha_one_half_is_twice_squared_hellinger() {
    let a = Divergence::Alpha { alpha: 0.5 };
    for u in [0.0, 0.3, 1.0, 2.5, 9.0] {
        let h = Divergence::SquaredHellinger.generator(u);
        assert!((a.generator(u) - 2.0 * h).abs() < 1e-12);
    }
}
