//! Benchmarks of the compressed-sensing estimator at reduced sizes: 30 images x 10 restarts
//! x 20 Adam steps at m = 100, batched vs one image at a time, and the pixel Lasso (alpha
//! 0.1) of the same 30 images. Bora et al.'s 20-500-500-784 softplus/sigmoid decoder with
//! its initial weights stands in for the trained one: the cost does not depend on them.
//!
//! cargo bench -p gm-inverse --bench csgm

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use gm_core::{Generator, GmRng};
use gm_inverse::lasso::{lasso_batch, Basis, LassoConfig};
use gm_inverse::{measure, recover, recover_each, CsgmConfig, GaussianMeasurement};

/// Bora et al.'s decoder (gm-vae's `bora2017`: 20-500-500-784, softplus, sigmoid output)
/// with seeded initial weights.
fn decoder(seed: u64, dev: &Device) -> gm_vae::Decoder {
    let store = gm_core::ParamStore::new(seed);
    gm_vae::Decoder::new(&gm_vae::VaeConfig::bora2017(), store.var_builder(dev)).expect("decoder")
}

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let gen = decoder(1, &dev);
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
