//! Feature spaces for images of any shape, for the metrics against a held-out reference set
//! when the shipped MNIST classifier does not apply.
//!
//! - [`PixelFeatures`]: the pixels themselves, flattened after average pooling each channel
//!   down to at most `max_side x max_side` (integer factors `ceil(h / max_side)` and
//!   `ceil(w / max_side)`, remainder rows and columns dropped).
//! - [`ConvFeatureNet::random`]: a convolutional network with random weights fixed by a seed,
//!   the "random embedding" baseline of Naeem et al. 2020 ("Reliable fidelity and diversity
//!   metrics for generative models": a randomly initialised network already gives features
//!   in which the precision/recall-type metrics behave, without ImageNet training). The
//!   weights are drawn from [`GmRng`], so the features are the same on every machine.
//! - [`ConvFeatureNet::load`]: a user-supplied network of the same architecture, read from a
//!   safetensors file. A file in the Inception-v3 layout of FID (Heusel et al. 2017) is
//!   refused here with the names of the tensors that do not fit: it is read by
//!   [`crate::inception`] (`features = inception`).
//!
//! The conv architecture (`L` layers, the same for random and loaded weights):
//!
//! ```text
//! x in [0, 1]  ->  (x - mean) / std per channel          (input.mean, input.std)
//!   for i in 0..L:  x = relu(conv_i(x))   k x k, stride 1, padding k / 2
//!                   x = avg_pool_2x2(x)   after every layer but the last
//!   adaptive average pooling to grid x grid cells (PyTorch's bins), flattened
//!   optional linear head  f = x W^T + b                   (fc.weight, fc.bias)
//! ```
//!
//! Tensor names: `conv{i}.weight` `(c_out, c_in, k, k)` with odd `k`, `conv{i}.bias`
//! `(c_out)`, for `i = 0, 1, ...` without gaps; optional `input.mean`, `input.std` `(c_0)`;
//! optional `fc.weight` `(d, c_L grid^2)` and `fc.bias` `(d)`. Metadata: `grid` (cells per
//! side of the final pooling, default 1: global average pooling) and `max_side` (images are
//! first average-pooled to at most this many pixels per side; default none). Grey images fed
//! to a 3-channel network are repeated over the channels.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use gm_core::GmRng;

use crate::{Error, Result};

/// A map from images to feature vectors.
pub trait FeatureExtractor {
    /// What the space is, for the report: `random-conv(seed 0, 512-d)`.
    fn name(&self) -> String;

    /// Features `(n, d)` of images `(n, c, h, w)`, `(n, h, w)` or `(n, 784)` with pixels in
    /// `[0, 1]`.
    fn features(&self, images: &Tensor) -> Result<Tensor>;
}

/// Features of `images`, `batch` items per call of `extractor`.
pub fn extract_features(
    extractor: &dyn FeatureExtractor,
    images: &Tensor,
    batch: usize,
) -> Result<Tensor> {
    let n = images.dim(0)?;
    let batch = batch.max(1);
    let mut parts = Vec::new();
    for lo in (0..n).step_by(batch) {
        let len = batch.min(n - lo);
        parts.push(extractor.features(&images.narrow(0, lo, len)?)?);
    }
    if parts.is_empty() {
        return Err(Error::TooFew {
            what: "images to embed",
            needed: 1,
            found: 0,
        });
    }
    Ok(Tensor::cat(&parts, 0)?)
}

/// Images as `(n, c, h, w)` f32: `(n, h, w)` gets one channel and `(n, 784)` is read as
/// MNIST's `(n, 1, 28, 28)`.
pub fn to_nchw(x: &Tensor) -> Result<Tensor> {
    let x = x.to_dtype(DType::F32)?;
    match *x.dims() {
        [n, c, h, w] => Ok(x.reshape((n, c, h, w))?),
        [n, h, w] => Ok(x.reshape((n, 1, h, w))?),
        [n, 784] => Ok(x.reshape((n, 1, 28, 28))?),
        _ => Err(Error::Shape {
            what: "images",
            expected: "(n, c, h, w), (n, h, w) or (n, 784)",
            found: x.dims().to_vec(),
        }),
    }
}

/// Average pooling of each channel by integer factors so that each side is at most
/// `max_side` pixels: `ceil(h / max_side)` by `ceil(w / max_side)`, remainder dropped.
pub fn pool_to_max_side(x: &Tensor, max_side: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let m = max_side.max(1);
    let (kh, kw) = (h.div_ceil(m), w.div_ceil(m));
    if kh <= 1 && kw <= 1 {
        return Ok(x.clone());
    }
    Ok(x.avg_pool2d((kh.max(1), kw.max(1)))?)
}

/// Raw pixels, flattened after pooling each channel to at most `max_side` per side. Items
/// that are not images (`(n, d)` other than `(n, 784)`) are used as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFeatures {
    /// Largest side, in pixels, of each pooled channel.
    pub max_side: usize,
}

impl Default for PixelFeatures {
    /// At most 32 x 32 per channel: 3,072 values for colour images.
    fn default() -> Self {
        Self { max_side: 32 }
    }
}

impl FeatureExtractor for PixelFeatures {
    fn name(&self) -> String {
        let m = self.max_side;
        format!("pixels(avg-pooled to at most {m}x{m})")
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        if images.rank() == 2 && images.dim(1)? != 784 {
            return Ok(images.to_dtype(DType::F32)?);
        }
        let x = pool_to_max_side(&to_nchw(images)?, self.max_side)?;
        Ok(x.flatten_from(1)?)
    }
}

/// Settings of the seeded random conv network: 3 layers of 3x3 convolutions with 32, 64 and
/// `dim / 4` channels, He-normal weights `N(0, 2 / fan_in)`, zero biases, pixels mapped to
/// `[-1, 1]`, images first pooled to at most 64 pixels per side, a 2x2 final grid: `dim`
/// features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomConvConfig {
    /// Channels of the input images (1 for grey-scale, 3 for colour).
    pub in_channels: usize,
    /// Number of output features, a positive multiple of 4.
    pub dim: usize,
    /// Seed of the random weights.
    pub seed: u64,
}

/// Grid of the random network's final pooling (2x2 cells).
const RANDOM_GRID: usize = 2;
/// Largest side of the images the random network sees.
const RANDOM_MAX_SIDE: usize = 64;

/// A conv feature network (see the module documentation for the architecture and names).
#[derive(Debug, Clone)]
pub struct ConvFeatureNet {
    /// `(weight (c_out, c_in, k, k), bias (c_out))` per layer.
    convs: Vec<(Tensor, Tensor)>,
    /// `(weight (d, f), bias (d))`.
    head: Option<(Tensor, Option<Tensor>)>,
    /// `(mean, std)`, each `(1, c, 1, 1)`.
    norm: Option<(Tensor, Tensor)>,
    grid: usize,
    max_side: Option<usize>,
    name: String,
}

fn shape_err(what: &str, expected: String, found: &[usize]) -> Error {
    Error::InvalidInput {
        what: "feature network",
        reason: format!("tensor `{what}`: expected shape {expected}, found {found:?}"),
    }
}

impl ConvFeatureNet {
    /// The seeded random network. Weights are drawn layer by layer from `GmRng::new(seed)`,
    /// in the order of the `conv{i}.weight` tensors, so two constructions with one seed are
    /// identical on every machine.
    pub fn random(cfg: RandomConvConfig, device: &Device) -> Result<Self> {
        if cfg.dim < 4 || !cfg.dim.is_multiple_of(4) {
            return Err(Error::Config {
                field: "random_conv_dim",
                value: cfg.dim.to_string(),
                reason: "must be a positive multiple of 4 (channels x 2x2 grid)",
            });
        }
        if cfg.in_channels == 0 {
            return Err(Error::InvalidInput {
                what: "random conv network",
                reason: "images need at least one channel".into(),
            });
        }
        let mut rng = GmRng::new(cfg.seed);
        let widths = [cfg.in_channels, 32, 64, cfg.dim / RANDOM_GRID.pow(2)];
        let mut convs = Vec::new();
        for io in widths.windows(2) {
            let (ci, co) = (io[0], io[1]);
            let fan_in = (ci * 9) as f64;
            let w = rng.normal((co, ci, 3, 3), 0.0, (2.0 / fan_in).sqrt(), device)?;
            let b = Tensor::zeros(co, DType::F32, device)?;
            convs.push((w, b));
        }
        let c = cfg.in_channels;
        let half = Tensor::full(0.5f32, (1, c, 1, 1), device)?;
        Ok(Self {
            convs,
            head: None,
            norm: Some((half.clone(), half)),
            grid: RANDOM_GRID,
            max_side: Some(RANDOM_MAX_SIDE),
            name: format!("random-conv(seed {}, {}-d)", cfg.seed, cfg.dim),
        })
    }

    /// Reads a network from a safetensors file (names and metadata in the module docs).
    /// Errors name the file and the tensor or key at fault.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let (tensors, meta) = gm_core::io::load_safetensors(path, device)?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_tensors(&tensors, &meta, &file).map_err(|e| Error::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// A network from named tensors and metadata; `label` names it in the report.
    pub fn from_tensors(
        tensors: &BTreeMap<String, Tensor>,
        metadata: &BTreeMap<String, String>,
        label: &str,
    ) -> Result<Self> {
        let tensors = tensors
            .iter()
            .map(|(k, t)| Ok((k.clone(), t.to_dtype(DType::F32)?)))
            .collect::<Result<BTreeMap<String, Tensor>>>()?;
        let mut used: Vec<String> = Vec::new();
        let mut get = |name: &str| -> Option<Tensor> {
            let t = tensors.get(name)?;
            used.push(name.to_string());
            Some(t.clone())
        };
        let mut convs = Vec::new();
        let mut channels = None;
        for i in 0.. {
            let wn = format!("conv{i}.weight");
            let Some(w) = get(&wn) else { break };
            let bn = format!("conv{i}.bias");
            let &[co, ci, kh, kw] = w.dims() else {
                return Err(shape_err(&wn, "(c_out, c_in, k, k)".into(), w.dims()));
            };
            if kh != kw || kh % 2 == 0 || channels.is_some_and(|c| c != ci) {
                let want = match channels {
                    Some(c) => format!("({co}, {c}, k, k) with odd k"),
                    None => "(c_out, c_in, k, k) with odd k".to_string(),
                };
                return Err(shape_err(&wn, want, w.dims()));
            }
            let b = get(&bn).ok_or_else(|| Error::InvalidInput {
                what: "feature network",
                reason: format!("tensor `{bn}` is missing"),
            })?;
            if b.dims() != [co] {
                return Err(shape_err(&bn, format!("({co})"), b.dims()));
            }
            channels = Some(co);
            convs.push((w, b));
        }
        let Some(c_last) = channels else {
            return Err(Error::InvalidInput {
                what: "feature network",
                reason: "has no tensor `conv0.weight`; layout: conv{i}.weight / conv{i}.bias, \
                         optional input.mean, input.std, fc.weight, fc.bias"
                    .into(),
            });
        };
        let c0 = convs[0].0.dim(1)?;
        let meta_usize = |key: &str| -> Result<Option<usize>> {
            match metadata.get(key) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(Error::InvalidInput {
                        what: "feature network",
                        reason: format!("metadata `{key}` = {v:?} is not a positive integer"),
                    }),
                },
            }
        };
        let grid = meta_usize("grid")?.unwrap_or(1);
        let max_side = meta_usize("max_side")?;
        let norm = match (get("input.mean"), get("input.std")) {
            (None, None) => None,
            (Some(m), Some(s)) => {
                for (name, t) in [("input.mean", &m), ("input.std", &s)] {
                    if t.dims() != [c0] {
                        return Err(shape_err(name, format!("({c0})"), t.dims()));
                    }
                }
                let smin = s.min(0)?.to_scalar::<f32>()?;
                if !(smin > 0.0 && smin.is_finite()) {
                    return Err(Error::InvalidInput {
                        what: "feature network",
                        reason: "tensor `input.std` must be positive".into(),
                    });
                }
                Some((m.reshape((1, c0, 1, 1))?, s.reshape((1, c0, 1, 1))?))
            }
            _ => {
                return Err(Error::InvalidInput {
                    what: "feature network",
                    reason: "needs both `input.mean` and `input.std`, or neither".into(),
                })
            }
        };
        let pooled = c_last * grid * grid;
        let head = match get("fc.weight") {
            None => None,
            Some(w) => {
                let &[d, f] = w.dims() else {
                    return Err(shape_err("fc.weight", format!("(d, {pooled})"), w.dims()));
                };
                if f != pooled {
                    return Err(shape_err("fc.weight", format!("({d}, {pooled})"), w.dims()));
                }
                let b = get("fc.bias");
                if let Some(b) = &b {
                    if b.dims() != [d] {
                        return Err(shape_err("fc.bias", format!("({d})"), b.dims()));
                    }
                }
                Some((w.t()?.contiguous()?, b))
            }
        };
        let unknown: Vec<&String> = tensors.keys().filter(|k| !used.contains(*k)).collect();
        if !unknown.is_empty() {
            return Err(Error::InvalidInput {
                what: "feature network",
                reason: format!(
                    "tensors {unknown:?} do not fit the conv layout (conv{{i}}.weight, \
                     conv{{i}}.bias, input.mean, input.std, fc.weight, fc.bias); an \
                     Inception-v3 file is read with features = inception"
                ),
            });
        }
        let dim = head.as_ref().map_or(pooled, |(w, _)| w.dims()[1]);
        Ok(Self {
            name: format!("conv-net({label}, {} conv, {dim}-d)", convs.len()),
            convs,
            head,
            norm,
            grid,
            max_side,
        })
    }

    /// The weights and metadata in the file layout [`ConvFeatureNet::load`] reads.
    pub fn tensors(&self) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
        let mut t = BTreeMap::new();
        for (i, (w, b)) in self.convs.iter().enumerate() {
            t.insert(format!("conv{i}.weight"), w.clone());
            t.insert(format!("conv{i}.bias"), b.clone());
        }
        if let Some((m, s)) = &self.norm {
            t.insert("input.mean".into(), m.flatten_all()?);
            t.insert("input.std".into(), s.flatten_all()?);
        }
        if let Some((w, b)) = &self.head {
            t.insert("fc.weight".into(), w.t()?.contiguous()?);
            if let Some(b) = b {
                t.insert("fc.bias".into(), b.clone());
            }
        }
        let mut meta = BTreeMap::new();
        meta.insert("grid".to_string(), self.grid.to_string());
        if let Some(m) = self.max_side {
            meta.insert("max_side".to_string(), m.to_string());
        }
        Ok((t, meta))
    }

    /// Input channels the first layer expects.
    pub fn in_channels(&self) -> usize {
        self.convs[0].0.dims()[1]
    }

    /// Length of the feature vector.
    pub fn dim(&self) -> usize {
        match &self.head {
            Some((w, _)) => w.dims()[1],
            None => self.convs[self.convs.len() - 1].0.dims()[0] * self.grid * self.grid,
        }
    }
}

/// Average pooling to `g x g` cells with PyTorch's adaptive bins
/// `[floor(i h / g), ceil((i + 1) h / g))`, flattened channel-major to `(n, c g^2)`.
fn adaptive_avg_pool(x: &Tensor, g: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let bins = |len: usize| -> Vec<(usize, usize)> {
        (0..g)
            .map(|i| {
                let lo = i * len / g;
                let hi = ((i + 1) * len).div_ceil(g);
                (lo, hi.max(lo + 1).min(len) - lo)
            })
            .collect()
    };
    let mut cells = Vec::with_capacity(g * g);
    for (r0, rl) in bins(h) {
        for (c0, cl) in bins(w) {
            let cell = x.narrow(2, r0, rl)?.narrow(3, c0, cl)?;
            cells.push(cell.mean_keepdim(D::Minus1)?.mean_keepdim(2)?);
        }
    }
    // (n, c, 1, g^2) -> (n, c g^2), channel-major like torch.flatten(adaptive_avg_pool2d(x), 1).
    Ok(Tensor::cat(&cells, D::Minus1)?.reshape((n, c * g * g))?)
}

impl FeatureExtractor for ConvFeatureNet {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        let mut x = to_nchw(images)?;
        let c = x.dim(1)?;
        let want = self.in_channels();
        if c != want {
            if c == 1 && want == 3 {
                x = x.repeat((1, 3, 1, 1))?;
            } else {
                return Err(Error::Shape {
                    what: "images for the feature network",
                    expected: "as many channels as conv0.weight's second dimension",
                    found: x.dims().to_vec(),
                });
            }
        }
        if let Some(m) = self.max_side {
            x = pool_to_max_side(&x, m)?;
        }
        if let Some((mean, std)) = &self.norm {
            x = x.broadcast_sub(mean)?.broadcast_div(std)?;
        }
        let layers = self.convs.len();
        for (i, (w, b)) in self.convs.iter().enumerate() {
            let k = w.dims()[2];
            let co = w.dims()[0];
            x = x
                .conv2d(w, k / 2, 1, 1, 1)?
                .broadcast_add(&b.reshape((1, co, 1, 1))?)?
                .relu()?;
            if i + 1 < layers {
                let (_, _, h, wd) = x.dims4()?;
                if h < 2 || wd < 2 {
                    return Err(Error::Shape {
                        what: "images for the feature network",
                        expected:
                            "at least 2^(layers - 1) pixels per side (after max_side pooling)",
                        found: images.dims().to_vec(),
                    });
                }
                x = x.avg_pool2d(2)?;
            }
        }
        let mut f = adaptive_avg_pool(&x, self.grid)?;
        if let Some((w, b)) = &self.head {
            f = f.matmul(w)?;
            if let Some(b) = b {
                f = f.broadcast_add(b)?;
            }
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests;
