//! The conditional GAN's recipe for `cargo xtask run cgan`, and its saved generator.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::Generator;

use super::{CganConfig, CganTrainer, ConditionalGenerator, Conditioning, LabelEmbedding};
use crate::registry::{ImageModel, ImageSpec};
use crate::{Error, GanConfig, Objective, Result, Tricks};

/// The option names the recipe reads.
const OPTIONS: [&str; 5] = [
    "conditioning",
    "embedding",
    "arch",
    "acgan-real-classes",
    "class-loss-weight",
];

/// Ten classes, DCGAN networks, the projection discriminator and a learned 10-d label
/// embedding, Adam (0.5, 0.999); options `conditioning` (projection, acgan, infogan: ten
/// unsupervised codes), `embedding`
/// (learned, one-hot), `arch` (dcgan, mlp), `acgan-real-classes` (true: ACGAN's critic
/// classifies real digits only) and `class-loss-weight` (ACGAN's and InfoGAN's lambda,
/// default 1).
pub(super) fn build(spec: &ImageSpec<'_>) -> Result<Box<dyn ImageModel>> {
    spec.only_options(&OPTIONS)?;
    let mut objective = Objective::default();
    let mut tricks = Tricks::default();
    spec.toolkit.apply(&mut objective, &mut tricks);
    // The conditional discriminator normalizes its own layers (not the class embedding).
    let spectral_norm = std::mem::take(&mut tricks.spectral_norm);
    let conditioning = spec.option("conditioning", "projection");
    let conditioning = Conditioning::parse(conditioning).ok_or_else(|| Error::Config {
        field: "--conditioning",
        value: conditioning.to_string(),
        reason: "use projection, acgan or infogan",
    })?;
    let label_embedding = match spec.option("embedding", "learned") {
        "learned" => LabelEmbedding::Learned { dim: 10 },
        "one-hot" => LabelEmbedding::OneHot,
        other => {
            return Err(Error::Config {
                field: "--embedding",
                value: other.to_string(),
                reason: "use learned or one-hot",
            })
        }
    };
    let model = match spec.option("arch", "dcgan") {
        "dcgan" => GanConfig::dcgan_mnist(),
        "mlp" => GanConfig::mlp_mnist(),
        other => {
            return Err(Error::Config {
                field: "--arch",
                value: other.to_string(),
                reason: "use dcgan or mlp",
            })
        }
    };
    let real_classes_only = match spec.option("acgan-real-classes", "false") {
        "false" => false,
        "true" if conditioning == Conditioning::Acgan => true,
        "true" => {
            return Err(Error::Config {
                field: "--acgan-real-classes",
                value: conditioning.name().to_string(),
                reason: "only with --conditioning acgan",
            })
        }
        other => {
            return Err(Error::Config {
                field: "--acgan-real-classes",
                value: other.to_string(),
                reason: "use true or false",
            })
        }
    };
    let class_loss_weight = match spec.options.get("class-loss-weight") {
        None => CganConfig::default().class_loss_weight,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| Error::Config {
                field: "class-loss-weight",
                value: v.clone(),
                reason: "must be a number at least 0",
            })?,
    };
    let cfg = CganConfig {
        class_loss_weight,
        model: GanConfig {
            data_shape: spec.data_shape.to_vec(),
            ..model
        },
        n_classes: 10,
        label_embedding,
        conditioning,
        objective,
        tricks,
        critic_classifies_generated: !real_classes_only,
        spectral_norm,
        adam_g: crate::registry::adam(spec.lr, 0.5, 0.999),
        adam_d: crate::registry::adam(spec.lr, 0.5, 0.999),
        ..CganConfig::default()
    };
    Ok(Box::new(CganTrainer::new(cfg, spec.seed, spec.device)?))
}

impl ImageModel for CganTrainer {
    fn sampler(&self) -> &dyn Generator {
        self.generator()
    }

    fn labelled_classes(&self) -> bool {
        self.config().conditioning != Conditioning::InfoGan
    }

    fn describe(&self) -> String {
        format!(
            "{} discriminator, {} loss, {} generator + {} discriminator parameters",
            self.config().conditioning.name(),
            self.config().objective.name(),
            self.generator_store().num_params(),
            self.discriminator_store().num_params()
        )
    }
}

/// [`ConditionalGenerator::from_run`] as the registry's constructor.
pub(super) fn saved_generator(
    _model: &str,
    config: &serde_json::Value,
    tensors: &BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<Box<dyn Generator>> {
    Ok(Box::new(ConditionalGenerator::from_run(
        config, tensors, device,
    )?))
}
