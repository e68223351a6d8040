//! MMD^2 (unbiased, Gaussian kernel over three bandwidths) and sliced Wasserstein (128
//! projections) on 4,096 x 4,096 points in 784 dimensions, and the quadrature of the
//! f-divergences between two Gaussians.

use std::hint::black_box;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use gm_core::GmRng;
use gm_divergence::*;

fn kernels_and_transport(c: &mut Criterion) {
    let mut rng = GmRng::new(1);
    let n = 4096;
    let d = 784;
    let x = rng.normal((n, d), 0.0, 1.0, &Device::Cpu).expect("x");
    let y = rng.normal((n, d), 0.1, 1.0, &Device::Cpu).expect("y");
    let kernel = Kernel::gaussian(&[10.0, 20.0, 40.0]).expect("kernel");
    let mut g = c.benchmark_group("samples_4096x784");
    g.sample_size(10);
    g.bench_function("mmd2_unbiased", |b| {
        b.iter(|| black_box(mmd2_unbiased(&kernel, &x, &y).expect("mmd")))
    });
    let dirs = random_directions(d, 128, &mut rng, &Device::Cpu).expect("dirs");
    g.bench_function("sliced_wasserstein_128", |b| {
        b.iter(|| black_box(sliced_wasserstein(&x, &y, &dirs, 2.0).expect("sw")))
    });
    g.finish();
}

fn quadrature(c: &mut Criterion) {
    let (p, q) = gm_divergence::theory::reference_pair();
    let mut g = c.benchmark_group("quadrature");
    g.bench_function("all_divergences_two_gaussians", |b| {
        b.iter(|| {
            for div in Divergence::catalogue() {
                black_box(f_divergence_gaussians_quadrature(div, p, q).expect("quad"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, kernels_and_transport, quadrature);
criterion_main!(benches);
