//! Training-step benchmarks on the workloads of gm's performance goals: an MLP VAE step, a
//! DCGAN step, a 2-D MLP GAN step, DCGAN generator inference, conv2d and conv_transpose2d
//! forward and backward, and the sgemm peak; then the library's heavy calls: MMD^2 and sliced
//! Wasserstein between 2,048 MNIST-sized points, a million normal draws (by inversion, and the
//! seeded training noise), the batched compressed-sensing estimator, and a multi-scale flow's
//! training step. Each prints one JSON line (median and minimum milliseconds per call), the
//! format `cargo xtask bench` tabulates beside the PyTorch peer (`benches/peer/torch_steps.py`).
//!
//! `cargo bench --bench steps -- [all|peak|vae|dcgan|gandcgan|conv|convt|mlpgan|geninf|mmd|sliced|normal|csgm|flow] [iters]`

use std::time::Instant;

use candle_core::{DType, Device, Module, ModuleT, Result, Tensor};
use candle_nn::{
    batch_norm, conv2d, conv_transpose2d, linear, BatchNorm, BatchNormConfig, Conv2dConfig,
    ConvTranspose2dConfig, Linear, VarBuilder,
};
use gm_core::nn::conv::{conv2d_op, conv_transpose2d_op, ConvConfig};
use gm_core::{Adam, AdamConfig, GmRng, ParamStore};

fn bench(warmup: usize, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    for _ in 0..warmup {
        f()?;
    }
    let mut ts = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f()?;
        ts.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ts.sort_by(|a, b| a.total_cmp(b));
    let med = if ts.len() % 2 == 1 {
        ts[ts.len() / 2]
    } else {
        (ts[ts.len() / 2 - 1] + ts[ts.len() / 2]) / 2.0
    };
    Ok((med, ts[0]))
}

fn report(name: &str, (med, min): (f64, f64), flops: Option<f64>) {
    let mut line =
        format!(r#"{{"fw": "gm", "name": "{name}", "median_ms": {med:.4}, "min_ms": {min:.4}"#);
    if let Some(f) = flops {
        line.push_str(&format!(r#", "gflops_median": {:.2}"#, f / med / 1e6));
    }
    println!("{line}}}");
}

fn adam(store: &ParamStore) -> Adam {
    Adam::new(store, AdamConfig::default()).expect("valid Adam config")
}

/// Stable binary cross-entropy with logits, mean over elements:
/// max(x, 0) - x y + log(1 + exp(-|x|)).
fn bce_logits(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let softplus = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (x.relu()? - (x * y)?)?.add(&softplus)?.mean_all()
}

fn peak(iters: usize) -> Result<()> {
    let mut rng = GmRng::new(0);
    for n in [256usize, 512, 1024, 2048] {
        let a = rng
            .normal((n, n), 0.0, 1.0, &Device::Cpu)
            .map_err(to_candle)?;
        let b = rng
            .normal((n, n), 0.0, 1.0, &Device::Cpu)
            .map_err(to_candle)?;
        let it = if n >= 2048 { iters.min(10) } else { iters };
        let r = bench(3, it, || a.matmul(&b).map(|_| ()))?;
        report(&format!("sgemm_{n}"), r, Some(2.0 * (n as f64).powi(3)));
    }
    Ok(())
}

fn to_candle(e: gm_core::Error) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

fn vae(iters: usize) -> Result<()> {
    vae_impl(iters, true)
}

fn naive_vae(iters: usize) -> Result<()> {
    vae_impl(iters, false)
}

/// One `VaeTrainer` step of the 784-400-20 MLP VAE (PyTorch's example) with Bernoulli logits
/// on a batch of 128 uniform images, Adam lr 1e-3: the written-out step (`fused`) or
/// candle's autograd.
fn vae_impl(iters: usize, fused: bool) -> Result<()> {
    use gm_vae::{VaeTrainConfig, VaeTrainer};
    let dev = Device::Cpu;
    let cfg = VaeTrainConfig {
        binarize: false,
        eval_images: 0,
        ..Default::default()
    };
    let mut t = VaeTrainer::new(cfg, 0, None, &dev).map_err(to_candle_any)?;
    t.set_fused(fused).map_err(to_candle_any)?;
    let mut rng = GmRng::new(1);
    let x = rng
        .uniform((128, 1, 28, 28), 0.0, 1.0, &dev)
        .map_err(to_candle)?;
    let name = if fused {
        "vae_step_b128"
    } else {
        "naive_vae_step_b128"
    };
    let r = bench(5, iters, || {
        t.train_step(&x, &mut rng)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report(name, r, None);
    Ok(())
}

fn flow(iters: usize) -> Result<()> {
    flow_impl(iters, true)
}

fn naive_flow(iters: usize) -> Result<()> {
    flow_impl(iters, false)
}

/// One `FlowTrainer` step of the default multi-scale flow (two checkerboard couplings at
/// 28x28, two levels of four actnorm + 1x1 convolution + channel coupling steps; 80,978
/// parameters) on 64 images of 8-bit levels: dequantize, logit, forward, exact
/// log-likelihood, backward, Adam; the written-out step (`fused`) or candle's autograd.
fn flow_impl(iters: usize, fused: bool) -> Result<()> {
    use gm_flow::{FlowTrainConfig, FlowTrainer};
    let dev = Device::Cpu;
    let cfg = FlowTrainConfig {
        eval_images: 0,
        ..Default::default()
    };
    let mut t = FlowTrainer::new(cfg, 0, None, &dev).map_err(to_candle_any)?;
    t.set_fused(fused).map_err(to_candle_any)?;
    let mut rng = GmRng::new(1);
    let k = rng
        .uniform((64, 1, 28, 28), 0.0, 256.0, &dev)
        .map_err(to_candle)?;
    let x = (k.floor()?.clamp(0.0, 255.0)? / 255.0)?;
    t.data_init(&x, &mut rng).map_err(to_candle_any)?;
    let r = bench(3, iters, || {
        t.train_step(&x, &mut rng)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    let name = if fused {
        "flow_step_b64"
    } else {
        "naive_flow_step_b64"
    };
    report(name, r, None);
    Ok(())
}

type Layer = Box<dyn Module>;

/// A stride-2, padding-1, 4x4 transposed convolution: gm's im2col/col2im layer, or candle-nn's
/// (`naive`, the "before" rows of the performance table).
fn up(c_in: usize, c_out: usize, naive: bool, vb: VarBuilder) -> Result<Layer> {
    Ok(if naive {
        let c = ConvTranspose2dConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        Box::new(conv_transpose2d(c_in, c_out, 4, c, vb)?)
    } else {
        let c = ConvConfig {
            stride: 2,
            padding: 1,
            output_padding: 0,
        };
        Box::new(gm_core::nn::conv_transpose2d(c_in, c_out, 4, c, vb)?)
    })
}

/// A stride-2, padding-1, 4x4 convolution, gm's or candle-nn's.
fn down(c_in: usize, c_out: usize, naive: bool, vb: VarBuilder) -> Result<Layer> {
    Ok(if naive {
        let c = Conv2dConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        Box::new(conv2d(c_in, c_out, 4, c, vb)?)
    } else {
        let c = ConvConfig {
            stride: 2,
            padding: 1,
            output_padding: 0,
        };
        Box::new(gm_core::nn::conv2d(c_in, c_out, 4, c, vb)?)
    })
}

/// Batch norm in training or inference mode: gm's one-pass layer, or candle-nn's.
enum Norm {
    Gm(gm_core::nn::BatchNorm2d),
    Naive(BatchNorm),
}

impl Norm {
    fn new(c: usize, naive: bool, vb: VarBuilder) -> Result<Self> {
        Ok(if naive {
            Norm::Naive(batch_norm(c, BatchNormConfig::default(), vb)?)
        } else {
            Norm::Gm(gm_core::nn::batch_norm2d(
                c,
                gm_core::nn::BatchNormConfig::default(),
                vb,
            )?)
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Norm::Gm(b) => b.forward_t(x, train),
            Norm::Naive(b) => b.forward_t(x, train),
        }
    }
}

fn relu(x: &Tensor, naive: bool) -> Result<Tensor> {
    if naive {
        x.relu()
    } else {
        gm_core::nn::relu(x)
    }
}

fn leaky(x: &Tensor, naive: bool) -> Result<Tensor> {
    if naive {
        candle_nn::ops::leaky_relu(x, 0.2)
    } else {
        gm_core::nn::leaky_relu(x, 0.2)
    }
}

struct Gen {
    fc: Linear,
    ct1: Layer,
    bn: Norm,
    ct2: Layer,
    naive: bool,
}

impl Gen {
    fn new(naive: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            fc: linear(100, 128 * 7 * 7, vb.pp("fc"))?,
            ct1: up(128, 64, naive, vb.pp("ct1"))?,
            bn: Norm::new(64, naive, vb.pp("bn"))?,
            ct2: up(64, 1, naive, vb.pp("ct2"))?,
            naive,
        })
    }

    fn forward(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let n = z.dim(0)?;
        let x = relu(&self.fc.forward(z)?, self.naive)?.reshape((n, 128, 7, 7))?;
        let x = relu(
            &self.bn.forward_t(&self.ct1.forward(&x)?, train)?,
            self.naive,
        )?;
        self.ct2.forward(&x)?.tanh()
    }
}

struct Disc {
    c1: Layer,
    c2: Layer,
    bn: Norm,
    fc: Linear,
    naive: bool,
}

impl Disc {
    fn new(naive: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            c1: down(1, 64, naive, vb.pp("c1"))?,
            c2: down(64, 128, naive, vb.pp("c2"))?,
            bn: Norm::new(128, naive, vb.pp("bn"))?,
            fc: linear(128 * 7 * 7, 1, vb.pp("fc"))?,
            naive,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = leaky(&self.c1.forward(x)?, self.naive)?;
        let x = leaky(&self.bn.forward_t(&self.c2.forward(&x)?, true)?, self.naive)?;
        self.fc.forward(&x.flatten_from(1)?)
    }
}

/// One discriminator step and one generator step (non-saturating loss).
fn gan_step(
    g: &dyn Fn(&Tensor) -> Result<Tensor>,
    d: &dyn Fn(&Tensor) -> Result<Tensor>,
    opt_g: &mut Adam,
    opt_d: &mut Adam,
    real: &Tensor,
    z: &Tensor,
) -> Result<()> {
    let b = real.dim(0)?;
    let (ones, zeros) = (
        Tensor::ones((b, 1), DType::F32, real.device())?,
        Tensor::zeros((b, 1), DType::F32, real.device())?,
    );
    let fake = g(z)?;
    let l_d = (bce_logits(&d(real)?, &ones)? + bce_logits(&d(&fake.detach())?, &zeros)?)?;
    opt_d.backward_step(&l_d).map_err(to_candle)?;
    let l_g = bce_logits(&d(&fake)?, &ones)?;
    opt_g.backward_step(&l_g).map_err(to_candle)
}

fn dcgan(iters: usize) -> Result<()> {
    dcgan_impl(iters, false)
}

fn naive_dcgan(iters: usize) -> Result<()> {
    dcgan_impl(iters, true)
}

fn dcgan_impl(iters: usize, naive: bool) -> Result<()> {
    let dev = Device::Cpu;
    let (sg, sd) = (ParamStore::new(0), ParamStore::new(1));
    let gen = Gen::new(naive, sg.var_builder(&dev))?;
    let disc = Disc::new(naive, sd.var_builder(&dev))?;
    let (mut og, mut od) = (adam(&sg), adam(&sd));
    let mut rng = GmRng::new(2);
    let real = rng
        .uniform((64, 1, 28, 28), -1.0, 1.0, &dev)
        .map_err(to_candle)?;
    let r = bench(3, iters, || {
        let z = rng.normal((64, 100), 0.0, 1.0, &dev).map_err(to_candle)?;
        gan_step(
            &|z| gen.forward(z, true),
            &|x| disc.forward(x),
            &mut og,
            &mut od,
            &real,
            &z,
        )
    })?;
    report(
        if naive {
            "naive_dcgan_step_b64"
        } else {
            "dcgan_step_b64"
        },
        r,
        None,
    );
    Ok(())
}

fn geninf(iters: usize) -> Result<()> {
    geninf_impl(iters, false)
}

fn naive_geninf(iters: usize) -> Result<()> {
    geninf_impl(iters, true)
}

fn geninf_impl(iters: usize, naive: bool) -> Result<()> {
    let dev = Device::Cpu;
    let sg = ParamStore::new(0);
    let gen = Gen::new(naive, sg.var_builder(&dev))?;
    let z = GmRng::new(3)
        .normal((1024, 100), 0.0, 1.0, &dev)
        .map_err(to_candle)?;
    let r = bench(2, iters.min(20), || gen.forward(&z, false).map(|_| ()))?;
    let name = if naive {
        "naive_gen_infer_b1024"
    } else {
        "gen_infer_b1024"
    };
    report(name, r, None);
    Ok(())
}

fn conv_micro(
    name: &str,
    f: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
    xs: (usize, usize, usize, usize),
    ws: (usize, usize, usize, usize),
    iters: usize,
) -> Result<()> {
    let mut rng = GmRng::new(4);
    let dev = Device::Cpu;
    let x = candle_core::Var::from_tensor(&rng.normal(xs, 0.0, 1.0, &dev).map_err(to_candle)?)?;
    let w = candle_core::Var::from_tensor(&rng.normal(ws, 0.0, 0.05, &dev).map_err(to_candle)?)?;
    let y = f(&x, &w)?;
    let gy = rng
        .normal(y.shape().clone(), 0.0, 1.0, &dev)
        .map_err(to_candle)?;
    report(
        &format!("{name}_fwd"),
        bench(3, iters, || f(&x, &w).map(|_| ()))?,
        None,
    );
    let r = bench(3, iters, || {
        let g = (f(&x, &w)? * &gy)?.sum_all()?.backward()?;
        assert!(g.get(&x).is_some() && g.get(&w).is_some());
        Ok(())
    })?;
    report(&format!("{name}_fwd_bwd"), r, None);
    Ok(())
}

const CONV_X: (usize, usize, usize, usize) = (64, 64, 14, 14);
const CONVT_X: (usize, usize, usize, usize) = (64, 128, 7, 7);
const KERNEL: (usize, usize, usize, usize) = (128, 64, 4, 4);

fn conv(iters: usize) -> Result<()> {
    conv_micro(
        "conv2d",
        &|x, w| conv2d_op(x, w, 2, 1),
        CONV_X,
        KERNEL,
        iters,
    )
}

fn naive_conv(iters: usize) -> Result<()> {
    let f = |x: &Tensor, w: &Tensor| x.conv2d(w, 1, 2, 1, 1);
    conv_micro("naive_conv2d", &f, CONV_X, KERNEL, iters)
}

fn convt(iters: usize) -> Result<()> {
    let f = |x: &Tensor, w: &Tensor| conv_transpose2d_op(x, w, 2, 1, 0);
    conv_micro("convT2d", &f, CONVT_X, KERNEL, iters)
}

fn naive_convt(iters: usize) -> Result<()> {
    let f = |x: &Tensor, w: &Tensor| x.conv_transpose2d(w, 1, 0, 2, 1);
    conv_micro("naive_convT2d", &f, CONVT_X, KERNEL, iters)
}

fn gandcgan(iters: usize) -> Result<()> {
    gandcgan_impl(iters, true)
}

fn naive_gandcgan(iters: usize) -> Result<()> {
    gandcgan_impl(iters, false)
}

/// One `GanTrainer` step of `run dcgan`'s pair (`GanTrainConfig::dcgan_mnist`: G 100 ->
/// 64x7x7 -> 32x14x14 -> 1x28x28 with batch norm, D 1 -> 32 -> 64 with batch norm -> logit)
/// on 64 images: the written-out step (`fused`) or candle's autograd.
fn gandcgan_impl(iters: usize, fused: bool) -> Result<()> {
    use gm_gan::{GanTrainConfig, GanTrainer};
    let dev = Device::Cpu;
    let mut t = GanTrainer::new(GanTrainConfig::dcgan_mnist(), 0, &dev).map_err(to_candle_any)?;
    t.set_fused(fused).map_err(to_candle_any)?;
    let mut rng = GmRng::new(2);
    let real = rng
        .uniform((64, 1, 28, 28), 0.0, 1.0, &dev)
        .map_err(to_candle)?;
    let name = if fused {
        "gan_dcgan_step_b64"
    } else {
        "naive_gan_dcgan_step_b64"
    };
    let r = bench(3, iters, || {
        t.train_step(&real, &mut rng)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report(name, r, None);
    Ok(())
}

fn mlpgan(iters: usize) -> Result<()> {
    mlpgan_impl(iters, true)
}

fn naive_mlpgan(iters: usize) -> Result<()> {
    mlpgan_impl(iters, false)
}

/// One `GanTrainer` step (critic update, then generator update on fresh latents) of a
/// 2-256-256-2 ReLU generator against a 2-256-256-1 LeakyReLU critic on the ring of 8,
/// batch 512, Adam lr 1e-3: the written-out MLP step (`fused`) or candle's autograd.
fn mlpgan_impl(iters: usize, fused: bool) -> Result<()> {
    use gm_gan::{Activation, Architecture, GanConfig, GanTrainConfig, GanTrainer};
    let dev = Device::Cpu;
    let mlp = |activation| Architecture::Mlp {
        hidden: vec![256, 256],
        activation,
    };
    let cfg = GanTrainConfig {
        model: GanConfig {
            latent_dim: 2,
            generator: mlp(Activation::Relu),
            discriminator: mlp(Activation::LeakyRelu),
            ..GanConfig::mlp_2d()
        },
        adam_g: AdamConfig::default(),
        adam_d: AdamConfig::default(),
        ..Default::default()
    };
    let mut t = GanTrainer::new(cfg, 0, &dev).map_err(to_candle_any)?;
    t.set_fused(fused).map_err(to_candle_any)?;
    let mix = gm_core::data::Mixture2d::ring8();
    let mut rng = GmRng::new(5);
    let (pts, _) = mix.sample(512, &mut rng);
    let real = Tensor::from_vec(pts, (512, 2), &dev)?;
    let name = if fused {
        "mlpgan2d_step_b512"
    } else {
        "naive_mlpgan2d_step_b512"
    };
    let r = bench(10, iters.max(100), || {
        t.train_step(&real, &mut rng)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report(name, r, None);
    Ok(())
}

/// Two point clouds of MNIST size (2,048 x 784), the second shifted by 0.1.
fn clouds(rng: &mut GmRng) -> Result<(Tensor, Tensor)> {
    let dev = Device::Cpu;
    let x = rng.normal((2048, 784), 0.0, 1.0, &dev).map_err(to_candle)?;
    let y = rng.normal((2048, 784), 0.1, 1.0, &dev).map_err(to_candle)?;
    Ok((x, y))
}

fn to_candle_any(e: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

fn mmd(iters: usize) -> Result<()> {
    use gm_divergence::{mmd2_unbiased, Kernel};
    let (x, y) = clouds(&mut GmRng::new(11))?;
    let kernel = Kernel::gaussian(&[10.0, 20.0, 40.0]).map_err(to_candle_any)?;
    let r = bench(1, iters.min(10), || {
        mmd2_unbiased(&kernel, &x, &y)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    // The three Gram matrices x x^T, y y^T, x y^T.
    report(
        "mmd2_unbiased_2048x784",
        r,
        Some(3.0 * 2.0 * 2048f64 * 2048.0 * 784.0),
    );
    Ok(())
}

fn sliced(iters: usize) -> Result<()> {
    use gm_divergence::{random_directions, sliced_wasserstein};
    let mut rng = GmRng::new(12);
    let (x, y) = clouds(&mut rng)?;
    let dirs = random_directions(784, 128, &mut rng, &Device::Cpu).map_err(to_candle_any)?;
    let r = bench(2, iters, || {
        sliced_wasserstein(&x, &y, &dirs, 2.0)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report("sliced_w2_2048x784_p128", r, None);
    Ok(())
}

fn normal(iters: usize) -> Result<()> {
    use gm_sampling::{BatchedInversion, Normal};
    let normal = Normal::standard();
    let mut rng = GmRng::new(13);
    let r = bench(2, iters, || {
        normal
            .sample_tensor(1_000_000, &mut rng, &Device::Cpu)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report("normal_tensor_1M", r, None);
    // The training noise of every trainer: `GmRng::normal`'s seeded ziggurat draws.
    let r = bench(2, iters, || {
        rng.normal(1_000_000, 0.0, 1.0, &Device::Cpu)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    report("noise_tensor_1M", r, None);
    Ok(())
}

fn csgm(iters: usize) -> Result<()> {
    csgm_impl(iters, true)
}

fn naive_csgm(iters: usize) -> Result<()> {
    csgm_impl(iters, false)
}

/// Bora et al.'s estimator on 30 images x 5 restarts, 20 Adam steps: the written-out passes
/// through the decoder's dense form, or candle's autograd (`naive`).
fn csgm_impl(iters: usize, written_out: bool) -> Result<()> {
    use gm_core::Generator;
    use gm_inverse::{measure, recover, CsgmConfig, GaussianMeasurement};
    let dev = Device::Cpu;
    let mut rng = GmRng::new(14);
    // Bora et al.'s decoder (20-500-500-784, softplus, sigmoid output) with seeded initial
    // weights: the estimator's cost does not depend on training.
    let store = ParamStore::new(14);
    let gen = gm_vae::Decoder::new(&gm_vae::VaeConfig::bora2017(), store.var_builder(&dev))
        .map_err(to_candle_any)?;
    let x = gen
        .sample(30, &mut rng, &dev)
        .map_err(to_candle)?
        .reshape((30, 784))?;
    let op = GaussianMeasurement::new(100, 784, &mut rng, &dev).map_err(to_candle_any)?;
    let b = measure(&op, &x, 0.1, &mut rng).map_err(to_candle_any)?;
    let cfg = CsgmConfig::vae()
        .with_steps(20)
        .with_restarts(5)
        .with_written_out(written_out);
    let r = bench(1, iters.min(10), || {
        recover(&gen, &op, &b, &cfg, 5)
            .map(|_| ())
            .map_err(to_candle_any)
    })?;
    let name = "csgm_batched_30img_5restarts_20steps";
    if written_out {
        report(name, r, None);
    } else {
        report(&format!("naive_{name}"), r, None);
    }
    Ok(())
}

fn main() -> Result<()> {
    // GM_DEFAULT_MALLOC=1 keeps glibc's defaults, to measure what the tuning is worth.
    gm_core::runtime::init();
    // `cargo bench` passes `--bench`; positional arguments select workloads and iterations.
    let pos: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let what = pos.first().map(String::as_str).unwrap_or("all").to_string();
    let iters: usize = pos.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    // `naive_*`: the same workload with candle-nn's convolutions (the "before" column).
    type Workload = fn(usize) -> Result<()>;
    let all: [(&str, Workload); 22] = [
        ("peak", peak),
        ("vae", vae),
        ("naive_vae", naive_vae),
        ("dcgan", dcgan),
        ("naive_dcgan", naive_dcgan),
        ("convt", convt),
        ("naive_convt", naive_convt),
        ("conv", conv),
        ("naive_conv", naive_conv),
        ("gandcgan", gandcgan),
        ("naive_gandcgan", naive_gandcgan),
        ("mlpgan", mlpgan),
        ("naive_mlpgan", naive_mlpgan),
        ("geninf", geninf),
        ("naive_geninf", naive_geninf),
        ("mmd", mmd),
        ("sliced", sliced),
        ("normal", normal),
        ("csgm", csgm),
        ("naive_csgm", naive_csgm),
        ("flow", flow),
        ("naive_flow", naive_flow),
    ];
    for (name, f) in all {
        if what == name || what == "all" || (what == "gm" && !name.starts_with("naive")) {
            f(iters)?;
        }
    }
    Ok(())
}
