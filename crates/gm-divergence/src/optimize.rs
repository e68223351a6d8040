//! One-dimensional maximisation: a grid search refined by golden-section search (Kiefer
//! 1953) around the best grid point. Used to check the pointwise-optimal discriminators and
//! the biconjugate `f** = sup_t { u t - f*(t) }` numerically.

/// The maximiser and maximum of `h` on `[lo, hi]`: the best of `grid + 1` equally spaced
/// points, then golden-section search on the two neighbouring cells (exact for unimodal `h`).
pub fn maximize<H: Fn(f64) -> f64>(h: H, lo: f64, hi: f64, grid: usize) -> (f64, f64) {
    let grid = grid.max(2);
    let step = (hi - lo) / grid as f64;
    let mut best_i = 0;
    let mut best = f64::NEG_INFINITY;
    for i in 0..=grid {
        let v = h(lo + step * i as f64);
        if v > best {
            best = v;
            best_i = i;
        }
    }
    let mut a = (lo + step * (best_i as f64 - 1.0)).max(lo);
    let mut b = (lo + step * (best_i as f64 + 1.0)).min(hi);
    let r = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let (mut hc, mut hd) = (h(c), h(d));
    for _ in 0..200 {
        if (b - a).abs() <= 1e-13 * (1.0 + a.abs().max(b.abs())) {
            break;
        }
        if hc >= hd {
            b = d;
            d = c;
            hd = hc;
            c = b - r * (b - a);
            hc = h(c);
        } else {
            a = c;
            c = d;
            hc = hd;
            d = a + r * (b - a);
            hd = h(d);
        }
    }
    let mut arg = 0.5 * (a + b);
    let mut val = h(arg);
    // Keep the grid optimum if the refinement did not beat it (e.g. a maximum at an end).
    let g = lo + step * best_i as f64;
    if best > val || val.is_nan() {
        arg = g;
        val = best;
    }
    (arg, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_interior_and_boundary_maxima() {
        let (x, v) = maximize(|x| -(x - 0.3_f64).powi(2) + 2.0, -5.0, 5.0, 100);
        assert!((x - 0.3).abs() < 1e-7 && (v - 2.0).abs() < 1e-14);
        let (x, v) = maximize(|x| x, -1.0, 2.0, 10);
        assert!((x - 2.0).abs() < 1e-9 && (v - 2.0).abs() < 1e-9);
    }
}
