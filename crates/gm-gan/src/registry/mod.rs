//! The models of gm-gan that `cargo xtask run <name>` trains and `cargo xtask sample` rebuilds,
//! one [`ModelEntry`] each in [`MODELS`].
//!
//! An image model is all the runner needs to know: its entry's [`Run::Images`] builds a
//! trainer from an [`ImageSpec`] (the data's shape, the learning rate, the seed, the user's
//! [`Toolkit`] of losses and tricks, and the model's own `--opt key=value` options), and the
//! runner (gm-gan's `train` example) trains it with gm-core's `fit`, scores its samples with
//! gm-eval and, for a class-conditional generator on the labelled digits, measures its class
//! accuracy. Its [`Saved`] rebuilds the generator from a run folder's `model.safetensors`. A
//! new adversarial model therefore lives in its own folder (configuration, networks, trainer,
//! recipe) and joins the command with one line in [`MODELS`].
//!
//! ```
//! use gm_gan::registry::{find, Run};
//!
//! let cgan = find("cgan").unwrap();
//! assert!(matches!(cgan.run, Run::Images(_)));
//! assert!(cgan.saved.claims("cgan/projection"));
//! assert!(find("no-such-model").is_none());
//! ```

mod recipes;
mod toolkit;

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use gm_core::{Generator, Trainer};

use crate::{Error, Result};

pub(crate) use recipes::adam;
pub use recipes::divergence;
pub use toolkit::Toolkit;

/// A budget flag of the command (`epochs`, `steps`, `batch-size`, `lr`) and its default;
/// `None`: taken without a default. Flags not listed are refused (see
/// `gm_core::cli::try_parse_from`).
pub type Budget = &'static [(&'static str, Option<&'static str>)];

/// Rebuilds a saved generator from its `gm.model`, `gm.config` and weights.
pub type LoadFn =
    fn(&str, &serde_json::Value, &BTreeMap<String, Tensor>, &Device) -> Result<Box<dyn Generator>>;

/// Builds an image model's trainer.
pub type BuildFn = fn(&ImageSpec<'_>) -> Result<Box<dyn ImageModel>>;

/// One model of the command.
pub struct ModelEntry {
    /// Its name: `cargo xtask run <name>`.
    pub name: &'static str,
    /// One line: the model and its paper.
    pub about: &'static str,
    /// Its budget flags and their defaults.
    pub budget: Budget,
    /// How the runner trains and measures it.
    pub run: Run,
    /// How `cargo xtask sample` rebuilds its saved generator.
    pub saved: Saved,
}

/// How the runner trains and measures a model.
pub enum Run {
    /// Trained on images by gm-core's `fit`, scored on its samples (MNIST metrics on the
    /// embedded digits, the held-out images otherwise); the runner needs nothing else.
    Images(BuildFn),
    /// A 2-D model on a mixture of Gaussians, scored by mode coverage.
    Mixture,
    /// A model of the zoo, measured by its experiment of `cargo xtask reproduce zoo`.
    Zoo,
}

/// How a saved model is rebuilt.
pub enum Saved {
    /// Rebuilt elsewhere: the GAN trainer's `gan/<objective>` runs by
    /// [`crate::LoadedGenerator`], whose concrete type the Hub export needs.
    Elsewhere,
    /// `gm.model` equal to `model` or starting with `model/` is rebuilt by `load`.
    Generator {
        /// The saved model name, or its prefix before `/`.
        model: &'static str,
        /// The constructor.
        load: LoadFn,
    },
    /// Saved as `model`, but not a generator gm can sample, for the reason `why`.
    Unsupported {
        /// The saved model name.
        model: &'static str,
        /// Why it cannot be sampled.
        why: &'static str,
    },
}

impl Saved {
    /// Whether the saved model called `model` (a `gm.model`) is this entry's.
    pub fn claims(&self, model: &str) -> bool {
        let name = match self {
            Saved::Elsewhere => return false,
            Saved::Generator { model, .. } | Saved::Unsupported { model, .. } => *model,
        };
        model == name
            || model
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// What the runner gives an image model to build its trainer from.
pub struct ImageSpec<'a> {
    /// The entry's name, which errors about its options name.
    pub model: &'a str,
    /// The shape of one training image, `(c, h, w)`.
    pub data_shape: &'a [usize],
    /// Adam's learning rate (`--lr`).
    pub lr: f64,
    /// The run's seed: initial weights and every draw of training.
    pub seed: u64,
    /// The device the run trains on.
    pub device: &'a Device,
    /// The user's losses and tricks; each one left out keeps the model's recipe.
    pub toolkit: &'a Toolkit,
    /// The model's own options (`--opt key=value`, and the named flags that set them).
    pub options: &'a BTreeMap<String, String>,
}

impl ImageSpec<'_> {
    /// The option `key`, or `default` when it is not given.
    pub fn option<'b>(&'b self, key: &str, default: &'b str) -> &'b str {
        self.options.get(key).map_or(default, String::as_str)
    }

    /// Refuses every option not in `known`, by name: a misspelt option is an error rather
    /// than a silent default.
    pub fn only_options(&self, known: &[&str]) -> Result<()> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(Error::Config {
                field: "--opt",
                value: format!(
                    "{k} (the options of `{}`: {})",
                    self.model,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                reason: "not an option of this model",
            }),
        }
    }
}

/// A trainer the runner can train with `fit` and sample from.
pub trait ImageModel: Trainer {
    /// The generator its samples and evaluation come from (the weight average when the run
    /// keeps one).
    fn sampler(&self) -> &dyn Generator;
    /// One line for the run's start: its parameters and anything the recipe chose.
    fn describe(&self) -> String;
    /// Whether its classes are the data's labels (it trains on labelled items, and the
    /// runner measures how often the classifier agrees with the class asked for); by
    /// default, whether its generator is class-conditional.
    fn labelled_classes(&self) -> bool {
        self.sampler().num_classes().is_some()
    }
}

/// Every model of the command, in the order it lists them.
pub const MODELS: &[ModelEntry] = &[
    recipes::GAN,
    recipes::WGAN,
    recipes::WGAN_GP,
    recipes::FGAN,
    recipes::UNROLLED,
    recipes::MIXGAN,
    recipes::MMD,
    recipes::KERNEL,
    crate::lapgan::ENTRY,
    crate::progressive::ENTRY,
    crate::bigan::ENTRY,
    crate::cyclegan::ENTRY,
    crate::conditional::ENTRY,
];

/// The entry called `name`.
pub fn find(name: &str) -> Option<&'static ModelEntry> {
    MODELS.iter().find(|m| m.name == name)
}

/// The entry whose saved models include `model` (a `gm.model`).
pub fn saved(model: &str) -> Option<&'static ModelEntry> {
    MODELS.iter().find(|m| m.saved.claims(model))
}

/// The saved models no entry can sample, with the reason.
pub fn unsupported() -> impl Iterator<Item = (&'static str, &'static str)> {
    MODELS.iter().filter_map(|m| match m.saved {
        Saved::Unsupported { model, why } => Some((model, why)),
        _ => None,
    })
}

/// A fresh trainer's state with the weights of network `key` replaced by the saved tensors
/// `prefix + name`, so that `load_state` loads them. Every weight of the network must be in
/// the file: a fresh weight left in place would sample from an untrained network. The other
/// entries are copied, since a variable cannot be set to its own tensor.
pub(crate) fn with_saved_weights(
    state: gm_core::TrainState,
    key: &str,
    saved: &BTreeMap<String, Tensor>,
    prefix: &str,
) -> Result<gm_core::TrainState> {
    let own = format!("{key}.");
    let mut tensors = BTreeMap::new();
    for (name, t) in state.tensors {
        let t = match name.strip_prefix(&own) {
            Some(rest) => {
                let want = format!("{prefix}{rest}");
                saved.get(&want).cloned().ok_or(Error::Config {
                    field: "model.safetensors",
                    value: want,
                    reason: "a weight of the saved network is missing",
                })?
            }
            None => t.copy()?,
        };
        tensors.insert(name, t);
    }
    Ok(gm_core::TrainState {
        tensors,
        scalars: state.scalars,
    })
}

/// `config` as the configuration type `T`, or an error naming what it should have been.
pub(crate) fn saved_config<T: serde::de::DeserializeOwned>(
    config: &serde_json::Value,
    what: &'static str,
) -> Result<T> {
    serde_json::from_value(config.clone()).map_err(|e| Error::Config {
        field: "gm.config",
        value: format!("{config} ({e})"),
        reason: what,
    })
}

#[cfg(test)]
mod tests;
