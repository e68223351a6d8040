//! Numerical checks of adversarial-training facts, as rows of `cargo xtask reproduce theory`:
//!
//! - on the bilinear game `min_x max_y x y` (saddle at 0), simultaneous gradient steps
//!   `(x, y) <- (x - eta y, y + eta x)` multiply the distance to the saddle by
//!   `sqrt(1 + eta^2)` each step: they circle *away* from it;
//! - alternating steps (`y` uses the new `x`) conserve `x^2 - eta x y + y^2`: the iterates
//!   stay on an ellipse around the saddle, and their running average approaches it at rate
//!   `O(1 / (eta T))`;
//! - a discriminator fitted on two samples by the omega/rho cost approaches `omega(g / f)`
//!   ([`crate::two_sample`]), and "D = omega(1) everywhere" is a two-sample test whose level
//!   is checked beside the MMD permutation test's (their power is in the rows' text);
//! - Arora et al.'s equilibrium argument: rock-paper-scissors has no pure equilibrium, and
//!   mixtures weighted as MIX+GAN weights its components reach the mixed one;
//! - Arora et al.'s neural-net distance between a finite sample and its distribution falls
//!   like `1/sqrt(m)` for a bounded critic class ([`neural_net_generalization`]);
//! - the gradient of the WGAN-GP penalty with respect to the critic's weights (a second-order
//!   derivative) equals central finite differences.
//!
//! The gradients of the game come from candle's autodiff, as in training.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use gm_core::theory::TheoryRow;
use gm_core::ToHostF64;
use gm_core::{GmRng, ParamStore};

use crate::nets::{Activation, Architecture, Discriminator, GanConfig, MlpInit, OutputActivation};
use crate::objective::{enable_second_order, gradient_penalty};
use crate::Result;

const AREA: &str = "gm-gan";

/// How the two players of the bilinear game move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameUpdate {
    /// Both players step from the same point.
    Simultaneous,
    /// `x` steps first; `y` responds to the new `x`.
    Alternating,
}

/// The iterates `(x_t, y_t)`, `t = 0..=steps`, of gradient descent for `x` and ascent for `y`
/// on `f(x, y) = x y`, gradients by backpropagation.
pub fn bilinear_game(
    x0: f64,
    y0: f64,
    eta: f64,
    steps: usize,
    update: GameUpdate,
) -> Result<Vec<(f64, f64)>> {
    let dev = Device::Cpu;
    let x = Var::new(x0, &dev)?;
    let y = Var::new(y0, &dev)?;
    let grad = |wrt: &Var| -> Result<f64> {
        let f = (x.as_tensor() * y.as_tensor())?;
        let g = f.backward()?;
        Ok(g.get(wrt.as_tensor())
            .map(|t| t.to_scalar::<f64>())
            .transpose()?
            .unwrap_or(0.0))
    };
    let mut path = vec![(x0, y0)];
    for _ in 0..steps {
        let gx = grad(&x)?;
        match update {
            GameUpdate::Simultaneous => {
                let gy = grad(&y)?;
                x.set(&Tensor::new(
                    x.as_tensor().to_scalar::<f64>()? - eta * gx,
                    &dev,
                )?)?;
                y.set(&Tensor::new(
                    y.as_tensor().to_scalar::<f64>()? + eta * gy,
                    &dev,
                )?)?;
            }
            GameUpdate::Alternating => {
                x.set(&Tensor::new(
                    x.as_tensor().to_scalar::<f64>()? - eta * gx,
                    &dev,
                )?)?;
                let gy = grad(&y)?;
                y.set(&Tensor::new(
                    y.as_tensor().to_scalar::<f64>()? + eta * gy,
                    &dev,
                )?)?;
            }
        }
        path.push((
            x.as_tensor().to_scalar::<f64>()?,
            y.as_tensor().to_scalar::<f64>()?,
        ));
    }
    Ok(path)
}

/// Max |backprop - central difference| over every weight of a small tanh critic for the
/// gradient penalty, in f64, and the largest |gradient|. Runs on its own thread, where
/// `CANDLE_GRAD_DO_NOT_DETACH` is read afresh.
pub fn gradient_penalty_fd_check(seed: u64) -> Result<(f64, f64)> {
    std::thread::spawn(move || gradient_penalty_fd_inner(seed))
        .join()
        .map_err(|_| crate::Error::config("theory", "thread", "the check panicked"))?
}

fn gradient_penalty_fd_inner(seed: u64) -> Result<(f64, f64)> {
    enable_second_order("the gradient-penalty check")?;
    let dev = Device::Cpu;
    let cfg = GanConfig {
        latent_dim: 2,
        data_shape: vec![2],
        generator: Architecture::Mlp {
            hidden: vec![4],
            activation: Activation::Tanh,
        },
        discriminator: Architecture::Mlp {
            hidden: vec![6, 6],
            activation: Activation::Tanh,
        },
        output: OutputActivation::Identity,
        mlp_init: MlpInit::Default,
    };
    let store = ParamStore::new(seed);
    let vb = VarBuilder::from_backend(Box::new(store.clone()), DType::F64, dev.clone());
    let d = Discriminator::new(&cfg, vb)?;
    let mut rng = GmRng::new(seed + 1);
    let real = rng.normal((8, 2), 0.0, 1.0, &dev)?.to_host_f64()?;
    let fake = rng.normal((8, 2), 0.0, 1.0, &dev)?.to_host_f64()?;
    let eps = rng.uniform((8, 1), 0.0, 1.0, &dev)?.to_host_f64()?;
    let loss = || gradient_penalty(|x| d.forward(x), &real, &fake, &eps);
    let grads = loss()?.backward()?;
    let h = 1e-5;
    let (mut worst, mut biggest) = (0f64, 0f64);
    for (_, var) in store.vars() {
        let g = match grads.get(var.as_tensor()) {
            Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
            None => vec![0.0; var.elem_count()],
        };
        let base = var.as_tensor().flatten_all()?.to_vec1::<f64>()?;
        let set = |v: &[f64]| -> Result<()> {
            var.set(&Tensor::from_vec(v.to_vec(), var.shape(), &dev)?)?;
            Ok(())
        };
        for i in 0..base.len() {
            let mut p = base.clone();
            p[i] = base[i] + h;
            set(&p)?;
            let up = loss()?.to_scalar::<f64>()?;
            p[i] = base[i] - h;
            set(&p)?;
            let down = loss()?.to_scalar::<f64>()?;
            set(&base)?;
            worst = worst.max(((up - down) / (2.0 * h) - g[i]).abs());
            biggest = biggest.max(g[i].abs());
        }
    }
    Ok((worst, biggest))
}

fn norm((x, y): (f64, f64)) -> f64 {
    (x * x + y * y).sqrt()
}

/// The rows of `cargo xtask reproduce theory` for gm-gan.
pub fn theory_rows() -> Vec<TheoryRow> {
    let mut rows = Vec::new();
    let (eta, steps) = (0.1, 200);
    let push_err = |rows: &mut Vec<TheoryRow>, what: &str, e: crate::Error| {
        rows.push(TheoryRow::new(
            AREA,
            format!("{what}: {e}"),
            f64::NAN,
            0.0,
            0.0,
        ))
    };
    match bilinear_game(1.0, 1.0, eta, steps, GameUpdate::Simultaneous) {
        Ok(p) => {
            let ratio = norm(p[steps]) / norm(p[0]);
            let want = (1.0 + eta * eta).powf(steps as f64 / 2.0);
            rows.push(TheoryRow::new(
                AREA,
                format!(
                    "min_x max_y xy, simultaneous steps (eta {eta}, {steps} steps): distance to the saddle grows by (1 + eta^2)^(T/2)"
                ),
                ratio,
                want,
                1e-9 * want,
            ));
        }
        Err(e) => push_err(&mut rows, "simultaneous bilinear game", e),
    }
    match bilinear_game(1.0, 1.0, eta, steps, GameUpdate::Alternating) {
        Ok(p) => {
            let inv = |(x, y): (f64, f64)| x * x - eta * x * y + y * y;
            let drift = p
                .iter()
                .map(|&z| (inv(z) - inv(p[0])).abs())
                .fold(0.0, f64::max);
            rows.push(TheoryRow::new(
                AREA,
                "min_x max_y xy, alternating steps: x^2 - eta xy + y^2 is conserved (iterates stay on an ellipse)",
                drift,
                0.0,
                1e-9,
            ));
            let n = p.len() as f64;
            let mean = (
                p.iter().map(|z| z.0).sum::<f64>() / n,
                p.iter().map(|z| z.1).sum::<f64>() / n,
            );
            // The iterates turn by ~eta per step around an ellipse of radius ~|z0|, so the
            // running mean is bounded by ~2 |z0| / (eta T).
            let bound = 2.0 * norm(p[0]) * 1.2 / (eta * n);
            rows.push(TheoryRow::new(
                AREA,
                format!("min_x max_y xy, alternating steps: the average of {steps} iterates is within 2.4 |z0| / (eta T) of the saddle"),
                norm(mean),
                0.0,
                bound,
            ));
        }
        Err(e) => push_err(&mut rows, "alternating bilinear game", e),
    }
    {
        use crate::two_sample::KnownPair;
        use gm_divergence::DiscriminatorCost;
        for (cost, pair, tol) in [
            (DiscriminatorCost::Ratio, KnownPair::Gaussians1d, 0.15),
            (
                DiscriminatorCost::CrossEntropy,
                KnownPair::Gaussians1d,
                0.08,
            ),
            (
                DiscriminatorCost::CrossEntropy,
                KnownPair::Gaussians2d,
                0.08,
            ),
            (DiscriminatorCost::CrossEntropy, KnownPair::Mixture1d, 0.08),
        ] {
            match crate::two_sample::omega_grid_error(&cost, pair, 5) {
                Ok(err) => rows.push(TheoryRow::new(
                    AREA,
                    format!(
                        "omega/rho from data, cost {}: D fitted on 2,000 + 2,000 points of {} = omega(g/f) on a grid (max error / (1 + |D*|))",
                        cost.name(),
                        pair.name()
                    ),
                    err,
                    0.0,
                    tol,
                )),
                Err(e) => push_err(&mut rows, "fitted omega/rho discriminator", e),
            }
        }
    }
    let fit = crate::two_sample::CostFit {
        hidden: vec![16],
        steps: 200,
        ..Default::default()
    };
    let c = gm_divergence::DiscriminatorCost::CrossEntropy;
    let (reps, n) = (40, 100);
    match (
        crate::two_sample::rejection_rates(&c, 0.0, n, reps, &fit, 1),
        crate::two_sample::rejection_rates(&c, 0.75, n, reps, &fit, 2),
    ) {
        (Ok(level), Ok(power)) => {
            // Two binomial standard errors of a 0.05 rate over `reps` pairs.
            let tol = 2.0 * (0.05f64 * 0.95 / reps as f64).sqrt();
            for (name, l, p) in [
                ("two-sample test 'D = omega(1) everywhere' (cost C, D fitted on half of each sample, J on the other half)", level.0, power.0),
                ("MMD permutation test (Gaussian kernel, median bandwidth, 200 permutations)", level.1, power.1),
            ] {
                rows.push(TheoryRow::new(
                    AREA,
                    format!(
                        "{name}, {n} + {n} points, {reps} pairs: rejection rate under f = g at level 0.05 (power against a 0.75 shift: {p:.2})"
                    ),
                    l,
                    0.05,
                    tol,
                ));
            }
        }
        (Err(e), _) | (_, Err(e)) => push_err(&mut rows, "omega two-sample test", e),
    }
    match neural_net_generalization(8, &[16, 1024], 4096, 11) {
        Ok(d) => {
            // d_F(P_m, P'_M) ~ C sqrt(1/m + 1/M) for a bounded class.
            let want = ((1.0f64 / 16.0 + 1.0 / 4096.0) / (1.0 / 1024.0 + 1.0 / 4096.0)).sqrt();
            rows.push(TheoryRow::new(
                AREA,
                format!(
                    "Arora et al.: neural-net distance (16 ReLU units, weights in [-0.1, 0.1]) between an m-sample of N(0, I/2) in R^8 and a fresh 4,096-sample falls like sqrt(1/m + 1/M): d(16) / d(1024) ({:.4} / {:.4}), while W1 between samples stays large (gm-divergence's rows)",
                    d[0], d[1]
                ),
                d[0] / d[1],
                want,
                0.5 * want,
            ));
        }
        Err(e) => push_err(&mut rows, "neural-net distance", e),
    }
    // Rock-paper-scissors for the row player (who minimises): no pure equilibrium, the
    // uniform mixture is the mixed one.
    let rps = vec![
        vec![0.0, 1.0, -1.0],
        vec![-1.0, 0.0, 1.0],
        vec![1.0, -1.0, 0.0],
    ];
    let pure = crate::mix::pure_equilibria(&rps).len();
    match crate::mix::mixed_matrix_game(&rps, 0.1, 0.2, 2000) {
        Ok((w, u)) => {
            let gap = w
                .iter()
                .chain(&u)
                .map(|p| (p - 1.0 / 3.0).abs())
                .fold(0.0, f64::max);
            rows.push(TheoryRow::new(
                AREA,
                format!(
                    "Arora et al.'s equilibrium argument (MIX+GAN): rock-paper-scissors has {pure} pure equilibria of 9 pairs; mixtures with MIX+GAN's softmax weights and entropy (lambda 0.1, alternating steps) reach the mixed one (max |weight - 1/3|)"
                ),
                gap,
                0.0,
                1e-3,
            ));
        }
        Err(e) => push_err(&mut rows, "mixed matrix game", e),
    }
    match gradient_penalty_fd_check(3) {
        Ok((err, biggest)) => rows.push(TheoryRow::new(
            AREA,
            format!(
                "WGAN-GP: second-order gradient of the penalty = central differences (f64, h 1e-5; largest gradient {biggest:.3})"
            ),
            err,
            0.0,
            1e-7,
        )),
        Err(e) => push_err(&mut rows, "gradient-penalty check", e),
    }
    rows
}

/// The neural-net distance between an m-sample of N(0, I/2) in R^`dim` and a fresh
/// `reference`-sample, for each m of `sizes`.
pub fn neural_net_generalization(
    dim: usize,
    sizes: &[usize],
    reference: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let std = 0.5f64.sqrt();
    let y = rng.normal((reference, dim), 0.0, std, &dev)?;
    sizes
        .iter()
        .map(|&m| {
            let x = rng.normal((m, dim), 0.0, std, &dev)?;
            crate::two_sample::neural_net_distance(&x, &y, 16, 0.1, 300, seed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_theory_row_passes() {
        let rows = theory_rows();
        assert_eq!(rows.len(), 12);
        for r in &rows {
            assert!(r.pass(), "{r:?}");
        }
    }

    #[test]
    fn a_game_with_a_saddle_point_has_its_pure_equilibrium() {
        // Row minimises: row 0 is better against both columns; column 1 is the column
        // player's best reply to it.
        let g = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        assert_eq!(crate::mix::pure_equilibria(&g), vec![(0, 1)]);
        let rps = vec![
            vec![0.0, 1.0, -1.0],
            vec![-1.0, 0.0, 1.0],
            vec![1.0, -1.0, 0.0],
        ];
        assert!(crate::mix::pure_equilibria(&rps).is_empty());
    }

    #[test]
    fn simultaneous_steps_leave_the_saddle_alternating_do_not() {
        let s = bilinear_game(0.5, -0.2, 0.2, 100, GameUpdate::Simultaneous).unwrap();
        let a = bilinear_game(0.5, -0.2, 0.2, 100, GameUpdate::Alternating).unwrap();
        assert!(norm(s[100]) > 2.0 * norm(s[0]));
        assert!(a.iter().all(|&z| norm(z) < 1.5 * norm(a[0])));
    }
}
