//! Bora et al.'s S-REC condition on a trained decoder (a small VAE trained here on the
//! embedded digits): with many measurements A is close to an isometry on the whole range,
//! the worst chord a search finds included; with fewer measurements than the range's
//! dimension the search finds chords that A nearly annihilates, which random pairs miss.

use candle_core::Device;
use gm_core::data::mnist_embedded;
use gm_core::GmRng;
use gm_inverse::{srec_of_generator, SrecConfig};
use gm_vae::{VaeConfig, VaeTrainConfig, VaeTrainer};

#[test]
fn srec_on_a_trained_vae_decoder() {
    let dev = Device::Cpu;
    let data = mnist_embedded().unwrap();
    let cfg = VaeTrainConfig {
        model: VaeConfig {
            latent_dim: 8,
            encoder_hidden: vec![128],
            decoder_hidden: vec![128],
            ..VaeConfig::bora2017()
        },
        eval_images: 0,
        ..Default::default()
    };
    let mut trainer = VaeTrainer::new(cfg, 0, None, &dev).unwrap();
    let mut rng = GmRng::new(1);
    let n = data.train.len();
    for step in 0..150 {
        let idx: Vec<usize> = (0..64).map(|i| (step * 64 + i) % n).collect();
        let x = data.train.batch(&idx, &dev).unwrap().x;
        trainer.train_step(&x, &mut rng).unwrap();
    }
    let decoder = trainer.vae().decoder();
    let srec = SrecConfig {
        pairs: 300,
        search_pairs: 16,
        search_steps: 100,
        ..Default::default()
    };
    let many = srec_of_generator(decoder, 400, &srec, 2, &dev).unwrap();
    // Each ratio is chi_400 / sqrt(400), sd 1/sqrt(800); with one A for every pair the mean
    // does not average A out, so it stays within 3 of those sds of 1.
    assert!((many.mean - 1.0).abs() < 3.0 / 800f64.sqrt(), "{many:?}");
    assert!(many.worst_found <= many.min, "{many:?}");
    assert!(many.worst_found > 0.5, "{many:?}");
    let few = srec_of_generator(decoder, 2, &srec, 1, &dev).unwrap();
    assert!(few.worst_found < 0.5 * few.min, "{few:?}");
    assert!(few.worst_found < 0.2, "{few:?}");
    eprintln!("m = 400: {many:?}\nm = 2: {few:?}");
}
