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

use candle_core::{Device, Module, Tensor, D};

use crate::features::{to_nchw, FeatureExtractor};
use crate::{Error, Result};

mod architecture;
mod config;
mod layers;

pub use config::{InceptionConfig, FID_INPUT_SIZE, INCEPTION_FEATURES, MIN_INPUT_SIZE};

use architecture::{MIXED, STEM};
use layers::{basic_conv2d, invalid, BasicConv2d, Branch, Mixed, Weights};

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
mod tests;
