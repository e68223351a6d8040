//! Bracketed root finding: the Illinois variant of regula falsi (Dowell and Jarratt, 1971),
//! which keeps the bracket of bisection and converges superlinearly, falling back to a
//! bisection step whenever the secant point would not shrink the bracket enough.

/// A root of `g` in [a, b] where g(a) and g(b) have opposite signs (or one is zero), to
/// |b - a| <= tol (absolute plus relative 4 eps). Returns None when the ends do not bracket.
pub fn solve_bracketed(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64, tol: f64) -> Option<f64> {
    let mut ga = g(a);
    let mut gb = g(b);
    if ga == 0.0 {
        return Some(a);
    }
    if gb == 0.0 {
        return Some(b);
    }
    if ga.is_nan() || gb.is_nan() || ga.signum() == gb.signum() {
        return None;
    }
    let mut side = 0i8;
    for it in 0..200 {
        let width = (b - a).abs();
        if width <= tol + 4.0 * f64::EPSILON * a.abs().max(b.abs()) {
            break;
        }
        let mut c = (a * gb - b * ga) / (gb - ga);
        // Every fourth step, or when the secant point is useless, bisect.
        if !c.is_finite() || c <= a.min(b) || c >= a.max(b) || it % 4 == 3 {
            c = 0.5 * (a + b);
        }
        let gc = g(c);
        if gc == 0.0 {
            return Some(c);
        }
        if gc.is_nan() {
            return None;
        }
        if gc.signum() == gb.signum() {
            b = c;
            gb = gc;
            if side == -1 {
                ga *= 0.5;
            }
            side = -1;
        } else {
            a = c;
            ga = gc;
            if side == 1 {
                gb *= 0.5;
            }
            side = 1;
        }
    }
    Some(0.5 * (a + b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_roots_and_refuses_non_brackets() {
        let r = solve_bracketed(|x| x * x - 2.0, 0.0, 2.0, 1e-14).unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-13);
        let r = solve_bracketed(|x| x.exp() - 1e-8, -30.0, 0.0, 1e-14).unwrap();
        assert!((r - 1e-8f64.ln()).abs() < 1e-12);
        assert!(solve_bracketed(|x| x * x + 1.0, -1.0, 1.0, 1e-12).is_none());
    }
}
