//! gm-autoregressive: autoregressive models of binary data with exact log-likelihoods.
//!
//! p(x) = prod_d p(x_d | x_<d), each conditional a Bernoulli whose logit a masked network
//! computes from the variables before d, so log p(x) is a sum of D exact terms (nats), not a
//! bound, and sampling is sequential (D forward passes).
//!
//! - [`made`]: MADE (Germain et al., 2015): masked linear layers, connectivity degrees,
//!   order-agnostic and connectivity-agnostic training, ensembles of masks at test time.
//! - [`pixelcnn`]: PixelCNN (van den Oord et al., 2016): masked convolutions of type A and
//!   B and residual blocks.
//! - [`likelihood`]: the stable Bernoulli log-likelihood, `log_mean_exp`, dynamic
//!   binarization (the same as gm-vae's), [`ExactLikelihood`] and [`mean_nll`].
//! - [`trainer`]: [`ArTrainer`], a [`gm_core::Trainer`] for gm-core's `fit` loop, with
//!   [`MadeTrainer`] and [`PixelCnnTrainer`].
//! - [`io`]: save and load a model folder (`model.safetensors` + `config.json`).
//!
//! Both models implement [`gm_core::Generator`]: the latent z is the vector of uniforms of
//! sequential inverse-CDF sampling (see [`Made`]'s impl), `generate(z)` is deterministic and
//! its output lies in {0, 1}, gm's [0, 1] image range; it is not differentiable in z.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use gm_autoregressive::{ExactLikelihood, MadeConfig};
//! use gm_core::{GmRng, ParamStore};
//!
//! // A MADE over 3 binary variables: the 8 probabilities of all vectors sum to 1.
//! let cfg = MadeConfig { data_shape: vec![3], hidden: vec![8], ..Default::default() };
//! let made = cfg.init(&ParamStore::new(0), &Device::Cpu)?;
//! let all: Vec<f32> = (0..8u32).flat_map(|r| (0..3).map(move |j| ((r >> j) & 1) as f32)).collect();
//! let log_p = made.log_prob(&Tensor::from_vec(all, (8, 3), &Device::Cpu)?)?;
//! let total: f32 = log_p.exp()?.sum_all()?.to_scalar()?;
//! assert!((total - 1.0).abs() < 1e-5);
//! let samples = made.sample(4, &mut GmRng::new(1))?; // (4, 3), values in {0, 1}
//! assert_eq!(samples.dims(), &[4, 3]);
//! # Ok::<(), gm_autoregressive::Error>(())
//! ```
#![warn(missing_docs)]

pub mod error;
pub mod io;
pub mod likelihood;
pub mod made;
pub mod pixelcnn;
pub mod trainer;

pub use error::{Error, Result};
pub use io::{load_model, save_model};
pub use likelihood::{
    bernoulli_log_likelihood, binarize, bits_per_dim, log_mean_exp, mean_nll, ExactLikelihood,
};
pub use made::{Made, MadeConfig, MaskSet};
pub use pixelcnn::{PixelCnn, PixelCnnConfig};
pub use trainer::{
    ArModel, ArTrainConfig, ArTrainer, MadeTrainConfig, MadeTrainer, PixelCnnTrainConfig,
    PixelCnnTrainer,
};
