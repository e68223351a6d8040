//! [`ImageFlowConfig`]: the architecture of the multi-scale image flow, with defaults sized
//! for a two-core CPU and a validation that names the bad field.

use serde::{Deserialize, Serialize};

use crate::layers::ScaleFn;
use crate::{Error, Result};

/// The multi-scale flow of RealNVP (Dinh et al. 2017) with Glow's steps (Kingma and Dhariwal
/// 2018), for images `(c, h, w)`:
///
/// ```text
/// y in [0,1]^(c h w) --logit--> checkerboard steps at (c, h, w)
///   --> level 0: squeeze to (4c, h/2, w/2), steps of flow, factor out half the channels
///   --> level 1: squeeze, steps, factor out half ... --> last level: squeeze, steps
/// ```
///
/// A checkerboard step is ActNorm then a checkerboard coupling; a step of flow is ActNorm,
/// an invertible 1x1 convolution and a channel coupling. Factored-out halves go straight to
/// the latent (standard normal, as in RealNVP), so `z` has `c h w` coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageFlowConfig {
    /// `[c, h, w]`.
    pub image_shape: Vec<usize>,
    /// The logit transform's `alpha` (RealNVP: 0.05).
    pub alpha: f64,
    /// Checkerboard steps at full resolution, before the first squeeze.
    pub checkerboard_steps: usize,
    /// Conditioner width of the checkerboard couplings.
    pub checkerboard_hidden: usize,
    /// Scales; `h` and `w` must be divisible by `2^levels`.
    pub levels: usize,
    /// Steps of flow per level.
    pub steps_per_level: usize,
    /// Conditioner width of the channel couplings.
    pub hidden: usize,
    /// The bounded log-scale of every coupling.
    pub scale: ScaleFn,
    /// Glow's invertible 1x1 convolution in each step (else the couplings alternate halves
    /// with no mixing between them, as in RealNVP).
    pub invconv: bool,
}

impl Default for ImageFlowConfig {
    fn default() -> Self {
        Self {
            image_shape: vec![1, 28, 28],
            alpha: 0.05,
            checkerboard_steps: 2,
            checkerboard_hidden: 32,
            levels: 2,
            steps_per_level: 4,
            hidden: 64,
            scale: ScaleFn::Tanh,
            invconv: true,
        }
    }
}

impl ImageFlowConfig {
    /// Dimensions of an image: `c h w`.
    pub fn data_dim(&self) -> usize {
        self.image_shape.iter().product()
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        let shape = &self.image_shape;
        if shape.len() != 3 || shape.contains(&0) {
            return Err(Error::config(
                "image_shape",
                format!("{shape:?}"),
                "must be [c, h, w] with every size at least 1",
            ));
        }
        if !(0.0..0.5).contains(&self.alpha) {
            return Err(Error::config("alpha", self.alpha, "must lie in [0, 0.5)"));
        }
        if self.levels == 0 {
            return Err(Error::config("levels", 0, "must be at least 1"));
        }
        let f = 1usize.checked_shl(self.levels as u32).unwrap_or(usize::MAX);
        if self.levels >= usize::BITS as usize
            || !shape[1].is_multiple_of(f)
            || !shape[2].is_multiple_of(f)
        {
            return Err(Error::config(
                "levels",
                self.levels,
                "h and w must be divisible by 2^levels (each level squeezes by 2)",
            ));
        }
        if self.steps_per_level == 0 {
            return Err(Error::config("steps_per_level", 0, "must be at least 1"));
        }
        if self.hidden == 0 {
            return Err(Error::config("hidden", 0, "must be at least 1"));
        }
        if self.checkerboard_steps > 0 && self.checkerboard_hidden == 0 {
            return Err(Error::config(
                "checkerboard_hidden",
                0,
                "must be at least 1 when there are checkerboard steps",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(c: ImageFlowConfig) -> &'static str {
        match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn default_is_valid_and_784_dimensional() {
        let c = ImageFlowConfig::default();
        c.validate().unwrap();
        assert_eq!(c.data_dim(), 784);
    }

    #[test]
    fn image_shape_must_be_chw() {
        for s in [vec![28, 28], vec![1, 0, 28]] {
            let c = ImageFlowConfig {
                image_shape: s,
                ..Default::default()
            };
            assert_eq!(field(c), "image_shape");
        }
    }

    #[test]
    fn alpha_must_lie_below_one_half() {
        for a in [-0.1, 0.5, f64::NAN] {
            let c = ImageFlowConfig {
                alpha: a,
                ..Default::default()
            };
            assert_eq!(field(c), "alpha");
        }
    }

    #[test]
    fn levels_must_divide_the_image() {
        // 28 = 4 x 7: three squeezes do not fit.
        for l in [0, 3] {
            let c = ImageFlowConfig {
                levels: l,
                ..Default::default()
            };
            assert_eq!(field(c), "levels");
        }
    }

    #[test]
    fn steps_and_widths_cannot_be_zero() {
        let c = ImageFlowConfig {
            steps_per_level: 0,
            ..Default::default()
        };
        assert_eq!(field(c), "steps_per_level");
        let c = ImageFlowConfig {
            hidden: 0,
            ..Default::default()
        };
        assert_eq!(field(c), "hidden");
        let c = ImageFlowConfig {
            checkerboard_hidden: 0,
            ..Default::default()
        };
        assert_eq!(field(c), "checkerboard_hidden");
        // Without checkerboard steps the width is unused.
        ImageFlowConfig {
            checkerboard_steps: 0,
            checkerboard_hidden: 0,
            ..Default::default()
        }
        .validate()
        .unwrap();
    }
}
