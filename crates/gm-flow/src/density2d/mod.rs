//! Densities on the plane: [`model`] (a vector RealNVP, planar and radial flows, and their
//! maximum-likelihood fit), [`moons`] (two moons, with its density by quadrature),
//! [`quadrature`] (Gauss-Hermite, the exact `KL(data || model)` against a Gaussian mixture,
//! grid masses) and [`heatmap`] (density pictures).

pub mod heatmap;
pub mod model;
pub mod moons;
pub mod quadrature;

pub use model::{fit_2d, Flow2d, Flow2dConfig, Flow2dKind, Train2dConfig};
pub use moons::TwoMoons;
pub use quadrature::{gauss_hermite, grid_mass, kl_mixture, Kl};
