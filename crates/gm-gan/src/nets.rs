//! The networks: MLP generators and discriminators (2-D mixtures, flattened MNIST) and the
//! DCGAN pair of Radford, Metz and Chintala (2016): strided convolutions in D, transposed
//! convolutions in G, batch norm in both (not on G's output nor D's input), ReLU in G,
//! LeakyReLU(0.2) in D, no pooling and no hidden fully connected layers. The DCGAN layers are
//! gm-core's im2col convolutions.
//!
//! The DCGAN stack is sized by the data ([`GanConfig::dcgan`]): for a side `s` that is a power
//! of two from 16 to 128, G projects z to 4x4 and doubles the side `log2(s / 4)` times with
//! 4x4 stride-2 transposed convolutions, halving the feature maps each time (`channels` at
//! `s / 2`, at most `8 channels` at 4x4), and D mirrors it down to 4x4 and one 4x4 convolution
//! to the logit: the paper's 64x64 layout. 28x28 digits (and the small multiples of 4 below)
//! keep the original layout: z projected to `s / 4` by an `s / 4` kernel, then two
//! up-samplings.
//!
//! Generators work in *network space*: a `tanh` output lies in `[-1, 1]`, and the trainer maps
//! data in `[0, 1]` there by `2 x - 1`. [`GanGenerator`]'s [`Generator::generate`] maps back to
//! data space, so every consumer (gm-eval, inverse problems) sees digits in `[0, 1]`.
//!
//! MLP discriminators also run *functionally*, on an explicit parameter list
//! ([`Discriminator::forward_with`]): the unrolled GAN differentiates through look-ahead
//! updates of those parameters.

use candle_core::{Device, Module, Tensor};
use candle_nn::{linear, VarBuilder};
use gm_core::nn::conv::{conv2d, conv_transpose2d, Conv2d, ConvConfig, ConvTranspose2d};
use gm_core::nn::{batch_norm2d, BatchNorm2d as BatchNorm, BatchNormConfig};
use gm_core::{Generator, ParamStore};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Hidden-layer nonlinearity of an MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    /// LeakyReLU with slope 0.2.
    LeakyRelu,
    Tanh,
}

impl Activation {
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Relu => gm_core::nn::relu(x),
            Activation::LeakyRelu => gm_core::nn::leaky_relu(x, 0.2),
            Activation::Tanh => x.tanh(),
        }
    }

    /// The derivative at the pre-activation `z`, given the output `out = apply(z)`. The
    /// piecewise-linear ones are constant masks (their second derivative is zero almost
    /// everywhere); tanh's, `1 - out^2`, stays differentiable.
    fn derivative(&self, z: &Tensor, out: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Relu => z.gt(0.0)?.to_dtype(z.dtype()),
            Activation::LeakyRelu => z.gt(0.0)?.to_dtype(z.dtype())?.affine(0.8, 0.2),
            Activation::Tanh => out.sqr()?.affine(-1.0, 1.0),
        }
    }
}

/// The generator's output nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputActivation {
    /// Unbounded output, data space = network space (2-D mixtures).
    Identity,
    /// `tanh` in network space `[-1, 1]`; data space is `[0, 1]` (images).
    Tanh,
}

/// How MLP layers draw their initial weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MlpInit {
    /// candle's (PyTorch's) default: Kaiming-uniform weights, biases uniform in
    /// `+-1/sqrt(fan_in)`.
    #[default]
    Default,
    /// Random orthogonal weights times `gain` (Saxe et al. 2014; rows orthonormal when a
    /// layer narrows or keeps its width, columns when it widens), biases zero: the
    /// initialiser of Metz et al.'s 2-D experiments (gain 1.4).
    Orthogonal { gain: f64 },
}

/// One network's architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Architecture {
    /// Fully connected layers of the given widths, each followed by `activation`.
    Mlp {
        hidden: Vec<usize>,
        activation: Activation,
    },
    /// The DCGAN layout for `(c, s, s)` images, `c` 1 or 3, `s` a power of two from 16 to
    /// 128 or a multiple of 4 up to 28: `channels` feature maps at the finest hidden
    /// resolution, twice as many at each coarser one (at most 8 times as many).
    Dcgan { channels: usize },
}

/// The generator/discriminator pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    pub latent_dim: usize,
    /// Shape of one data item: `[2]`, `[1, 28, 28]`, `[3, 64, 64]`, ...
    pub data_shape: Vec<usize>,
    pub generator: Architecture,
    pub discriminator: Architecture,
    pub output: OutputActivation,
    /// Initial weights of the MLP layers (DCGAN layers keep their own initialiser).
    #[serde(default)]
    pub mlp_init: MlpInit,
}

impl Default for GanConfig {
    fn default() -> Self {
        Self::mlp_2d()
    }
}

impl GanConfig {
    /// 2-D mixtures after Metz et al. (2017): z of 256 dimensions, G with two hidden layers of
    /// 128 ReLU units, D with two hidden layers of 128 ReLU units, linear output (their
    /// reference notebook has tanh units and orthogonal weights, [`MlpInit::Orthogonal`]).
    pub fn mlp_2d() -> Self {
        Self {
            latent_dim: 256,
            data_shape: vec![2],
            generator: Architecture::Mlp {
                hidden: vec![128, 128],
                activation: Activation::Relu,
            },
            discriminator: Architecture::Mlp {
                hidden: vec![128, 128],
                activation: Activation::Relu,
            },
            output: OutputActivation::Identity,
            mlp_init: MlpInit::Default,
        }
    }

    /// An MLP pair for flattened 28x28 digits: G 100-256-512-784 (ReLU, tanh output), D
    /// 784-512-256-1 (LeakyReLU).
    pub fn mlp_mnist() -> Self {
        Self {
            latent_dim: 100,
            data_shape: vec![1, 28, 28],
            generator: Architecture::Mlp {
                hidden: vec![256, 512],
                activation: Activation::Relu,
            },
            discriminator: Architecture::Mlp {
                hidden: vec![512, 256],
                activation: Activation::LeakyRelu,
            },
            output: OutputActivation::Tanh,
            mlp_init: MlpInit::Default,
        }
    }

    /// DCGAN for 28x28 digits with [`DCGAN_BASE_CHANNELS`] base channels (sized for two CPU
    /// cores).
    pub fn dcgan_mnist() -> Self {
        Self {
            latent_dim: 100,
            data_shape: vec![1, 28, 28],
            generator: Architecture::Dcgan {
                channels: DCGAN_BASE_CHANNELS,
            },
            discriminator: Architecture::Dcgan {
                channels: DCGAN_BASE_CHANNELS,
            },
            output: OutputActivation::Tanh,
            mlp_init: MlpInit::Default,
        }
    }

    /// DCGAN for `(channels, image_size, image_size)` images: `image_size` a power of two
    /// from 16 to 128 (Radford et al.'s layout through 4x4) or 28 ([`GanConfig::dcgan_mnist`]
    /// with `channels` image channels), `channels` 1 (grey) or 3 (RGB). An unsupported shape
    /// is a `data_shape` error.
    ///
    /// ```
    /// let cfg = gm_gan::GanConfig::dcgan(64, 3).unwrap();
    /// assert_eq!(cfg.data_shape, [3, 64, 64]);
    /// assert!(gm_gan::GanConfig::dcgan(30, 3).is_err());
    /// ```
    pub fn dcgan(image_size: usize, channels: usize) -> Result<Self> {
        let cfg = Self {
            data_shape: vec![channels, image_size, image_size],
            ..Self::dcgan_mnist()
        };
        if image_size != 28 && !is_dcgan_power_side(image_size) {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", cfg.data_shape),
                "DCGAN image size must be a power of two from 16 to 128, or 28",
            ));
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Values per data item.
    pub fn data_dim(&self) -> usize {
        self.data_shape.iter().product()
    }

    /// Checks every field; each bad value is an error naming it.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::config("latent_dim", 0, "must be at least 1"));
        }
        if self.data_shape.is_empty() || self.data_dim() == 0 {
            return Err(Error::config(
                "data_shape",
                format!("{:?}", self.data_shape),
                "must be non-empty with no zero dimension",
            ));
        }
        for (field, arch) in [
            ("generator", &self.generator),
            ("discriminator", &self.discriminator),
        ] {
            match arch {
                Architecture::Mlp { hidden, .. } => {
                    if hidden.contains(&0) {
                        return Err(Error::config(
                            if field == "generator" {
                                "generator.hidden"
                            } else {
                                "discriminator.hidden"
                            },
                            format!("{hidden:?}"),
                            "hidden layers must have at least one unit",
                        ));
                    }
                }
                Architecture::Dcgan { channels } => {
                    let shape = &self.data_shape;
                    if shape.len() != 3 || shape[1] != shape[2] {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN needs square images (c, s, s)",
                        ));
                    }
                    if shape[0] != 1 && shape[0] != 3 {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN images have 1 (grey) or 3 (RGB) channels",
                        ));
                    }
                    if DcganLayout::of(shape[1]).is_none() {
                        return Err(Error::config(
                            "data_shape",
                            format!("{shape:?}"),
                            "DCGAN image side must be a power of two from 16 to 128, or a \
                             multiple of 4 up to 28",
                        ));
                    }
                    if *channels == 0 {
                        return Err(Error::config(
                            if field == "generator" {
                                "generator.channels"
                            } else {
                                "discriminator.channels"
                            },
                            0,
                            "must be at least 1",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `gain` times an orthogonal `rows x cols` matrix made from the row-major Gaussian draws
/// `g` by modified Gram-Schmidt (in f64): over the rows when `rows <= cols`, so that
/// `W W^T = gain^2 I`, else over the columns, `W^T W = gain^2 I`. Gaussian input makes the
/// result Haar-distributed, the same law as QR with the sign fix.
fn orthogonal(g: &[f32], rows: usize, cols: usize, gain: f64) -> Vec<f32> {
    let by_rows = rows <= cols;
    let (count, len) = if by_rows { (rows, cols) } else { (cols, rows) };
    let at = |v: usize, k: usize| if by_rows { v * cols + k } else { k * cols + v };
    let mut vecs: Vec<Vec<f64>> = (0..count)
        .map(|v| (0..len).map(|k| g[at(v, k)] as f64).collect())
        .collect();
    for v in 0..count {
        let (done, rest) = vecs.split_at_mut(v);
        let cur = &mut rest[0];
        for prev in done.iter() {
            let dot: f64 = cur.iter().zip(prev).map(|(a, b)| a * b).sum();
            cur.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = cur.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        cur.iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0f32; rows * cols];
    for (v, vec) in vecs.iter().enumerate() {
        for (k, x) in vec.iter().enumerate() {
            out[at(v, k)] = (gain * x) as f32;
        }
    }
    out
}

/// `x w^T + b` for `x: (n, in)`.
fn affine(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)?.broadcast_add(b)
}

/// Fully connected layers held as a flat list `[w0, b0, w1, b1, ...]`.
#[derive(Debug, Clone)]
struct Mlp {
    params: Vec<Tensor>,
    activation: Activation,
}

impl Mlp {
    fn new(
        widths: &[usize],
        activation: Activation,
        init: MlpInit,
        vb: VarBuilder,
    ) -> Result<Self> {
        let mut params = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let vb = vb.pp(format!("fc{i}"));
            match init {
                MlpInit::Default => {
                    let l = linear(w[0], w[1], vb)?;
                    params.push(l.weight().clone());
                    params.push(
                        l.bias()
                            .ok_or_else(|| Error::config("linear", "no bias", "bias expected"))?
                            .clone(),
                    );
                }
                MlpInit::Orthogonal { gain } => {
                    // Standard normal draws from the store's seeded generator, made
                    // orthogonal in place.
                    let (rows, cols) = (w[1], w[0]);
                    let normal = candle_nn::init::Init::Randn {
                        mean: 0.0,
                        stdev: 1.0,
                    };
                    let weight = vb.get_with_hints((rows, cols), "weight", normal)?;
                    let draws = weight
                        .flatten_all()?
                        .to_dtype(candle_core::DType::F32)?
                        .to_vec1::<f32>()?;
                    let q = orthogonal(&draws, rows, cols, gain);
                    let value = Tensor::from_vec(q, (rows, cols), weight.device())?
                        .to_dtype(weight.dtype())?;
                    candle_core::Var::from_tensor(&weight)?.set(&value)?;
                    params.push(weight);
                    let zero = candle_nn::init::Init::Const(0.0);
                    params.push(vb.get_with_hints(rows, "bias", zero)?);
                }
            }
        }
        Ok(Self { params, activation })
    }

    /// Hidden features (after the last hidden activation) and the output, with `p` in place
    /// of the stored parameters.
    fn forward_with(&self, p: &[Tensor], x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let layers = p.len() / 2;
        let mut h = x.clone();
        let mut feat = x.clone();
        for i in 0..layers {
            h = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            if i + 1 < layers {
                h = self.activation.apply(&h)?;
                feat = h.clone();
            }
        }
        Ok((feat, h))
    }

    /// The gradient of a loss with respect to `p`, backpropagation written out in tensor
    /// operations, so that the result stays a differentiable function of `p` and `x` (second
    /// order) without a `backward` pass over their history. `dscore` maps the outputs to the
    /// loss's gradient with respect to them.
    fn param_gradient(
        &self,
        p: &[Tensor],
        x: &Tensor,
        dscore: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        let layers = p.len() / 2;
        let mut inputs = Vec::with_capacity(layers);
        let mut pre = Vec::with_capacity(layers);
        let mut h = x.clone();
        for i in 0..layers {
            let z = affine(&h, &p[2 * i], &p[2 * i + 1])?;
            inputs.push(h);
            h = if i + 1 < layers {
                self.activation.apply(&z)?
            } else {
                z.clone()
            };
            pre.push(z);
        }
        let mut g = dscore(&h)?;
        let mut grads = vec![None; p.len()];
        for i in (0..layers).rev() {
            grads[2 * i] = Some(g.t()?.matmul(&inputs[i])?);
            grads[2 * i + 1] = Some(g.sum(0)?);
            if i > 0 {
                let back = g.matmul(&p[2 * i])?;
                g = (back * self.activation.derivative(&pre[i - 1], &inputs[i])?)?;
            }
        }
        Ok(grads.into_iter().flatten().collect())
    }
}

/// The base channel count of [`GanConfig::dcgan_mnist`] and [`GanConfig::dcgan`].
pub const DCGAN_BASE_CHANNELS: usize = 32;

/// Whether `side` gets Radford et al.'s layout through 4x4: a power of two from 16 to 128.
fn is_dcgan_power_side(side: usize) -> bool {
    side.is_power_of_two() && (16..=128).contains(&side)
}

/// The geometry of a DCGAN pair for square images of one side: G's transposed convolution
/// `ct0` projects z (1x1) to `start x start` with a `start x start` kernel, then `steps`
/// stride-2 up-samplings reach the side; D runs the same way back and reads the logit from
/// `start x start` with one `start x start` convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DcganLayout {
    start: usize,
    steps: usize,
}

impl DcganLayout {
    /// The layout of `side`, if it has one: powers of two from 16 to 128 through 4x4;
    /// the multiples of 4 up to 28 (28x28 digits) with two up-samplings from `side / 4`, the
    /// layout every DCGAN had before the data chose the size (its weights stay loadable).
    fn of(side: usize) -> Option<Self> {
        if is_dcgan_power_side(side) {
            Some(Self {
                start: 4,
                steps: side.trailing_zeros() as usize - 2,
            })
        } else if side.is_multiple_of(4) && (4..=28).contains(&side) {
            Some(Self {
                start: side / 4,
                steps: 2,
            })
        } else {
            None
        }
    }

    /// The feature maps `level` resolutions above the finest hidden one: `base` doubling per
    /// level, capped at `8 base` (Radford et al.'s 1024 over 128).
    fn width(base: usize, level: usize) -> usize {
        base << level.min(3)
    }
}

/// The layout of a validated config's image side.
fn layout_of(shape: &[usize]) -> Result<DcganLayout> {
    shape
        .get(1)
        .and_then(|&s| DcganLayout::of(s))
        .ok_or_else(|| {
            Error::config(
                "data_shape",
                format!("{shape:?}"),
                "DCGAN image side must be a power of two from 16 to 128, or a multiple of 4 up \
                 to 28",
            )
        })
}

/// G: `ct0` (z to `start x start`), `bn0`, then `ct1, bn1, ...`; the last `ct{steps}` has no
/// batch norm and gives the image channels.
#[derive(Debug, Clone)]
struct DcganGen {
    latent: usize,
    start: usize,
    /// `steps + 1` transposed convolutions.
    ups: Vec<ConvTranspose2d>,
    /// One batch norm after each but the last.
    norms: Vec<BatchNorm>,
}

const UP: ConvConfig = ConvConfig {
    stride: 2,
    padding: 1,
    output_padding: 0,
};

impl DcganGen {
    fn new(latent: usize, shape: &[usize], ch: usize, vb: VarBuilder) -> Result<Self> {
        let DcganLayout { start, steps } = layout_of(shape)?;
        let width = |i: usize| DcganLayout::width(ch, steps - 1 - i);
        let mut ups = Vec::with_capacity(steps + 1);
        let mut norms = Vec::with_capacity(steps);
        // Creation order ct0, bn0, ct1, bn1, ... keeps the seeded initial weights of the
        // 28x28 layout.
        for i in 0..steps {
            let ct = if i == 0 {
                conv_transpose2d(latent, width(0), start, ConvConfig::default(), vb.pp("ct0"))?
            } else {
                conv_transpose2d(width(i - 1), width(i), 4, UP, vb.pp(format!("ct{i}")))?
            };
            ups.push(ct);
            let bn = batch_norm2d(
                width(i),
                BatchNormConfig::default(),
                vb.pp(format!("bn{i}")),
            )?;
            norms.push(bn);
        }
        let last = conv_transpose2d(
            width(steps - 1),
            shape[0],
            4,
            UP,
            vb.pp(format!("ct{steps}")),
        )?;
        ups.push(last);
        Ok(Self {
            latent,
            start,
            ups,
            norms,
        })
    }

    fn forward_t(&self, z: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let n = z.dim(0)?;
        let Some((last, hidden)) = self.ups.split_last() else {
            candle_core::bail!("DCGAN generator without layers")
        };
        let mut x = z.reshape((n, self.latent, 1, 1))?;
        for (i, (ct, bn)) in hidden.iter().zip(&self.norms).enumerate() {
            x = gm_core::nn::relu(&bn.forward_t(&ct.forward(&x)?, train)?)?;
            debug_assert!(i > 0 || x.dim(2)? == self.start);
        }
        last.forward(&x)
    }
}

/// D: `c0` (no batch norm), `c1, bn1, ...` stride-2 convolutions down to `start x start`,
/// then `c{steps}` (a `start x start` kernel) to one logit.
#[derive(Debug, Clone)]
struct DcganDisc {
    /// `steps + 1` convolutions.
    downs: Vec<Conv2d>,
    /// Their kernels, biases and configurations, for spectral normalization.
    kernels: Vec<(Tensor, Tensor, ConvConfig)>,
    /// The batch norms after `c1 .. c{steps - 1}`.
    norms: Vec<BatchNorm>,
}

impl DcganDisc {
    fn new(shape: &[usize], ch: usize, vb: VarBuilder) -> Result<Self> {
        let DcganLayout { start, steps } = layout_of(shape)?;
        let width = |i: usize| DcganLayout::width(ch, i);
        let mut downs = Vec::with_capacity(steps + 1);
        let mut norms = Vec::with_capacity(steps);
        downs.push(conv2d(shape[0], width(0), 4, UP, vb.pp("c0"))?);
        for i in 1..steps {
            downs.push(conv2d(
                width(i - 1),
                width(i),
                4,
                UP,
                vb.pp(format!("c{i}")),
            )?);
            let bn = batch_norm2d(
                width(i),
                BatchNormConfig::default(),
                vb.pp(format!("bn{i}")),
            )?;
            norms.push(bn);
        }
        let last = conv2d(
            width(steps - 1),
            1,
            start,
            ConvConfig::default(),
            vb.pp(format!("c{steps}")),
        )?;
        downs.push(last);
        // The store hands back the same variables by name.
        let mut kernels = Vec::with_capacity(steps + 1);
        for i in 0..=steps {
            let (c_in, c_out, k, cfg) = match i {
                0 => (shape[0], width(0), 4, UP),
                i if i == steps => (width(i - 1), 1, start, ConvConfig::default()),
                i => (width(i - 1), width(i), 4, UP),
            };
            let vb = vb.pp(format!("c{i}"));
            kernels.push((
                vb.get((c_out, c_in, k, k), "weight")?,
                vb.get(c_out, "bias")?,
                cfg,
            ));
        }
        Ok(Self {
            downs,
            kernels,
            norms,
        })
    }

    /// The layers' store names and kernels.
    fn layer_weights(&self) -> Vec<(String, Tensor)> {
        self.kernels
            .iter()
            .enumerate()
            .map(|(i, (w, _, _))| (format!("c{i}"), w.clone()))
            .collect()
    }

    /// The features and scores, with `kernels` (one per layer) in place of the stored
    /// kernels when given.
    fn forward(
        &self,
        x: &Tensor,
        kernels: Option<&[Tensor]>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let n = x.dim(0)?;
        let Some((last, hidden)) = self.downs.split_last() else {
            candle_core::bail!("DCGAN discriminator without layers")
        };
        let layer = |i: usize, c: &Conv2d, h: &Tensor| -> candle_core::Result<Tensor> {
            match kernels {
                None => c.forward(h),
                Some(k) => {
                    let (_, b, cfg) = &self.kernels[i];
                    let y = gm_core::nn::conv::conv2d_op(h, &k[i], cfg.stride, cfg.padding)?;
                    gm_core::nn::channel::channel_bias(&y, b)
                }
            }
        };
        // No batch norm on D's input layer.
        let norms = std::iter::once(None).chain(self.norms.iter().map(Some));
        let mut h = x.clone();
        for (i, (c, bn)) in hidden.iter().zip(norms).enumerate() {
            h = layer(i, c, &h)?;
            if let Some(bn) = bn {
                h = bn.forward_t(&h, true)?;
            }
            h = gm_core::nn::leaky_relu(&h, 0.2)?;
        }
        let out = layer(hidden.len(), last, &h)?.reshape((n, 1))?;
        Ok((h.flatten_from(1)?, out))
    }
}

#[derive(Debug, Clone)]
enum GenBody {
    Mlp(Mlp),
    Dcgan(Box<DcganGen>),
}

/// A GAN generator `x = G(z)`, `z ~ N(0, I)`.
#[derive(Debug, Clone)]
pub struct GanGenerator {
    cfg: GanConfig,
    body: GenBody,
}

impl GanGenerator {
    /// Builds the generator of `cfg` from `vb` (names `fc0.weight`, ... or `ct0.weight`, ...).
    pub fn new(cfg: &GanConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = match &cfg.generator {
            Architecture::Mlp { hidden, activation } => {
                let mut w = vec![cfg.latent_dim];
                w.extend_from_slice(hidden);
                w.push(cfg.data_dim());
                GenBody::Mlp(Mlp::new(&w, *activation, cfg.mlp_init, vb)?)
            }
            Architecture::Dcgan { channels } => GenBody::Dcgan(Box::new(DcganGen::new(
                cfg.latent_dim,
                &cfg.data_shape,
                *channels,
                vb,
            )?)),
        };
        Ok(Self {
            cfg: cfg.clone(),
            body,
        })
    }

    /// Builds the generator in a fresh store seeded by `seed`.
    pub fn init(cfg: &GanConfig, seed: u64, device: &Device) -> Result<(Self, ParamStore)> {
        let store = ParamStore::new(seed);
        let g = Self::new(cfg, store.var_builder(device))?;
        Ok((g, store))
    }

    pub fn config(&self) -> &GanConfig {
        &self.cfg
    }

    /// The network-space output `(n, data_shape...)`; `train` selects batch statistics (and
    /// updates the running ones) in DCGAN's batch norm.
    pub fn forward_t(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let n = z.dim(0)?;
        let y = match &self.body {
            GenBody::Mlp(m) => m.forward_with(&m.params, z)?.1,
            GenBody::Dcgan(d) => d.forward_t(z, train)?,
        };
        let y = match self.cfg.output {
            OutputActivation::Identity => y,
            OutputActivation::Tanh => y.tanh()?,
        };
        let mut shape = vec![n];
        shape.extend_from_slice(&self.cfg.data_shape);
        Ok(y.reshape(shape)?)
    }

    /// Maps data-space items into network space (`2 x - 1` under a tanh output).
    pub fn to_network_space(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.cfg.output {
            OutputActivation::Identity => x.clone(),
            OutputActivation::Tanh => x.affine(2.0, -1.0)?,
        })
    }

    /// Maps network-space items back to data space (`(y + 1) / 2` under a tanh output).
    pub fn to_data_space(&self, y: &Tensor) -> Result<Tensor> {
        Ok(match self.cfg.output {
            OutputActivation::Identity => y.clone(),
            OutputActivation::Tanh => y.affine(0.5, 0.5)?,
        })
    }
}

impl Generator for GanGenerator {
    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn output_shape(&self) -> Vec<usize> {
        self.cfg.data_shape.clone()
    }

    /// Data-space samples (pixels in `[0, 1]`, every channel), batch norm in inference mode.
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let y = self.forward_t(z, false).map_err(crate::error::to_core)?;
        self.to_data_space(&y).map_err(crate::error::to_core)
    }
}

#[derive(Debug, Clone)]
enum DiscBody {
    Mlp(Mlp),
    Dcgan(Box<DcganDisc>),
}

/// A discriminator (or critic): network-space items to one raw score per item, `(n, 1)`.
#[derive(Debug, Clone)]
pub struct Discriminator {
    body: DiscBody,
    /// One power-iteration vector per layer when spectral normalization is on.
    spectral: Vec<candle_core::Var>,
}

impl Discriminator {
    /// Builds the discriminator of `cfg` from `vb`.
    pub fn new(cfg: &GanConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let body = match &cfg.discriminator {
            Architecture::Mlp { hidden, activation } => {
                let mut w = vec![cfg.data_dim()];
                w.extend_from_slice(hidden);
                w.push(1);
                DiscBody::Mlp(Mlp::new(&w, *activation, cfg.mlp_init, vb)?)
            }
            Architecture::Dcgan { channels } => {
                DiscBody::Dcgan(Box::new(DcganDisc::new(&cfg.data_shape, *channels, vb)?))
            }
        };
        Ok(Self {
            body,
            spectral: Vec::new(),
        })
    }

    /// The layers' store names and weights (MLP: `fc{i}`, DCGAN: `c{i}`).
    fn layer_weights(&self) -> Vec<(String, Tensor)> {
        match &self.body {
            DiscBody::Mlp(m) => m
                .params
                .iter()
                .step_by(2)
                .enumerate()
                .map(|(i, w)| (format!("fc{i}"), w.clone()))
                .collect(),
            DiscBody::Dcgan(d) => d.layer_weights(),
        }
    }

    /// Turns on spectral normalization ([`crate::spectral`]): one vector `u` per layer,
    /// `<layer>.running_sn_u` in the store behind `vb` (the one the discriminator was built
    /// from), drawn from its seeded generator and normalized. Every forward pass then uses
    /// `W / sigma(W)`; [`Discriminator::power_iteration`] refines `sigma`.
    pub fn enable_spectral_norm(&mut self, vb: VarBuilder) -> Result<()> {
        if !self.spectral.is_empty() {
            return Ok(());
        }
        let normal = candle_nn::init::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        for (name, w) in self.layer_weights() {
            let u = vb
                .pp(&name)
                .get_with_hints(w.dim(0)?, crate::spectral::SN_U, normal)?;
            let u = candle_core::Var::from_tensor(&u)?;
            let norm = u.as_tensor().sqr()?.sum_all()?.sqrt()?;
            u.set(&u.as_tensor().broadcast_div(&norm)?)?;
            self.spectral.push(u);
        }
        Ok(())
    }

    /// Whether spectral normalization is on.
    pub fn has_spectral_norm(&self) -> bool {
        !self.spectral.is_empty()
    }

    /// One power iteration per layer (spectral normalization only; a no-op otherwise).
    pub fn power_iteration(&self) -> Result<()> {
        for ((_, w), u) in self.layer_weights().iter().zip(&self.spectral) {
            crate::spectral::iterate(w, u)?;
        }
        Ok(())
    }

    /// The current estimates `sigma` of each layer's largest singular value (spectral
    /// normalization only).
    pub fn spectral_sigmas(&self) -> Result<Vec<f64>> {
        self.layer_weights()
            .iter()
            .zip(&self.spectral)
            .map(|((_, w), u)| {
                let s = crate::spectral::sigma(w, u.as_tensor())?;
                Ok(s.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
            })
            .collect()
    }

    /// The layers' weights divided by their `sigma`, differentiable in the weights.
    fn normalized_weights(&self) -> Result<Vec<Tensor>> {
        self.layer_weights()
            .iter()
            .zip(&self.spectral)
            .map(|((_, w), u)| crate::spectral::spectral_normalize(w, u.as_tensor()))
            .collect()
    }

    /// Raw scores `(n, 1)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.features_and_output(x)?.1)
    }

    /// The last hidden layer, flattened `(n, f)`, and the raw scores `(n, 1)`.
    pub fn features_and_output(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.has_spectral_norm() {
            let w = self.normalized_weights()?;
            return Ok(match &self.body {
                DiscBody::Mlp(m) => {
                    let p: Vec<Tensor> = m
                        .params
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            if i % 2 == 0 {
                                w[i / 2].clone()
                            } else {
                                t.clone()
                            }
                        })
                        .collect();
                    m.forward_with(&p, &x.flatten_from(1)?)?
                }
                DiscBody::Dcgan(d) => d.forward(x, Some(&w))?,
            });
        }
        Ok(match &self.body {
            DiscBody::Mlp(m) => m.forward_with(&m.params, &x.flatten_from(1)?)?,
            DiscBody::Dcgan(d) => d.forward(x, None)?,
        })
    }

    /// Whether [`Discriminator::forward_with`] is available (MLP discriminators).
    pub fn is_functional(&self) -> bool {
        matches!(self.body, DiscBody::Mlp(_))
    }

    /// The parameters in the order [`Discriminator::forward_with`] takes them (MLP only:
    /// `[w0, b0, w1, b1, ...]`); these are the store's variables themselves.
    pub fn params(&self) -> Result<Vec<Tensor>> {
        Ok(self.functional()?.params.clone())
    }

    /// The MLP body, for functional evaluation; a DCGAN critic has none.
    fn functional(&self) -> Result<&Mlp> {
        match &self.body {
            DiscBody::Mlp(m) => Ok(m),
            DiscBody::Dcgan(_) => Err(Error::config(
                "discriminator",
                "dcgan",
                "functional evaluation (unrolling) needs an MLP discriminator",
            )),
        }
    }

    /// The MLP body, checking that `params` has one tensor per stored parameter.
    fn functional_with(&self, params: &[Tensor]) -> Result<&Mlp> {
        let m = self.functional()?;
        if params.len() != m.params.len() {
            return Err(Error::Shape {
                what: "discriminator parameter list",
                got: vec![params.len()],
                expected: vec![m.params.len()],
            });
        }
        Ok(m)
    }

    /// The store's names of [`Discriminator::params`], in the same order (MLP only).
    pub fn param_names(&self) -> Result<Vec<String>> {
        let n = self.params()?.len() / 2;
        Ok((0..n)
            .flat_map(|i| [format!("fc{i}.weight"), format!("fc{i}.bias")])
            .collect())
    }

    /// The gradient, with respect to `params` (in place of the stored weights, MLP only), of
    /// a loss of the raw scores on `x`; `dscore` maps the scores `(n, 1)` to the loss's
    /// gradient with respect to them. The result is a differentiable function of `params`
    /// and `x`, built without a `backward` pass: what the unrolled look-ahead needs.
    pub fn param_gradient_with(
        &self,
        params: &[Tensor],
        x: &Tensor,
        dscore: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        self.functional_with(params)?
            .param_gradient(params, &x.flatten_from(1)?, dscore)
    }

    /// Raw scores with `params` in place of the stored weights (MLP only).
    pub fn forward_with(&self, params: &[Tensor], x: &Tensor) -> Result<Tensor> {
        Ok(self
            .functional_with(params)?
            .forward_with(params, &x.flatten_from(1)?)?
            .1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gm_core::GmRng;

    #[test]
    fn dcgan_shapes_and_data_space() {
        let dev = Device::Cpu;
        let cfg = GanConfig::dcgan_mnist();
        let (g, _) = GanGenerator::init(&cfg, 0, &dev).unwrap();
        let d = Discriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
        let x = g.sample(3, &mut GmRng::new(0), &dev).unwrap();
        assert_eq!(x.dims(), &[3, 1, 28, 28]);
        let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        let s = d.forward(&g.to_network_space(&x).unwrap()).unwrap();
        assert_eq!(s.dims(), &[3, 1]);
        assert!(!d.is_functional());
        assert!(d.params().is_err());
    }

    #[test]
    fn mlp_forward_with_own_params_matches_forward() {
        let dev = Device::Cpu;
        let cfg = GanConfig::mlp_2d();
        let d = Discriminator::new(&cfg, ParamStore::new(1).var_builder(&dev)).unwrap();
        let x = GmRng::new(2).normal((5, 2), 0.0, 1.0, &dev).unwrap();
        let a = d.forward(&x).unwrap().to_vec2::<f32>().unwrap();
        let b = d
            .forward_with(&d.params().unwrap(), &x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, b);
        assert!(d.forward_with(&d.params().unwrap()[..2], &x).is_err());
    }

    #[test]
    fn latent_dim_cannot_be_zero() {
        let c = GanConfig {
            latent_dim: 0,
            ..GanConfig::mlp_2d()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "latent_dim",
                ..
            })
        ));
    }

    #[test]
    fn dcgan_needs_square_multiple_of_four() {
        let c = GanConfig {
            data_shape: vec![1, 30, 30],
            ..GanConfig::dcgan_mnist()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "data_shape",
                ..
            })
        ));
    }

    /// The 28x28 layout as it was written before the image size chose the layout, layer by
    /// layer in its creation order: the new stack must give the same names, shapes, seeded
    /// weights and outputs, so that saved 28x28 runs still load and reproduce.
    #[test]
    fn dcgan_28_layout_is_unchanged() {
        let dev = Device::Cpu;
        let cfg = GanConfig::dcgan(28, 1).unwrap();
        assert_eq!(cfg, GanConfig::dcgan_mnist());
        let (ch, bn) = (32, BatchNormConfig::default());
        let down = ConvConfig::default();

        let (g, g_store) = GanGenerator::init(&cfg, 5, &dev).unwrap();
        let old = ParamStore::new(5);
        let vb = old.var_builder(&dev);
        let ct0 = conv_transpose2d(100, 2 * ch, 7, down, vb.pp("ct0")).unwrap();
        let bn0 = batch_norm2d(2 * ch, bn, vb.pp("bn0")).unwrap();
        let ct1 = conv_transpose2d(2 * ch, ch, 4, UP, vb.pp("ct1")).unwrap();
        let bn1 = batch_norm2d(ch, bn, vb.pp("bn1")).unwrap();
        let ct2 = conv_transpose2d(ch, 1, 4, UP, vb.pp("ct2")).unwrap();
        assert_same_store(&g_store, &old);
        let z = GmRng::new(1).normal((4, 100), 0.0, 1.0, &dev).unwrap();
        let relu = |bn: &BatchNorm, x: Tensor| {
            gm_core::nn::relu(&bn.forward_t(&x, false).unwrap()).unwrap()
        };
        let x = z.reshape((4, 100, 1, 1)).unwrap();
        let x = relu(&bn0, ct0.forward(&x).unwrap());
        let x = relu(&bn1, ct1.forward(&x).unwrap());
        let want = ct2.forward(&x).unwrap().tanh().unwrap();
        let got = g.forward_t(&z, false).unwrap();
        assert_eq!(flat(&got), flat(&want));

        let d_store = ParamStore::new(6);
        let d = Discriminator::new(&cfg, d_store.var_builder(&dev)).unwrap();
        let old = ParamStore::new(6);
        let vb = old.var_builder(&dev);
        let c0 = conv2d(1, ch, 4, UP, vb.pp("c0")).unwrap();
        let c1 = conv2d(ch, 2 * ch, 4, UP, vb.pp("c1")).unwrap();
        let bn1 = batch_norm2d(2 * ch, bn, vb.pp("bn1")).unwrap();
        let c2 = conv2d(2 * ch, 1, 7, down, vb.pp("c2")).unwrap();
        assert_same_store(&d_store, &old);
        let h = gm_core::nn::leaky_relu(&c0.forward(&got).unwrap(), 0.2).unwrap();
        let h = bn1.forward_t(&c1.forward(&h).unwrap(), true).unwrap();
        let h = gm_core::nn::leaky_relu(&h, 0.2).unwrap();
        let want = c2.forward(&h).unwrap().reshape((4, 1)).unwrap();
        let (feat, out) = d.features_and_output(&got).unwrap();
        assert_eq!(flat(&out), flat(&want));
        assert_eq!(feat.dims(), &[4, 2 * ch * 7 * 7]);
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn assert_same_store(a: &ParamStore, b: &ParamStore) {
        let (a, b) = (a.tensors(), b.tensors());
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, v) in &a {
            assert_eq!(v.dims(), b[k].dims(), "{k}");
            assert_eq!(flat(v), flat(&b[k]), "{k}");
        }
    }

    fn shapes(store: &ParamStore) -> Vec<(String, Vec<usize>)> {
        store
            .tensors()
            .into_iter()
            .filter(|(k, _)| k.ends_with("weight"))
            .map(|(k, v)| (k, v.dims().to_vec()))
            .collect()
    }

    fn owned(v: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
        v.iter().map(|(k, d)| (k.to_string(), d.to_vec())).collect()
    }

    /// Radford et al.'s 64x64 layout over base 32: 256, 128, 64, 32 maps from 4x4 up.
    #[test]
    fn dcgan_64_is_radfords_layout() {
        let dev = Device::Cpu;
        let cfg = GanConfig::dcgan(64, 3).unwrap();
        let (_, g) = GanGenerator::init(&cfg, 0, &dev).unwrap();
        let want: &[(&str, &[usize])] = &[
            ("bn0.weight", &[256]),
            ("bn1.weight", &[128]),
            ("bn2.weight", &[64]),
            ("bn3.weight", &[32]),
            ("ct0.weight", &[100, 256, 4, 4]),
            ("ct1.weight", &[256, 128, 4, 4]),
            ("ct2.weight", &[128, 64, 4, 4]),
            ("ct3.weight", &[64, 32, 4, 4]),
            ("ct4.weight", &[32, 3, 4, 4]),
        ];
        assert_eq!(shapes(&g), owned(want));
        let d = ParamStore::new(0);
        Discriminator::new(&cfg, d.var_builder(&dev)).unwrap();
        let want: &[(&str, &[usize])] = &[
            ("bn1.weight", &[64]),
            ("bn2.weight", &[128]),
            ("bn3.weight", &[256]),
            ("c0.weight", &[32, 3, 4, 4]),
            ("c1.weight", &[64, 32, 4, 4]),
            ("c2.weight", &[128, 64, 4, 4]),
            ("c3.weight", &[256, 128, 4, 4]),
            ("c4.weight", &[1, 256, 4, 4]),
        ];
        assert_eq!(shapes(&d), owned(want));
    }

    /// At 128 the widths stop doubling at 8 base channels.
    #[test]
    fn dcgan_widths_are_capped_at_eight_base() {
        let cfg = GanConfig {
            generator: Architecture::Dcgan { channels: 2 },
            discriminator: Architecture::Dcgan { channels: 2 },
            ..GanConfig::dcgan(128, 1).unwrap()
        };
        let (_, g) = GanGenerator::init(&cfg, 0, &Device::Cpu).unwrap();
        let widths: Vec<usize> = (0..5)
            .map(|i| g.tensors()[&format!("bn{i}.weight")].dim(0).unwrap())
            .collect();
        assert_eq!(widths, [16, 16, 8, 4, 2]);
        let d = ParamStore::new(0);
        Discriminator::new(&cfg, d.var_builder(&Device::Cpu)).unwrap();
        assert_eq!(d.tensors()["c5.weight"].dims(), &[1, 16, 4, 4]);
    }

    fn dcgan_error_field(size: usize, channels: usize) -> &'static str {
        match GanConfig::dcgan(size, channels) {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{size}x{channels}: expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn dcgan_size_must_be_a_power_of_two_from_16_to_128_or_28() {
        for size in [0, 4, 8, 12, 24, 30, 48, 96, 256] {
            assert_eq!(dcgan_error_field(size, 3), "data_shape", "size {size}");
        }
        for size in [16, 28, 32, 64, 128] {
            GanConfig::dcgan(size, 3).unwrap();
        }
    }

    #[test]
    fn dcgan_channels_must_be_one_or_three() {
        for channels in [0, 2, 4] {
            assert_eq!(dcgan_error_field(32, channels), "data_shape");
        }
        // A hand-built config is held to the same rule.
        let c = GanConfig {
            data_shape: vec![2, 28, 28],
            ..GanConfig::dcgan_mnist()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "data_shape",
                ..
            })
        ));
    }

    #[test]
    fn dcgan_side_above_28_must_be_a_power_of_two() {
        for shape in [vec![1, 36, 36], vec![3, 256, 256], vec![3, 32, 16]] {
            let c = GanConfig {
                data_shape: shape,
                ..GanConfig::dcgan_mnist()
            };
            assert!(matches!(
                c.validate(),
                Err(Error::Config {
                    field: "data_shape",
                    ..
                })
            ));
        }
    }

    #[test]
    fn hidden_width_cannot_be_zero() {
        let c = GanConfig {
            discriminator: Architecture::Mlp {
                hidden: vec![8, 0],
                activation: Activation::Relu,
            },
            ..GanConfig::mlp_2d()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "discriminator.hidden",
                ..
            })
        ));
    }

    #[test]
    fn orthogonal_init_gives_scaled_orthogonal_weights_and_zero_biases() {
        let dev = Device::Cpu;
        let cfg = GanConfig {
            latent_dim: 3,
            discriminator: Architecture::Mlp {
                hidden: vec![5, 4],
                activation: Activation::Tanh,
            },
            mlp_init: MlpInit::Orthogonal { gain: 1.4 },
            ..GanConfig::mlp_2d()
        };
        let d = Discriminator::new(&cfg, ParamStore::new(7).var_builder(&dev)).unwrap();
        let p = d.params().unwrap();
        // Layers 2 -> 5 (widens: orthonormal columns), 5 -> 4 and 4 -> 1 (narrow: rows).
        for (i, w) in p.iter().step_by(2).enumerate() {
            let (rows, cols) = w.dims2().unwrap();
            let gram = if rows <= cols {
                w.matmul(&w.t().unwrap()).unwrap()
            } else {
                w.t().unwrap().matmul(w).unwrap()
            };
            let g = gram.to_vec2::<f32>().unwrap();
            for (a, row) in g.iter().enumerate() {
                for (b, x) in row.iter().enumerate() {
                    let want = if a == b { 1.96 } else { 0.0 };
                    assert!((x - want).abs() < 1e-5, "layer {i}: gram[{a}][{b}] = {x}");
                }
            }
            let bias = p[2 * i + 1].to_vec1::<f32>().unwrap();
            assert!(bias.iter().all(|b| *b == 0.0));
        }
        // Seeded: the same store seed gives the same weights, another seed others.
        let again = Discriminator::new(&cfg, ParamStore::new(7).var_builder(&dev)).unwrap();
        let other = Discriminator::new(&cfg, ParamStore::new(8).var_builder(&dev)).unwrap();
        let flat = |d: &Discriminator| {
            d.params().unwrap()[2]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(flat(&d), flat(&again));
        assert_ne!(flat(&d), flat(&other));
        // An f64 store (the finite-difference tests' precision) gets the same weights.
        let vb64 = VarBuilder::from_backend(
            Box::new(ParamStore::new(7)),
            candle_core::DType::F64,
            dev.clone(),
        );
        let d64 = Discriminator::new(&cfg, vb64).unwrap();
        let w64 = d64.params().unwrap()[2]
            .flatten_all()
            .unwrap()
            .to_dtype(candle_core::DType::F32)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(w64, flat(&d));
    }
}
