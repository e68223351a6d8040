//! [`CganConfig`]: the networks, the label embedding, the discriminator's conditioning and
//! the optimisers of a class-conditional GAN run.

use gm_core::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::adversarial::Game;
use crate::nets::GanConfig;
use crate::objective::Objective;
use crate::tricks::Tricks;
use crate::{Error, Result};

/// How the generator sees the class `y`: a code `e(y)` concatenated with `z` before the
/// generator's first layer (the first linear layer of an MLP, the first projection of a
/// DCGAN generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LabelEmbedding {
    /// A learned table `n_classes x dim`, drawn N(0, 1) (PyTorch's `nn.Embedding`, as in
    /// PyTorch-GAN's cgan and acgan).
    Learned {
        /// Values of each class's code, at least 1.
        dim: usize,
    },
    /// The one-hot code itself, `n_classes` values (Mirza and Osindero 2014).
    OneHot,
}

impl LabelEmbedding {
    /// Values the code of one class adds to the generator's input.
    pub fn dim(&self, n_classes: usize) -> usize {
        match self {
            LabelEmbedding::Learned { dim } => *dim,
            LabelEmbedding::OneHot => n_classes,
        }
    }
}

/// How the discriminator sees the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conditioning {
    /// The projection discriminator of Miyato and Koyama (2018):
    /// `D(x, y) = psi(phi(x)) + <embed(y), phi(x)>`.
    Projection,
    /// The auxiliary classifier of ACGAN (Odena et al. 2017): `D(x)` gives the real/fake
    /// logit and class logits, and both players add the class cross-entropy.
    Acgan,
    /// InfoGAN (Chen et al. 2016), which needs no labels: the class is a categorical latent
    /// code `c ~ U{0..n_classes}` of the generator, `D(x)` gives the real/fake logit and the
    /// logits of `Q(c | x)`, and both players add `class_loss_weight` times the cross-entropy
    /// of `Q` on generated items, `-E log Q(c | G(z, c))`: minus the variational lower bound
    /// of the mutual information `I(c; G(z, c))` up to the constant `H(c)` (eq. 5). The
    /// codes take whatever classes the two players agree on, not the data's labels.
    InfoGan,
}

impl Conditioning {
    /// The name on the command line and in the model name `cgan/<name>`.
    pub fn name(&self) -> &'static str {
        match self {
            Conditioning::Projection => "projection",
            Conditioning::Acgan => "acgan",
            Conditioning::InfoGan => "infogan",
        }
    }

    /// The conditioning called `name` ([`Conditioning::name`]).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Conditioning::Projection,
            Conditioning::Acgan,
            Conditioning::InfoGan,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }
}

/// Hyperparameters of a class-conditional GAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CganConfig {
    /// The generator/discriminator pair; `latent_dim` is the size of `z` alone (the
    /// generator's first layer takes `latent_dim + label_embedding.dim(n_classes)` values).
    pub model: GanConfig,
    /// Classes `0..n_classes`; the data's labels must lie below.
    pub n_classes: usize,
    /// How the generator sees the class.
    pub label_embedding: LabelEmbedding,
    /// How the discriminator sees the class: projection or ACGAN.
    pub conditioning: Conditioning,
    /// The adversarial loss on the real/fake scores: any adversarial objective (GAN, hinge,
    /// least squares, f-GAN, omega/rho, WGAN with clipping, WGAN-GP, whose interpolates the
    /// critic scores with the real items' labels).
    pub objective: Objective,
    /// The critic's tricks (n critic steps, R1 with the real labels, R2 with the generated
    /// ones, instance noise, label smoothing, DiffAugment, historical averaging); spectral
    /// normalization is the field `spectral_norm`; feature matching and the weight average
    /// are refused.
    #[serde(default)]
    pub tricks: Tricks,
    /// ACGAN and InfoGAN: weight of the class cross-entropy in each player's loss (1 in both
    /// papers). Unused by the projection discriminator.
    pub class_loss_weight: f64,
    /// ACGAN: the critic adds the class cross-entropy of generated items too, as in the
    /// paper. `false`: of real items only, so that the critic's classifier never learns the
    /// generator's own class codes (with both, the two players can agree on classes that
    /// do not look like the data's: measured in `cargo xtask run cgan --conditioning acgan`).
    /// Absent from a saved config: the paper's `true`.
    #[serde(default = "paper_acgan")]
    pub critic_classifies_generated: bool,
    /// Spectral normalization of the discriminator's layers (not of the projection
    /// embedding or the class head), one power iteration per critic step.
    pub spectral_norm: bool,
    /// The generator's Adam.
    pub adam_g: AdamConfig,
    /// The discriminator's Adam.
    pub adam_d: AdamConfig,
    /// Write the periodic grid: one row per class, one column per latent `z`.
    pub class_grid: bool,
}

fn paper_acgan() -> bool {
    true
}

impl Default for CganConfig {
    /// DCGAN networks for 28x28 digits, 10 classes, a learned 10-d label embedding, the
    /// projection discriminator, the non-saturating loss, Adam 2e-4 (0.5, 0.999).
    fn default() -> Self {
        let adam = AdamConfig {
            lr: 2e-4,
            beta1: 0.5,
            ..AdamConfig::default()
        };
        Self {
            model: GanConfig::dcgan_mnist(),
            n_classes: 10,
            label_embedding: LabelEmbedding::Learned { dim: 10 },
            conditioning: Conditioning::Projection,
            objective: Objective::default(),
            tricks: Tricks::default(),
            class_loss_weight: 1.0,
            critic_classifies_generated: true,
            spectral_norm: false,
            adam_g: adam,
            adam_d: adam,
            class_grid: true,
        }
    }
}

impl CganConfig {
    /// Values the generator's first layer takes: `z` and the class code.
    pub fn generator_input_dim(&self) -> usize {
        self.model.latent_dim + self.label_embedding.dim(self.n_classes)
    }

    /// The network config of the generator's body: `model` with the class code added to the
    /// latent.
    pub(super) fn body_config(&self) -> GanConfig {
        GanConfig {
            latent_dim: self.generator_input_dim(),
            ..self.model.clone()
        }
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        if self.n_classes < 2 {
            return Err(Error::config(
                "n_classes",
                self.n_classes,
                "a conditional model needs at least 2 classes",
            ));
        }
        if self.label_embedding == (LabelEmbedding::Learned { dim: 0 }) {
            return Err(Error::config(
                "label_embedding.dim",
                0,
                "a learned embedding needs at least 1 dimension",
            ));
        }
        Game::new(&self.objective, &self.tricks).validate("the conditional GAN", false)?;
        if !self.tricks.diff_augment.is_empty() && self.model.data_shape.len() != 3 {
            return Err(Error::config(
                "tricks.diff_augment",
                format!("{:?}", self.model.data_shape),
                "DiffAugment transforms images (channels, height, width)",
            ));
        }
        if !(self.class_loss_weight.is_finite() && self.class_loss_weight > 0.0) {
            return Err(Error::config(
                "class_loss_weight",
                self.class_loss_weight,
                "must be finite and > 0",
            ));
        }
        self.adam_g.validate()?;
        self.adam_d.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(cfg: CganConfig) -> &'static str {
        match cfg.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_is_valid() {
        let c = CganConfig::default();
        c.validate().unwrap();
        assert_eq!(c.generator_input_dim(), 110);
        assert_eq!(c.body_config().latent_dim, 110);
    }

    #[test]
    fn a_config_saved_before_the_real_only_variant_reads_as_the_paper() {
        let mut v = serde_json::to_value(CganConfig {
            critic_classifies_generated: false,
            ..CganConfig::default()
        })
        .unwrap();
        v.as_object_mut()
            .unwrap()
            .remove("critic_classifies_generated");
        let c: CganConfig = serde_json::from_value(v).unwrap();
        assert_eq!(c, CganConfig::default());
    }

    #[test]
    fn n_classes_must_be_at_least_two() {
        for n in [0, 1] {
            let c = CganConfig {
                n_classes: n,
                ..CganConfig::default()
            };
            assert_eq!(field(c), "n_classes");
        }
    }

    #[test]
    fn a_learned_embedding_needs_a_dimension() {
        let c = CganConfig {
            label_embedding: LabelEmbedding::Learned { dim: 0 },
            ..CganConfig::default()
        };
        assert_eq!(field(c), "label_embedding.dim");
        let one_hot = CganConfig {
            label_embedding: LabelEmbedding::OneHot,
            ..CganConfig::default()
        };
        assert_eq!(one_hot.generator_input_dim(), 100 + 10);
    }

    #[test]
    fn objective_must_be_adversarial() {
        let c = CganConfig {
            objective: Objective::Mmd {
                bandwidths: vec![1.0],
            },
            ..CganConfig::default()
        };
        assert_eq!(field(c), "objective");
        for objective in [Objective::Hinge, Objective::WganGp { penalty: 10.0 }] {
            let c = CganConfig {
                objective,
                ..CganConfig::default()
            };
            c.validate().unwrap();
        }
        let c = CganConfig {
            tricks: Tricks {
                feature_matching: true,
                ..Tricks::default()
            },
            ..CganConfig::default()
        };
        assert_eq!(field(c), "tricks.feature_matching");
    }

    #[test]
    fn class_loss_weight_must_be_positive_and_finite() {
        for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let c = CganConfig {
                class_loss_weight: w,
                ..CganConfig::default()
            };
            assert_eq!(field(c), "class_loss_weight");
        }
    }

    #[test]
    fn conditionings_parse_by_name() {
        for c in [
            Conditioning::Projection,
            Conditioning::Acgan,
            Conditioning::InfoGan,
        ] {
            assert_eq!(Conditioning::parse(c.name()), Some(c));
        }
        assert_eq!(Conditioning::parse("concat"), None);
    }
}
