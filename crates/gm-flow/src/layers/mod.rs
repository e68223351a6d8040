//! The layers of gm's flows, each a [`crate::Flow`] (forward = `x -> z` with
//! `log |det dz/dx|`, inverse = `z -> x`):
//!
//! - [`coupling`](mod@coupling): RealNVP's affine coupling with checkerboard, channel and
//!   alternating masks.
//! - [`actnorm`](mod@actnorm): Glow's per-channel affine map with data-dependent
//!   initialisation.
//! - [`invconv`](mod@invconv): Glow's invertible 1x1 convolution, LU-parameterised.
//! - [`squeeze`](mod@squeeze): 2x2 blocks to channels.
//! - [`planar`](mod@planar), [`radial`](mod@radial): the flows of Rezende and Mohamed (2015),
//!   for low dimensions.

pub mod actnorm;
pub mod coupling;
pub mod invconv;
pub mod planar;
pub mod radial;
pub mod squeeze;

pub use actnorm::{actnorm, ActNorm};
pub use coupling::{
    alternating_coupling, channel_coupling, checkerboard_coupling, AffineCoupling, Mask, ScaleFn,
};
pub use invconv::{invconv1x1, InvConv1x1};
pub use planar::{planar, Planar};
pub use radial::{radial, Radial};
pub use squeeze::{squeeze, unsqueeze, Squeeze};
