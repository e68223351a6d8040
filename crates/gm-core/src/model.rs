//! Saved models: a model that can be rebuilt from its serde config and named tensors alone.
//! The config is what `config.json` and the safetensors metadata hold, so an exported folder
//! reloads with nothing else (see the gm-hub crate).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use crate::Result;

/// A model that saves to, and rebuilds from, (name, config, tensors).
pub trait SavedModel: Sized {
    /// A stable identifier, e.g. `mnist-classifier`, stored as `gm.model`.
    const MODEL: &'static str;
    /// The config that rebuilds the architecture.
    fn config_json(&self) -> serde_json::Value;
    /// The weights by name (candle-nn naming: `layer.weight`, `layer.bias`, ...).
    fn weights(&self) -> BTreeMap<String, Tensor>;
    /// Rebuilds the model; a missing tensor or a malformed config is an error naming it.
    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self>;
}

/// A saved `gm.config` as the configuration type `T` of the model `what`; an error quotes the
/// config and says what is wrong with it.
pub fn parse_config<T: serde::de::DeserializeOwned>(
    config: &serde_json::Value,
    what: &str,
) -> crate::Result<T> {
    serde_json::from_value(config.clone())
        .map_err(|e| crate::Error::Msg(format!("{what} config `{config}` is not valid: {e}")))
}

/// A var builder over loaded tensors that reports a missing tensor by name.
pub fn var_builder_from(
    tensors: BTreeMap<String, Tensor>,
    device: &Device,
) -> candle_nn::VarBuilder<'static> {
    candle_nn::VarBuilder::from_tensors(
        tensors.into_iter().collect(),
        candle_core::DType::F32,
        device,
    )
}
