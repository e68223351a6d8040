//! The `Generator` abstraction: a map from a latent batch to a data batch with a prior over
//! the latent space. Every GAN generator and VAE decoder implements it; evaluation and the
//! inverse-problem estimators accept any implementation.

use candle_core::{Device, Tensor};

use crate::nn::DenseStack;
use crate::rng::GmRng;
use crate::Result;

/// A generator written out as a fully connected stack for passes on host memory (see
/// [`DenseStack`]): `generate(z)`, flattened, is the stack's output, its last activation
/// included.
#[derive(Debug, Clone)]
pub struct DenseForm {
    /// The layers and activations.
    pub stack: DenseStack,
    /// Host copies of the parameters `[w0, b0, w1, b1, ...]` in the stack's layout.
    pub params: Vec<Vec<f32>>,
}

/// A latent-variable generator x = G(z), z ~ prior.
pub trait Generator {
    /// Dimension of z.
    fn latent_dim(&self) -> usize;

    /// Shape of one generated item, e.g. `[1, 28, 28]` or `[2]`.
    fn output_shape(&self) -> Vec<usize>;

    /// Maps latents `(n, latent_dim)` to data `(n, output_shape...)`. Must be differentiable
    /// in `z` (inverse problems optimise over z).
    fn generate(&self, z: &Tensor) -> Result<Tensor>;

    /// Draws `n` latents from the prior (standard normal unless overridden).
    fn sample_latent(&self, n: usize, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        rng.normal((n, self.latent_dim()), 0.0, 1.0, device)
    }

    /// Draws `n` samples: `generate(sample_latent(n))`.
    fn sample(&self, n: usize, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        let z = self.sample_latent(n, rng, device)?;
        self.generate(&z)
    }

    /// The generator as a [`DenseForm`] when it is a fully connected stack on the CPU in f32,
    /// so that estimators may run written-out passes (compressed sensing does); `None`, the
    /// default, keeps them on candle's autograd.
    fn dense_form(&self) -> Result<Option<DenseForm>> {
        Ok(None)
    }

    /// The number of classes of a class-conditional generator, whose latents carry the
    /// class ([`Generator::sample_latent`] then draws the classes uniformly); `None` for an
    /// unconditional one.
    fn num_classes(&self) -> Option<usize> {
        None
    }

    /// Draws `n` latents of class `class` (see [`Generator::num_classes`]). Unconditional
    /// generators refuse.
    fn sample_latent_of_class(
        &self,
        n: usize,
        class: usize,
        rng: &mut GmRng,
        device: &Device,
    ) -> Result<Tensor> {
        let _ = (n, rng, device);
        Err(crate::Error::Msg(format!(
            "class {class} requested of a generator that is not class-conditional"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x = 2 z + 1, the simplest generator, to test the provided methods.
    struct Affine;
    impl Generator for Affine {
        fn latent_dim(&self) -> usize {
            3
        }
        fn output_shape(&self) -> Vec<usize> {
            vec![3]
        }
        fn generate(&self, z: &Tensor) -> Result<Tensor> {
            Ok(z.affine(2.0, 1.0)?)
        }
    }

    #[test]
    fn an_unconditional_generator_has_no_classes() {
        assert_eq!(Affine.num_classes(), None);
        let e = Affine
            .sample_latent_of_class(2, 1, &mut GmRng::new(0), &Device::Cpu)
            .unwrap_err();
        assert!(e.to_string().contains("not class-conditional"), "{e}");
    }

    #[test]
    fn sample_is_generate_of_prior_draws() {
        let dev = Device::Cpu;
        let x = Affine.sample(4, &mut GmRng::new(1), &dev).unwrap();
        let z = GmRng::new(1).normal((4, 3), 0.0, 1.0, &dev).unwrap();
        let want = z.affine(2.0, 1.0).unwrap();
        assert_eq!(x.to_vec2::<f32>().unwrap(), want.to_vec2::<f32>().unwrap());
    }
}
