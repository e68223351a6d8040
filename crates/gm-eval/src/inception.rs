//! Inception-v3 pool3 features, the feature space of FID, read from a safetensors file the
//! user supplies (nothing is downloaded).
//!
//! The network is Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception architecture
//! for computer vision"). FID (Heusel et al. 2017) is defined on the 2048-d pool3 features of
//! TensorFlow's 2015-12-05 Inception graph; pytorch-fid ports those weights as
//! `pt_inception-2015-12-05-6726825d.pth` and runs them in torchvision's `Inception3` with
//! three blocks patched (`FIDInceptionA`, `FIDInceptionC`, `FIDInceptionE_1/_2`). This module
//! implements that FID variant, which differs from torchvision's `inception_v3` in two places:
//!
//! - the 3x3 average pools (stride 1, padding 1) of the pool branches of Mixed_5b..5d,
//!   Mixed_6b..6e and Mixed_7b leave the zero padding out of each mean
//!   (`count_include_pad=False`, TensorFlow's `SAME` pooling);
//! - the pool branch of Mixed_7c is a 3x3 *max* pool (stride 1, padding 1), as in the
//!   TensorFlow graph.
//!
//! Both files share torchvision's tensor names, so torchvision's `inception_v3` weights load
//! too, but then the features are neither torchvision's (the two pools above) nor FID's (other
//! weights): use the pytorch-fid file for numbers comparable with published FIDs.
//!
//! Input, as pytorch-fid's `InceptionV3(resize_input=True, normalize_input=True)`: gm hands
//! feature extractors pixels in `[0, 1]` (samples in `[-1, 1]` are mapped to `[0, 1]` by
//! `pixel_range` first); grey images are repeated over 3 channels, every image is resized
//! bilinearly (`align_corners=False`, no antialiasing, aspect ratio not kept) to
//! `input_size x input_size` (299) and scaled to `[-1, 1]` by `2 x - 1`.
//!
//! ```text
//! BasicConv2d = conv (no bias) -> BatchNorm (eps 0.001, running statistics) -> ReLU
//! Conv2d_1a_3x3 (3x3, stride 2)   Conv2d_2a_3x3 (3x3)   Conv2d_2b_3x3 (3x3, pad 1)
//! max pool 3x3 stride 2
//! Conv2d_3b_1x1 (1x1)             Conv2d_4a_3x3 (3x3)
//! max pool 3x3 stride 2
//! Mixed_5b, 5c, 5d   InceptionA: branch1x1 | branch5x5_1,_2 | branch3x3dbl_1,_2,_3
//!                                | avg pool (no pad count) -> branch_pool
//! Mixed_6a           InceptionB: branch3x3 (stride 2) | branch3x3dbl_1,_2,_3 (stride 2)
//!                                | max pool 3x3 stride 2
//! Mixed_6b..6e       InceptionC: branch1x1 | branch7x7_1,_2 (1x7),_3 (7x1)
//!                                | branch7x7dbl_1,_2 (7x1),_3 (1x7),_4 (7x1),_5 (1x7)
//!                                | avg pool (no pad count) -> branch_pool
//! Mixed_7a           InceptionD: branch3x3_1,_2 (stride 2)
//!                                | branch7x7x3_1,_2 (1x7),_3 (7x1),_4 (3x3 stride 2)
//!                                | max pool 3x3 stride 2
//! Mixed_7b, 7c       InceptionE: branch1x1 | branch3x3_1 -> [branch3x3_2a (1x3), _2b (3x1)]
//!                                | branch3x3dbl_1,_2 -> [branch3x3dbl_3a (1x3), _3b (3x1)]
//!                                | pool -> branch_pool   (7b: avg, no pad count; 7c: max)
//! global average pool -> pool3 features (2048-d for the full network)
//! ```
//!
//! Branch outputs are concatenated over channels in the order listed. Each BasicConv2d has
//! `{name}.conv.weight` `(c_out, c_in, kh, kw)` and `{name}.bn.weight`, `.bn.bias`,
//! `.bn.running_mean`, `.bn.running_var` `(c_out)`, e.g. `Mixed_6b.branch7x7_2.conv.weight`.
//! Every output width is read from the file's shapes (only the input widths are checked), so
//! the full network and a narrow one with the same blocks and names load alike; the feature
//! width is that of Mixed_7c's concatenated branches. The classifier (`fc.*`), torchvision's
//! auxiliary head (`AuxLogits.*`) and `*.num_batches_tracked` are ignored; any other tensor
//! the network does not use is an error naming it. Batch normalisation is folded into the
//! convolution weights when the file is read.
//!
//! The pytorch-fid `.pth` becomes a safetensors file with
//!
//! ```text
//! import torch; from safetensors.torch import save_file
//! sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu")
//! save_file({k: v.contiguous() for k, v in sd.items()}, "pt_inception-2015-12-05.safetensors")
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor, D};

use crate::features::{to_nchw, FeatureExtractor};
use crate::{Error, Result};

/// Side of the images pytorch-fid feeds the network.
pub const FID_INPUT_SIZE: usize = 299;

/// The smallest input side the stride-2 layers accept (Mixed_7a then yields a 1x1 map).
pub const MIN_INPUT_SIZE: usize = 75;

/// Prefix of the extractor's name in reports: `inception-v3-fid(file, 2048-d pool3, ...)`.
pub const INCEPTION_FEATURES: &str = "inception-v3-fid";

/// BatchNorm epsilon of torchvision's `BasicConv2d`.
const BN_EPS: f64 = 1e-3;

/// Settings of the Inception feature extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InceptionConfig {
    /// Side of the square images the network sees ([`FID_INPUT_SIZE`]; smaller values, down
    /// to [`MIN_INPUT_SIZE`], are for tests and previews and do not give FID).
    pub input_size: usize,
    /// Images per forward pass (32): bounds the memory of the activations, whatever the
    /// size of the batches handed to [`FeatureExtractor::features`].
    pub batch_size: usize,
}

impl Default for InceptionConfig {
    fn default() -> Self {
        Self {
            input_size: FID_INPUT_SIZE,
            batch_size: 32,
        }
    }
}

impl InceptionConfig {
    pub fn validate(&self) -> Result<()> {
        if self.input_size < MIN_INPUT_SIZE {
            return Err(Error::Config {
                field: "inception_input_size",
                value: self.input_size.to_string(),
                reason: "must be at least 75, the smallest input Inception-v3's stride-2 \
                         layers accept",
            });
        }
        if self.batch_size == 0 {
            return Err(Error::Config {
                field: "inception_batch_size",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// Kernel, stride and padding of one BasicConv2d.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConvSpec {
    kernel: (usize, usize),
    stride: usize,
    padding: (usize, usize),
}

const fn conv(kh: usize, kw: usize, stride: usize, ph: usize, pw: usize) -> ConvSpec {
    ConvSpec {
        kernel: (kh, kw),
        stride,
        padding: (ph, pw),
    }
}

const K1: ConvSpec = conv(1, 1, 1, 0, 0);
const K3: ConvSpec = conv(3, 3, 1, 0, 0);
const K3_PAD: ConvSpec = conv(3, 3, 1, 1, 1);
const K3_STRIDE2: ConvSpec = conv(3, 3, 2, 0, 0);
const K5_PAD: ConvSpec = conv(5, 5, 1, 2, 2);
const K1X7: ConvSpec = conv(1, 7, 1, 0, 3);
const K7X1: ConvSpec = conv(7, 1, 1, 3, 0);
const K1X3: ConvSpec = conv(1, 3, 1, 0, 1);
const K3X1: ConvSpec = conv(3, 1, 1, 1, 0);

/// The tensors of a file, taken by name, so that the unused ones can be reported.
struct Weights<'a> {
    tensors: &'a BTreeMap<String, Tensor>,
    taken: BTreeSet<String>,
}

fn invalid(reason: String) -> Error {
    Error::InvalidInput {
        what: "Inception-v3 weights",
        reason,
    }
}

fn shape_err(name: &str, expected: String, found: &[usize]) -> Error {
    invalid(format!(
        "tensor `{name}`: expected shape {expected}, found {found:?}"
    ))
}

impl Weights<'_> {
    fn take(&mut self, name: &str) -> Result<Tensor> {
        let Some(t) = self.tensors.get(name) else {
            let suffix = format!(".{name}");
            let hint = match self.tensors.keys().find(|k| k.ends_with(&suffix)) {
                Some(k) => format!(" (the file has `{k}`: strip its prefix)"),
                None => String::new(),
            };
            return Err(invalid(format!(
                "tensor `{name}` is missing{hint}; the layout is torchvision's inception_v3, \
                 as in pytorch-fid's pt_inception-2015-12-05"
            )));
        };
        self.taken.insert(name.to_string());
        Ok(t.to_dtype(DType::F32)?)
    }

    /// Tensors neither taken nor ignorable.
    fn unused(&self) -> Vec<&String> {
        self.tensors
            .keys()
            .filter(|k| !self.taken.contains(*k) && !ignored(k))
            .collect()
    }
}

/// Tensors of the two files that the pool3 features do not need.
fn ignored(name: &str) -> bool {
    name == "fc.weight"
        || name == "fc.bias"
        || name.starts_with("AuxLogits.")
        || name.ends_with(".num_batches_tracked")
}

/// Conv without bias, BatchNorm with running statistics, ReLU; the BatchNorm is folded into
/// the convolution: `w' = w gamma / sqrt(var + eps)`, `b' = beta - mean gamma / sqrt(var + eps)`.
#[derive(Debug, Clone)]
struct BasicConv2d {
    /// `(c_out, c_in, kh, kw)`.
    weight: Tensor,
    /// `(1, c_out, 1, 1)`.
    bias: Tensor,
    stride: usize,
    padding: (usize, usize),
}

impl BasicConv2d {
    fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }
}

fn basic_conv2d(w: &mut Weights, name: &str, c_in: usize, spec: ConvSpec) -> Result<BasicConv2d> {
    let wn = format!("{name}.conv.weight");
    let weight = w.take(&wn)?;
    let (kh, kw) = spec.kernel;
    let expected = || format!("(c_out, {c_in}, {kh}, {kw})");
    let &[c_out, ci, h, k] = weight.dims() else {
        return Err(shape_err(&wn, expected(), weight.dims()));
    };
    if c_out == 0 || (ci, h, k) != (c_in, kh, kw) {
        return Err(shape_err(&wn, expected(), weight.dims()));
    }
    let mut bn = Vec::with_capacity(4);
    for p in ["weight", "bias", "running_mean", "running_var"] {
        let n = format!("{name}.bn.{p}");
        let t = w.take(&n)?;
        if t.dims() != [c_out] {
            return Err(shape_err(&n, format!("({c_out})"), t.dims()));
        }
        bn.push(t);
    }
    let [gamma, beta, mean, var] = [&bn[0], &bn[1], &bn[2], &bn[3]];
    let var_min = var.min(0)?.to_scalar::<f32>()?;
    if var_min.is_nan() || f64::from(var_min) + BN_EPS <= 0.0 {
        return Err(invalid(format!(
            "tensor `{name}.bn.running_var` holds {var_min}: variances must be >= 0"
        )));
    }
    let scale = gamma.broadcast_div(&(var + BN_EPS)?.sqrt()?)?;
    let weight = weight.broadcast_mul(&scale.reshape((c_out, 1, 1, 1))?)?;
    let bias = (beta - mean.mul(&scale)?)?.reshape((1, c_out, 1, 1))?;
    Ok(BasicConv2d {
        weight,
        bias,
        stride: spec.stride,
        padding: spec.padding,
    })
}

impl Module for BasicConv2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (ph, pw) = self.padding;
        let y = if ph == pw {
            x.conv2d(&self.weight, ph, self.stride, 1, 1)?
        } else {
            // candle pads both sides alike: pad the 1x7 and 7x1 kernels' input by hand.
            x.pad_with_zeros(2, ph, ph)?
                .pad_with_zeros(3, pw, pw)?
                .conv2d(&self.weight, 0, self.stride, 1, 1)?
        };
        y.broadcast_add(&self.bias)?.relu()
    }
}

/// 3x3 average pooling, stride 1, padding 1, with the padding left out of each mean
/// (`F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)`): a border pixel averages the 6 (or,
/// in a corner, 4) pixels that exist.
fn avg_pool_3x3_same(x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let sums = x
        .pad_with_zeros(2, 1, 1)?
        .pad_with_zeros(3, 1, 1)?
        .avg_pool2d_with_stride(3, 1)?;
    // avg_pool2d divides by 9; rescale each position by 9 / (pixels inside the window).
    let inside = |len: usize| -> Vec<usize> {
        (0..len)
            .map(|i| 3 - usize::from(i == 0) - usize::from(i + 1 == len))
            .collect()
    };
    let (rows, cols) = (inside(h), inside(w));
    let scale: Vec<f32> = rows
        .iter()
        .flat_map(|r| cols.iter().map(move |c| 9.0 / (r * c) as f32))
        .collect();
    let scale = Tensor::from_vec(scale, (1, 1, h, w), x.device())?;
    Ok(sums.broadcast_mul(&scale)?)
}

/// 3x3 max pooling, stride 1, padding 1 (the padding never wins: it is `-inf`).
fn max_pool_3x3_same(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let edge = |shape: (usize, usize, usize, usize)| {
        Tensor::full(f32::NEG_INFINITY, shape, x.device())?.to_dtype(x.dtype())
    };
    let rows = edge((n, c, 1, w))?;
    let x = Tensor::cat(&[&rows, x, &rows], 2)?;
    let cols = edge((n, c, h + 2, 1))?;
    let x = Tensor::cat(&[&cols, &x, &cols], 3)?;
    Ok(x.max_pool2d_with_stride(3, 1)?)
}

/// The pooling a branch applies to the block input before its convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    None,
    /// 3x3, stride 1, padding 1, padding not counted (FIDInceptionA/C/E_1).
    AvgSame,
    /// 3x3, stride 1, padding 1 (FIDInceptionE_2, Mixed_7c).
    MaxSame,
    /// 3x3, stride 2, no padding (InceptionB/D).
    MaxStride2,
}

impl Pool {
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Pool::None => Ok(x.clone()),
            Pool::AvgSame => avg_pool_3x3_same(x),
            Pool::MaxSame => max_pool_3x3_same(x),
            Pool::MaxStride2 => Ok(x.max_pool2d_with_stride(3, 2)?),
        }
    }
}

/// One branch of a mixed block: a pool, a chain of BasicConv2d, and (InceptionE) a fork of
/// two convolutions applied to the chain's output, concatenated.
#[derive(Debug, Clone)]
struct Branch {
    pool: Pool,
    chain: Vec<BasicConv2d>,
    fork: Vec<BasicConv2d>,
}

/// A branch's layers by name, as in torchvision's `__init__`.
type BranchSpec = (
    Pool,
    &'static [(&'static str, ConvSpec)],
    &'static [(&'static str, ConvSpec)],
);

impl Branch {
    fn load(w: &mut Weights, block: &str, spec: &BranchSpec, c_in: usize) -> Result<(Self, usize)> {
        let &(pool, chain_spec, fork_spec) = spec;
        let mut c = c_in;
        let mut chain = Vec::with_capacity(chain_spec.len());
        for (name, s) in chain_spec {
            let layer = basic_conv2d(w, &format!("{block}.{name}"), c, *s)?;
            c = layer.out_channels();
            chain.push(layer);
        }
        let mut fork = Vec::with_capacity(fork_spec.len());
        for (name, s) in fork_spec {
            fork.push(basic_conv2d(w, &format!("{block}.{name}"), c, *s)?);
        }
        if !fork.is_empty() {
            c = fork.iter().map(BasicConv2d::out_channels).sum();
        }
        Ok((Self { pool, chain, fork }, c))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = self.pool.apply(x)?;
        for layer in &self.chain {
            y = layer.forward(&y)?;
        }
        if self.fork.is_empty() {
            return Ok(y);
        }
        let parts = self
            .fork
            .iter()
            .map(|layer| layer.forward(&y))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::cat(&parts, 1)?)
    }
}

const INCEPTION_A: [BranchSpec; 4] = [
    (Pool::None, &[("branch1x1", K1)], &[]),
    (
        Pool::None,
        &[("branch5x5_1", K1), ("branch5x5_2", K5_PAD)],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch3x3dbl_1", K1),
            ("branch3x3dbl_2", K3_PAD),
            ("branch3x3dbl_3", K3_PAD),
        ],
        &[],
    ),
    (Pool::AvgSame, &[("branch_pool", K1)], &[]),
];

const INCEPTION_B: [BranchSpec; 3] = [
    (Pool::None, &[("branch3x3", K3_STRIDE2)], &[]),
    (
        Pool::None,
        &[
            ("branch3x3dbl_1", K1),
            ("branch3x3dbl_2", K3_PAD),
            ("branch3x3dbl_3", K3_STRIDE2),
        ],
        &[],
    ),
    (Pool::MaxStride2, &[], &[]),
];

const INCEPTION_C: [BranchSpec; 4] = [
    (Pool::None, &[("branch1x1", K1)], &[]),
    (
        Pool::None,
        &[
            ("branch7x7_1", K1),
            ("branch7x7_2", K1X7),
            ("branch7x7_3", K7X1),
        ],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch7x7dbl_1", K1),
            ("branch7x7dbl_2", K7X1),
            ("branch7x7dbl_3", K1X7),
            ("branch7x7dbl_4", K7X1),
            ("branch7x7dbl_5", K1X7),
        ],
        &[],
    ),
    (Pool::AvgSame, &[("branch_pool", K1)], &[]),
];

const INCEPTION_D: [BranchSpec; 3] = [
    (
        Pool::None,
        &[("branch3x3_1", K1), ("branch3x3_2", K3_STRIDE2)],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch7x7x3_1", K1),
            ("branch7x7x3_2", K1X7),
            ("branch7x7x3_3", K7X1),
            ("branch7x7x3_4", K3_STRIDE2),
        ],
        &[],
    ),
    (Pool::MaxStride2, &[], &[]),
];

/// InceptionE with the pool of its last branch: average (Mixed_7b) or max (Mixed_7c).
const fn inception_e(pool: Pool) -> [BranchSpec; 4] {
    [
        (Pool::None, &[("branch1x1", K1)], &[]),
        (
            Pool::None,
            &[("branch3x3_1", K1)],
            &[("branch3x3_2a", K1X3), ("branch3x3_2b", K3X1)],
        ),
        (
            Pool::None,
            &[("branch3x3dbl_1", K1), ("branch3x3dbl_2", K3_PAD)],
            &[("branch3x3dbl_3a", K1X3), ("branch3x3dbl_3b", K3X1)],
        ),
        (pool, &[("branch_pool", K1)], &[]),
    ]
}

const INCEPTION_E_1: [BranchSpec; 4] = inception_e(Pool::AvgSame);
const INCEPTION_E_2: [BranchSpec; 4] = inception_e(Pool::MaxSame);

/// The mixed blocks in order, with their layouts.
const MIXED: [(&str, &[BranchSpec]); 11] = [
    ("Mixed_5b", &INCEPTION_A),
    ("Mixed_5c", &INCEPTION_A),
    ("Mixed_5d", &INCEPTION_A),
    ("Mixed_6a", &INCEPTION_B),
    ("Mixed_6b", &INCEPTION_C),
    ("Mixed_6c", &INCEPTION_C),
    ("Mixed_6d", &INCEPTION_C),
    ("Mixed_6e", &INCEPTION_C),
    ("Mixed_7a", &INCEPTION_D),
    ("Mixed_7b", &INCEPTION_E_1),
    ("Mixed_7c", &INCEPTION_E_2),
];

/// The stem's convolutions; a 3x3 stride-2 max pool follows the third and the fifth.
const STEM: [(&str, ConvSpec); 5] = [
    ("Conv2d_1a_3x3", conv(3, 3, 2, 0, 0)),
    ("Conv2d_2a_3x3", K3),
    ("Conv2d_2b_3x3", K3_PAD),
    ("Conv2d_3b_1x1", K1),
    ("Conv2d_4a_3x3", K3),
];

/// A mixed block: its branches, concatenated over channels.
#[derive(Debug, Clone)]
struct Mixed {
    branches: Vec<Branch>,
}

impl Mixed {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let parts = self
            .branches
            .iter()
            .map(|b| b.forward(x))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&parts, 1)?)
    }
}

/// Inception-v3 up to its pool3 features, FID variant (see the module documentation).
#[derive(Debug, Clone)]
pub struct InceptionV3 {
    stem: Vec<BasicConv2d>,
    mixed: Vec<Mixed>,
    dim: usize,
    cfg: InceptionConfig,
    name: String,
}

impl InceptionV3 {
    /// Reads the network from a safetensors file (pytorch-fid's or torchvision's tensor
    /// names). Errors name the file and the tensor at fault.
    pub fn load(path: &Path, cfg: InceptionConfig, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let (tensors, _) = gm_core::io::load_safetensors(path, device)?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_tensors(&tensors, cfg, &file).map_err(|e| Error::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The network from named tensors (on the device it will run on); `label` names it in
    /// the report.
    pub fn from_tensors(
        tensors: &BTreeMap<String, Tensor>,
        cfg: InceptionConfig,
        label: &str,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut w = Weights {
            tensors,
            taken: BTreeSet::new(),
        };
        let mut c = 3;
        let mut stem = Vec::with_capacity(STEM.len());
        for (name, spec) in STEM {
            let layer = basic_conv2d(&mut w, name, c, spec)?;
            c = layer.out_channels();
            stem.push(layer);
        }
        let mut mixed = Vec::with_capacity(MIXED.len());
        for (block, specs) in MIXED {
            let mut branches = Vec::with_capacity(specs.len());
            let mut c_out = 0;
            for spec in specs {
                let (b, bc) = Branch::load(&mut w, block, spec, c)?;
                branches.push(b);
                c_out += bc;
            }
            mixed.push(Mixed { branches });
            c = c_out;
        }
        let unused = w.unused();
        if !unused.is_empty() {
            let shown: Vec<&String> = unused.iter().take(6).copied().collect();
            let more = match unused.len() - shown.len() {
                0 => String::new(),
                k => format!(" and {k} more"),
            };
            return Err(invalid(format!(
                "tensors {shown:?}{more} are not part of Inception-v3 (only fc.*, AuxLogits.* \
                 and *.num_batches_tracked may be left over)"
            )));
        }
        let s = cfg.input_size;
        Ok(Self {
            stem,
            mixed,
            dim: c,
            cfg,
            name: format!("{INCEPTION_FEATURES}({label}, {c}-d pool3, {s}x{s} input)"),
        })
    }

    /// Length of the feature vector: Mixed_7c's channels (2048 for the full network).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The settings it runs with.
    pub fn config(&self) -> InceptionConfig {
        self.cfg
    }

    /// Images `(n, 1 or 3, h, w)`, `(n, h, w)` or `(n, 784)` in `[0, 1]` as the network sees
    /// them: 3 channels, `input_size` square, in `[-1, 1]`.
    pub fn preprocess(&self, images: &Tensor) -> Result<Tensor> {
        let mut x = to_nchw(images)?;
        match x.dim(1)? {
            3 => {}
            1 => x = x.repeat((1, 3, 1, 1))?,
            _ => {
                return Err(Error::Shape {
                    what: "images for Inception-v3",
                    expected: "1 (grey) or 3 (RGB) channels",
                    found: images.dims().to_vec(),
                })
            }
        }
        let s = self.cfg.input_size;
        let x = x.upsample_bilinear2d(s, s, false)?;
        Ok(x.affine(2.0, -1.0)?)
    }

    /// Mixed_7c's output `(n, dim, h', w')` for preprocessed images.
    fn last_block(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (i, layer) in self.stem.iter().enumerate() {
            x = layer.forward(&x)?;
            if i == 2 || i == 4 {
                x = x.max_pool2d_with_stride(3, 2)?;
            }
        }
        for block in &self.mixed {
            x = block.forward(&x)?;
        }
        Ok(x)
    }

    /// pool3 features `(n, dim)` of preprocessed images: Mixed_7c averaged over space.
    pub fn pool3(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.last_block(x)?.flatten_from(2)?.mean(D::Minus1)?)
    }
}

impl FeatureExtractor for InceptionV3 {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// pool3 features of images in `[0, 1]`, `batch_size` images per forward pass.
    fn features(&self, images: &Tensor) -> Result<Tensor> {
        let n = images.dim(0)?;
        let mut parts = Vec::with_capacity(n.div_ceil(self.cfg.batch_size));
        for lo in (0..n).step_by(self.cfg.batch_size) {
            let len = self.cfg.batch_size.min(n - lo);
            let x = self.preprocess(&images.narrow(0, lo, len)?)?;
            parts.push(self.pool3(&x)?);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate_images, metrics_table, EvalConfig, FeatureSpace};
    use gm_core::GmRng;

    /// `(name, [c_out, c_in, kh, kw])` of each BasicConv2d of torchvision's `Inception3`
    /// (no auxiliary head), written out from its `__init__` independently of the tables
    /// above, with every width divided by `div` (rounded up); and the feature width.
    fn torchvision_layout(div: usize) -> (Vec<(String, [usize; 4])>, usize) {
        let d = |c: usize| c.div_ceil(div);
        let mut v: Vec<(String, [usize; 4])> = Vec::new();
        let mut add = |name: String, ci: usize, co: usize, k: (usize, usize)| {
            v.push((name, [co, ci, k.0, k.1]));
        };
        add("Conv2d_1a_3x3".into(), 3, d(32), (3, 3));
        add("Conv2d_2a_3x3".into(), d(32), d(32), (3, 3));
        add("Conv2d_2b_3x3".into(), d(32), d(64), (3, 3));
        add("Conv2d_3b_1x1".into(), d(64), d(80), (1, 1));
        add("Conv2d_4a_3x3".into(), d(80), d(192), (3, 3));
        let mut c = d(192);
        for (m, pool) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
            let b = |s: &str| format!("{m}.{s}");
            add(b("branch1x1"), c, d(64), (1, 1));
            add(b("branch5x5_1"), c, d(48), (1, 1));
            add(b("branch5x5_2"), d(48), d(64), (5, 5));
            add(b("branch3x3dbl_1"), c, d(64), (1, 1));
            add(b("branch3x3dbl_2"), d(64), d(96), (3, 3));
            add(b("branch3x3dbl_3"), d(96), d(96), (3, 3));
            add(b("branch_pool"), c, d(pool), (1, 1));
            c = d(64) + d(64) + d(96) + d(pool);
        }
        add("Mixed_6a.branch3x3".into(), c, d(384), (3, 3));
        add("Mixed_6a.branch3x3dbl_1".into(), c, d(64), (1, 1));
        add("Mixed_6a.branch3x3dbl_2".into(), d(64), d(96), (3, 3));
        add("Mixed_6a.branch3x3dbl_3".into(), d(96), d(96), (3, 3));
        c += d(384) + d(96);
        for (m, c7) in [
            ("Mixed_6b", 128),
            ("Mixed_6c", 160),
            ("Mixed_6d", 160),
            ("Mixed_6e", 192),
        ] {
            let b = |s: &str| format!("{m}.{s}");
            let c7 = d(c7);
            add(b("branch1x1"), c, d(192), (1, 1));
            add(b("branch7x7_1"), c, c7, (1, 1));
            add(b("branch7x7_2"), c7, c7, (1, 7));
            add(b("branch7x7_3"), c7, d(192), (7, 1));
            add(b("branch7x7dbl_1"), c, c7, (1, 1));
            add(b("branch7x7dbl_2"), c7, c7, (7, 1));
            add(b("branch7x7dbl_3"), c7, c7, (1, 7));
            add(b("branch7x7dbl_4"), c7, c7, (7, 1));
            add(b("branch7x7dbl_5"), c7, d(192), (1, 7));
            add(b("branch_pool"), c, d(192), (1, 1));
            c = 4 * d(192);
        }
        add("Mixed_7a.branch3x3_1".into(), c, d(192), (1, 1));
        add("Mixed_7a.branch3x3_2".into(), d(192), d(320), (3, 3));
        add("Mixed_7a.branch7x7x3_1".into(), c, d(192), (1, 1));
        add("Mixed_7a.branch7x7x3_2".into(), d(192), d(192), (1, 7));
        add("Mixed_7a.branch7x7x3_3".into(), d(192), d(192), (7, 1));
        add("Mixed_7a.branch7x7x3_4".into(), d(192), d(192), (3, 3));
        c += d(320) + d(192);
        for m in ["Mixed_7b", "Mixed_7c"] {
            let b = |s: &str| format!("{m}.{s}");
            add(b("branch1x1"), c, d(320), (1, 1));
            add(b("branch3x3_1"), c, d(384), (1, 1));
            add(b("branch3x3_2a"), d(384), d(384), (1, 3));
            add(b("branch3x3_2b"), d(384), d(384), (3, 1));
            add(b("branch3x3dbl_1"), c, d(448), (1, 1));
            add(b("branch3x3dbl_2"), d(448), d(384), (3, 3));
            add(b("branch3x3dbl_3a"), d(384), d(384), (1, 3));
            add(b("branch3x3dbl_3b"), d(384), d(384), (3, 1));
            add(b("branch_pool"), c, d(192), (1, 1));
            c = d(320) + 4 * d(384) + d(192);
        }
        (v, c)
    }

    /// Random weights for `layout`: He-normal convolutions, BatchNorm scales and variances
    /// in [0.5, 1.5), shifts and means N(0, 0.1^2).
    fn random_tensors(layout: &[(String, [usize; 4])], seed: u64) -> BTreeMap<String, Tensor> {
        let dev = Device::Cpu;
        let mut rng = GmRng::new(seed);
        let mut t = BTreeMap::new();
        for (name, shape) in layout {
            let fan_in = (shape[1] * shape[2] * shape[3]) as f64;
            let co = shape[0];
            let mut put = |p: &str, v: Tensor| t.insert(format!("{name}.{p}"), v);
            put(
                "conv.weight",
                rng.normal(shape.to_vec(), 0.0, (2.0 / fan_in).sqrt(), &dev)
                    .unwrap(),
            );
            put("bn.weight", rng.uniform(co, 0.5, 1.5, &dev).unwrap());
            put("bn.bias", rng.normal(co, 0.0, 0.1, &dev).unwrap());
            put("bn.running_mean", rng.normal(co, 0.0, 0.1, &dev).unwrap());
            put("bn.running_var", rng.uniform(co, 0.5, 1.5, &dev).unwrap());
        }
        t
    }

    const TINY_DIV: usize = 16;

    /// The tiny network's tensors with the leftovers of real files: the 1008-class head of
    /// pytorch-fid's file, an auxiliary-head tensor and a BatchNorm counter of torchvision's.
    fn tiny_tensors() -> (BTreeMap<String, Tensor>, usize) {
        let (layout, dim) = torchvision_layout(TINY_DIV);
        let mut t = random_tensors(&layout, 7);
        let dev = Device::Cpu;
        t.insert(
            "fc.weight".into(),
            Tensor::zeros((63, dim), DType::F32, &dev).unwrap(),
        );
        t.insert(
            "fc.bias".into(),
            Tensor::zeros(63, DType::F32, &dev).unwrap(),
        );
        t.insert(
            "AuxLogits.conv0.conv.weight".into(),
            Tensor::zeros((8, 48, 1, 1), DType::F32, &dev).unwrap(),
        );
        t.insert(
            "Conv2d_1a_3x3.bn.num_batches_tracked".into(),
            Tensor::new(5i64, &dev).unwrap(),
        );
        (t, dim)
    }

    fn save(dir: &Path, tensors: &BTreeMap<String, Tensor>) -> std::path::PathBuf {
        let p = dir.join("tiny_inception.safetensors");
        gm_core::io::save_safetensors(&p, tensors, &BTreeMap::new()).unwrap();
        p
    }

    fn cfg(input_size: usize, batch_size: usize) -> InceptionConfig {
        InceptionConfig {
            input_size,
            batch_size,
        }
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn tiny_file_gives_the_pooled_last_block_of_the_width_it_implies() {
        let dir = tempfile::tempdir().unwrap();
        let (tensors, dim) = tiny_tensors();
        // d(320) + 4 d(384) + d(192) with d(c) = ceil(c / 16).
        assert_eq!(dim, 20 + 4 * 24 + 12);
        let path = save(dir.path(), &tensors);
        // 107 pixels: the smallest input whose Mixed_7c map is 2x2, so the pooling averages.
        let net = InceptionV3::load(&path, cfg(107, 3), &Device::Cpu).unwrap();
        assert_eq!(net.dim(), dim);
        assert_eq!(
            net.name(),
            format!("inception-v3-fid(tiny_inception.safetensors, {dim}-d pool3, 107x107 input)")
        );
        let images = GmRng::new(1)
            .uniform((5, 3, 20, 24), 0.0, 1.0, &Device::Cpu)
            .unwrap();
        let f = net.features(&images).unwrap();
        assert_eq!(f.dims(), [5, dim]);
        let last = net.last_block(&net.preprocess(&images).unwrap()).unwrap();
        assert_eq!(last.dims(), [5, dim, 2, 2]);
        let pooled = last.mean_keepdim(3).unwrap().mean_keepdim(2).unwrap();
        let pooled = pooled.reshape((5, dim)).unwrap();
        assert!(max_abs_diff(&f, &pooled) < 1e-5);
        // Post-ReLU features, not all zero.
        let v = f.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
        assert!(v.iter().filter(|x| **x > 0.0).count() > v.len() / 4);
        // Batches of 3 (2 forward passes) give the features of one pass of 5.
        let whole = InceptionV3::from_tensors(&tensors, cfg(107, 5), "t").unwrap();
        assert!(max_abs_diff(&f, &whole.features(&images).unwrap()) < 1e-4);
    }

    #[test]
    fn full_size_layout_gives_2048_features() {
        let (layout, dim) = torchvision_layout(1);
        assert_eq!(dim, 2048);
        let net =
            InceptionV3::from_tensors(&random_tensors(&layout, 3), cfg(75, 32), "full").unwrap();
        assert_eq!(net.dim(), 2048);
        let images = GmRng::new(2)
            .uniform((2, 1, 28, 28), 0.0, 1.0, &Device::Cpu)
            .unwrap();
        let f = net.features(&images).unwrap();
        assert_eq!(f.dims(), [2, 2048]);
        let v = f.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
    }

    /// `relu(gamma (conv(x) - mean) / sqrt(var + 0.001) + beta)` by loops in f64, for one
    /// image `(c_in, h, w)` and zero padding.
    #[allow(clippy::too_many_arguments)]
    fn direct_basic_conv(
        x: &[f32],
        (c_in, h, w): (usize, usize, usize),
        weight: &[f32],
        (c_out, kh, kw): (usize, usize, usize),
        bn: [&[f32]; 4],
        stride: usize,
        (ph, pw): (usize, usize),
    ) -> Vec<f64> {
        let ho = (h + 2 * ph - kh) / stride + 1;
        let wo = (w + 2 * pw - kw) / stride + 1;
        let mut out = Vec::new();
        for o in 0..c_out {
            for i in 0..ho {
                for j in 0..wo {
                    let mut s = 0f64;
                    for c in 0..c_in {
                        for a in 0..kh {
                            for b in 0..kw {
                                let (r, q) = (
                                    (i * stride + a) as isize - ph as isize,
                                    (j * stride + b) as isize - pw as isize,
                                );
                                if r < 0 || q < 0 || r >= h as isize || q >= w as isize {
                                    continue;
                                }
                                let xv = x[(c * h + r as usize) * w + q as usize] as f64;
                                let wv = weight[((o * c_in + c) * kh + a) * kw + b] as f64;
                                s += xv * wv;
                            }
                        }
                    }
                    let [g, beta, m, v] = bn.map(|t| t[o] as f64);
                    out.push((g * (s - m) / (v + 1e-3).sqrt() + beta).max(0.0));
                }
            }
        }
        out
    }

    #[test]
    fn basic_conv2d_is_conv_batchnorm_relu() {
        let dev = Device::Cpu;
        let mut rng = GmRng::new(11);
        for (spec, c_in, c_out, (h, w)) in [
            (conv(3, 3, 2, 0, 0), 3, 4, (7, 6)),
            (K1X7, 2, 3, (3, 5)),
            (K7X1, 2, 2, (5, 2)),
        ] {
            let (kh, kw) = spec.kernel;
            let mut t = BTreeMap::new();
            let weight = rng.normal((c_out, c_in, kh, kw), 0.0, 1.0, &dev).unwrap();
            t.insert("L.conv.weight".to_string(), weight.clone());
            let bn = [
                rng.uniform(c_out, 0.5, 1.5, &dev).unwrap(),
                rng.normal(c_out, 0.0, 1.0, &dev).unwrap(),
                rng.normal(c_out, 0.0, 1.0, &dev).unwrap(),
                rng.uniform(c_out, 0.5, 1.5, &dev).unwrap(),
            ];
            for (p, v) in ["weight", "bias", "running_mean", "running_var"]
                .iter()
                .zip(&bn)
            {
                t.insert(format!("L.bn.{p}"), v.clone());
            }
            let mut weights = Weights {
                tensors: &t,
                taken: BTreeSet::new(),
            };
            let layer = basic_conv2d(&mut weights, "L", c_in, spec).unwrap();
            assert!(weights.unused().is_empty());
            let x = rng.normal((1, c_in, h, w), 0.0, 1.0, &dev).unwrap();
            let got = layer
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let bnv: Vec<Vec<f32>> = bn.iter().map(v).collect();
            let want = direct_basic_conv(
                &v(&x),
                (c_in, h, w),
                &v(&weight),
                (c_out, kh, kw),
                [&bnv[0], &bnv[1], &bnv[2], &bnv[3]],
                spec.stride,
                spec.padding,
            );
            assert_eq!(got.len(), want.len(), "{spec:?}");
            // Some outputs clipped by the ReLU, some not: both halves are checked.
            assert!(want.contains(&0.0) && want.iter().any(|y| *y > 0.0));
            for (g, w) in got.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
            }
        }
    }

    #[test]
    fn mixed_blocks_follow_pytorch_fids_forward() {
        let (tensors, _) = tiny_tensors();
        let net = InceptionV3::from_tensors(&tensors, cfg(75, 8), "t").unwrap();
        let (layout, _) = torchvision_layout(TINY_DIV);
        // One BasicConv2d by name: "same" padding, or stride 2 and no padding.
        let f = |name: &str, stride: usize, x: &Tensor| -> Tensor {
            let [_, c_in, kh, kw] = layout.iter().find(|(n, _)| n == name).unwrap().1;
            let spec = match stride {
                1 => conv(kh, kw, 1, kh / 2, kw / 2),
                _ => conv(kh, kw, 2, 0, 0),
            };
            let mut w = Weights {
                tensors: &tensors,
                taken: BTreeSet::new(),
            };
            basic_conv2d(&mut w, name, c_in, spec)
                .unwrap()
                .forward(x)
                .unwrap()
        };
        let cat = |parts: &[Tensor]| Tensor::cat(parts, 1).unwrap();
        let mut rng = GmRng::new(3);
        let mut input = |first: &str, side: usize| {
            let c_in = layout.iter().find(|(n, _)| n == first).unwrap().1[1];
            rng.uniform((2, c_in, side, side), 0.0, 1.0, &Device::Cpu)
                .unwrap()
        };
        // The forward methods of pytorch-fid's FIDInceptionA/C/E_1/E_2 and torchvision's
        // InceptionB/D, line by line.
        let a = |m: &str, x: &Tensor| {
            let b = |s: &str| format!("{m}.{s}");
            cat(&[
                f(&b("branch1x1"), 1, x),
                f(&b("branch5x5_2"), 1, &f(&b("branch5x5_1"), 1, x)),
                f(
                    &b("branch3x3dbl_3"),
                    1,
                    &f(&b("branch3x3dbl_2"), 1, &f(&b("branch3x3dbl_1"), 1, x)),
                ),
                f(&b("branch_pool"), 1, &avg_pool_3x3_same(x).unwrap()),
            ])
        };
        let x = input("Mixed_5b.branch1x1", 5);
        assert!(max_abs_diff(&net.mixed[0].forward(&x).unwrap(), &a("Mixed_5b", &x)) < 1e-5);

        let x = input("Mixed_6a.branch3x3", 7);
        let want = cat(&[
            f("Mixed_6a.branch3x3", 2, &x),
            f(
                "Mixed_6a.branch3x3dbl_3",
                2,
                &f(
                    "Mixed_6a.branch3x3dbl_2",
                    1,
                    &f("Mixed_6a.branch3x3dbl_1", 1, &x),
                ),
            ),
            x.max_pool2d_with_stride(3, 2).unwrap(),
        ]);
        assert!(max_abs_diff(&net.mixed[3].forward(&x).unwrap(), &want) < 1e-5);

        let x = input("Mixed_6b.branch1x1", 5);
        let b = |s: &str| format!("Mixed_6b.{s}");
        let mut dbl = x.clone();
        for i in 1..=5 {
            dbl = f(&b(&format!("branch7x7dbl_{i}")), 1, &dbl);
        }
        let want = cat(&[
            f(&b("branch1x1"), 1, &x),
            f(
                &b("branch7x7_3"),
                1,
                &f(&b("branch7x7_2"), 1, &f(&b("branch7x7_1"), 1, &x)),
            ),
            dbl,
            f(&b("branch_pool"), 1, &avg_pool_3x3_same(&x).unwrap()),
        ]);
        assert!(max_abs_diff(&net.mixed[4].forward(&x).unwrap(), &want) < 1e-5);

        let x = input("Mixed_7a.branch3x3_1", 7);
        let b = |s: &str| format!("Mixed_7a.{s}");
        let mut b7 = x.clone();
        for i in 1..=3 {
            b7 = f(&b(&format!("branch7x7x3_{i}")), 1, &b7);
        }
        let want = cat(&[
            f(&b("branch3x3_2"), 2, &f(&b("branch3x3_1"), 1, &x)),
            f(&b("branch7x7x3_4"), 2, &b7),
            x.max_pool2d_with_stride(3, 2).unwrap(),
        ]);
        assert!(max_abs_diff(&net.mixed[8].forward(&x).unwrap(), &want) < 1e-5);

        let e = |m: &str, x: &Tensor, pooled: Tensor| {
            let b = |s: &str| format!("{m}.{s}");
            let t = f(&b("branch3x3_1"), 1, x);
            let u = f(&b("branch3x3dbl_2"), 1, &f(&b("branch3x3dbl_1"), 1, x));
            cat(&[
                f(&b("branch1x1"), 1, x),
                cat(&[f(&b("branch3x3_2a"), 1, &t), f(&b("branch3x3_2b"), 1, &t)]),
                cat(&[
                    f(&b("branch3x3dbl_3a"), 1, &u),
                    f(&b("branch3x3dbl_3b"), 1, &u),
                ]),
                f(&b("branch_pool"), 1, &pooled),
            ])
        };
        let x = input("Mixed_7b.branch1x1", 4);
        let want = e("Mixed_7b", &x, avg_pool_3x3_same(&x).unwrap());
        assert!(max_abs_diff(&net.mixed[9].forward(&x).unwrap(), &want) < 1e-5);
        let x = input("Mixed_7c.branch1x1", 4);
        let want = e("Mixed_7c", &x, max_pool_3x3_same(&x).unwrap());
        assert!(max_abs_diff(&net.mixed[10].forward(&x).unwrap(), &want) < 1e-5);
    }

    #[test]
    fn same_pools_at_the_border() {
        let dev = Device::Cpu;
        let x = Tensor::arange(1f32, 10.0, &dev)
            .unwrap()
            .reshape((1, 1, 3, 3))
            .unwrap();
        // torch.nn.functional.avg_pool2d(torch.arange(1., 10.).view(1, 1, 3, 3), 3, 1, 1,
        //     count_include_pad=False): the corner averages 1, 2, 4, 5 (3, not 12 / 9).
        let avg = avg_pool_3x3_same(&x).unwrap().flatten_all().unwrap();
        let want = [3.0f32, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0];
        for (g, w) in avg.to_vec1::<f32>().unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        // max_pool2d(-x, 3, 1, 1): the padding is never the maximum, even of negative values.
        let max = max_pool_3x3_same(&x.neg().unwrap())
            .unwrap()
            .flatten_all()
            .unwrap();
        let want = [-1.0f32, -1.0, -2.0, -1.0, -1.0, -2.0, -4.0, -4.0, -5.0];
        assert_eq!(max.to_vec1::<f32>().unwrap(), want);
    }

    #[test]
    fn preprocessing_is_pytorch_fids() {
        let (tensors, _) = tiny_tensors();
        let net = InceptionV3::from_tensors(&tensors, cfg(75, 32), "t").unwrap();
        // A grey 2x2 image [[0, 1], [2, 3]] / 3, resized to 75 with align_corners=False:
        // output pixel j samples source (j + 0.5) 2 / 75 - 0.5, clamped at 0; pixel 37 falls
        // half-way, pixel 0 and 74 on the corners.
        let x = (Tensor::new(&[[0f32, 1.0], [2.0, 3.0]], &Device::Cpu).unwrap() / 3.0)
            .unwrap()
            .reshape((1, 2, 2))
            .unwrap();
        let y = net.preprocess(&x).unwrap();
        assert_eq!(y.dims(), [1, 3, 75, 75]);
        let at = |c: usize, i: usize, j: usize| {
            y.get(0)
                .unwrap()
                .get(c)
                .unwrap()
                .get(i)
                .unwrap()
                .get(j)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        for c in 0..3 {
            for (i, j, want) in [
                (0, 0, -1.0),
                (74, 74, 1.0),
                (37, 37, 0.0),
                (0, 37, 2.0 * (0.5 / 3.0) - 1.0),
                (0, 74, 2.0 / 3.0 - 1.0),
            ] {
                assert!(
                    (at(c, i, j) - want).abs() < 1e-5,
                    "{c} {i} {j}: {}",
                    at(c, i, j)
                );
            }
        }
        // MNIST rows are read as 1x28x28; other channel counts are refused.
        let digits = Tensor::zeros((2, 784), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(net.preprocess(&digits).unwrap().dims(), [2, 3, 75, 75]);
        let four = Tensor::zeros((1, 4, 8, 8), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(net.preprocess(&four), Err(Error::Shape { .. })));
    }

    #[test]
    fn bad_files_name_the_tensor_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let dev = Device::Cpu;
        let (good, _) = tiny_tensors();
        let load_err = |t: &BTreeMap<String, Tensor>| {
            let p = save(dir.path(), t);
            InceptionV3::load(&p, cfg(75, 8), &dev)
                .unwrap_err()
                .to_string()
        };

        let missing = "Mixed_6b.branch7x7_2.conv.weight";
        let mut t = good.clone();
        t.remove(missing);
        let e = load_err(&t);
        assert!(
            e.contains("tiny_inception.safetensors") && e.contains(missing),
            "{e}"
        );

        // branch5x5_2 is a 5x5 conv from ceil(48 / 16) = 3 channels.
        let name = "Mixed_5b.branch5x5_2.conv.weight";
        let mut t = good.clone();
        t.insert(
            name.into(),
            Tensor::zeros((4, 3, 3, 3), DType::F32, &dev).unwrap(),
        );
        let e = load_err(&t);
        assert!(
            e.contains("tiny_inception.safetensors")
                && e.contains(name)
                && e.contains("expected shape (c_out, 3, 5, 5)")
                && e.contains("[4, 3, 3, 3]"),
            "{e}"
        );

        let unknown = "Mixed_8a.branch1x1.conv.weight";
        let mut t = good.clone();
        t.insert(unknown.into(), Tensor::ones(4, DType::F32, &dev).unwrap());
        let e = load_err(&t);
        assert!(e.contains(unknown) && e.contains("tiny_inception"), "{e}");

        let var = "Mixed_5b.branch1x1.bn.running_var";
        let mut t = good.clone();
        t.insert(var.into(), Tensor::full(-1f32, 4, &dev).unwrap());
        let e = load_err(&t);
        assert!(e.contains(var) && e.contains("tiny_inception"), "{e}");

        let prefixed: BTreeMap<String, Tensor> = good
            .iter()
            .map(|(k, v)| (format!("module.{k}"), v.clone()))
            .collect();
        let e = load_err(&prefixed);
        assert!(
            e.contains("`Conv2d_1a_3x3.conv.weight` is missing")
                && e.contains("module.Conv2d_1a_3x3.conv.weight"),
            "{e}"
        );

        let absent = dir.path().join("none.safetensors");
        let e = InceptionV3::load(&absent, cfg(75, 8), &dev)
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.safetensors"), "{e}");

        for (bad, field) in [
            (cfg(74, 8), "inception_input_size"),
            (cfg(299, 0), "inception_batch_size"),
        ] {
            match InceptionV3::from_tensors(&good, bad, "t").unwrap_err() {
                Error::Config { field: f, .. } => assert_eq!(f, field),
                e => panic!("unexpected error {e}"),
            }
        }
    }

    #[test]
    fn evaluate_images_reports_fid_in_the_inception_space() {
        let dir = tempfile::tempdir().unwrap();
        let (tensors, dim) = tiny_tensors();
        let path = save(dir.path(), &tensors);
        let cfg = EvalConfig {
            features: FeatureSpace::Inception,
            feature_network: Some(path),
            inception_input_size: 75,
            batch_size: 8,
            kid_subsets: 2,
            kid_subset_size: 12,
            max_neighbour_points: 12,
            sliced_projections: 16,
            parzen: false,
            ..EvalConfig::default()
        };
        let mut rng = GmRng::new(5);
        let samples = rng
            .uniform((12, 3, 16, 16), 0.0, 1.0, &Device::Cpu)
            .unwrap();
        let reference = rng
            .uniform((14, 3, 16, 16), 0.0, 1.0, &Device::Cpu)
            .unwrap();
        let r = evaluate_images(&samples, &reference, &cfg).unwrap();
        let m = r.any_data.clone().unwrap();
        let name =
            format!("inception-v3-fid(tiny_inception.safetensors, {dim}-d pool3, 75x75 input)");
        assert_eq!(m.features, name);
        assert_eq!((m.feature_dim, m.n_samples, m.n_reference), (dim, 12, 14));
        assert!(m.frechet_distance.is_finite() && m.frechet_distance > 0.0);
        let table: BTreeMap<String, String> = metrics_table(&r).into_iter().collect();
        assert_eq!(table["eval: feature space"], name);
        assert!(table["eval: FD (vs reference)"].ends_with(" (FID)"));
        // A set against itself: FD zero up to the square root's rounding.
        let same = evaluate_images(&samples, &samples, &cfg).unwrap();
        let fd = same.any_data.unwrap().frechet_distance;
        assert!(
            fd.abs() < 1e-3 * m.frechet_distance,
            "{fd} vs {}",
            m.frechet_distance
        );
    }
}
