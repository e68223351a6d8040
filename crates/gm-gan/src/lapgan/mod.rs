//! LAPGAN: a Laplacian pyramid of generative adversarial networks (Denton, Chintala, Szlam
//! and Fergus 2015, "Deep generative image models using a Laplacian pyramid of adversarial
//! networks").
//!
//! An image `I_0` is decomposed by a downsampling `d` (2x2 average pooling) and an upsampling
//! `u` (nearest neighbour) into the low-pass images `I_{k+1} = d(I_k)` and the band-pass
//! residuals `h_k = I_k - u(I_{k+1})` (the paper's equation 3); the image is rebuilt exactly
//! by `I_k = u(I_{k+1}) + h_k` (equation 4). At the coarsest level an unconditional GAN (a
//! fully connected pair, as the paper's 8x8 CIFAR-10 model; here part 1's [`GanTrainer`](crate::GanTrainer))
//! learns `I_{K}`; at each finer level `k` a conditional GAN learns the residual given the
//! upsampled coarser image, `h~_k = G_k(z_k, u(I_{k+1}))`, its discriminator scoring
//! `(h_k, u(I_{k+1}))` pairs. All levels train on the same batches, each on its own pyramid
//! level of the real data (the small coarse pair `coarse_updates` times per batch, as the
//! paper trains each level on its own); sampling runs coarse to fine (equation 5):
//! `I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1}))`.

mod config;
mod nets;
mod pyramid;
mod trainer;

pub use config::LapganConfig;
pub use pyramid::{downsample, upsample, LaplacianPyramid};
pub use trainer::{LapganChain, LapganTrainer};

/// LAPGAN in `cargo xtask run`: measured by its zoo experiment; its levels draw their own
/// noise, so a saved run has no single latent to sample.
pub const ENTRY: crate::registry::ModelEntry = crate::registry::ModelEntry {
    name: "lapgan",
    about: "LAPGAN (Denton et al. 2015): a Laplacian pyramid of GANs, 7/14/28 pixels",
    budget: &[("steps", Some("2000")), ("batch-size", Some("32"))],
    run: crate::registry::Run::Zoo,
    saved: crate::registry::Saved::Unsupported {
        model: "lapgan",
        why: "each pyramid level draws its own noise inside gm-gan, so there is no single latent z",
    },
};
