//! [`ImageFlow`]: the multi-scale flow of [`ImageFlowConfig`] on dequantized pixels
//! `y in [0, 1]^D`, its exact log-density and bits per dimension, and its [`Generator`]
//! (`z ~ N(0, I_D)` through the inverse, to gm's image range `[0, 1]`). [`LoadedFlow`] is a
//! flow rebuilt from a saved `model.safetensors` (model name [`MODEL`]).

use gm_core::ToHostF64;
use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use gm_core::data::Dataset;
use gm_core::{Generator, GmRng, ParamStore};

use super::config::ImageFlowConfig;
use crate::dequantize::{bits_per_dim, dequantize, LogitTransform, LEVELS};
use crate::flow::{standard_normal_log_prob, Flow, FlowSequence};
use crate::fused::HostLayer;
use crate::layers::{actnorm, channel_coupling, checkerboard_coupling, invconv1x1, Squeeze};
use crate::{Error, Result};

/// The model name of an image flow in checkpoints and `model.safetensors` (`gm.model`).
pub const MODEL: &str = "flow";

/// One scale: squeeze and steps of flow, then (but for the last) the first `factor_out`
/// channels go to the latent.
#[derive(Debug)]
struct Level {
    flow: FlowSequence,
    /// `(channels, h, w)` after the level's steps.
    shape: (usize, usize, usize),
    factor_out: Option<usize>,
}

/// Appends `layer` to `seq` and its written-out form to `host`.
fn add(
    seq: &mut FlowSequence,
    host: &mut Vec<Option<HostLayer>>,
    form: Option<HostLayer>,
    layer: impl Flow + 'static,
) {
    host.push(form);
    seq.push(Box::new(layer));
}

/// The multi-scale image flow; see [`ImageFlowConfig`]. As a [`Flow`], it maps dequantized
/// images `y (n, c, h, w)` in `(0, 1)` to latents `z (n, D)` (the factored-out parts level by
/// level, then the last level's output, each flattened), and back.
#[derive(Debug)]
pub struct ImageFlow {
    cfg: ImageFlowConfig,
    logit: LogitTransform,
    pre: FlowSequence,
    levels: Vec<Level>,
    /// Every layer as the written-out training step sees it; `None` when one has no such
    /// form.
    host: Option<Vec<HostLayer>>,
}

impl ImageFlow {
    /// Builds the flow from `vb` (fresh weights from a [`ParamStore`], or saved tensors).
    pub fn new(cfg: ImageFlowConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let (c, mut h, mut w) = (cfg.image_shape[0], cfg.image_shape[1], cfg.image_shape[2]);
        let mut pre = FlowSequence::default();
        // The layers as the written-out training step sees them, in the same order.
        let mut host = Vec::new();
        for i in 0..cfg.checkerboard_steps {
            let vb = vb.pp(format!("pre{i}"));
            let norm = actnorm(c, vb.pp("actnorm"))?;
            add(&mut pre, &mut host, Some(norm.host_layer()), norm);
            let coupling = checkerboard_coupling(
                c,
                cfg.checkerboard_hidden,
                i % 2 == 1,
                cfg.scale,
                vb.pp("coupling"),
            )?;
            add(&mut pre, &mut host, coupling.host_layer(), coupling);
        }
        let mut levels = Vec::with_capacity(cfg.levels);
        let mut ch = c;
        for l in 0..cfg.levels {
            let vb = vb.pp(format!("level{l}"));
            ch *= 4;
            h /= 2;
            w /= 2;
            let mut flow = FlowSequence::default();
            add(&mut flow, &mut host, Some(HostLayer::Squeeze), Squeeze);
            for k in 0..cfg.steps_per_level {
                let vb = vb.pp(format!("step{k}"));
                let norm = actnorm(ch, vb.pp("actnorm"))?;
                add(&mut flow, &mut host, Some(norm.host_layer()), norm);
                if cfg.invconv {
                    let mix = invconv1x1(ch, vb.pp("invconv"))?;
                    add(&mut flow, &mut host, Some(mix.host_layer()), mix);
                }
                let coupling =
                    channel_coupling(ch, cfg.hidden, k % 2 == 1, cfg.scale, vb.pp("coupling"))?;
                add(&mut flow, &mut host, coupling.host_layer(), coupling);
            }
            let factor_out = (l + 1 < cfg.levels).then_some(ch / 2);
            if let Some(k) = factor_out {
                host.push(Some(HostLayer::FactorOut(k)));
            }
            levels.push(Level {
                flow,
                shape: (ch, h, w),
                factor_out,
            });
            if let Some(k) = factor_out {
                ch -= k;
            }
        }
        Ok(Self {
            logit: LogitTransform::new(cfg.alpha)?,
            cfg,
            pre,
            levels,
            host: host.into_iter().collect(),
        })
    }

    /// A fresh flow whose weights live in `store` (seeded).
    pub fn init(cfg: ImageFlowConfig, store: &ParamStore, device: &Device) -> Result<Self> {
        Self::new(cfg, store.var_builder(device))
    }

    /// The architecture this flow was built with.
    pub fn config(&self) -> &ImageFlowConfig {
        &self.cfg
    }

    /// The layers as the written-out training step sees them.
    pub(crate) fn host_layers(&self) -> Option<&[HostLayer]> {
        self.host.as_deref()
    }

    /// The logit transform applied to dequantized pixels before the layers.
    pub(crate) fn logit(&self) -> LogitTransform {
        self.logit
    }

    /// `D = c h w`.
    pub fn data_dim(&self) -> usize {
        self.cfg.data_dim()
    }

    pub(crate) fn check(&self, y: &Tensor) -> Result<()> {
        if y.rank() != 4 || y.dims()[1..] != self.cfg.image_shape[..] {
            let mut expected = vec![y.dims().first().copied().unwrap_or(0)];
            expected.extend(&self.cfg.image_shape);
            return Err(Error::Shape {
                what: "flow input (n, c, h, w)",
                got: y.dims().to_vec(),
                expected,
            });
        }
        Ok(())
    }

    /// Runs the levels on the logit-space image `h`, with `step` applying a level's flow.
    fn through_levels(
        &self,
        mut h: Tensor,
        mut step: impl FnMut(&FlowSequence, &Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let mut parts = Vec::with_capacity(self.levels.len());
        for level in &self.levels {
            h = step(&level.flow, &h)?;
            if let Some(k) = level.factor_out {
                parts.push(h.narrow(1, 0, k)?.flatten_from(1)?);
                h = h.narrow(1, k, level.shape.0 - k)?;
            }
        }
        parts.push(h.flatten_from(1)?);
        Ok(Tensor::cat(&parts, 1)?)
    }

    /// Continuous log-density `log p(y)` per image (nats) of dequantized images `y` in
    /// `(0, 1)`: `log N(z) + log |det dz/dy|`, the logit transform included.
    pub fn log_prob(&self, y: &Tensor) -> Result<Tensor> {
        let (z, logdet) = self.forward(y)?;
        Ok((standard_normal_log_prob(&z)? + logdet)?)
    }

    /// `-log P(k)` per image (nats) of 8-bit images stored as `x = k / 255`, dequantized with
    /// noise from `rng`: `-(log p(y) - D ln 256)`, differentiable (the training loss).
    pub fn discrete_nll(&self, x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let y = dequantize(x, rng)?;
        let offset = self.data_dim() as f64 * LEVELS.ln();
        Ok(self.log_prob(&y)?.affine(-1.0, offset)?)
    }

    /// Mean bits per dimension of the first `n` images of `data` (all when `n` exceeds its
    /// size), in batches of `batch`, with dequantization noise from `GmRng::new(seed)`.
    pub fn bits_per_dim_of(
        &self,
        data: &Dataset,
        n: usize,
        batch: usize,
        seed: u64,
        device: &Device,
    ) -> Result<f64> {
        let n = n.min(data.len());
        if n == 0 || batch == 0 {
            return Err(Error::config(
                "n",
                n,
                "evaluate at least one image in batches of at least one",
            ));
        }
        let mut rng = GmRng::new(seed);
        let mut total = 0.0;
        for lo in (0..n).step_by(batch) {
            let idx: Vec<usize> = (lo..(lo + batch).min(n)).collect();
            let x = data.batch(&idx, device)?.x;
            let nll = self.discrete_nll(&x, &mut rng)?.detach();
            total += nll.sum_all()?.to_host_f64()?.to_scalar::<f64>()?;
        }
        Ok(bits_per_dim(-total / n as f64, self.data_dim()))
    }

    /// Images in `[0, 1]` from latents `z (n, D)`: the inverse flow, clamped to the data range
    /// (the logit's `alpha` maps `(0, 1)` slightly past the ends).
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.inverse(z)?.clamp(0.0, 1.0)?)
    }

    /// `n` samples at temperature `t` (latents `t z`, `z ~ N(0, I)`; Glow samples at 0.7).
    pub fn sample_at(&self, n: usize, t: f64, rng: &mut GmRng, device: &Device) -> Result<Tensor> {
        let z = rng.normal((n, self.data_dim()), 0.0, t, device)?;
        self.decode(&z)
    }
}

impl Flow for ImageFlow {
    fn forward(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check(y)?;
        let (h, mut logdet) = self.logit.forward(y)?;
        let (h, ld) = self.pre.forward(&h)?;
        logdet = (logdet + ld)?;
        let z = self.through_levels(h, |flow, h| {
            let (out, ld) = flow.forward(h)?;
            logdet = (&logdet + ld)?;
            Ok(out)
        })?;
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        let d = self.data_dim();
        if z.rank() != 2 || z.dim(1)? != d {
            return Err(Error::Shape {
                what: "flow latent (n, D)",
                got: z.dims().to_vec(),
                expected: vec![z.dims().first().copied().unwrap_or(0), d],
            });
        }
        let n = z.dim(0)?;
        // The latent's parts in order: each level's factored-out channels, then the rest.
        let mut offset = 0;
        let mut parts = Vec::with_capacity(self.levels.len());
        for level in &self.levels {
            let (_, h, w) = level.shape;
            if let Some(k) = level.factor_out {
                parts.push(z.narrow(1, offset, k * h * w)?.reshape((n, k, h, w))?);
                offset += k * h * w;
            }
        }
        let last = self.levels.last().map(|l| l.shape).unwrap_or_default();
        let mut h = z
            .narrow(1, offset, d - offset)?
            .reshape((n, last.0, last.1, last.2))?;
        for level in self.levels.iter().rev() {
            if level.factor_out.is_some() {
                let out = parts.pop().ok_or(Error::Shape {
                    what: "flow latent parts",
                    got: vec![0],
                    expected: vec![self.levels.len()],
                })?;
                h = Tensor::cat(&[&out, &h], 1)?;
            }
            h = level.flow.inverse(&h)?;
        }
        let h = self.pre.inverse(&h)?;
        self.logit.inverse(&h)
    }

    fn data_init(&self, y: &Tensor) -> Result<Tensor> {
        self.check(y)?;
        let h = self.logit.forward(y)?.0;
        let h = self.pre.data_init(&h)?;
        self.through_levels(h, |flow, h| flow.data_init(h))
    }
}

impl Generator for ImageFlow {
    fn latent_dim(&self) -> usize {
        self.data_dim()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.cfg.image_shape.clone()
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        Ok(self.decode(z)?)
    }
}

/// A flow rebuilt from its config and weights, with the weights kept for re-export.
#[derive(Debug)]
pub struct LoadedFlow {
    /// The rebuilt flow.
    pub flow: ImageFlow,
    tensors: BTreeMap<String, Tensor>,
}

impl LoadedFlow {
    /// Wraps a flow and the weights it was built from (e.g. `ParamStore::tensors()`).
    pub fn new(flow: ImageFlow, tensors: BTreeMap<String, Tensor>) -> Self {
        Self { flow, tensors }
    }
}

impl gm_core::model::SavedModel for LoadedFlow {
    const MODEL: &'static str = MODEL;

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.flow.cfg).unwrap_or_default()
    }

    fn weights(&self) -> BTreeMap<String, Tensor> {
        self.tensors.clone()
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> gm_core::Result<Self> {
        let cfg: ImageFlowConfig = gm_core::model::parse_config(config, "flow")?;
        let vb = gm_core::model::var_builder_from(tensors.clone(), device);
        let flow = ImageFlow::new(cfg, vb)?;
        Ok(Self { flow, tensors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};
    use gm_core::model::SavedModel;

    fn small(levels: usize) -> ImageFlowConfig {
        ImageFlowConfig {
            image_shape: vec![1, 4, 4],
            checkerboard_steps: 2,
            checkerboard_hidden: 4,
            levels,
            steps_per_level: 2,
            hidden: 4,
            ..Default::default()
        }
    }

    fn pixels(shape: (usize, usize, usize, usize), seed: u64) -> Tensor {
        GmRng::new(seed)
            .uniform(shape, 0.02, 0.98, &Device::Cpu)
            .unwrap()
    }

    /// The same flow in f64, rebuilt from the f32 store's weights.
    fn in_f64(cfg: ImageFlowConfig, store: &ParamStore) -> ImageFlow {
        let vb = VarBuilder::from_tensors(
            store.tensors().into_iter().collect(),
            candle_core::DType::F64,
            &Device::Cpu,
        );
        ImageFlow::new(cfg, vb).unwrap()
    }

    #[test]
    fn latent_has_d_coordinates_and_the_flow_inverts() {
        let dev = Device::Cpu;
        for levels in [1, 2] {
            let store = ParamStore::new(1);
            let flow = ImageFlow::init(small(levels), &store, &dev).unwrap();
            flow.data_init(&pixels((8, 1, 4, 4), 2)).unwrap();
            randomize(&store, 3, 0.3);
            let y = pixels((3, 1, 4, 4), 4);
            let (z, ld) = flow.forward(&y).unwrap();
            assert_eq!(z.dims(), &[3, 16]);
            assert_eq!(ld.dims(), &[3]);
            // f64: exact to rounding. f32: a dozen layers with exp-scalings and the logit
            // amplify f32 rounding (2^-24 = 6e-8) a few hundred times.
            assert_round_trip(
                &in_f64(small(levels), &store),
                &y.to_host_f64().unwrap(),
                1e-10,
            );
            assert_round_trip(&flow, &y, 1e-4);
        }
    }

    #[test]
    fn log_det_of_the_whole_flow_matches_its_jacobian() {
        let dev = Device::Cpu;
        for levels in [1, 2] {
            let store = ParamStore::new(5);
            let flow = ImageFlow::init(small(levels), &store, &dev).unwrap();
            flow.data_init(&pixels((8, 1, 4, 4), 6)).unwrap();
            randomize(&store, 7, 0.3);
            let y = pixels((1, 1, 4, 4), 8);
            // f32 against its autograd Jacobian, and the same weights in f64 to 1e-9.
            assert_log_det_matches(&flow, &y, 1e-4);
            let y64 = y.to_host_f64().unwrap();
            assert_log_det_matches(&in_f64(small(levels), &store), &y64, 1e-9);
        }
    }

    #[test]
    fn data_init_standardises_the_latent() {
        // After ActNorm's data-dependent init on a batch, the latent of that batch has roughly
        // zero mean and unit variance per coordinate group (each ActNorm normalises its input).
        let dev = Device::Cpu;
        let store = ParamStore::new(9);
        let flow = ImageFlow::init(small(2), &store, &dev).unwrap();
        let y = pixels((64, 1, 4, 4), 10);
        let z = flow.data_init(&y).unwrap();
        let v = z.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.1, "{mean} {var}");
    }

    #[test]
    fn saved_flow_reloads_and_generates_in_the_data_range() {
        let dev = Device::Cpu;
        let store = ParamStore::new(11);
        let flow = ImageFlow::init(small(2), &store, &dev).unwrap();
        flow.data_init(&pixels((8, 1, 4, 4), 12)).unwrap();
        randomize(&store, 13, 0.3);
        let saved = LoadedFlow::new(flow, store.tensors());
        let back = LoadedFlow::from_parts(&saved.config_json(), saved.weights(), &dev).unwrap();
        let y = pixels((2, 1, 4, 4), 14);
        let (a, b) = (
            saved.flow.log_prob(&y).unwrap(),
            back.flow.log_prob(&y).unwrap(),
        );
        assert_eq!(a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
        let g: &dyn Generator = &back.flow;
        assert_eq!((g.latent_dim(), g.output_shape()), (16, vec![1, 4, 4]));
        let x = g.sample(5, &mut GmRng::new(1), &dev).unwrap();
        assert_eq!(x.dims(), &[5, 1, 4, 4]);
        let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        let mut missing = saved.weights();
        missing.remove("level1.step0.invconv.log_s");
        assert!(LoadedFlow::from_parts(&saved.config_json(), missing, &dev).is_err());
        assert!(
            LoadedFlow::from_parts(&serde_json::json!({"levels": "x"}), saved.weights(), &dev)
                .is_err()
        );
    }

    #[test]
    fn wrong_image_shape_is_an_error() {
        let store = ParamStore::new(1);
        let flow = ImageFlow::init(small(1), &store, &Device::Cpu).unwrap();
        let y = pixels((1, 1, 4, 6), 1);
        assert!(matches!(flow.forward(&y), Err(Error::Shape { .. })));
        let z = Tensor::zeros((1, 15), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(flow.inverse(&z), Err(Error::Shape { .. })));
    }
}
