//! gm-divergence: the mathematics under adversarial and non-adversarial generators.
//!
//! - [`f_divergence`]: `D_f(P || Q) = E_Q f(p / q)` for eleven generators, with `f'`, the
//!   Fenchel conjugate `f*` and its domain, the f-GAN output activation `g_f` and the optimal
//!   critic `T* = f'(p / q)` (Nowozin, Cseke & Tomioka 2016).
//! - [`disjoint`]: disjoint supports and vanishing gradients: JS saturates at log 2 while W1
//!   keeps gradient 1; saturating vs non-saturating generator losses (Arjovsky & Bottou 2017).
//! - [`estimate`]: exact (discrete), quadrature, closed-form (Gaussians) and Monte Carlo values.
//! - [`quadrature`]: adaptive Gauss-Kronrod (7/15) on intervals and on the real line.
//! - [`variational`]: the bound `E_P g_f(V) - E_Q f*(g_f(V))` and the f-GAN losses as tensors.
//! - [`omega_rho`]: discriminator costs `E_f phi(D) + E_g psi(D)` with `D* = omega(g / f)`.
//! - [`kernel`]: Gaussian / inverse-multiquadric kernels, MMD^2, the Cauchy-Schwarz ratio, a
//!   permutation test.
//! - [`optimize`]: 1-D maximisation (grid + golden section) for the numerical checks.
//! - [`transport`]: 1-D Wasserstein, sliced Wasserstein, Sinkhorn, exact assignment.
//! - [`semidiscrete`]: lower bounds on the transport cost between a distribution (sampled) and
//!   a finite sample, by stochastic ascent on the semi-dual.
//! - [`theory_rows`]: the crate's rows of `cargo xtask reproduce theory`.
#![warn(missing_docs)]

pub mod disjoint;
pub mod error;
pub mod estimate;
pub mod f_divergence;
pub mod kernel;
pub mod omega_rho;
pub mod optimize;
pub mod quadrature;
pub mod semidiscrete;
pub mod theory;
pub mod transport;
pub mod variational;

pub use disjoint::{
    disjoint_support_curves, js_shifted_uniforms_closed_form, js_shifted_uniforms_quadrature,
    plot_disjoint_support_curves, w1_shifted_uniforms_closed_form, w1_shifted_uniforms_quadrature,
    DisjointSupportConfig, DisjointSupportPoint, SigmoidDiscriminator,
};
pub use error::{Error, Result};
pub use estimate::{
    f_divergence_discrete, f_divergence_gaussians_closed_form, f_divergence_gaussians_quadrature,
    f_divergence_monte_carlo, f_divergence_quadrature, kl_gaussian, kl_multivariate_gaussian,
    variational_bound_monte_carlo, Estimate, Gaussian1d,
};
pub use f_divergence::{Divergence, Domain};
pub use kernel::{
    cauchy_schwarz_ratio, median_heuristic, mmd2_biased, mmd2_linear, mmd2_unbiased,
    pairwise_sq_distances, permutation_test, Kernel, KernelKind, PermutationTest,
};
pub use omega_rho::DiscriminatorCost;
pub use quadrature::{integrate, integrate_real_line, Quadrature, QuadratureConfig};
pub use theory::theory_rows;
pub use transport::{
    hungarian, random_directions, sinkhorn, sliced_wasserstein, sliced_wasserstein_value,
    wasserstein_1d, wasserstein_exact, Sinkhorn,
};
pub use variational::{
    fgan_critic_loss, fgan_generator_loss, fgan_generator_loss_non_saturating, variational_bound,
};
