//! gm-flow: normalizing flows with exact log-likelihood,
//! `p_X(x) = p_Z(f(x)) |det df/dx|` for an invertible `f` from data to a standard normal.
//!
//! - [`flow`]: the [`Flow`] trait (forward = the normalizing direction `x -> z`, with
//!   `log |det dz/dx|`; inverse = the generative direction), composition, the base density.
//! - [`layers`]: affine coupling (RealNVP), ActNorm and the invertible 1x1 convolution
//!   (Glow), squeeze, planar and radial flows (Rezende and Mohamed 2015).
//! - [`dequantize`]: uniform dequantization, the logit transform and bits per dimension.
//! - [`multiscale`]: the multi-scale image flow ([`ImageFlow`], a [`gm_core::Generator`]),
//!   its config and its [`gm_core::Trainer`] ([`FlowTrainer`], whose CPU steps run written
//!   out on host memory and are tested against candle's autograd); saved runs reload as
//!   [`LoadedFlow`] (model name `flow`).
//! - [`density2d`]: 2-D flows (vector RealNVP, planar, radial), two moons, Gauss-Hermite
//!   quadrature and the exact KL against a Gaussian mixture, density heat maps.
//! - [`check`]: Jacobians by autograd and finite differences, to test log-determinants.
//! - [`linalg`]: small f64 LU, determinant, inverse and orthogonalisation.
#![warn(missing_docs)]

pub mod check;
pub mod density2d;
pub mod dequantize;
pub mod error;
pub mod flow;
mod fused;
pub mod layers;
pub mod linalg;
pub mod multiscale;

pub use density2d::{Flow2d, Flow2dConfig, Flow2dKind, TwoMoons};
pub use error::{Error, Result};
pub use flow::{log_prob, standard_normal_log_prob, Flow, FlowSequence};
pub use multiscale::{FlowTrainConfig, FlowTrainer, ImageFlow, ImageFlowConfig, LoadedFlow};

/// Shared assertions of the layer tests.
#[cfg(test)]
pub(crate) mod test_util {
    use candle_core::Tensor;
    use gm_core::ToHostF64;
    use gm_core::{GmRng, ParamStore};

    use crate::check::{jacobian, log_abs_det_of};
    use crate::Flow;

    /// Adds N(0, std^2) noise to every weight of `store` (but the fixed permutation and signs
    /// of 1x1 convolutions), so that zero-initialised layers stop being the identity.
    pub fn randomize(store: &ParamStore, seed: u64, std: f64) {
        let mut rng = GmRng::new(seed);
        for (name, var) in store.vars() {
            if name.ends_with("perm") || name.ends_with("sign") {
                continue;
            }
            let noise = rng.normal(var.shape(), 0.0, std, var.device()).unwrap();
            var.set(&(var.as_tensor() + noise).unwrap()).unwrap();
        }
    }

    fn max_abs(t: &Tensor) -> f64 {
        t.to_host_f64()
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    /// `inverse(forward(x)) = x` to `tol` relative to `max(1, max |x|)`.
    pub fn assert_round_trip(flow: &dyn Flow, x: &Tensor, tol: f64) {
        let (z, _) = flow.forward(x).unwrap();
        let back = flow.inverse(&z).unwrap();
        assert_eq!(back.dims(), x.dims());
        let err = max_abs(&(&back - x).unwrap());
        let scale = max_abs(x).max(1.0);
        assert!(
            err <= tol * scale,
            "round trip error {err} > {tol} x {scale}"
        );
    }

    /// The layer's log-determinant at the single item `x` equals `log |det J|` of the autograd
    /// Jacobian of its forward map, to `tol`.
    pub fn assert_log_det_matches(flow: &dyn Flow, x: &Tensor, tol: f64) {
        assert_eq!(x.dim(0).unwrap(), 1, "one item at a time");
        let jac = jacobian(|v| Ok(flow.forward(v)?.0), x).unwrap();
        let want = log_abs_det_of(&jac).unwrap();
        let (_, ld) = flow.forward(x).unwrap();
        let got = ld.to_host_f64().unwrap().to_vec1::<f64>().unwrap()[0];
        assert!(
            (got - want).abs() <= tol * want.abs().max(1.0),
            "log-det {got} vs Jacobian {want}"
        );
    }
}
