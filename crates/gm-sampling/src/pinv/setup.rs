//! The PINV setup: the tail cut-off walk, the refinement of the cut points, and the adaptive
//! construction of the Newton interpolation intervals and of the guide table.

use std::cell::Cell;

use super::{Density, Interval, NumericalInversion, NumericalInversionBuilder, ORDER};
use crate::{Error, Result};

enum Attempt {
    Accept {
        interval: Interval,
        mass: f64,
        f_end: f64,
        err: f64,
    },
    Reject {
        err: f64,
    },
    Empty {
        f_end: f64,
    },
}

impl NumericalInversion {
    pub(super) fn setup(b: NumericalInversionBuilder) -> Result<Self> {
        let (lo, hi) = b.domain;
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(Error::InvalidInterval { low: lo, high: hi });
        }
        if !(b.center.is_finite() && b.center >= lo && b.center <= hi) {
            return Err(Error::LocationNotFinite(b.center));
        }
        if !(b.scale.is_finite() && b.scale > 0.0) {
            return Err(Error::ScaleNotPositive(b.scale));
        }
        if !(1e-15..=1e-2).contains(&b.u_resolution) {
            return Err(Error::InvalidResolution(b.u_resolution));
        }
        let dens = Density {
            f: b.pdf.as_ref(),
            count: Cell::new(0),
        };
        if dens.eval(b.center)? <= 0.0 {
            return Err(Error::ZeroAtCentre(b.center));
        }
        let eps_tail = 0.05 * b.u_resolution;
        let (right, mass_r) = find_cut(&dens, b.center, hi, b.scale, eps_tail, 1.0)?;
        let (left, mass_l) = find_cut(&dens, b.center, lo, b.scale, eps_tail, -1.0)?;
        let area_estimate = mass_r + mass_l;
        if !(area_estimate.is_finite() && area_estimate > 0.0) {
            return Err(Error::NotNormalizable(area_estimate));
        }
        // Drop the negligible mass next to each end, so that the first and last intervals do
        // not start where F^{-1} is singular (a zero of the pdf, a far-tail underflow).
        let drop = eps_tail * area_estimate;
        let left = refine_cut(&dens, left, b.center, drop)?;
        let right = refine_cut(&dens, right, b.center, drop)?;
        let tol = 0.8 * b.u_resolution * area_estimate;

        let mut intervals = Vec::new();
        let mut cum = vec![0.0];
        let mut a = left;
        let mut fa = dens.eval(a)?;
        let width = right - left;
        let mut h = (width / 64.0).min(b.scale);
        let min_h = 1e-13 * (left.abs().max(right.abs())).max(b.scale);
        while a < right {
            if right - a < 1.2 * h {
                h = right - a;
            }
            match try_interval(&dens, a, h, fa, tol)? {
                Attempt::Accept {
                    interval,
                    mass,
                    f_end,
                    err,
                } => {
                    let total = cum.last().copied().unwrap_or(0.0) + mass;
                    intervals.push(interval);
                    cum.push(total);
                    a = interval.x1;
                    fa = f_end;
                    let grow = if err > 0.0 {
                        0.9 * (tol / err).powf(1.0 / 6.0)
                    } else {
                        2.0
                    };
                    h *= grow.clamp(1.0, 2.0);
                    if intervals.len() > 200_000 {
                        return Err(Error::ResolutionNotReached {
                            resolution: b.u_resolution,
                            x: a,
                        });
                    }
                }
                Attempt::Empty { f_end } => {
                    // No mass on [a, a + h] (outside the support): skip it.
                    a += h;
                    fa = f_end;
                }
                Attempt::Reject { err } => {
                    let shrink = if err.is_finite() && err > 0.0 {
                        0.9 * (tol / err).powf(1.0 / 6.0)
                    } else {
                        0.5
                    };
                    h *= shrink.clamp(0.1, 0.8);
                    if h < min_h {
                        return Err(Error::ResolutionNotReached {
                            resolution: b.u_resolution,
                            x: a,
                        });
                    }
                }
            }
        }
        let area = cum.last().copied().unwrap_or(0.0);
        if !(area.is_finite() && area > 0.0) || intervals.is_empty() {
            return Err(Error::NotNormalizable(area));
        }
        let g = intervals.len();
        let mut guide = Vec::with_capacity(g);
        let mut i = 0usize;
        for k in 0..g {
            let v = k as f64 / g as f64 * area;
            while i + 1 < g && cum[i + 1] <= v {
                i += 1;
            }
            guide.push(i as u32);
        }
        let setup_evals = dens.count.get();
        Ok(Self {
            pdf: b.pdf,
            cdf: b.cdf,
            intervals,
            cum,
            area,
            guide,
            setup_evals,
            cut: (left, right),
            u_resolution: b.u_resolution,
        })
    }
}

/// Walks from `center` towards `bound` (direction `dir`) in doubling segments; returns the cut
/// point and the mass between centre and cut.
fn find_cut(
    dens: &Density<'_>,
    center: f64,
    bound: f64,
    scale: f64,
    eps_tail: f64,
    dir: f64,
) -> Result<(f64, f64)> {
    let side = if dir > 0.0 { "+infinity" } else { "-infinity" };
    if bound.is_finite() {
        if bound == center {
            return Ok((center, 0.0));
        }
        let (a, b) = if dir > 0.0 {
            (center, bound)
        } else {
            (bound, center)
        };
        return Ok((bound, dens.integral(a, b, 1e-12)?));
    }
    let mut x = center;
    let mut step = scale;
    let mut total = 0.0;
    let mut prev: Option<f64> = None;
    for _ in 0..200 {
        let next = x + dir * step;
        let (a, b) = if dir > 0.0 { (x, next) } else { (next, x) };
        let m = dens.integral(a, b, 1e-12)?;
        total += m;
        if m == 0.0 {
            return Ok((x, total));
        }
        if let Some(p) = prev {
            let r = m / p;
            if r < 0.95 {
                let tail = m * r / (1.0 - r);
                if tail < eps_tail * total {
                    return Ok((next, total));
                }
            }
        }
        prev = Some(m);
        x = next;
        step *= 2.0;
        if !x.is_finite() {
            break;
        }
    }
    Err(Error::NonIntegrableTail { side, x })
}

/// The point x between `outer` and `inner` farthest inward with mass(outer, x) <= `drop`
/// (bisection to 1% of the distance moved, loose quadrature: only the order of magnitude matters).
fn refine_cut(dens: &Density<'_>, outer: f64, inner: f64, drop: f64) -> Result<f64> {
    if outer == inner {
        return Ok(outer);
    }
    let mass = |x: f64| -> Result<f64> {
        let (a, b) = if outer < x { (outer, x) } else { (x, outer) };
        if a == b {
            Ok(0.0)
        } else {
            dens.integral(a, b, 1e-3)
        }
    };
    let (mut ok, mut bad) = (outer, inner);
    for _ in 0..200 {
        // Stop when the bracket is small relative to the distance already moved in.
        if ok != outer && (bad - ok).abs() <= 1e-2 * (ok - outer).abs() {
            break;
        }
        let m = 0.5 * (ok + bad);
        if mass(m)? <= drop {
            ok = m;
        } else {
            bad = m;
        }
    }
    Ok(ok)
}

/// Builds and checks one interpolation interval [a, a + h].
fn try_interval(dens: &Density<'_>, a: f64, h: f64, fa: f64, tol: f64) -> Result<Attempt> {
    let mut x = [0.0; ORDER + 1];
    let mut fx = [0.0; ORDER + 1];
    let mut u = [0.0; ORDER + 1];
    x[0] = a;
    fx[0] = fa;
    for j in 1..=ORDER {
        x[j] = a + h * 0.5 * (1.0 - (j as f64 * std::f64::consts::PI / ORDER as f64).cos());
        fx[j] = dens.eval(x[j])?;
    }
    x[ORDER] = a + h;
    for j in 1..=ORDER {
        u[j] = u[j - 1] + dens.lobatto(x[j - 1], x[j], fx[j - 1], fx[j])?;
    }
    if u[ORDER] == 0.0 {
        return Ok(Attempt::Empty { f_end: fx[ORDER] });
    }
    if (1..=ORDER).any(|j| u[j] <= u[j - 1]) {
        return Ok(Attempt::Reject { err: f64::INFINITY });
    }
    // Newton divided differences of x as a function of u.
    let mut c = x;
    for k in 1..=ORDER {
        for j in (k..=ORDER).rev() {
            c[j] = (c[j] - c[j - 1]) / (u[j] - u[j - k]);
        }
    }
    let interval = Interval {
        x0: x[0],
        x1: x[ORDER],
        t: u,
        c,
    };
    let mut err: f64 = 0.0;
    for j in 1..=ORDER {
        let t = 0.5 * (u[j - 1] + u[j]);
        let mut xt = c[ORDER];
        for k in (0..ORDER).rev() {
            xt = xt * (t - u[k]) + c[k];
        }
        if !(xt > x[j - 1] && xt < x[j]) {
            return Ok(Attempt::Reject { err: f64::INFINITY });
        }
        let ft = dens.eval(xt)?;
        let ut = u[j - 1] + dens.lobatto(x[j - 1], xt, fx[j - 1], ft)?;
        err = err.max((ut - t).abs());
    }
    if err <= tol {
        Ok(Attempt::Accept {
            interval,
            mass: u[ORDER],
            f_end: fx[ORDER],
            err,
        })
    } else {
        Ok(Attempt::Reject { err })
    }
}
