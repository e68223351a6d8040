//! Benchmarks of the compressed-sensing estimator at reduced sizes (a random 20-500-500-784
//! softplus/sigmoid decoder stands in for the trained one: the cost does not depend on the
//! weights): 30 images x 10 restarts x 20 Adam steps at m = 100, batched vs one image at a
//! time, and the pixel Lasso (alpha 0.1) of the same 30 images.
//!
//! cargo bench -p gm-inverse --bench csgm

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module};
use criterion::{criterion_group, criterion_main, Criterion};
use gm_core::{Generator, GmRng};
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::{measure, recover, recover_each, CsgmConfig, GaussianMeasurement};

/// The Bora et al. decoder shape with fixed random weights (plain tensors).
struct Decoder {
    layers: Vec<Linear>,
}

impl Decoder {
    fn new(seed: u64, dev: &Device) -> Self {
        let mut rng = GmRng::new(seed);
        let dims = [20, 500, 500, 784];
        let layers = dims
            .windows(2)
            .map(|w| {
                let s = 1.0 / (w[0] as f64).sqrt();
                Linear::new(
                    rng.normal((w[1], w[0]), 0.0, s, dev).expect("weights"),
                    Some(Tensor::zeros(w[1], DType::F32, dev).expect("bias")),
                )
            })
            .collect();
        Self { layers }
    }
}

impl Generator for Decoder {
    fn latent_dim(&self) -> usize {
        20
    }
    fn output_shape(&self) -> Vec<usize> {
        vec![1, 28, 28]
    }
    fn generate(&self, z: &Tensor) -> gm_core::Result<Tensor> {
        let mut h = z.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                // softplus(x) = log(1 + e^x)
                h = (h.exp()? + 1.0)?.log()?;
            }
        }
        Ok(candle_nn::ops::sigmoid(&h)?)
    }
}

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let gen = Decoder::new(1, &dev);
    let n = 30;
    let x = gen
        .sample(n, &mut GmRng::new(2), &dev)
        .expect("sample")
        .reshape((n, 784))
        .expect("flat");
    let op = GaussianMeasurement::new(100, 784, &mut GmRng::new(3), &dev).expect("A");
    let b = measure(&op, &x, 0.1, &mut GmRng::new(4)).expect("b");
    let cfg = CsgmConfig::vae().with_steps(20);
    c.bench_function("csgm_batched_30img_10restarts_20steps_m100", |bch| {
        bch.iter(|| recover(&gen, &op, &b, &cfg, 5).expect("recover"))
    });
    c.bench_function("csgm_per_image_30img_10restarts_20steps_m100", |bch| {
        bch.iter(|| recover_each(&gen, &op, &b, &cfg, 5).expect("recover"))
    });
    c.bench_function("lasso_pixel_30img_m100_alpha0.1", |bch| {
        bch.iter(|| lasso_batch(&op, &b, Basis::Pixel, &LassoConfig::default()).expect("lasso"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
