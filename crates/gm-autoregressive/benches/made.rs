//! Benchmark: one MADE training step (784-500-784, batch 100: binarize, forward, backward,
//! Adam), with one mask (the example's default) and with a connectivity drawn from a pool
//! of 32 per step (connectivity-agnostic training: the masks are rebuilt each step).
//!
//! cargo bench -p gm-autoregressive --bench made

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use gm_autoregressive::{MadeConfig, MadeTrainConfig, MadeTrainer};
use gm_core::data::mnist_embedded;
use gm_core::GmRng;

fn bench(c: &mut Criterion) {
    gm_core::runtime::init();
    let dev = Device::Cpu;
    let data = mnist_embedded().expect("embedded data");
    let x = data.train.head(100, &dev).expect("batch").x;
    for (name, model) in [
        (
            "made_train_step_784_500_784_1_mask_batch100",
            MadeConfig::default(),
        ),
        (
            "made_train_step_784_500_784_32_masks_batch100",
            MadeConfig::germain2015(),
        ),
    ] {
        let cfg = MadeTrainConfig {
            model,
            eval_images: 0,
            ..Default::default()
        };
        let mut trainer = MadeTrainer::new(cfg, 1, None, &dev).expect("trainer");
        let mut rng = GmRng::new(2);
        c.bench_function(name, |b| {
            b.iter(|| trainer.train_step(&x, &mut rng).expect("step"))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
