//! Benchmarks: one training step of the default multi-scale image flow on 64 digits
//! (dequantize, forward, log-likelihood, backward, Adam), and its exact log-likelihood of
//! 64 digits without the update.
//!
//! cargo bench -p gm-flow --bench flow

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use gm_core::data::mnist_embedded;
use gm_core::GmRng;
use gm_flow::{FlowTrainConfig, FlowTrainer};

fn bench(c: &mut Criterion) {
    gm_core::runtime::init();
    let dev = Device::Cpu;
    let data = mnist_embedded().expect("embedded data");
    let x = data.train.head(64, &dev).expect("batch").x;
    let cfg = FlowTrainConfig {
        eval_images: 0,
        ..Default::default()
    };
    let mut trainer = FlowTrainer::new(cfg, 1, None, &dev).expect("trainer");
    let mut rng = GmRng::new(2);
    trainer.data_init(&x, &mut rng).expect("data init");
    c.bench_function("flow_train_step_multiscale_28x28_batch64", |b| {
        b.iter(|| trainer.train_step(&x, &mut rng).expect("step"))
    });
    c.bench_function("flow_log_likelihood_multiscale_28x28_batch64", |b| {
        b.iter(|| {
            trainer
                .flow()
                .discrete_nll(&x, &mut rng)
                .expect("nll")
                .detach()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
