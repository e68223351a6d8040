//! Tests of the one adversarial step: the critic loss against its parts computed directly,
//! no draws for tricks that are off, instance noise, clipping, historical averaging, the
//! n-critic schedule, a player's checkpoint state, and the refusals by field.

use candle_core::{Device, Module, Tensor};
use gm_core::{AdamConfig, GmRng, ParamStore, TrainState};

use super::*;
use crate::objective::{gradient_norm_penalty, gradient_penalty};

fn linear_player(seed: u64, historical: bool) -> (candle_nn::Linear, Player) {
    let store = ParamStore::new(seed);
    let l = candle_nn::linear(3, 1, store.var_builder(&Device::Cpu).pp("l")).unwrap();
    (
        l,
        Player::new(store, AdamConfig::default(), historical).unwrap(),
    )
}

fn batch(seed: u64, mean: f64) -> Tensor {
    GmRng::new(seed)
        .normal((16, 3), mean, 1.0, &Device::Cpu)
        .unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_scalar::<f32>().unwrap() as f64
}

fn all_weights(p: &Player) -> Vec<f32> {
    p.store()
        .tensors()
        .values()
        .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

#[test]
fn critic_loss_is_the_objective_plus_each_weighted_penalty() {
    enable_second_order("test").unwrap();
    let (l, _) = linear_player(0, false);
    let critic = |x: &Tensor| Ok(l.forward(x)?);
    let (real, fake) = (batch(1, 1.0), batch(2, -1.0));
    let objective = Objective::WganGp { penalty: 10.0 };
    let tricks = Tricks {
        r1: 4.0,
        r2: 2.0,
        ..Tricks::default()
    };
    let game = Game::new(&objective, &tricks);
    let inputs = game
        .critic_inputs(&real, &fake, 1, &mut GmRng::new(3))
        .unwrap();
    let eps = inputs.eps.clone().expect("WGAN-GP draws mixing weights");
    assert_eq!(eps.dims(), &[16, 1]);
    let mut m = Vec::new();
    let loss = scalar(&game.critic_loss(&critic, &inputs, &mut m).unwrap());
    let base = objective
        .critic_loss(&critic(&real).unwrap(), &critic(&fake).unwrap(), 1.0)
        .unwrap();
    let gp = gradient_penalty(critic, &real, &fake, &eps).unwrap();
    let r1 = gradient_norm_penalty(critic, &real).unwrap();
    let r2 = gradient_norm_penalty(critic, &fake).unwrap();
    let want = scalar(&base) + 10.0 * scalar(&gp) + 2.0 * scalar(&r1) + 1.0 * scalar(&r2);
    assert!(
        (loss - want).abs() < 1e-4 * want.abs().max(1.0),
        "{loss} vs {want}"
    );
    let names: Vec<_> = read_metrics(m)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["d_loss", "gradient_penalty", "r1", "r2", "critic_gap"]
    );
}

#[test]
fn tricks_that_are_off_draw_nothing_and_change_nothing() {
    let (real, fake) = (batch(1, 1.0), batch(2, -1.0));
    let objective = Objective::default();
    let tricks = Tricks::default();
    let game = Game::new(&objective, &tricks);
    let mut rng = GmRng::new(9);
    let inputs = game.critic_inputs(&real, &fake, 5, &mut rng).unwrap();
    assert!(inputs.eps.is_none());
    let diff = (inputs.real - &real)
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap();
    assert_eq!(scalar(&diff), 0.0);
    let next = rng.uniform(4, 0.0, 1.0, &Device::Cpu).unwrap();
    let fresh = GmRng::new(9).uniform(4, 0.0, 1.0, &Device::Cpu).unwrap();
    assert_eq!(
        next.to_vec1::<f32>().unwrap(),
        fresh.to_vec1::<f32>().unwrap()
    );
}

#[test]
fn instance_noise_has_the_annealed_standard_deviation() {
    let real = Tensor::zeros((4000, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let objective = Objective::default();
    let tricks = Tricks {
        instance_noise: 0.5,
        instance_noise_anneal_steps: 10,
        ..Tricks::default()
    };
    let game = Game::new(&objective, &tricks);
    // Step 6 of 10: sigma = 0.5 (1 - 5/10) = 0.25.
    let (seen, _) = game.seen(&real, &real, 6, &mut GmRng::new(0)).unwrap();
    let var = scalar(&seen.sqr().unwrap().mean_all().unwrap());
    assert!((var.sqrt() - 0.25).abs() < 0.01, "std {}", var.sqrt());
}

#[test]
fn wgan_clips_every_critic_weight_after_its_update() {
    let (l, mut player) = linear_player(0, true);
    let objective = Objective::Wgan { clip: 0.01 };
    let tricks = Tricks::default();
    let game = Game::new(&objective, &tricks);
    let critic = |x: &Tensor| Ok(l.forward(x)?);
    let inputs = game
        .critic_inputs(&batch(1, 1.0), &batch(2, 0.0), 1, &mut GmRng::new(0))
        .unwrap();
    let loss = game.critic_loss(&critic, &inputs, &mut Vec::new()).unwrap();
    game.critic_update(&mut player, &loss).unwrap();
    assert!(all_weights(&player).iter().all(|w| w.abs() <= 0.01 + 1e-7));
    // The historical average folds the clipped weights in: (initial + clipped) / 2.
    let h = player.historical().unwrap();
    assert_eq!(h.state("").1, 2);
}

#[test]
fn historical_averaging_adds_its_weighted_penalty_to_the_update() {
    // Two players from the same seed: one descends loss + lambda * penalty by hand, the
    // other through Player::update; the weights must agree.
    let (l_a, mut a) = linear_player(4, true);
    let (_, mut b) = linear_player(4, false);
    let x = batch(1, 0.5);
    let lambda = 0.3;
    for _ in 0..3 {
        let loss = l_a.forward(&x).unwrap().sqr().unwrap().mean_all().unwrap();
        a.update(&loss, lambda).unwrap();
    }
    let (l_b, _) = (
        candle_nn::linear(3, 1, b.store().var_builder(&Device::Cpu).pp("l")),
        (),
    );
    let l_b = l_b.unwrap();
    let mut hist = crate::tricks::HistoricalAverage::new(b.store()).unwrap();
    for _ in 0..3 {
        let loss = l_b.forward(&x).unwrap().sqr().unwrap().mean_all().unwrap();
        let p = hist
            .penalty(b.store())
            .unwrap()
            .affine(lambda, 0.0)
            .unwrap();
        b.update(&(loss + p).unwrap(), 0.0).unwrap();
        hist.update(b.store()).unwrap();
    }
    let (wa, wb) = (all_weights(&a), all_weights(&b));
    for (x, y) in wa.iter().zip(&wb) {
        assert!((x - y).abs() < 1e-6, "{wa:?} vs {wb:?}");
    }
}

#[test]
fn the_generator_moves_every_n_critic_steps() {
    let objective = Objective::default();
    let tricks = Tricks {
        n_critic: 3,
        ..Tricks::default()
    };
    let game = Game::new(&objective, &tricks);
    let turns: Vec<u64> = (1..=9).filter(|&s| game.generator_turn(s)).collect();
    assert_eq!(turns, [3, 6, 9]);
}

#[test]
fn a_player_state_round_trips_with_its_historical_average() {
    let (l, mut a) = linear_player(0, true);
    let x = batch(1, 0.5);
    let loss = l.forward(&x).unwrap().mean_all().unwrap();
    a.update(&loss, 1.0).unwrap();
    let mut st = TrainState::default();
    a.insert_state(&mut st, "d").unwrap();
    assert!(st.scalars.contains_key("hist_d.count"));
    assert!(st.scalars.contains_key("adam_d.t"));
    let (_, mut b) = linear_player(7, true);
    b.load_state(&st, "d").unwrap();
    assert_eq!(all_weights(&a), all_weights(&b));
    assert_eq!(b.historical().unwrap().state("").1, 2);
    assert_eq!(b.optimizer().steps(), 1);
}

#[test]
fn validation_names_the_field_a_model_cannot_take() {
    let objective = Objective::default();
    let tricks = Tricks {
        spectral_norm: true,
        ..Tricks::default()
    };
    let err = Game::new(&objective, &tricks)
        .validate("LAPGAN", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tricks.spectral_norm"), "{err}");
    assert!(Game::new(&objective, &tricks).validate("GAN", true).is_ok());
    let kernel = Objective::Mmd {
        bandwidths: vec![1.0],
    };
    let tricks = Tricks::default();
    let err = Game::new(&kernel, &tricks)
        .validate("BiGAN", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("adversarial"), "{err}");
}
