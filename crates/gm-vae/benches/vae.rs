//! Benchmarks: one VAE training step (784-400-20, batch 128: binarize, forward, backward,
//! Adam) and the k = 5000 importance-sampled log-likelihood of 10 digits.
//!
//! cargo bench -p gm-vae --bench vae

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use gm_core::data::mnist_embedded;
use gm_core::GmRng;
use gm_vae::bound::log_likelihood;
use gm_vae::model::binarize;
use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let data = mnist_embedded().expect("embedded data");
    let x = data.train.head(128, &dev).expect("batch").x;
    let cfg = VaeTrainConfig {
        model: VaeConfig::pytorch_example(),
        eval_images: 0,
        ..Default::default()
    };
    let mut trainer = VaeTrainer::new(cfg, 1, None, &dev).expect("trainer");
    let mut rng = GmRng::new(2);
    c.bench_function("vae_train_step_784_400_20_batch128", |b| {
        b.iter(|| trainer.train_step(&x, &mut rng).expect("step"))
    });
    let x10 = binarize(
        &data.test.head(10, &dev).expect("batch").x,
        &mut GmRng::new(3),
    )
    .expect("binarize");
    let vae = trainer.vae().clone();
    c.bench_function("log_likelihood_k5000_10_digits_784_400_20", |b| {
        b.iter(|| log_likelihood(&vae, &x10, 5000, 10_000, &mut rng).expect("ll"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
