//! gm: generative modeling on candle, from the classical ways of drawing random variables to
//! deep generative models and their use as priors for inverse problems.
//!
//! This facade re-exports the member crates under short names (`gm::core`, `gm::data`, ...),
//! holds the command line the reference examples share ([`cli`]) and rebuilds and samples any
//! saved generator ([`models`], behind `cargo xtask sample`).
#![warn(missing_docs)]

pub mod cli;
pub mod models;

pub use gm_autoregressive as autoregressive;
pub use gm_core as core;
pub use gm_data as data;
pub use gm_divergence as divergence;
pub use gm_eval as eval;
pub use gm_flow as flow;
pub use gm_gan as gan;
pub use gm_hub as hub;
pub use gm_inverse as inverse;
pub use gm_sampling as sampling;
pub use gm_vae as vae;
