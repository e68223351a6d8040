//! PixelCNN (van den Oord, Kalchbrenner and Kavukcuoglu, 2016, "Pixel Recurrent Neural
//! Networks", section 3.4) for one-channel binary images: convolutions whose kernels are
//! masked so that the output at pixel i sees only pixels before i in raster order.
//!
//! - Mask A (first layer): kernel rows above the centre, and the centre row left of the
//!   centre; the centre itself is excluded, so the input pixel never sees itself.
//! - Mask B (later layers): the same plus the centre, since after an A layer the features
//!   at pixel i already depend on pixels before i only.
//!
//! With one colour channel no channel-group masks are needed. The body is the paper's
//! residual block (ReLU, 1x1 from 2h to h, ReLU, masked k x k type B, ReLU, 1x1 back to 2h,
//! plus the input), the head ReLU, 1x1, ReLU, 1x1 to one Bernoulli logit per pixel, and
//!
//! log p(x) = sum_i log Bernoulli(x_i; sigmoid(l_i(x_<i))).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use gm_core::nn::conv::{conv2d, conv2d_op, Conv2d, ConvConfig};
use gm_core::nn::{channel_bias, relu};
use gm_core::{GmRng, ParamStore};

use super::config::PixelCnnConfig;
use crate::likelihood::{bernoulli_log_likelihood, ExactLikelihood};
use crate::{Error, Result};

/// Which pixels a masked kernel sees of its centre row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskType {
    /// Strictly before the centre (first layer).
    A,
    /// Up to and including the centre (later layers).
    B,
}

/// The `k x k` 0/1 kernel mask, row-major: rows above the centre, and the centre row left of
/// the centre (type A) or up to it (type B).
pub fn kernel_mask(k: usize, kind: MaskType) -> Vec<f32> {
    let c = k / 2;
    (0..k * k)
        .map(|i| {
            let (ky, kx) = (i / k, i % k);
            let on = ky < c || (ky == c && (kx < c || (kind == MaskType::B && kx == c)));
            f32::from(u8::from(on))
        })
        .collect()
}

/// A `k x k` convolution (stride 1, same padding) whose kernel is multiplied by a
/// [`kernel_mask`]; parameter names `weight`, `bias`, initialised as gm-core's `conv2d`.
#[derive(Debug, Clone)]
pub struct MaskedConv2d {
    weight: Tensor,
    bias: Tensor,
    mask: Tensor,
    pad: usize,
}

/// A [`MaskedConv2d`] from `c_in` to `c_out` channels.
pub fn masked_conv2d(
    c_in: usize,
    c_out: usize,
    k: usize,
    kind: MaskType,
    vb: VarBuilder,
) -> Result<MaskedConv2d> {
    // gm-core's layer draws the weight and bias (same names, same initialisation).
    let conv = conv2d(c_in, c_out, k, ConvConfig::default(), vb.clone())?;
    let (weight, bias) = match conv.bias() {
        Some(b) => (conv.weight().clone(), b.clone()),
        None => unreachable!("gm-core's conv2d has a bias"),
    };
    let mask = Tensor::from_vec(kernel_mask(k, kind), (1, 1, k, k), vb.device())?;
    Ok(MaskedConv2d {
        weight,
        bias,
        mask,
        pad: k / 2,
    })
}

impl Module for MaskedConv2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.weight.broadcast_mul(&self.mask)?;
        channel_bias(&conv2d_op(x, &w, 1, self.pad)?, &self.bias)
    }
}

/// The residual block of the PixelCNN paper (figure 5).
#[derive(Debug, Clone)]
struct ResidualBlock {
    reduce: Conv2d,
    masked: MaskedConv2d,
    expand: Conv2d,
}

impl ResidualBlock {
    fn new(channels: usize, k: usize, vb: VarBuilder) -> Result<Self> {
        let h = channels / 2;
        let one = ConvConfig::default();
        Ok(Self {
            reduce: conv2d(channels, h, 1, one, vb.pp("reduce"))?,
            masked: masked_conv2d(h, h, k, MaskType::B, vb.pp("masked"))?,
            expand: conv2d(h, channels, 1, one, vb.pp("expand"))?,
        })
    }
}

impl Module for ResidualBlock {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.reduce.forward(&relu(x)?)?;
        let h = self.masked.forward(&relu(&h)?)?;
        let h = self.expand.forward(&relu(&h)?)?;
        x + h
    }
}

/// A PixelCNN over `(1, height, width)` binary images. Tensors: `input.{weight,bias}` (type
/// A), `blocks.{i}.{reduce,masked,expand}.{weight,bias}`, `head.{hidden,logits}.{weight,bias}`.
#[derive(Debug, Clone)]
pub struct PixelCnn {
    cfg: PixelCnnConfig,
    input: MaskedConv2d,
    blocks: Vec<ResidualBlock>,
    head_hidden: Conv2d,
    head_logits: Conv2d,
    weights: BTreeMap<String, Tensor>,
    device: Device,
}

impl PixelCnnConfig {
    /// A fresh PixelCNN whose weights are drawn into `store` (seeded).
    pub fn init(&self, store: &ParamStore, device: &Device) -> Result<PixelCnn> {
        PixelCnn::new(*self, store.var_builder(device))
    }
}

impl PixelCnn {
    /// A PixelCNN with weights from `vb`.
    pub fn new(cfg: PixelCnnConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let c = cfg.channels;
        let one = ConvConfig::default();
        let input = masked_conv2d(1, c, cfg.first_kernel, MaskType::A, vb.pp("input"))?;
        let blocks = (0..cfg.residual_blocks)
            .map(|i| ResidualBlock::new(c, cfg.kernel, vb.pp("blocks").pp(i.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let head_hidden = conv2d(c, c, 1, one, vb.pp("head").pp("hidden"))?;
        let head_logits = conv2d(c, 1, 1, one, vb.pp("head").pp("logits"))?;
        let names = Self::tensor_names(&cfg);
        let weights = names
            .iter()
            .map(|n| Ok((n.clone(), vb.get_unchecked(n)?)))
            .collect::<candle_core::Result<BTreeMap<_, _>>>()?;
        Ok(Self {
            cfg,
            input,
            blocks,
            head_hidden,
            head_logits,
            weights,
            device: vb.device().clone(),
        })
    }

    fn tensor_names(cfg: &PixelCnnConfig) -> Vec<String> {
        let mut layers = vec!["input".to_string()];
        for i in 0..cfg.residual_blocks {
            for part in ["reduce", "masked", "expand"] {
                layers.push(format!("blocks.{i}.{part}"));
            }
        }
        layers.push("head.hidden".into());
        layers.push("head.logits".into());
        layers
            .into_iter()
            .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
            .collect()
    }

    /// The architecture this model was built with.
    pub fn config(&self) -> &PixelCnnConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The weights by name.
    pub fn weights(&self) -> BTreeMap<String, Tensor> {
        self.weights.clone()
    }

    /// Checks `x` is `(n, 1, h, w)` with the configured width and at most the configured
    /// height (sampling runs on bands of rows).
    fn check_input(&self, x: &Tensor) -> Result<()> {
        let dims = x.dims();
        let ok = dims.len() == 4
            && dims[1] == 1
            && dims[3] == self.cfg.width
            && (1..=self.cfg.height).contains(&dims[2]);
        if !ok {
            return Err(Error::Shape {
                what: "PixelCNN input",
                got: dims.to_vec(),
                expected: vec![
                    dims.first().copied().unwrap_or(0),
                    1,
                    self.cfg.height,
                    self.cfg.width,
                ],
            });
        }
        Ok(())
    }

    /// The logits `(n, 1, h, w)` of p(x_i = 1 | x_<i) for binary images `x (n, 1, h, w)`.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        self.check_input(x)?;
        let mut h = self.input.forward(x)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        let h = self.head_hidden.forward(&relu(&h)?)?;
        Ok(self.head_logits.forward(&relu(&h)?)?)
    }

    /// Sequential sampling of `n` images from uniforms `u` (row-major `(n, h w)`, one per
    /// pixel in raster order): pixel i = 1 if u_i < sigmoid(l_i(x_<i)), one forward pass
    /// per pixel. Each pass runs on the band of rows the current pixel's conditional can see
    /// ([`PixelCnnConfig::receptive_rows`] above it, none below), which gives the same logit
    /// as the whole image: the rows below are masked out and those above the band are
    /// outside the receptive field. Returns the images row-major.
    pub fn sample_from_uniforms(&self, u: &[f32], n: usize) -> Result<Vec<f32>> {
        let (hh, w) = (self.cfg.height, self.cfg.width);
        let d = hh * w;
        if u.len() != n * d {
            return Err(Error::Shape {
                what: "PixelCNN sampling uniforms",
                got: vec![u.len()],
                expected: vec![n * d],
            });
        }
        let up = self.cfg.receptive_rows();
        let mut x = vec![0f32; n * d];
        for r in 0..hh {
            let top = r.saturating_sub(up);
            let rows = r - top + 1;
            for c in 0..w {
                let band: Vec<f32> = (0..n)
                    .flat_map(|i| x[i * d + top * w..i * d + (r + 1) * w].iter().copied())
                    .collect();
                let band = Tensor::from_vec(band, (n, 1, rows, w), &self.device)?;
                let l = self
                    .logits(&band)?
                    .narrow(2, rows - 1, 1)?
                    .narrow(3, c, 1)?
                    .flatten_all()?
                    .to_dtype(DType::F32)?
                    .to_vec1::<f32>()?;
                for (i, &li) in l.iter().enumerate() {
                    let p = 1.0 / (1.0 + (-(li as f64)).exp());
                    let at = i * d + r * w + c;
                    x[at] = if (u[at] as f64) < p { 1.0 } else { 0.0 };
                }
            }
        }
        Ok(x)
    }

    /// Draws `n` images `(n, 1, h, w)` with `rng`.
    pub fn sample(&self, n: usize, rng: &mut GmRng) -> Result<Tensor> {
        let z = rng.uniform((n, self.cfg.data_dim()), 0.0, 1.0, &self.device)?;
        self.generate_from(&z)
    }

    fn generate_from(&self, z: &Tensor) -> Result<Tensor> {
        let (n, zd) = z.dims2()?;
        if zd != self.cfg.data_dim() {
            return Err(Error::Shape {
                what: "PixelCNN latent",
                got: z.dims().to_vec(),
                expected: vec![n, self.cfg.data_dim()],
            });
        }
        let u = z.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let x = self.sample_from_uniforms(&u, n)?;
        Ok(Tensor::from_vec(
            x,
            (n, 1, self.cfg.height, self.cfg.width),
            &self.device,
        )?)
    }
}

impl ExactLikelihood for PixelCnn {
    fn data_dim(&self) -> usize {
        self.cfg.data_dim()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let (h, w) = (self.cfg.height, self.cfg.width);
        let item: usize = x.dims().iter().skip(1).product();
        if item != h * w {
            return Err(Error::Shape {
                what: "PixelCNN input",
                got: x.dims().to_vec(),
                expected: vec![n, 1, h, w],
            });
        }
        let x = x.reshape((n, 1, h, w))?;
        let l = self.logits(&x)?;
        bernoulli_log_likelihood(&x.reshape((n, h * w))?, &l.reshape((n, h * w))?)
    }
}

/// As for MADE, the latent is the randomness of sequential inverse-CDF sampling:
/// z = (u_1, ..., u_D), D = height * width, uniform on [0, 1), pixel i (raster order) = 1 if
/// u_i < p(x_i = 1 | x_<i). `generate(z)` is deterministic given z, gives values in {0, 1}
/// (gm's [0, 1] image range) and is **not differentiable** in z (a step function).
impl gm_core::Generator for PixelCnn {
    fn latent_dim(&self) -> usize {
        self.cfg.data_dim()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![1, self.cfg.height, self.cfg.width]
    }

    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        self.generate_from(z).map_err(Error::into_core)
    }

    fn sample_latent(&self, n: usize, rng: &mut GmRng, device: &Device) -> gm_core::Result<Tensor> {
        rng.uniform((n, self.cfg.data_dim()), 0.0, 1.0, device)
    }
}

impl gm_core::model::SavedModel for PixelCnn {
    const MODEL: &'static str = "pixelcnn";

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.cfg).unwrap_or_default()
    }

    fn weights(&self) -> BTreeMap<String, Tensor> {
        PixelCnn::weights(self)
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> gm_core::Result<Self> {
        let cfg: PixelCnnConfig = gm_core::model::parse_config(config, "PixelCNN")?;
        PixelCnn::new(cfg, gm_core::model::var_builder_from(tensors, device))
            .map_err(Error::into_core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_masks_a_and_b() {
        #[rustfmt::skip]
        let a = vec![
            1., 1., 1.,
            1., 0., 0.,
            0., 0., 0.,
        ];
        assert_eq!(kernel_mask(3, MaskType::A), a);
        let mut b = a;
        b[4] = 1.0;
        assert_eq!(kernel_mask(3, MaskType::B), b);
        assert_eq!(kernel_mask(1, MaskType::B), vec![1.0]);
        assert_eq!(kernel_mask(1, MaskType::A), vec![0.0]);
    }
}
