//! ns per sample: normal by inversion (AS 241) vs rand_distr's ziggurat, numerical inversion vs
//! closed form, rejection, and batched tensor sampling per million.

use std::hint::black_box;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gm_core::GmRng;
use gm_sampling::*;
use rand_distr::{Distribution, StandardNormal};

fn per_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_sample");
    g.throughput(Throughput::Elements(1));
    let normal = Normal::standard();
    let mut rng = GmRng::new(1);
    g.bench_function("normal_inversion_as241", |b| {
        b.iter(|| black_box(normal.sample(&mut rng)))
    });
    g.bench_function("normal_ziggurat_rand_distr", |b| {
        b.iter(|| black_box::<f64>(StandardNormal.sample(&mut rng)))
    });
    let ni = NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
        .build()
        .expect("setup");
    g.bench_function("normal_numerical_inversion", |b| {
        b.iter(|| black_box(ni.sample(&mut rng)))
    });
    let expo = Exponential::new(1.0).expect("rate");
    g.bench_function("exponential_inversion", |b| {
        b.iter(|| black_box(expo.sample(&mut rng)))
    });
    let bound = 2.0 * std::f64::consts::PI * (-0.5f64).exp();
    let rej = Rejection::new(
        |x: &f64| (-0.5 * x * x).exp(),
        Cauchy::new(0.0, 1.0).expect("cauchy"),
        bound,
    )
    .expect("bound");
    g.bench_function("normal_rejection_from_cauchy", |b| {
        b.iter(|| black_box(rej.sample(&mut rng, 1_000_000).expect("accept")))
    });
    g.finish();
}

fn setup(c: &mut Criterion) {
    c.bench_function("numerical_inversion_setup_normal_1e-10", |b| {
        b.iter(|| {
            NumericalInversion::builder(|x: f64| (-0.5 * x * x).exp())
                .build()
                .expect("setup")
        })
    });
}

fn batched(c: &mut Criterion) {
    let mut g = c.benchmark_group("batched_per_million");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    let dev = Device::Cpu;
    let mut rng = GmRng::new(2);
    let normal = Normal::standard();
    g.bench_function("normal_tensor_cpu", |b| {
        b.iter(|| {
            black_box(
                normal
                    .sample_tensor(1_000_000, &mut rng, &dev)
                    .expect("tensor"),
            )
        })
    });
    let expo = Exponential::new(1.0).expect("rate");
    g.bench_function("exponential_tensor_cpu", |b| {
        b.iter(|| {
            black_box(
                expo.sample_tensor(1_000_000, &mut rng, &dev)
                    .expect("tensor"),
            )
        })
    });
    g.bench_function("uniform_tensor_only_cpu", |b| {
        b.iter(|| black_box(rng.uniform(1_000_000, 0.0, 1.0, &dev).expect("tensor")))
    });
    g.finish();
}

criterion_group!(benches, per_sample, setup, batched);
criterion_main!(benches);
