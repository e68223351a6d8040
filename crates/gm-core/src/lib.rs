//! gm-core: the foundation every gm crate stands on.
//!
//! - [`cli`] (feature `cli`): the command line every example shares.
//! - [`device`]: CUDA, then Metal, else CPU; `--cpu` forces the CPU.
//! - [`rng`]: seeded, resumable randomness for noise, shuffles and weight initialisation
//!   (candle's CPU generator cannot be seeded).
//! - [`data`]: the IDX reader, the embedded MNIST subset, 2-D mixtures, seeded batches.
//! - [`generator`]: the [`Generator`] trait.
//! - [`latent`]: linear and spherical latent interpolation, walks between latent pairs.
//! - [`optim`]: Adam with saveable state.
//! - [`train`]: the training loop: progress, metrics, checkpoints, resume, NaN guard.
//! - [`viz`]: image grids, loss curves, the run report.
//! - [`classifier`]: the small MNIST convolutional classifier, with shipped weights.
//! - [`io`]: safetensors files with metadata, written atomically.
//! - [`run`]: run folders: a marker, the files gm wrote, and the rules that keep a user's files.
#![warn(missing_docs)]

pub mod alloc;
pub mod classifier;
#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
pub mod device;
pub mod error;
pub mod generator;
pub mod io;
pub mod latent;
pub mod model;
mod model_error;
pub mod nn;
pub mod optim;
pub mod rng;
pub mod run;
pub mod runtime;
pub mod theory;
pub mod train;
pub mod viz;

pub use device::{select_device, ToHostF64};
pub use error::{Error, Result};
pub use generator::{DenseForm, Generator};
pub use optim::{Adam, AdamConfig};
pub use rng::{GmRng, ParamStore};
pub use train::{fit, FitConfig, FitSummary, Metrics, TrainState, Trainer};
