//! Optimal transport. In 1-D, `W_p(P, Q)^p = \int_0^1 |F^{-1}(s) - G^{-1}(s)|^p ds`, exact for
//! empirical measures by sorting (Villani 2003, Thm 2.18). The sliced distance averages the
//! 1-D distance of projections on random unit directions `theta`:
//! `SW_p^p = E_theta W_p^p(theta^T X, theta^T Y)` (Rabin et al. 2011; Bonneel et al. 2015);
//! directions come from a seeded [`GmRng`]. Entropic OT by Sinkhorn iterations in the log
//! domain (Cuturi 2013; Peyre & Cuturi 2019, section 4.4), and exact assignment between equal
//! size point clouds by the Hungarian method (Kuhn 1955) with potentials, O(n^3).

use candle_core::{Device, Tensor};
use gm_core::GmRng;
use gm_core::ToHostF64;

use crate::{Error, Result};

fn check_p(p: f64) -> Result<()> {
    if !(p.is_finite() && p >= 1.0) {
        return Err(Error::NotPositive {
            name: "p (must be >= 1)",
            value: p,
        });
    }
    Ok(())
}

fn sorted(v: &[f64]) -> Result<Vec<f64>> {
    if let Some(&bad) = v.iter().find(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "sample",
            at: 0.0,
            value: bad,
        });
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Ok(s)
}

/// `W_p` between the empirical measures of two 1-D samples of any sizes, through their
/// quantile functions: both are step functions of s in (0, 1), jumping at i/n and j/m, so the
/// integral is a finite sum over the merged jump points.
pub fn wasserstein_1d(x: &[f64], y: &[f64], p: f64) -> Result<f64> {
    check_p(p)?;
    if x.is_empty() || y.is_empty() {
        return Err(Error::TooFewSamples {
            what: "1-D Wasserstein",
            needed: 1,
            got: 0,
        });
    }
    let xs = sorted(x)?;
    let ys = sorted(y)?;
    Ok(wasserstein_1d_sorted(&xs, &ys, p).powf(1.0 / p))
}

/// `W_p^p` between sorted samples.
fn wasserstein_1d_sorted(xs: &[f64], ys: &[f64], p: f64) -> f64 {
    let (n, m) = (xs.len(), ys.len());
    if n == m {
        return xs
            .iter()
            .zip(ys)
            .map(|(a, b)| (a - b).abs().powf(p))
            .sum::<f64>()
            / n as f64;
    }
    // Walk the merged grid {i/n} U {j/m} with integer arithmetic: level s = k / (n m).
    let (mut i, mut j) = (0usize, 0usize);
    let mut s_prev = 0usize;
    let mut total = 0.0;
    let nm = n * m;
    while i < n && j < m {
        let next_x = (i + 1) * m;
        let next_y = (j + 1) * n;
        let s_next = next_x.min(next_y);
        total += (s_next - s_prev) as f64 * (xs[i] - ys[j]).abs().powf(p);
        s_prev = s_next;
        if next_x == s_next {
            i += 1;
        }
        if next_y == s_next {
            j += 1;
        }
    }
    total / nm as f64
}

/// `n_projections` unit directions in R^d, `[L, d]`, from normalised Gaussian draws.
pub fn random_directions(
    dim: usize,
    n_projections: usize,
    rng: &mut GmRng,
    device: &Device,
) -> Result<Tensor> {
    if dim == 0 || n_projections == 0 {
        return Err(Error::TooFewSamples {
            what: "random directions (dim and count)",
            needed: 1,
            got: 0,
        });
    }
    let mut v = Vec::with_capacity(dim * n_projections);
    for _ in 0..n_projections {
        // A zero draw has probability 0 but is redrawn to keep the invariant local.
        loop {
            let row = rng.normal_vec(dim);
            let norm = row.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
            if norm > 1e-12 {
                v.extend(row.iter().map(|&a| (a as f64 / norm) as f32));
                break;
            }
        }
    }
    Ok(Tensor::from_vec(v, (n_projections, dim), device)?)
}

fn dims_2d(x: &Tensor, what: &str) -> Result<(usize, usize)> {
    match x.dims() {
        [n, d] => Ok((*n, *d)),
        s => Err(Error::Shape(format!("{what} must be [n, d], got {s:?}"))),
    }
}

/// The sliced Wasserstein distance `SW_p` between two equal-size point clouds `[n, d]`, as a
/// differentiable scalar tensor: project on `directions` (`[L, d]`), sort each projection
/// (the sort order is constant almost everywhere, so the gradient flows through the gather),
/// and average `|sorted x - sorted y|^p`.
pub fn sliced_wasserstein(x: &Tensor, y: &Tensor, directions: &Tensor, p: f64) -> Result<Tensor> {
    check_p(p)?;
    let (n, d) = dims_2d(x, "x")?;
    let (m, dy) = dims_2d(y, "y")?;
    let (_, dd) = dims_2d(directions, "directions")?;
    if d != dy || d != dd {
        return Err(Error::LengthMismatch {
            what: "feature dimensions",
            left: d,
            right: if d != dy { dy } else { dd },
        });
    }
    if n != m {
        return Err(Error::LengthMismatch {
            what: "sample sizes (use sliced_wasserstein_value for unequal sizes)",
            left: n,
            right: m,
        });
    }
    let dirs = directions.to_dtype(x.dtype())?;
    let sorted_proj = |z: &Tensor| -> Result<Tensor> {
        let proj = dirs.matmul(&z.t()?)?.contiguous()?; // [L, n]
        let idx = proj.arg_sort_last_dim(true)?;
        Ok(proj.gather(&idx, 1)?)
    };
    let diff = (sorted_proj(x)? - sorted_proj(y)?)?.abs()?;
    let cost = if p == 1.0 {
        diff.mean_all()?
    } else {
        diff.powf(p)?.mean_all()?.powf(1.0 / p)?
    };
    Ok(cost)
}

/// `SW_p` for samples of any sizes, as a number, with exact 1-D distances per direction; with
/// `max = true` it returns the largest 1-D distance over the drawn directions instead (a
/// lower bound of the max-sliced distance, which maximises over all directions).
pub fn sliced_wasserstein_value(
    x: &Tensor,
    y: &Tensor,
    directions: &Tensor,
    p: f64,
    max: bool,
) -> Result<f64> {
    check_p(p)?;
    let (_, d) = dims_2d(x, "x")?;
    let (_, dy) = dims_2d(y, "y")?;
    if d != dy {
        return Err(Error::LengthMismatch {
            what: "feature dimensions",
            left: d,
            right: dy,
        });
    }
    let dirs = directions.to_host_f64()?;
    let px = dirs.matmul(&x.to_host_f64()?.t()?)?.to_vec2::<f64>()?;
    let py = dirs.matmul(&y.to_host_f64()?.t()?)?.to_vec2::<f64>()?;
    let mut acc = 0.0;
    let mut best: f64 = 0.0;
    for (a, b) in px.iter().zip(&py) {
        let w = wasserstein_1d_sorted(&sorted(a)?, &sorted(b)?, p);
        acc += w;
        best = best.max(w);
    }
    if max {
        Ok(best.powf(1.0 / p))
    } else {
        Ok((acc / px.len() as f64).powf(1.0 / p))
    }
}

fn to_rows(x: &Tensor, what: &str) -> Result<Vec<Vec<f64>>> {
    dims_2d(x, what)?;
    Ok(x.to_host_f64()?.to_vec2::<f64>()?)
}

/// The cost matrix `||x_i - y_j||^p` (row-major, `n x m`), in f64.
pub fn cost_matrix(x: &Tensor, y: &Tensor, p: f64) -> Result<(Vec<f64>, usize, usize)> {
    check_p(p)?;
    let xs = to_rows(x, "x")?;
    let ys = to_rows(y, "y")?;
    let (n, m) = (xs.len(), ys.len());
    if n == 0 || m == 0 {
        return Err(Error::TooFewSamples {
            what: "cost matrix",
            needed: 1,
            got: 0,
        });
    }
    if xs[0].len() != ys[0].len() {
        return Err(Error::LengthMismatch {
            what: "feature dimensions",
            left: xs[0].len(),
            right: ys[0].len(),
        });
    }
    let mut c = Vec::with_capacity(n * m);
    for a in &xs {
        for b in &ys {
            let d2: f64 = a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum();
            c.push(d2.sqrt().powf(p));
        }
    }
    Ok((c, n, m))
}

/// The minimum-cost perfect matching of a square `n x n` cost matrix (row-major): returns the
/// column of each row and the total cost. Hungarian method with row and column potentials.
pub fn hungarian(cost: &[f64], n: usize) -> Result<(Vec<usize>, f64)> {
    if cost.len() != n * n {
        return Err(Error::LengthMismatch {
            what: "cost entries vs n^2",
            left: cost.len(),
            right: n * n,
        });
    }
    if let Some(&bad) = cost.iter().find(|c| !c.is_finite()) {
        return Err(Error::NonFinite {
            what: "cost",
            at: 0.0,
            value: bad,
        });
    }
    // 1-based arrays; column 0 is a virtual column holding the row being inserted.
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut row_of_col = vec![0usize; n + 1];
    let mut prev_col = vec![0usize; n + 1];
    for i in 1..=n {
        row_of_col[0] = i;
        let mut j0 = 0usize;
        let mut min_slack = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = row_of_col[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let slack = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if slack < min_slack[j] {
                        min_slack[j] = slack;
                        prev_col[j] = j0;
                    }
                    if min_slack[j] < delta {
                        delta = min_slack[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[row_of_col[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            j0 = j1;
            if row_of_col[j0] == 0 {
                break;
            }
        }
        // Augment along the alternating path back to the virtual column.
        loop {
            let j1 = prev_col[j0];
            row_of_col[j0] = row_of_col[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assignment = vec![0usize; n];
    for j in 1..=n {
        assignment[row_of_col[j] - 1] = j - 1;
    }
    let total = (0..n).map(|i| cost[i * n + assignment[i]]).sum();
    Ok((assignment, total))
}

/// Exact `W_p` between two empirical measures with the same number of points: the optimal
/// plan is a permutation (Birkhoff), found by [`hungarian`].
pub fn wasserstein_exact(x: &Tensor, y: &Tensor, p: f64) -> Result<f64> {
    let (c, n, m) = cost_matrix(x, y, p)?;
    if n != m {
        return Err(Error::LengthMismatch {
            what: "sample sizes for exact assignment",
            left: n,
            right: m,
        });
    }
    let (_, total) = hungarian(&c, n)?;
    Ok((total / n as f64).powf(1.0 / p))
}

/// The result of [`sinkhorn`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sinkhorn {
    /// `<P, C>`: the transport cost of the entropic plan (>= the unregularised optimum).
    pub transport_cost: f64,
    /// The plan, row-major `n x m`, rows summing to 1/n and columns to 1/m.
    pub plan: Vec<f64>,
    /// Sinkhorn iterations run (at most `max_iterations`).
    pub iterations: usize,
    /// Largest deviation of a row sum from its marginal at exit.
    pub marginal_error: f64,
}

fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let mx = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if mx == f64::NEG_INFINITY {
        return mx;
    }
    mx + v.map(|a| (a - mx).exp()).sum::<f64>().ln()
}

/// Entropic OT between uniform weights on two point clouds, cost `||x - y||^p`, by Sinkhorn
/// iterations on the dual potentials in the log domain (stable for small `epsilon`):
/// `f_i = -eps LSE_j((g_j - C_ij)/eps + log b_j)`, `g_j = -eps LSE_i((f_i - C_ij)/eps + log a_i)`.
pub fn sinkhorn(
    x: &Tensor,
    y: &Tensor,
    p: f64,
    epsilon: f64,
    max_iterations: usize,
    tolerance: f64,
) -> Result<Sinkhorn> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(Error::NotPositive {
            name: "epsilon",
            value: epsilon,
        });
    }
    let (c, n, m) = cost_matrix(x, y, p)?;
    let (la, lb) = (-(n as f64).ln(), -(m as f64).ln());
    let mut f = vec![0.0; n];
    let mut g = vec![0.0; m];
    let mut err = f64::INFINITY;
    let mut it = 0;
    while it < max_iterations {
        it += 1;
        for i in 0..n {
            let row = &c[i * m..(i + 1) * m];
            f[i] = -epsilon
                * log_sum_exp(
                    row.iter()
                        .zip(&g)
                        .map(|(cij, gj)| (gj - cij) / epsilon + lb),
                );
        }
        for j in 0..m {
            g[j] = -epsilon * log_sum_exp((0..n).map(|i| (f[i] - c[i * m + j]) / epsilon + la));
        }
        // After the g update columns are exact; measure the rows.
        err = 0.0;
        for i in 0..n {
            let s: f64 = (0..m)
                .map(|j| ((f[i] + g[j] - c[i * m + j]) / epsilon + la + lb).exp())
                .sum();
            err = f64::max(err, (s - 1.0 / n as f64).abs());
        }
        if err <= tolerance {
            break;
        }
    }
    if !err.is_finite() || err > tolerance {
        return Err(Error::DidNotConverge {
            what: "Sinkhorn",
            iterations: it,
            residual: err,
        });
    }
    let mut plan = Vec::with_capacity(n * m);
    let mut cost = 0.0;
    for i in 0..n {
        for j in 0..m {
            let pij = ((f[i] + g[j] - c[i * m + j]) / epsilon + la + lb).exp();
            cost += pij * c[i * m + j];
            plan.push(pij);
        }
    }
    Ok(Sinkhorn {
        transport_cost: cost,
        plan,
        iterations: it,
        marginal_error: err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_d_matches_hand_values() {
        // Equal sizes: W1 of {0, 1} and {1, 3} is (1 + 2) / 2.
        assert!((wasserstein_1d(&[1.0, 0.0], &[3.0, 1.0], 1.0).unwrap() - 1.5).abs() < 1e-15);
        // Unequal sizes: {0} vs {0, 1}: half the mass moves by 1.
        assert!((wasserstein_1d(&[0.0], &[0.0, 1.0], 1.0).unwrap() - 0.5).abs() < 1e-15);
        // W2 of {0} and {0, 2}: sqrt(0.5 * 4).
        let w2 = wasserstein_1d(&[0.0], &[0.0, 2.0], 2.0).unwrap();
        assert!((w2 - 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn one_d_unequal_sizes_agree_with_replication() {
        // Replicating each point k times leaves the empirical measure unchanged.
        let x = [0.3, -1.2, 2.5];
        let y = [0.0, 1.0, -0.5, 4.0, 0.7];
        let w = wasserstein_1d(&x, &y, 1.5).unwrap();
        let xr: Vec<f64> = x.iter().flat_map(|&a| std::iter::repeat_n(a, 5)).collect();
        let yr: Vec<f64> = y.iter().flat_map(|&a| std::iter::repeat_n(a, 3)).collect();
        let wr = wasserstein_1d(&xr, &yr, 1.5).unwrap();
        assert!((w - wr).abs() < 1e-12, "{w} vs {wr}");
    }

    #[test]
    fn bad_p_and_empty_samples_are_errors() {
        assert!(wasserstein_1d(&[0.0], &[1.0], 0.5).is_err());
        assert!(wasserstein_1d(&[], &[1.0], 1.0).is_err());
        assert!(wasserstein_1d(&[f64::NAN], &[1.0], 1.0).is_err());
    }

    #[test]
    fn hungarian_matches_brute_force() {
        let mut rng = GmRng::new(11);
        for n in 1..=6 {
            for _ in 0..5 {
                let c: Vec<f64> = rng
                    .uniform_vec(n * n, 0.0, 10.0)
                    .iter()
                    .map(|&a| a as f64)
                    .collect();
                let (assign, total) = hungarian(&c, n).unwrap();
                let mut seen = vec![false; n];
                for &j in &assign {
                    assert!(!seen[j]);
                    seen[j] = true;
                }
                let best = brute(&c, n);
                assert!((total - best).abs() < 1e-9, "n {n}: {total} vs {best}");
            }
        }
    }

    fn brute(c: &[f64], n: usize) -> f64 {
        fn rec(c: &[f64], n: usize, i: usize, used: &mut Vec<bool>) -> f64 {
            if i == n {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..n {
                if !used[j] {
                    used[j] = true;
                    best = best.min(c[i * n + j] + rec(c, n, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        rec(c, n, 0, &mut vec![false; n])
    }
}
