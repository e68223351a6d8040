//! MADE (Germain et al., 2015): masks, configuration and the model.
//!
//! - [`masks`]: degrees, the hidden and output masks, [`MaskSet`] and the seeded [`mask_pool`].
//! - [`config`]: [`MadeConfig`] (validated, serde).
//! - [`model`]: [`Made`], [`MaskedLinear`]; exact log-likelihood per mask and of the ensemble,
//!   sequential sampling, the [`gm_core::Generator`] and [`gm_core::model::SavedModel`] impls.

pub mod config;
pub mod masks;
pub mod model;

pub use config::MadeConfig;
pub use masks::{mask_pool, MaskSet};
pub use model::{masked_linear, Made, MaskedLinear};
