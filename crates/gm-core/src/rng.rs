//! Seeded randomness. candle's own CPU generator cannot be seeded, so every random tensor in
//! gm (noise, weights, shuffles) is drawn here from a ChaCha8 stream and built from a vector:
//! the same seed gives the same run, and the stream position is saved in checkpoints.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{Init, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Result;

mod chacha;
mod normal;

/// A seeded, resumable random stream.
///
/// ```
/// use gm_core::GmRng;
///
/// // The same seed gives the same draws.
/// let mut a = GmRng::new(7);
/// assert_eq!(a.normal_vec(10), GmRng::new(7).normal_vec(10));
///
/// // A saved state resumes the stream exactly where it stood.
/// let state = a.state();
/// let x = a.uniform_vec(5, 0.0, 1.0);
/// assert_eq!(GmRng::from_state(state).uniform_vec(5, 0.0, 1.0), x);
///
/// // A tensor of draws, and a permutation of 0..10.
/// let z = a.normal((2, 3), 0.0, 1.0, &candle_core::Device::Cpu)?;
/// assert_eq!(z.dims(), &[2, 3]);
/// let mut p = a.permutation(10);
/// p.sort_unstable();
/// assert_eq!(p, (0..10).collect::<Vec<_>>());
/// # Ok::<(), gm_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GmRng {
    seed: u64,
    inner: ChaCha8Rng,
}

/// Where a [`GmRng`] stands: enough to resume it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RngState {
    /// The seed the stream was built from.
    pub seed: u64,
    /// The ChaCha stream number (see [`GmRng::derive`]).
    pub stream: u64,
    /// Position in the ChaCha key stream, in 32-bit words (a u128, kept as a string in JSON).
    #[serde(with = "u128_string")]
    pub word_pos: u128,
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl GmRng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An independent stream derived from this seed and `stream` (e.g. one per epoch).
    pub fn derive(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Self { seed, inner }
    }

    /// The seed this stream was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The exact position of the stream.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos(),
        }
    }

    /// Rebuilds a stream at a saved position.
    pub fn from_state(state: RngState) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(state.seed);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos);
        Self {
            seed: state.seed,
            inner,
        }
    }

    /// Standard-normal draws, as f32.
    ///
    /// The values are those of `rand_distr::StandardNormal` drawn one by one from the
    /// stream; long runs go through a bulk path that gives the same bits faster.
    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        if n < 256 {
            return (0..n)
                .map(|_| StandardNormal.sample(&mut self.inner))
                .collect();
        }
        normal::standard_normals(&mut self.inner, n)
    }

    /// Uniform draws on [lo, hi), as f32.
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.inner.random_range(lo..hi)).collect()
    }

    /// A tensor of N(mean, std^2) draws.
    pub fn normal<S: Into<Shape>>(
        &mut self,
        shape: S,
        mean: f64,
        std: f64,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.elem_count();
        // One buffer: the draws of `normal_vec(n)`, then `mean + std * x` in place (the
        // draws themselves for the standard normal).
        let mut v = self.normal_vec(n);
        if mean != 0.0 || std != 1.0 {
            v.iter_mut()
                .for_each(|x| *x = (mean + std * *x as f64) as f32);
        }
        Ok(Tensor::from_vec(v, shape, device)?)
    }

    /// A tensor of U[lo, hi) draws.
    pub fn uniform<S: Into<Shape>>(
        &mut self,
        shape: S,
        lo: f64,
        hi: f64,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let v = self.uniform_vec(shape.elem_count(), lo as f32, hi as f32);
        Ok(Tensor::from_vec(v, shape, device)?)
    }

    /// A uniformly random permutation of 0..n (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.inner.random_range(0..=i);
            idx.swap(i, j);
        }
        idx
    }

    /// Draws a tensor as `init` prescribes (PyTorch's formulas for Kaiming).
    pub fn init_tensor(&mut self, shape: &Shape, init: Init, device: &Device) -> Result<Tensor> {
        match init {
            Init::Const(c) => Ok(Tensor::full(c as f32, shape, device)?),
            Init::Randn { mean, stdev } => self.normal(shape.clone(), mean, stdev, device),
            Init::Uniform { lo, up } => self.uniform(shape.clone(), lo, up, device),
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
                match dist {
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        self.uniform(shape.clone(), -bound, bound, device)
                    }
                    NormalOrUniform::Normal => self.normal(shape.clone(), 0.0, std, device),
                }
            }
        }
    }
}

impl RngCore for GmRng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.inner.fill_bytes(dst)
    }
}

/// The parameters of one network: a candle [`VarMap`] whose new variables are drawn from a
/// seeded [`GmRng`], so that `candle_nn::linear(.., store.var_builder(dev))` is reproducible.
#[derive(Clone)]
pub struct ParamStore {
    varmap: VarMap,
    rng: Arc<Mutex<GmRng>>,
}

impl std::fmt::Debug for ParamStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParamStore")
            .field("tensors", &self.names())
            .finish()
    }
}

impl ParamStore {
    /// An empty store whose initial weights come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            varmap: VarMap::new(),
            rng: Arc::new(Mutex::new(GmRng::new(seed))),
        }
    }

    /// A var builder (f32) that creates missing variables with the seeded initialiser.
    pub fn var_builder(&self, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.clone()), DType::F32, device.clone())
    }

    /// The underlying candle [`VarMap`].
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// All variables, sorted by name (the order optimizers and checkpoints use).
    pub fn vars(&self) -> Vec<(String, Var)> {
        let data = self.varmap.data().lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The variables' names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.vars().into_iter().map(|(k, _)| k).collect()
    }

    /// The current values, by name.
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars()
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect()
    }

    /// Overwrites every variable from `tensors`; a missing name or a wrong shape is an error
    /// that names it.
    pub fn load(&self, tensors: &BTreeMap<String, Tensor>, what: &str) -> Result<()> {
        for (name, var) in self.vars() {
            let t = tensors
                .get(&name)
                .ok_or_else(|| crate::Error::Msg(format!("{what}: tensor `{name}` is missing")))?;
            if t.dims() != var.dims() {
                return Err(crate::Error::Msg(format!(
                    "{what}: tensor `{name}` has shape {:?}, the model expects {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)?;
        }
        Ok(())
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.vars().iter().map(|(_, v)| v.elem_count()).sum()
    }
}

impl SimpleBackend for ParamStore {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut data = self.varmap.data().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(var) = data.get(name) {
            if var.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} <> {:?}", var.shape())
            }
            return Ok(var.as_tensor().clone());
        }
        let t = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            rng.init_tensor(&s, h, dev)
                .map_err(|e| candle_core::Error::Msg(e.to_string()))?
        };
        let var = Var::from_tensor(&t.to_dtype(dtype)?)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(
        &self,
        name: &str,
        _dtype: DType,
        _dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let data = self.varmap.data().lock().unwrap_or_else(|e| e.into_inner());
        match data.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => candle_core::bail!("no variable named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        let data = self.varmap.data().lock().unwrap_or_else(|e| e.into_inner());
        data.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_state_resumes() {
        let mut a = GmRng::new(7);
        let mut b = GmRng::new(7);
        assert_eq!(a.normal_vec(10), b.normal_vec(10));
        let st = a.state();
        let x = a.uniform_vec(5, 0.0, 1.0);
        let mut c = GmRng::from_state(st);
        assert_eq!(x, c.uniform_vec(5, 0.0, 1.0));
        assert_ne!(GmRng::new(8).normal_vec(4), GmRng::new(7).normal_vec(4));
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = GmRng::new(1).permutation(100);
        assert_ne!(p, (0..100).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn normal_moments_match() {
        let v = GmRng::new(3).normal_vec(100_000);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        // Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance; 5 sigma.
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
    }

    #[test]
    fn param_store_is_reproducible() {
        let dev = Device::Cpu;
        let build = |seed| {
            let ps = ParamStore::new(seed);
            let _ = candle_nn::linear(4, 3, ps.var_builder(&dev).pp("fc")).unwrap();
            ps.tensors()["fc.weight"].to_vec2::<f32>().unwrap()
        };
        assert_eq!(build(5), build(5));
        assert_ne!(build(5), build(6));
    }
}
