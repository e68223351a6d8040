//! The class-conditional networks: [`ConditionalGenerator`] (a label code concatenated with
//! `z` before the first layer of a [`GanGenerator`]) and [`ConditionalDiscriminator`] (a
//! [`Discriminator`] whose last hidden features `phi(x)` feed a projection on the class
//! embedding or an auxiliary class head).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use gm_core::{Generator, GmRng, ParamStore};

use super::{CganConfig, Conditioning, LabelEmbedding};
use crate::nets::{Architecture, Discriminator, GanConfig, GanGenerator};
use crate::{Error, Result};

/// One-hot codes `(n, n_classes)` (f32) of labels `(n,)` (u32); a label outside
/// `0..n_classes` gives a row of zeros.
pub fn one_hot(labels: &Tensor, n_classes: usize) -> Result<Tensor> {
    let classes = Tensor::arange(0u32, n_classes as u32, labels.device())?;
    Ok(labels
        .to_dtype(DType::U32)?
        .unsqueeze(1)?
        .broadcast_eq(&classes.unsqueeze(0)?)?
        .to_dtype(DType::F32)?)
}

/// `n` labels drawn uniformly from `0..n_classes`, as a u32 tensor `(n,)` on `device`.
pub fn uniform_labels(
    n: usize,
    n_classes: usize,
    rng: &mut GmRng,
    device: &Device,
) -> Result<Tensor> {
    let top = n_classes.saturating_sub(1) as u32;
    let v: Vec<u32> = rng
        .uniform_vec(n, 0.0, n_classes as f32)
        .into_iter()
        .map(|u| (u.floor() as u32).min(top))
        .collect();
    Ok(Tensor::from_vec(v, n, device)?)
}

/// The class-conditional generator `G(z, y)`: the body (a [`GanGenerator`], MLP or DCGAN)
/// maps `[z, e(y)]` to an item, `e(y)` a learned embedding row or the one-hot code of `y`.
///
/// As a [`Generator`] its latent is `[z, c]` of `latent_dim + n_classes` values, `c` the
/// one-hot code of the class (`e(y) = c E` for a learned table `E`, the code itself
/// otherwise), so that samples, saved latents and gm-eval work unchanged:
/// [`Generator::sample_latent`] draws the classes uniformly and
/// [`Generator::sample_latent_of_class`] fixes one. Weights: the body's own names and
/// `label_embedding.weight` (`n_classes x dim`) for a learned embedding.
#[derive(Debug, Clone)]
pub struct ConditionalGenerator {
    body: GanGenerator,
    embedding: Option<Tensor>,
    latent_dim: usize,
    n_classes: usize,
}

impl ConditionalGenerator {
    /// The generator of `cfg` (validated), its weights from `vb`.
    pub fn new(cfg: &CganConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = GanGenerator::new(&cfg.body_config(), vb.clone())?;
        let embedding = match cfg.label_embedding {
            LabelEmbedding::Learned { dim } => Some(vb.get_with_hints(
                (cfg.n_classes, dim),
                "label_embedding.weight",
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            )?),
            LabelEmbedding::OneHot => None,
        };
        Ok(Self {
            body,
            embedding,
            latent_dim: cfg.model.latent_dim,
            n_classes: cfg.n_classes,
        })
    }

    /// Rebuilds a trained generator from `model.safetensors` parts: `config` a
    /// [`CganConfig`] (the run's `gm.config`), the weights named `generator.*`.
    pub fn from_run(
        config: &serde_json::Value,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let cfg: CganConfig =
            crate::registry::saved_config(config, "not a conditional GAN config")?;
        let store = ParamStore::new(0);
        let g = Self::new(&cfg, store.var_builder(device))?;
        let own = crate::trainer::strip_prefix(tensors, "generator.");
        store.load(&own, "conditional generator weights")?;
        Ok(g)
    }

    /// The unconditional body, which sees `[z, e(y)]`.
    pub fn body(&self) -> &GanGenerator {
        &self.body
    }

    /// The learned table `E` `(n_classes, dim)`; `None` for the one-hot code.
    pub fn label_embedding(&self) -> Option<&Tensor> {
        self.embedding.as_ref()
    }

    /// Classes `0..n_classes`.
    pub fn classes(&self) -> usize {
        self.n_classes
    }

    /// The size of `z` alone.
    pub fn noise_dim(&self) -> usize {
        self.latent_dim
    }

    /// Items in network space of latents `z` `(n, noise_dim)` and class codes `(n,
    /// n_classes)` (one-hot rows, or any mixture of them).
    pub fn forward_code_t(&self, z: &Tensor, code: &Tensor, train: bool) -> Result<Tensor> {
        let e = match &self.embedding {
            Some(table) => code.matmul(table)?,
            None => code.clone(),
        };
        let input = Tensor::cat(&[z, &e], 1)?;
        self.body.forward_t(&input, train)
    }

    /// Items in network space of latents `z` `(n, noise_dim)` and labels `(n,)` (u32).
    pub fn forward_t(&self, z: &Tensor, labels: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_code_t(z, &one_hot(labels, self.n_classes)?, train)
    }

    /// Items in data space of latents `z` and labels `y`, batch norm in inference mode.
    pub fn generate_class(&self, z: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let y = self.forward_t(z, labels, false)?;
        self.body.to_data_space(&y)
    }

    /// `[z, one_hot(labels)]`, the [`Generator`] latent of `z` and `labels`.
    pub fn latent(&self, z: &Tensor, labels: &Tensor) -> Result<Tensor> {
        Ok(Tensor::cat(&[z, &one_hot(labels, self.n_classes)?], 1)?)
    }

    fn split_latent(&self, latent: &Tensor) -> Result<(Tensor, Tensor)> {
        let want = self.latent_dim + self.n_classes;
        match latent.dims() {
            &[_, d] if d == want => Ok((
                latent.narrow(1, 0, self.latent_dim)?,
                latent.narrow(1, self.latent_dim, self.n_classes)?,
            )),
            dims => Err(Error::Shape {
                what: "conditional generator latents [z, class code]",
                got: dims.to_vec(),
                expected: vec![dims.first().copied().unwrap_or(0), want],
            }),
        }
    }

    fn draw_latent(
        &self,
        n: usize,
        class: Option<usize>,
        rng: &mut GmRng,
        device: &Device,
    ) -> Result<Tensor> {
        let z = rng.normal((n, self.latent_dim), 0.0, 1.0, device)?;
        let labels = match class {
            Some(k) => Tensor::full(k as u32, n, device)?,
            None => uniform_labels(n, self.n_classes, rng, device)?,
        };
        self.latent(&z, &labels)
    }
}

impl Generator for ConditionalGenerator {
    fn latent_dim(&self) -> usize {
        self.latent_dim + self.n_classes
    }

    fn output_shape(&self) -> Vec<usize> {
        self.body.config().data_shape.clone()
    }

    fn generate(&self, latent: &Tensor) -> gm_core::Result<Tensor> {
        let run = || -> Result<Tensor> {
            let (z, code) = self.split_latent(latent)?;
            let y = self.forward_code_t(&z, &code, false)?;
            self.body.to_data_space(&y)
        };
        run().map_err(crate::error::to_core)
    }

    /// `z ~ N(0, I)`, then classes drawn uniformly.
    fn sample_latent(&self, n: usize, rng: &mut GmRng, device: &Device) -> gm_core::Result<Tensor> {
        self.draw_latent(n, None, rng, device)
            .map_err(crate::error::to_core)
    }

    fn num_classes(&self) -> Option<usize> {
        Some(self.n_classes)
    }

    /// `z ~ N(0, I)` (the same draws as [`Generator::sample_latent`] from the same stream)
    /// with every code set to `class`.
    fn sample_latent_of_class(
        &self,
        n: usize,
        class: usize,
        rng: &mut GmRng,
        device: &Device,
    ) -> gm_core::Result<Tensor> {
        if class >= self.n_classes {
            return Err(gm_core::Error::Msg(format!(
                "class {class} requested of a generator of classes 0..{}",
                self.n_classes - 1
            )));
        }
        self.draw_latent(n, Some(class), rng, device)
            .map_err(crate::error::to_core)
    }
}

/// What the conditional discriminator says about a batch.
#[derive(Debug, Clone)]
pub struct CriticOutput {
    /// The real/fake score `(n, 1)` the objective takes (for the projection discriminator,
    /// the projection term included).
    pub score: Tensor,
    /// ACGAN's class logits `(n, n_classes)`; `None` for the projection discriminator.
    pub class_logits: Option<Tensor>,
}

#[derive(Debug, Clone)]
enum Head {
    /// The class embedding `(n_classes, feature_dim)` of the projection.
    Projection(Tensor),
    /// ACGAN's class logits from the features.
    Classifier(Linear),
}

/// The class-conditional discriminator: a [`Discriminator`] body with features `phi(x)`
/// (its last hidden layer, flattened) and score `psi(phi(x))` (its output layer), and
///
/// - projection (Miyato and Koyama 2018, eq. 3): `D(x, y) = psi(phi(x)) + <embed(y),
///   phi(x)>`, `embed` a table `n_classes x feature_dim` named `projection.weight`, drawn
///   Xavier-uniform as in the authors' code;
/// - ACGAN (Odena et al. 2017): the score `psi(phi(x))` and class logits `W phi(x) + b` of a
///   linear head named `class_head`.
#[derive(Debug, Clone)]
pub struct ConditionalDiscriminator {
    body: Discriminator,
    head: Head,
    feature_dim: usize,
}

impl ConditionalDiscriminator {
    /// The discriminator of `cfg` (validated), its weights from `vb` (the body's own names
    /// beside `projection.weight` or `class_head.*`). Spectral normalization is not turned
    /// on here: see [`ConditionalDiscriminator::enable_spectral_norm`].
    pub fn new(cfg: &CganConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = Discriminator::new(&cfg.model, vb.clone())?;
        let feature_dim = feature_dim(&cfg.model)?;
        let k = cfg.n_classes;
        let head = match cfg.conditioning {
            Conditioning::Projection => {
                let bound = (6.0 / (k + feature_dim) as f64).sqrt();
                Head::Projection(vb.get_with_hints(
                    (k, feature_dim),
                    "projection.weight",
                    candle_nn::Init::Uniform {
                        lo: -bound,
                        up: bound,
                    },
                )?)
            }
            Conditioning::Acgan | Conditioning::InfoGan => {
                Head::Classifier(linear(feature_dim, k, vb.pp("class_head"))?)
            }
        };
        Ok(Self {
            body,
            head,
            feature_dim,
        })
    }

    /// Spectral normalization of the body's layers, its power-iteration vectors created in
    /// `vb` (after the optimizer, as they are state, not parameters).
    pub fn enable_spectral_norm(&mut self, vb: VarBuilder) -> Result<()> {
        self.body.enable_spectral_norm(vb)
    }

    /// One power iteration per normalized layer (nothing without spectral normalization).
    pub fn power_iteration(&self) -> Result<()> {
        self.body.power_iteration()
    }

    /// The unconditional body.
    pub fn body(&self) -> &Discriminator {
        &self.body
    }

    /// Width of `phi(x)`.
    pub fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    /// The projection's class embedding `(n_classes, feature_dim)`; `None` for ACGAN.
    pub fn projection_embedding(&self) -> Option<&Tensor> {
        match &self.head {
            Head::Projection(e) => Some(e),
            Head::Classifier(_) => None,
        }
    }

    /// `phi(x)` `(n, feature_dim)` and `psi(phi(x))` `(n, 1)` of network-space items.
    pub fn features_and_score(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.body.features_and_output(x)
    }

    /// The discriminator on network-space items `x` of classes `labels` `(n,)` (u32; ACGAN
    /// does not read them).
    pub fn forward(&self, x: &Tensor, labels: &Tensor) -> Result<CriticOutput> {
        let (phi, psi) = self.body.features_and_output(x)?;
        Ok(match &self.head {
            Head::Projection(table) => {
                let e = table.embedding(&labels.to_dtype(DType::U32)?)?;
                let inner = (e * &phi)?.sum_keepdim(1)?;
                CriticOutput {
                    score: (psi + inner)?,
                    class_logits: None,
                }
            }
            Head::Classifier(l) => CriticOutput {
                score: psi,
                class_logits: Some(l.forward(&phi)?),
            },
        })
    }
}

/// The width of the discriminator body's features `phi(x)`: the last hidden width of an MLP
/// (the input when it has none); for DCGAN, read off a throwaway copy on the CPU, so that
/// nets.rs's layout stays in one place.
fn feature_dim(model: &GanConfig) -> Result<usize> {
    match &model.discriminator {
        Architecture::Mlp { hidden, .. } => Ok(hidden.last().copied().unwrap_or(model.data_dim())),
        Architecture::Dcgan { .. } => {
            let dev = Device::Cpu;
            let probe = Discriminator::new(model, ParamStore::new(0).var_builder(&dev))?;
            let mut shape = vec![2];
            shape.extend_from_slice(&model.data_shape);
            let x = Tensor::zeros(shape, DType::F32, &dev)?;
            Ok(probe.features_and_output(&x)?.0.dim(1)?)
        }
    }
}

/// The mean class cross-entropy `-(1/n) sum_i log softmax(logits_i)[y_i]` of logits `(n, k)`
/// against labels `(n,)` (u32): ACGAN's `L_C` (Odena et al. 2017, eq. 3).
pub fn class_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::loss::cross_entropy(
        logits,
        &labels.to_dtype(DType::U32)?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::Activation;

    fn tiny(conditioning: Conditioning, embedding: LabelEmbedding) -> CganConfig {
        let mlp = Architecture::Mlp {
            hidden: vec![8],
            activation: Activation::LeakyRelu,
        };
        CganConfig {
            model: GanConfig {
                latent_dim: 3,
                data_shape: vec![1, 4, 4],
                generator: mlp.clone(),
                discriminator: mlp,
                ..GanConfig::mlp_mnist()
            },
            n_classes: 4,
            label_embedding: embedding,
            conditioning,
            ..CganConfig::default()
        }
    }

    #[test]
    fn one_hot_codes_and_uniform_labels() {
        let dev = Device::Cpu;
        let y = Tensor::new(&[2u32, 0, 3], &dev).unwrap();
        let c = one_hot(&y, 4).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(
            c,
            [
                [0.0, 0.0, 1.0, 0.0],
                [1.0, 0.0, 0.0, 0.0],
                [0.0, 0.0, 0.0, 1.0]
            ]
        );
        // 4,000 draws of 4 classes: each count within 5 standard deviations of 1,000.
        let l = uniform_labels(4_000, 4, &mut GmRng::new(1), &dev)
            .unwrap()
            .to_vec1::<u32>()
            .unwrap();
        let sd = (4_000.0f64 * 0.25 * 0.75).sqrt();
        for k in 0..4 {
            let count = l.iter().filter(|&&v| v == k).count() as f64;
            assert!((count - 1_000.0).abs() < 5.0 * sd, "class {k}: {count}");
        }
        assert!(l.iter().all(|&v| v < 4));
    }

    #[test]
    fn generate_of_the_latent_is_the_labelled_forward() {
        let dev = Device::Cpu;
        for emb in [LabelEmbedding::Learned { dim: 2 }, LabelEmbedding::OneHot] {
            let cfg = tiny(Conditioning::Projection, emb);
            let store = ParamStore::new(0);
            let g = ConditionalGenerator::new(&cfg, store.var_builder(&dev)).unwrap();
            assert_eq!(g.latent_dim(), 3 + 4);
            let mut rng = GmRng::new(4);
            let z = rng.normal((5, 3), 0.0, 1.0, &dev).unwrap();
            let y = Tensor::new(&[0u32, 1, 2, 3, 1], &dev).unwrap();
            let a = g.generate(&g.latent(&z, &y).unwrap()).unwrap();
            let b = g.generate_class(&z, &y).unwrap();
            assert_eq!(
                a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            );
            assert!(g.generate(&z).is_err(), "z alone lacks the class code");
        }
    }

    #[test]
    fn class_latents_share_z_with_the_uniform_ones() {
        let dev = Device::Cpu;
        let cfg = tiny(Conditioning::Acgan, LabelEmbedding::OneHot);
        let g = ConditionalGenerator::new(&cfg, ParamStore::new(0).var_builder(&dev)).unwrap();
        let a = g.sample_latent(6, &mut GmRng::new(2), &dev).unwrap();
        let b = g
            .sample_latent_of_class(6, 3, &mut GmRng::new(2), &dev)
            .unwrap();
        let (za, _) = g.split_latent(&a).unwrap();
        let (zb, cb) = g.split_latent(&b).unwrap();
        assert_eq!(
            za.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            zb.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        for row in cb.to_vec2::<f32>().unwrap() {
            assert_eq!(row, [0.0, 0.0, 0.0, 1.0]);
        }
        assert!(g
            .sample_latent_of_class(1, 4, &mut GmRng::new(2), &dev)
            .is_err());
    }

    #[test]
    fn feature_widths_of_mlp_and_dcgan_bodies() {
        let dev = Device::Cpu;
        let cfg = tiny(Conditioning::Projection, LabelEmbedding::OneHot);
        let d = ConditionalDiscriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
        assert_eq!(d.feature_dim(), 8);
        assert_eq!(d.projection_embedding().unwrap().dims(), &[4, 8]);
        // 8x8 DCGAN: 2 channels at 4x4, 4 at 2x2 (the last hidden maps), flattened.
        let conv = CganConfig {
            model: GanConfig {
                latent_dim: 3,
                data_shape: vec![1, 8, 8],
                generator: Architecture::Dcgan { channels: 2 },
                discriminator: Architecture::Dcgan { channels: 2 },
                ..GanConfig::dcgan_mnist()
            },
            ..cfg
        };
        let d = ConditionalDiscriminator::new(&conv, ParamStore::new(1).var_builder(&dev)).unwrap();
        assert_eq!(d.feature_dim(), 4 * 2 * 2);
        let x = GmRng::new(3).normal((3, 1, 8, 8), 0.0, 1.0, &dev).unwrap();
        let (phi, _) = d.features_and_score(&x).unwrap();
        assert_eq!(phi.dims(), &[3, 16]);
    }
}
