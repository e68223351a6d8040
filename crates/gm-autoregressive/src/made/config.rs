//! [`MadeConfig`]: the architecture, mask pool and test-time ensemble of a MADE.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The architecture of a MADE (serde, validated): data shape, hidden sizes (ReLU), the
/// mask pool for connectivity-agnostic training and the test-time ensemble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MadeConfig {
    /// Shape of one item, e.g. `[1, 28, 28]`; D is the product.
    pub data_shape: Vec<usize>,
    /// Sizes of the hidden layers (empty: a masked logistic regression per variable).
    pub hidden: Vec<usize>,
    /// Connectivities in the pool; one is drawn per mini-batch when more than 1
    /// (connectivity-agnostic training).
    pub num_masks: usize,
    /// Each connectivity of the pool also draws a random ordering of the inputs
    /// (order-agnostic training); otherwise all use the natural (raster) order.
    pub order_agnostic: bool,
    /// The model's distribution: the uniform mixture of the first `ensemble` connectivities
    /// of the pool, log p(x) = log mean_k p_k(x). At most `num_masks`.
    pub ensemble: usize,
    /// Seed of the pool (see [`crate::made::mask_pool`]).
    pub mask_seed: u64,
}

impl Default for MadeConfig {
    fn default() -> Self {
        Self {
            data_shape: vec![1, 28, 28],
            hidden: vec![500],
            num_masks: 1,
            order_agnostic: false,
            ensemble: 1,
            mask_seed: 0,
        }
    }
}

impl MadeConfig {
    /// One hidden layer of 500 ReLU units and 32 connectivities in natural order, the test
    /// distribution their ensemble: the architecture of the 86.64-nat row of Germain et al.
    /// (2015) for binarized MNIST.
    pub fn germain2015() -> Self {
        Self {
            num_masks: 32,
            ensemble: 32,
            ..Self::default()
        }
    }

    /// Number of binary variables D.
    pub fn data_dim(&self) -> usize {
        self.data_shape.iter().product()
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.data_shape.is_empty() || self.data_shape.contains(&0) {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "needs at least one dimension, none of size 0",
            ));
        }
        if self.data_dim() < 2 {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "an autoregressive model needs at least 2 variables",
            ));
        }
        if self.hidden.contains(&0) {
            return Err(Error::config(
                "hidden",
                format!("{:?}", self.hidden),
                "hidden layers need at least one unit",
            ));
        }
        if self.num_masks == 0 {
            return Err(Error::config(
                "num_masks",
                0,
                "the pool needs at least one mask",
            ));
        }
        if self.ensemble == 0 || self.ensemble > self.num_masks {
            return Err(Error::config(
                "ensemble",
                self.ensemble,
                "must lie in 1..=num_masks",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(c: &MadeConfig) -> &'static str {
        match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_preset_are_valid() {
        MadeConfig::default().validate().unwrap();
        MadeConfig::germain2015().validate().unwrap();
        assert_eq!(MadeConfig::default().data_dim(), 784);
    }

    #[test]
    fn data_shape_cannot_be_empty_or_hold_zero() {
        for shape in [vec![], vec![1, 0, 28], vec![1]] {
            let c = MadeConfig {
                data_shape: shape,
                ..Default::default()
            };
            assert_eq!(field_of(&c), "data_shape");
        }
    }

    #[test]
    fn hidden_layers_cannot_be_empty_layers() {
        let c = MadeConfig {
            hidden: vec![10, 0],
            ..Default::default()
        };
        assert_eq!(field_of(&c), "hidden");
        let c = MadeConfig {
            hidden: vec![],
            ..Default::default()
        };
        c.validate().unwrap();
    }

    #[test]
    fn num_masks_cannot_be_zero() {
        let c = MadeConfig {
            num_masks: 0,
            ensemble: 0,
            ..Default::default()
        };
        assert_eq!(field_of(&c), "num_masks");
    }

    #[test]
    fn ensemble_must_fit_in_the_pool() {
        for ensemble in [0, 3] {
            let c = MadeConfig {
                num_masks: 2,
                ensemble,
                ..Default::default()
            };
            assert_eq!(field_of(&c), "ensemble");
        }
    }

    #[test]
    fn serde_fills_defaults() {
        let c: MadeConfig = serde_json::from_str(r#"{"hidden": [8]}"#).unwrap();
        assert_eq!(c.hidden, vec![8]);
        assert_eq!(c.data_shape, vec![1, 28, 28]);
        let back: MadeConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
