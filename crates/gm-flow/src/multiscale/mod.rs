//! The multi-scale image flow (RealNVP's architecture with Glow's steps): its
//! [`config`], the [`model`] with its exact likelihood and [`gm_core::Generator`], and the
//! [`trainer`] for gm-core's `fit` loop.

pub mod config;
pub mod model;
pub mod trainer;

pub use config::ImageFlowConfig;
pub use model::{ImageFlow, LoadedFlow, MODEL};
pub use trainer::{FlowTrainConfig, FlowTrainer};
