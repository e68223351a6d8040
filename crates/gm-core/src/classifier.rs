//! A small convolutional MNIST classifier (LeNet-style: two 5x5 convolutions with max
//! pooling, one hidden layer). Trained on the embedded digits, its weights ship with gm and
//! its penultimate layer is the feature space of the evaluation metrics (Frechet distance,
//! classifier score), as TF-GAN's MNIST example does with its own classifier.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{conv2d, linear, Conv2d, Conv2dConfig, Linear};

use crate::data::{Batch, Dataset};
use crate::optim::{Adam, AdamConfig};
use crate::rng::{GmRng, ParamStore};
use crate::train::{Metrics, TrainState, Trainer};
use crate::{Error, Result};

/// The shipped weights, trained by `cargo xtask run classifier` (see the README).
pub static PRETRAINED: &[u8] = include_bytes!("../weights/mnist_classifier.safetensors");

/// Layer sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierConfig {
    /// Output channels of the first 5x5 convolution.
    pub conv1: usize,
    /// Output channels of the second 5x5 convolution.
    pub conv2: usize,
    /// Width of the hidden layer, the dimension of [`MnistClassifier::features`].
    pub hidden: usize,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            conv1: 16,
            conv2: 32,
            hidden: 128,
        }
    }
}

impl ClassifierConfig {
    /// Checks that every layer width is at least 1; a zero width is an error naming it.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("conv1", self.conv1),
            ("conv2", self.conv2),
            ("hidden", self.hidden),
        ] {
            if v == 0 {
                return Err(Error::Config {
                    field,
                    value: "0".into(),
                    reason: "layer width must be at least 1",
                });
            }
        }
        Ok(())
    }
}

/// The classifier: 28x28 digits in [0, 1] -> 10 logits.
#[derive(Debug, Clone)]
pub struct MnistClassifier {
    cfg: ClassifierConfig,
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
}

impl MnistClassifier {
    /// Builds the layers from `vb` (names `conv1`, `conv2`, `fc1`, `fc2`), after validating
    /// `cfg`.
    pub fn new(cfg: ClassifierConfig, vb: candle_nn::VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let c = Conv2dConfig {
            padding: 2,
            ..Default::default()
        };
        Ok(Self {
            cfg,
            conv1: conv2d(1, cfg.conv1, 5, c, vb.pp("conv1"))?,
            conv2: conv2d(cfg.conv1, cfg.conv2, 5, c, vb.pp("conv2"))?,
            fc1: linear(cfg.conv2 * 7 * 7, cfg.hidden, vb.pp("fc1"))?,
            fc2: linear(cfg.hidden, 10, vb.pp("fc2"))?,
        })
    }

    /// The shipped, trained classifier.
    pub fn pretrained(device: &Device) -> Result<Self> {
        let (tensors, meta) = crate::io::parse_safetensors(PRETRAINED, device)?;
        let cfg: ClassifierConfig = meta
            .get("gm.config")
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| Error::Msg("shipped classifier weights lack `gm.config`".into()))?;
        let vb =
            candle_nn::VarBuilder::from_tensors(tensors.into_iter().collect(), DType::F32, device);
        Self::new(cfg, vb)
    }

    /// The layer sizes.
    pub fn config(&self) -> &ClassifierConfig {
        &self.cfg
    }

    /// The layers' tensors by name.
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        let mut t = BTreeMap::new();
        for (name, conv) in [("conv1", &self.conv1), ("conv2", &self.conv2)] {
            t.insert(format!("{name}.weight"), conv.weight().clone());
            if let Some(b) = conv.bias() {
                t.insert(format!("{name}.bias"), b.clone());
            }
        }
        for (name, lin) in [("fc1", &self.fc1), ("fc2", &self.fc2)] {
            t.insert(format!("{name}.weight"), lin.weight().clone());
            if let Some(b) = lin.bias() {
                t.insert(format!("{name}.bias"), b.clone());
            }
        }
        t
    }

    /// Penultimate-layer features `(n, hidden)` of images `(n, 1, 28, 28)` (or `(n, 784)`).
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let x = x.reshape((n, 1, 28, 28))?;
        let h = self.conv1.forward(&x)?.relu()?.max_pool2d(2)?;
        let h = self.conv2.forward(&h)?.relu()?.max_pool2d(2)?;
        Ok(self.fc1.forward(&h.flatten_from(1)?)?.relu()?)
    }

    /// Class logits `(n, 10)`.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.fc2.forward(&self.features(x)?)?)
    }

    /// Predicted labels, evaluated in chunks of 500.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<u32>> {
        let n = x.dim(0)?;
        let mut out = Vec::with_capacity(n);
        for lo in (0..n).step_by(500) {
            let len = 500.min(n - lo);
            let l = self.logits(&x.narrow(0, lo, len)?)?;
            out.extend(l.argmax(D::Minus1)?.to_vec1::<u32>()?);
        }
        Ok(out)
    }

    /// Accuracy and mean cross-entropy on a labelled data set.
    pub fn evaluate(&self, data: &Dataset, device: &Device) -> Result<(f64, f64)> {
        let labels = data
            .labels
            .as_ref()
            .ok_or_else(|| Error::Msg(format!("data set `{}` has no labels", data.name)))?;
        let (mut correct, mut loss) = (0usize, 0f64);
        for lo in (0..data.len()).step_by(500) {
            let idx: Vec<usize> = (lo..(lo + 500).min(data.len())).collect();
            let b = data.batch(&idx, device)?;
            let y = b.labels.as_ref().expect("labelled");
            let logits = self.logits(&b.x)?;
            loss += candle_nn::loss::cross_entropy(&logits, y)?.to_scalar::<f32>()? as f64
                * idx.len() as f64;
            let pred = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
            correct += pred
                .iter()
                .zip(&idx)
                .filter(|(p, &i)| **p == labels[i])
                .count();
        }
        Ok((correct as f64 / data.len() as f64, loss / data.len() as f64))
    }
}

impl crate::model::SavedModel for MnistClassifier {
    const MODEL: &'static str = "mnist-classifier";

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.cfg).unwrap_or_default()
    }

    fn weights(&self) -> BTreeMap<String, Tensor> {
        self.tensors()
    }

    fn from_parts(
        config: &serde_json::Value,
        tensors: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let cfg: ClassifierConfig = crate::model::parse_config(config, "mnist-classifier")?;
        Self::new(cfg, crate::model::var_builder_from(tensors, device))
    }
}

/// Training hyperparameters of the classifier.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierTrainConfig {
    /// The layer sizes.
    pub model: ClassifierConfig,
    /// The optimizer; its `lr` is the peak of the cosine schedule when there is one.
    pub adam: AdamConfig,
    /// Random translations of up to this many pixels (0: none).
    pub max_shift: usize,
    /// Cosine-anneal the learning rate to zero over this many steps (0: constant).
    pub cosine_steps: u64,
}

impl Default for ClassifierTrainConfig {
    fn default() -> Self {
        Self {
            model: ClassifierConfig::default(),
            adam: AdamConfig::default(),
            max_shift: 2,
            cosine_steps: 0,
        }
    }
}

/// Trains a [`MnistClassifier`] with cross-entropy and Adam; evaluates on `test` per epoch.
pub struct ClassifierTrainer {
    cfg: ClassifierTrainConfig,
    /// The classifier being trained.
    pub model: MnistClassifier,
    store: ParamStore,
    opt: Adam,
    test: Dataset,
    device: Device,
}

impl ClassifierTrainer {
    /// A classifier with weights drawn from `seed`, its Adam optimizer, and `test`, the
    /// labelled data set [`Trainer::evaluate`] scores.
    pub fn new(
        cfg: ClassifierTrainConfig,
        seed: u64,
        test: Dataset,
        device: &Device,
    ) -> Result<Self> {
        let store = ParamStore::new(seed);
        let model = MnistClassifier::new(cfg.model, store.var_builder(device))?;
        let opt = Adam::new(&store, cfg.adam)?;
        Ok(Self {
            cfg,
            model,
            store,
            opt,
            test,
            device: device.clone(),
        })
    }

    /// The classifier's parameters.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }
}

/// Shifts each 28x28 image by a random offset in [-max, max]^2, filling with zeros.
fn random_shift(x: &Tensor, max: usize, rng: &mut GmRng) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let src = x.flatten_all()?.to_vec1::<f32>()?;
    let mut dst = vec![0f32; src.len()];
    let m = max as i64;
    for k in 0..n {
        let dy = rand::Rng::random_range(rng, -m..=m);
        let dx = rand::Rng::random_range(rng, -m..=m);
        for ch in 0..c {
            let base = (k * c + ch) * h * w;
            for y in 0..h as i64 {
                let sy = y - dy;
                if sy < 0 || sy >= h as i64 {
                    continue;
                }
                for xx in 0..w as i64 {
                    let sx = xx - dx;
                    if sx >= 0 && sx < w as i64 {
                        dst[base + (y as usize) * w + xx as usize] =
                            src[base + (sy as usize) * w + sx as usize];
                    }
                }
            }
        }
    }
    Ok(Tensor::from_vec(dst, (n, c, h, w), x.device())?)
}

impl Trainer for ClassifierTrainer {
    fn model_name(&self) -> String {
        "mnist-classifier".into()
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.cfg).unwrap_or_default()
    }

    fn model_config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.cfg.model).unwrap_or_default()
    }

    fn step(&mut self, batch: &Batch, rng: &mut GmRng) -> Result<Metrics> {
        let y = batch
            .labels
            .as_ref()
            .ok_or_else(|| Error::Msg("the classifier needs labelled data".into()))?;
        let x = if self.cfg.max_shift > 0 {
            random_shift(&batch.x, self.cfg.max_shift, rng)?
        } else {
            batch.x.clone()
        };
        if self.cfg.cosine_steps > 0 {
            let t = (self.opt.steps() as f64 / self.cfg.cosine_steps as f64).min(1.0);
            self.opt
                .set_lr(self.cfg.adam.lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()));
        }
        let logits = self.model.logits(&x)?;
        let loss = candle_nn::loss::cross_entropy(&logits, y)?;
        self.opt.backward_step(&loss)?;
        let acc = logits
            .argmax(D::Minus1)?
            .eq(y)?
            .to_dtype(DType::F32)?
            .mean_all()?
            .to_scalar::<f32>()?;
        Ok(vec![
            ("loss".into(), loss.to_scalar::<f32>()? as f64),
            ("accuracy".into(), acc as f64),
            ("lr".into(), self.opt.config().lr),
        ])
    }

    fn state(&self) -> Result<TrainState> {
        TrainState::single_network(&self.store, &self.opt)
    }

    fn load_state(&mut self, state: &TrainState) -> Result<()> {
        state.load_single_network(&self.store, &mut self.opt)
    }

    fn weights(&self) -> Result<BTreeMap<String, Tensor>> {
        Ok(self.store.tensors())
    }

    fn grid_images(&mut self, _rng: &mut GmRng) -> Result<Option<(Tensor, bool)>> {
        // The first 64 test digits the classifier gets wrong.
        let all = self.test.head(self.test.len(), &self.device)?;
        let pred = self.model.predict(&all.x)?;
        let labels = self.test.labels.as_ref().expect("labelled test set");
        let wrong: Vec<usize> = (0..pred.len())
            .filter(|&i| pred[i] != labels[i])
            .take(64)
            .collect();
        if wrong.is_empty() {
            return Ok(None);
        }
        Ok(Some((self.test.batch(&wrong, &self.device)?.x, false)))
    }

    fn evaluate(&mut self) -> Result<Metrics> {
        let (acc, loss) = self.model.evaluate(&self.test, &self.device)?;
        Ok(vec![
            ("test_accuracy".into(), acc),
            ("test_loss".into(), loss),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_weights_classify_the_test_digits() {
        let dev = Device::Cpu;
        let model = MnistClassifier::pretrained(&dev).unwrap();
        let test = crate::data::mnist_embedded().unwrap().test;
        let (acc, loss) = model.evaluate(&test, &dev).unwrap();
        // Measured when the weights were trained: 98.10 % (1,962 of 2,000), loss 0.0696.
        assert!(acc >= 0.98, "accuracy {acc}");
        assert!(loss < 0.08, "loss {loss}");
        let f = model.features(&test.head(3, &dev).unwrap().x).unwrap();
        assert_eq!(f.dims(), &[3, 128]);
    }

    #[test]
    fn zero_width_is_refused() {
        let e = ClassifierConfig {
            hidden: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("hidden"));
    }

    #[test]
    fn shift_moves_pixels() {
        let mut v = vec![0f32; 28 * 28];
        v[14 * 28 + 14] = 1.0;
        let x = Tensor::from_vec(v, (1, 1, 28, 28), &Device::Cpu).unwrap();
        let y = random_shift(&x, 2, &mut GmRng::new(3)).unwrap();
        let s = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(s.iter().sum::<f32>(), 1.0);
        let pos = s.iter().position(|&p| p == 1.0).unwrap();
        let (py, px) = (pos / 28, pos % 28);
        assert!(py.abs_diff(14) <= 2 && px.abs_diff(14) <= 2);
    }
}
