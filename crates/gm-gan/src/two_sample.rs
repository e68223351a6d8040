//! The data-driven half of the omega/rho lecture: a discriminator `D(x; theta)` fitted on two
//! samples by maximising the empirical cost
//!
//! ```text
//! J_hat(D) = mean_i phi(D(x_i)) + mean_j psi(D(y_j)),   x_i ~ f,  y_j ~ g,
//! ```
//!
//! approaches `D* = omega(g / f)` where both densities have mass, and, where `f = g`, every
//! discriminator has `J(D) <= phi(omega(1)) + psi(omega(1)) = J_0` (pointwise, since `t =
//! omega(1)` maximises `phi(t) + psi(t)`). That makes "D close to omega(1) everywhere" a
//! two-sample test: fit `D` on one half of each sample, estimate `J(D)` on the other halves,
//! and reject `f = g` when the estimate exceeds `J_0` by more than `z_{1 - alpha}` standard
//! errors. Under `f = g` the held-out estimate has mean at most `J_0`, so the level is at most
//! `alpha` up to the normal approximation.

use candle_core::{Device, Tensor};
use gm_core::ToHostF64;
use gm_core::{Adam, AdamConfig, GmRng, ParamStore};
use gm_divergence::DiscriminatorCost;

use crate::nets::{Activation, Architecture, Discriminator, GanConfig, MlpInit, OutputActivation};
use crate::Result;

/// The 95 % quantile of the standard normal: the one-sided test at level 0.05.
pub const Z_95: f64 = 1.644_853_626_951_472_2;

/// How [`fit_cost_discriminator`] trains.
#[derive(Debug, Clone, PartialEq)]
pub struct CostFit {
    /// Hidden widths of the tanh MLP.
    pub hidden: Vec<usize>,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Seeds the initial weights.
    pub seed: u64,
}

impl Default for CostFit {
    fn default() -> Self {
        Self {
            hidden: vec![16, 16],
            steps: 600,
            lr: 1e-2,
            seed: 0,
        }
    }
}

/// A discriminator `(n, d) -> (n, 1)` raw scores maximising the empirical cost of `cost` on
/// `x` (from f) and `y` (from g); its values are `cost.activation_tensor` of the scores.
pub fn fit_cost_discriminator(
    cost: &DiscriminatorCost,
    x: &Tensor,
    y: &Tensor,
    fit: &CostFit,
) -> Result<Discriminator> {
    let dim = x.dim(1)?;
    let (d, _, mut adam) = mlp_critic(dim, &fit.hidden, Activation::Tanh, fit.lr, fit.seed, x)?;
    for _ in 0..fit.steps {
        let j = cost.cost_from_logits(&d.forward(x)?, &d.forward(y)?)?;
        adam.backward_step(&j.neg()?)?;
    }
    Ok(d)
}

/// An MLP critic on `dim` inputs with the given hidden widths (weights from `seed`, on `x`'s
/// device), its store and an Adam of rate `lr` over it.
fn mlp_critic(
    dim: usize,
    hidden: &[usize],
    activation: Activation,
    lr: f64,
    seed: u64,
    x: &Tensor,
) -> Result<(Discriminator, ParamStore, Adam)> {
    let model = GanConfig {
        latent_dim: 1,
        data_shape: vec![dim],
        generator: Architecture::Mlp {
            hidden: vec![1],
            activation,
        },
        discriminator: Architecture::Mlp {
            hidden: hidden.to_vec(),
            activation,
        },
        output: OutputActivation::Identity,
        mlp_init: MlpInit::Default,
    };
    let store = ParamStore::new(seed);
    let d = Discriminator::new(&model, store.var_builder(x.device()))?;
    let adam = Adam::new(
        &store,
        AdamConfig {
            lr,
            ..AdamConfig::default()
        },
    )?;
    Ok((d, store, adam))
}

/// `D(x)` in the cost's domain, one value per row of `x`.
pub fn discriminator_values(
    d: &Discriminator,
    cost: &DiscriminatorCost,
    x: &Tensor,
) -> Result<Vec<f64>> {
    let v = cost.activation_tensor(&d.forward(x)?)?;
    Ok(v.flatten_all()?.to_host_f64()?.to_vec1::<f64>()?)
}

/// The outcome of [`omega_two_sample_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OmegaTest {
    /// `J_hat(D) - J_0` on the held-out halves.
    pub excess: f64,
    /// Its standard error.
    pub stderr: f64,
    /// `excess / stderr`.
    pub z: f64,
    /// `z > Z_95`.
    pub reject: bool,
}

/// The two-sample test of this module at level 0.05: `D` fitted on the first halves of `x`
/// and `y`, `J(D)` estimated on the second halves.
pub fn omega_two_sample_test(
    cost: &DiscriminatorCost,
    x: &Tensor,
    y: &Tensor,
    fit: &CostFit,
) -> Result<OmegaTest> {
    let (n, m) = (x.dim(0)? / 2, y.dim(0)? / 2);
    let d = fit_cost_discriminator(cost, &x.narrow(0, 0, n)?, &y.narrow(0, 0, m)?, fit)?;
    let a: Vec<f64> = discriminator_values(&d, cost, &x.narrow(0, n, x.dim(0)? - n)?)?
        .into_iter()
        .map(|t| cost.phi(t))
        .collect();
    let b: Vec<f64> = discriminator_values(&d, cost, &y.narrow(0, m, y.dim(0)? - m)?)?
        .into_iter()
        .map(|t| cost.psi(t))
        .collect();
    let mean_var = |v: &[f64]| {
        let k = v.len() as f64;
        let mean = v.iter().sum::<f64>() / k;
        let var = v.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0);
        (mean, var / k)
    };
    let ((ma, va), (mb, vb)) = (mean_var(&a), mean_var(&b));
    let excess = ma + mb - cost.value_at_equality();
    let stderr = (va + vb).sqrt().max(1e-300);
    let z = excess / stderr;
    Ok(OmegaTest {
        excess,
        stderr,
        z,
        reject: z > Z_95,
    })
}

/// Rejection rates over `reps` pairs of samples of size `n`, `x ~ N(0, 1)` and `y ~
/// N(shift, 1)` in one dimension: (the omega test with `cost`, the MMD permutation test with
/// a Gaussian kernel of the median bandwidth and 200 permutations), both at level 0.05.
pub fn rejection_rates(
    cost: &DiscriminatorCost,
    shift: f64,
    n: usize,
    reps: usize,
    fit: &CostFit,
    seed: u64,
) -> Result<(f64, f64)> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let (mut omega, mut mmd) = (0usize, 0usize);
    for r in 0..reps {
        let x = rng.normal((n, 1), 0.0, 1.0, &dev)?;
        let y = rng.normal((n, 1), shift, 1.0, &dev)?;
        let fit_r = CostFit {
            seed: fit.seed.wrapping_add(r as u64),
            ..fit.clone()
        };
        if omega_two_sample_test(cost, &x, &y, &fit_r)?.reject {
            omega += 1;
        }
        let pooled = Tensor::cat(&[&x, &y], 0)?;
        let bw = gm_divergence::kernel::median_heuristic(&pooled)?;
        let kernel = gm_divergence::Kernel::gaussian(&[bw])?;
        let t = gm_divergence::kernel::permutation_test(&kernel, &x, &y, 200, &mut rng)?;
        if t.p_value <= 0.05 {
            mmd += 1;
        }
    }
    Ok((omega as f64 / reps as f64, mmd as f64 / reps as f64))
}

/// A pair of densities with known ratio, for [`omega_grid_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownPair {
    /// f = N(0, 1), g = N(1, 1.5^2); grid: 21 points of [-1, 1.5].
    Gaussians1d,
    /// f = N(0, I), g = N((1, 0.5), diag(1.5^2, 1)) in the plane; grid: 7 x 7 points of
    /// [-1, 1.5] x [-1, 1.5].
    Gaussians2d,
    /// f = N(0, 1.5^2), g = (N(-1, 0.7^2) + N(1, 0.7^2)) / 2; grid: 21 points of [-1.5, 1.5].
    Mixture1d,
}

fn log_normal(t: f64, m: f64, s: f64) -> f64 {
    -0.5 * ((t - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

impl KnownPair {
    /// The pair in words, e.g. `N(0, 1) vs N(1, 1.5^2)`.
    pub fn name(&self) -> &'static str {
        match self {
            KnownPair::Gaussians1d => "N(0, 1) vs N(1, 1.5^2)",
            KnownPair::Gaussians2d => "N(0, I) vs N((1, 0.5), diag(1.5^2, 1)) in 2-D",
            KnownPair::Mixture1d => "N(0, 1.5^2) vs a mixture of N(-1, 0.7^2) and N(1, 0.7^2)",
        }
    }

    /// `n` points of f and `n` points of g.
    fn samples(&self, n: usize, rng: &mut GmRng, dev: &Device) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            KnownPair::Gaussians1d => (
                rng.normal((n, 1), 0.0, 1.0, dev)?,
                rng.normal((n, 1), 1.0, 1.5, dev)?,
            ),
            KnownPair::Gaussians2d => {
                let x = rng.normal((n, 2), 0.0, 1.0, dev)?;
                let e = rng.normal((n, 2), 0.0, 1.0, dev)?;
                let scale = Tensor::new(&[[1.5f32, 1.0]], dev)?;
                let shift = Tensor::new(&[[1.0f32, 0.5]], dev)?;
                (x, e.broadcast_mul(&scale)?.broadcast_add(&shift)?)
            }
            KnownPair::Mixture1d => {
                let x = rng.normal((n, 1), 0.0, 1.5, dev)?;
                let e = rng.normal((n, 1), 0.0, 0.7, dev)?;
                let side = rng
                    .uniform((n, 1), 0.0, 1.0, dev)?
                    .ge(0.5)?
                    .to_dtype(candle_core::DType::F32)?
                    .affine(2.0, -1.0)?;
                (x, (e + side)?)
            }
        })
    }

    /// The grid and `log g - log f` on it.
    fn grid(&self) -> (Vec<Vec<f32>>, Vec<f64>) {
        let line = |lo: f32, hi: f32, k: usize| -> Vec<f32> {
            (0..k)
                .map(|i| lo + (hi - lo) * i as f32 / (k - 1) as f32)
                .collect()
        };
        let pts: Vec<Vec<f32>> = match self {
            KnownPair::Gaussians1d => line(-1.0, 1.5, 21).into_iter().map(|t| vec![t]).collect(),
            KnownPair::Gaussians2d => {
                let l = line(-1.0, 1.5, 7);
                l.iter()
                    .flat_map(|&a| l.iter().map(move |&b| vec![a, b]))
                    .collect()
            }
            KnownPair::Mixture1d => line(-1.5, 1.5, 21).into_iter().map(|t| vec![t]).collect(),
        };
        let log_ratio = pts
            .iter()
            .map(|p| {
                let t: Vec<f64> = p.iter().map(|&v| v as f64).collect();
                match self {
                    KnownPair::Gaussians1d => {
                        log_normal(t[0], 1.0, 1.5) - log_normal(t[0], 0.0, 1.0)
                    }
                    KnownPair::Gaussians2d => {
                        log_normal(t[0], 1.0, 1.5) + log_normal(t[1], 0.5, 1.0)
                            - log_normal(t[0], 0.0, 1.0)
                            - log_normal(t[1], 0.0, 1.0)
                    }
                    KnownPair::Mixture1d => {
                        let g = 0.5
                            * (log_normal(t[0], -1.0, 0.7).exp()
                                + log_normal(t[0], 1.0, 0.7).exp());
                        g.ln() - log_normal(t[0], 0.0, 1.5)
                    }
                }
            })
            .collect();
        (pts, log_ratio)
    }
}

/// The largest error of a discriminator fitted on 2,000 points of each density of `pair`
/// (400 Adam steps) against `omega(g / f)` on the pair's grid, relative to `1 + |omega(g /
/// f)|`.
pub fn omega_grid_error(cost: &DiscriminatorCost, pair: KnownPair, seed: u64) -> Result<f64> {
    let dev = Device::Cpu;
    let mut rng = GmRng::new(seed);
    let (x, y) = pair.samples(2000, &mut rng, &dev)?;
    let fit = CostFit {
        steps: 400,
        ..CostFit::default()
    };
    let d = fit_cost_discriminator(cost, &x, &y, &fit)?;
    let (pts, log_ratio) = pair.grid();
    let dim = pts[0].len();
    let flat: Vec<f32> = pts.iter().flatten().copied().collect();
    let got = discriminator_values(&d, cost, &Tensor::from_vec(flat, (pts.len(), dim), &dev)?)?;
    Ok(got
        .iter()
        .zip(&log_ratio)
        .map(|(&v, &lr)| {
            let want = cost.omega(lr.exp());
            (v - want).abs() / (1.0 + want.abs())
        })
        .fold(0.0, f64::max))
}

/// The neural-net distance of Arora et al. (2017), `d_F(mu, nu) = sup_{D in F} E_mu D - E_nu
/// D`, between the samples `x` and `y` for the class `F` of one-hidden-layer ReLU critics of
/// `hidden` units with every weight in `[-clip, clip]` (a bounded class, as their
/// generalization theorem needs): the supremum is approached by Adam with the weights clipped
/// after each step, and the value is the final critic's mean difference on the samples.
pub fn neural_net_distance(
    x: &Tensor,
    y: &Tensor,
    hidden: usize,
    clip: f64,
    steps: usize,
    seed: u64,
) -> Result<f64> {
    let (d, store, mut adam) = mlp_critic(x.dim(1)?, &[hidden], Activation::Relu, 1e-2, seed, x)?;
    let gap = |d: &Discriminator| -> Result<Tensor> {
        Ok((d.forward(x)?.mean_all()? - d.forward(y)?.mean_all()?)?)
    };
    for (_, var) in store.vars() {
        var.set(&var.as_tensor().clamp(-clip, clip)?)?;
    }
    for _ in 0..steps {
        adam.backward_step(&gap(&d)?.neg()?)?;
        for (_, var) in store.vars() {
            var.set(&var.as_tensor().clamp(-clip, clip)?)?;
        }
    }
    Ok(gap(&d)?.to_scalar::<f32>()? as f64)
}
