//! Checks that cross crates: a VAE trained by gm-vae, exported by gm-hub and loaded back draws
//! the same images; and gm-gan's f-GAN critic, trained on samples of two Gaussians, reaches
//! the divergence gm-divergence computes by quadrature (the variational bound of Nowozin et
//! al. is tight at the optimal critic).

use candle_core::{Device, Tensor};
use gm::core::data::mnist_embedded;
use gm::core::{fit, Adam, AdamConfig, FitConfig, Generator, GmRng, ParamStore};
use gm::divergence::estimate::{f_divergence_gaussians_quadrature, Gaussian1d};
use gm::divergence::Divergence;
use gm::gan::{Activation, Architecture, Discriminator, GanConfig, Objective};
use gm::vae::{LoadedVae, VaeConfig, VaeTrainConfig, VaeTrainer};

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn a_vae_exported_to_a_hub_folder_loads_back_and_draws_the_same_images() {
    let dev = Device::Cpu;
    let cfg = VaeTrainConfig {
        model: VaeConfig {
            latent_dim: 4,
            encoder_hidden: vec![32],
            decoder_hidden: vec![32],
            ..VaeConfig::default()
        },
        eval_images: 0,
        ..VaeTrainConfig::default()
    };
    let mut t = VaeTrainer::new(cfg, 0, None, &dev).unwrap();
    let data = mnist_embedded().unwrap().train;
    let tmp = tempfile::tempdir().unwrap();
    let fc = FitConfig {
        epochs: 1,
        batch_size: 64,
        stop_after: Some(20),
        progress: false,
        ..Default::default()
    };
    fit(&mut t, &data, &fc, &tmp.path().join("run"), &dev).unwrap();
    let vae = t.vae().clone();
    let saved = LoadedVae::new(vae.clone(), t.store().tensors());
    let dir = tmp.path().join("export");
    gm::hub::export(&saved, &dir, &Default::default()).unwrap();
    let loaded: LoadedVae = gm::hub::load(&dir, &dev).unwrap();
    let draw = |g: &dyn Generator| values(&g.sample(6, &mut GmRng::new(4), &dev).unwrap());
    let want = draw(vae.decoder());
    assert_eq!(want.len(), 6 * 784);
    assert_eq!(draw(loaded.vae.decoder()), want);
}

/// `-critic loss` of gm-gan's f-GAN objective is the variational bound `E_P g_f(V) - E_Q
/// f*(g_f(V))`; a critic trained to maximise it on samples of P = N(0, 1) and Q = N(1, 1)
/// reaches `D_f(P || Q)` of gm-divergence's quadrature, measured on fresh samples.
#[test]
fn the_fgan_critic_of_gm_gan_reaches_the_divergence_of_gm_divergence() {
    let dev = Device::Cpu;
    let (p, q) = (
        Gaussian1d::new(0.0, 1.0).unwrap(),
        Gaussian1d::new(1.0, 1.0).unwrap(),
    );
    let model = GanConfig {
        latent_dim: 1,
        data_shape: vec![1],
        generator: Architecture::Mlp {
            hidden: vec![4],
            activation: Activation::Relu,
        },
        discriminator: Architecture::Mlp {
            hidden: vec![32, 32],
            activation: Activation::Relu,
        },
        ..GanConfig::mlp_2d()
    };
    for div in [Divergence::KullbackLeibler, Divergence::Gan] {
        let exact = f_divergence_gaussians_quadrature(div, p, q).unwrap().value;
        let objective = Objective::FGan {
            divergence: div,
            non_saturating: false,
        };
        let store = ParamStore::new(1);
        let d = Discriminator::new(&model, store.var_builder(&dev)).unwrap();
        let mut adam = Adam::new(
            &store,
            AdamConfig {
                lr: 2e-3,
                ..Default::default()
            },
        )
        .unwrap();
        let mut rng = GmRng::new(2);
        let draw = |rng: &mut GmRng, n: usize, m: f64| rng.normal((n, 1), m, 1.0, &dev).unwrap();
        for _ in 0..1500 {
            let (x, y) = (draw(&mut rng, 256, 0.0), draw(&mut rng, 256, 1.0));
            let loss = objective
                .critic_loss(&d.forward(&x).unwrap(), &d.forward(&y).unwrap(), 1.0)
                .unwrap();
            adam.backward_step(&loss).unwrap();
        }
        let (x, y) = (draw(&mut rng, 50_000, 0.0), draw(&mut rng, 50_000, 1.0));
        let bound = -objective
            .critic_loss(&d.forward(&x).unwrap(), &d.forward(&y).unwrap(), 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        assert!(
            (bound - exact).abs() < 0.04,
            "{}: trained bound {bound} vs D_f {exact}",
            div.name()
        );
    }
}
