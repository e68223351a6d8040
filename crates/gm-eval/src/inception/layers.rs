//! The layers, built from the file's tensors: the tensors taken by name, BasicConv2d with its
//! BatchNorm folded in, the 3x3 "same" pools, and the branches and mixed blocks they make up.

use std::collections::{BTreeMap, BTreeSet};

use candle_core::{DType, Module, Tensor};

use super::architecture::{BranchSpec, ConvSpec};
use super::config::BN_EPS;
use crate::{Error, Result};

/// The tensors of a file, taken by name, so that the unused ones can be reported.
pub(super) struct Weights<'a> {
    pub(super) tensors: &'a BTreeMap<String, Tensor>,
    pub(super) taken: BTreeSet<String>,
}

pub(super) fn invalid(reason: String) -> Error {
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
    pub(super) fn unused(&self) -> Vec<&String> {
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
pub(super) struct BasicConv2d {
    /// `(c_out, c_in, kh, kw)`.
    weight: Tensor,
    /// `(1, c_out, 1, 1)`.
    bias: Tensor,
    stride: usize,
    padding: (usize, usize),
}

impl BasicConv2d {
    pub(super) fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }
}

pub(super) fn basic_conv2d(
    w: &mut Weights,
    name: &str,
    c_in: usize,
    spec: ConvSpec,
) -> Result<BasicConv2d> {
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
pub(super) fn avg_pool_3x3_same(x: &Tensor) -> Result<Tensor> {
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
pub(super) fn max_pool_3x3_same(x: &Tensor) -> Result<Tensor> {
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
pub(super) enum Pool {
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
pub(super) struct Branch {
    pool: Pool,
    chain: Vec<BasicConv2d>,
    fork: Vec<BasicConv2d>,
}

impl Branch {
    pub(super) fn load(
        w: &mut Weights,
        block: &str,
        spec: &BranchSpec,
        c_in: usize,
    ) -> Result<(Self, usize)> {
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

/// A mixed block: its branches, concatenated over channels.
#[derive(Debug, Clone)]
pub(super) struct Mixed {
    pub(super) branches: Vec<Branch>,
}

impl Mixed {
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let parts = self
            .branches
            .iter()
            .map(|b| b.forward(x))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&parts, 1)?)
    }
}
