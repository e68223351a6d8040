//! MADE end to end: the masks make output d independent of the inputs at or after d in the
//! ordering (Jacobian and perturbation), probabilities sum to 1 over all 2^D vectors, the
//! log-likelihood matches a hand computation, the ensemble is a log-mean-exp, sequential
//! sampling is reproducible and matches the model's probabilities (chi-square), and a saved
//! model reloads.

mod common;

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use common::{all_binary, chi_square, chi_square_threshold, histogram};
use gm_autoregressive::made::{Made, MadeConfig, MaskSet};
use gm_autoregressive::{load_model, log_mean_exp, save_model, ExactLikelihood};
use gm_core::{Generator, GmRng, ParamStore};

fn made(cfg: MadeConfig, seed: u64) -> Made {
    cfg.init(&ParamStore::new(seed), &Device::Cpu).unwrap()
}

/// 5x5 "images", two hidden layers of 64 units, three order-agnostic connectivities.
fn small_cfg() -> MadeConfig {
    MadeConfig {
        data_shape: vec![1, 5, 5],
        hidden: vec![64, 64],
        num_masks: 3,
        order_agnostic: true,
        ensemble: 3,
        mask_seed: 3,
    }
}

/// Whether output d can reach input j through the masks: the boolean product
/// M^V M^L ... M^1.
fn reachable(masks: &MaskSet) -> Vec<Vec<bool>> {
    let layers = masks.layer_masks();
    let d = masks.dim();
    // reach[k][j]: unit k of the current layer is reached from input j.
    let mut reach: Vec<Vec<bool>> = (0..d).map(|j| (0..d).map(|i| i == j).collect()).collect();
    for (m, (rows, cols)) in layers {
        reach = (0..rows)
            .map(|k| {
                (0..d)
                    .map(|j| (0..cols).any(|c| m[k * cols + c] > 0.0 && reach[c][j]))
                    .collect()
            })
            .collect();
    }
    reach
}

#[test]
fn jacobian_of_output_d_vanishes_on_inputs_at_or_after_d() {
    let dev = Device::Cpu;
    let d = 25;
    let mut rng = GmRng::new(2);
    for hidden in [vec![64], vec![64, 64]] {
        let m = made(
            MadeConfig {
                hidden: hidden.clone(),
                ..small_cfg()
            },
            1,
        );
        for k in 0..3 {
            let deg = m.masks()[k].input_degrees().to_vec();
            let reach = reachable(&m.masks()[k]);
            // Union over eight inputs of the nonzero entries of the Jacobian d logits / d x;
            // wide inputs (standard deviation 3) open every first-layer ReLU for some of them.
            let mut nonzero = vec![vec![false; d]; d];
            for _ in 0..8 {
                let x = Var::from_tensor(&rng.normal((1, d), 0.0, 3.0, &dev).unwrap()).unwrap();
                let logits = m.logits(x.as_tensor(), k).unwrap();
                for i in 0..d {
                    let g = logits.narrow(1, i, 1).unwrap().sum_all().unwrap();
                    let grads = g.backward().unwrap();
                    let row = match grads.get(x.as_tensor()) {
                        Some(t) => t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                        None => vec![0.0; d],
                    };
                    for (j, v) in row.iter().enumerate() {
                        if deg[j] >= deg[i] {
                            assert_eq!(*v, 0.0, "mask {k}: d logit_{i} / d x_{j} = {v}");
                        }
                        nonzero[i][j] |= *v != 0.0;
                    }
                }
            }
            for i in 0..d {
                // The masks leave paths from earlier inputs only, and every output but the
                // first of the ordering has one (under this seed: a MADE with few hidden
                // units may leave an output unconnected).
                for j in 0..d {
                    assert!(!reach[i][j] || deg[j] < deg[i], "mask {k}: path {i} <- {j}");
                }
                assert_eq!(
                    reach[i].iter().any(|&b| b),
                    deg[i] > 1,
                    "mask {k}, output {i}"
                );
                if hidden.len() == 1 {
                    // One ReLU layer: autograd finds exactly the paths of the masks.
                    assert_eq!(nonzero[i], reach[i], "mask {k}, output {i}");
                } else {
                    // Deeper, a ReLU may stay closed on a path for every input (a unit whose
                    // inputs are all non-negative and weights negative): a subset.
                    for j in 0..d {
                        assert!(!nonzero[i][j] || reach[i][j], "mask {k}: {i} <- {j}");
                    }
                }
            }
        }
    }
}

#[test]
fn changing_inputs_at_or_after_d_leaves_logit_d_unchanged() {
    let dev = Device::Cpu;
    let m = made(small_cfg(), 4);
    let d = 25;
    let mut rng = GmRng::new(5);
    for k in 0..3 {
        let deg = m.masks()[k].input_degrees().to_vec();
        let x = rng.uniform_vec(d, 0.0, 1.0);
        let base = m
            .logits(&Tensor::from_slice(&x, (1, d), &dev).unwrap(), k)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for i in 0..d {
            let noise = rng.uniform_vec(d, -3.0, 3.0);
            let y: Vec<f32> = (0..d)
                .map(|j| if deg[j] >= deg[i] { noise[j] } else { x[j] })
                .collect();
            let l = m
                .logits(&Tensor::from_slice(&y, (1, d), &dev).unwrap(), k)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(l[i], base[i], "mask {k}, output {i}");
        }
    }
}

/// sum over all 2^D binary x of exp(log p(x)).
fn total_probability(lp: &Tensor) -> f64 {
    lp.to_dtype(DType::F64)
        .unwrap()
        .exp()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn probabilities_sum_to_one_over_all_binary_vectors() {
    let dev = Device::Cpu;
    let x = all_binary(8, &dev);
    for hidden in [vec![], vec![16], vec![16, 16]] {
        let cfg = MadeConfig {
            data_shape: vec![8],
            hidden: hidden.clone(),
            num_masks: 4,
            order_agnostic: true,
            ensemble: 4,
            mask_seed: 9,
        };
        let m = made(cfg, 6);
        for k in 0..4 {
            let s = total_probability(&m.log_prob_mask(&x, k).unwrap());
            assert!((s - 1.0).abs() < 1e-5, "hidden {hidden:?}, mask {k}: {s}");
        }
        let s = total_probability(&m.log_prob(&x).unwrap());
        assert!((s - 1.0).abs() < 1e-5, "hidden {hidden:?}, ensemble: {s}");
    }
}

/// D = 3 in natural order, hidden degrees (1, 2), fixed weights; values from
///
/// ```python
/// import math
/// W1=[[0.5,-1.0,2.0],[1.5,0.25,-0.5]]; b1=[0.1,-0.2]
/// W2=[[0.3,-0.7],[1.2,0.4],[-0.8,0.9]]; b2=[0.2,-0.1,0.05]
/// M1=[[1,0,0],[1,1,0]]; M2=[[0,0],[1,0],[1,1]]
/// def logp(x):
///     h=[max(0.0,sum(W1[k][j]*M1[k][j]*x[j] for j in range(3))+b1[k]) for k in range(2)]
///     l=[sum(W2[d][k]*M2[d][k]*h[k] for k in range(2))+b2[d] for d in range(3)]
///     s=lambda v:1/(1+math.exp(-v))
///     return sum(math.log(s(l[d])) if x[d] else math.log(1-s(l[d])) for d in range(3))
/// print(logp([1,0,1]), logp([0,1,1]))   # -2.038675740269958 -2.1670113544045035
/// ```
///
/// By hand for x = (1, 0, 1): h = (relu(0.5 + 0.1), relu(1.5 - 0.2)) = (0.6, 1.3),
/// l = (0.2, 1.2 * 0.6 - 0.1, -0.8 * 0.6 + 0.9 * 1.3 + 0.05) = (0.2, 0.62, 0.74),
/// log p = log s(0.2) + log(1 - s(0.62)) + log s(0.74).
#[test]
fn log_likelihood_matches_a_hand_computation() {
    let dev = Device::Cpu;
    let t = |v: &[f32], shape: &[usize]| Tensor::from_slice(v, shape, &dev).unwrap();
    let mut w = HashMap::new();
    w.insert(
        "layers.0.weight".to_string(),
        t(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.5], &[2, 3]),
    );
    w.insert("layers.0.bias".to_string(), t(&[0.1, -0.2], &[2]));
    w.insert(
        "layers.1.weight".to_string(),
        t(&[0.3, -0.7, 1.2, 0.4, -0.8, 0.9], &[3, 2]),
    );
    w.insert("layers.1.bias".to_string(), t(&[0.2, -0.1, 0.05], &[3]));
    let cfg = MadeConfig {
        data_shape: vec![3],
        hidden: vec![2],
        ..Default::default()
    };
    let masks = vec![MaskSet::new(vec![1, 2, 3], vec![vec![1, 2]]).unwrap()];
    let vb = VarBuilder::from_tensors(w, DType::F32, &dev);
    let m = Made::with_masks(cfg, masks, vb).unwrap();
    let x = t(&[1.0, 0.0, 1.0, 0.0, 1.0, 1.0], &[2, 3]);
    let got = m.log_prob(&x).unwrap().to_vec1::<f32>().unwrap();
    let want = [-2.038675740269958f64, -2.1670113544045035];
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6, "{g} vs {w}");
    }
    // Such a model is not its config's pool, so it refuses to be saved.
    let dir = tempfile::tempdir().unwrap();
    assert!(save_model(&m, dir.path()).is_err());
}

#[test]
fn the_ensemble_is_the_log_mean_exp_of_its_masks() {
    let dev = Device::Cpu;
    let m = made(small_cfg(), 7);
    let x = gm_autoregressive::binarize(
        &GmRng::new(8).uniform((6, 25), 0.0, 1.0, &dev).unwrap(),
        &mut GmRng::new(9),
    )
    .unwrap();
    let per: Vec<Vec<f32>> = (0..3)
        .map(|k| m.log_prob_mask(&x, k).unwrap().to_vec1::<f32>().unwrap())
        .collect();
    let ens = m
        .log_prob_ensemble(&x, 3)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let two = m
        .log_prob_ensemble(&x, 2)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for i in 0..6 {
        let l: Vec<f64> = per.iter().map(|p| p[i] as f64).collect();
        let want = (l.iter().map(|v| v.exp()).sum::<f64>() / 3.0).ln();
        assert!((ens[i] as f64 - want).abs() < 1e-4, "{} vs {want}", ens[i]);
        let want2 = ((l[0].exp() + l[1].exp()) / 2.0).ln();
        assert!((two[i] as f64 - want2).abs() < 1e-4);
        // A mean lies between the smallest and the largest term.
        let (lo, hi) = l
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(ens[i] as f64 >= lo - 1e-4 && ens[i] as f64 <= hi + 1e-4);
    }
    // The model's own log p is the ensemble of its `ensemble` masks.
    assert_eq!(m.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(), ens);
    // And log_mean_exp of the stacked masks gives it again.
    let stacked = Tensor::stack(
        &(0..3)
            .map(|k| m.log_prob_mask(&x, k).unwrap())
            .collect::<Vec<_>>(),
        0,
    )
    .unwrap();
    assert_eq!(
        log_mean_exp(&stacked).unwrap().to_vec1::<f32>().unwrap(),
        ens
    );
    assert!(m.log_prob_ensemble(&x, 4).is_err());
    assert!(m.log_prob_ensemble(&x, 0).is_err());
}

/// D = 6, an ensemble of three orderings: sampling must follow the mixture.
fn tiny_cfg() -> MadeConfig {
    MadeConfig {
        data_shape: vec![6],
        hidden: vec![24],
        num_masks: 3,
        order_agnostic: true,
        ensemble: 3,
        mask_seed: 11,
    }
}

#[test]
fn generate_sets_x_d_to_one_exactly_when_u_d_is_below_p_d() {
    let dev = Device::Cpu;
    let m = made(tiny_cfg(), 12);
    assert_eq!(m.latent_dim(), 7);
    assert_eq!(m.output_shape(), vec![6]);
    let z = m.sample_latent(200, &mut GmRng::new(13), &dev).unwrap();
    let x = m.generate(&z).unwrap();
    assert_eq!(
        m.generate(&z).unwrap().to_vec2::<f32>().unwrap(),
        x.to_vec2::<f32>().unwrap()
    );
    let zv = z.to_vec2::<f32>().unwrap();
    // logit_d depends on x_<d only, so the logits of the finished sample are those it was
    // drawn with.
    for k in 0..3 {
        let logits = m.logits(&x, k).unwrap().to_vec2::<f32>().unwrap();
        for (i, row) in x.to_vec2::<f32>().unwrap().iter().enumerate() {
            if ((zv[i][6] * 3.0).floor() as usize).min(2) != k {
                continue;
            }
            for d in 0..6 {
                let p = 1.0 / (1.0 + (-(logits[i][d] as f64)).exp());
                let want = if (zv[i][d] as f64) < p { 1.0 } else { 0.0 };
                assert_eq!(row[d], want, "item {i}, variable {d}");
            }
        }
    }
    // u = 0 is below every p > 0: all ones.
    let ones = m
        .generate(&Tensor::zeros((2, 7), DType::F32, &dev).unwrap())
        .unwrap();
    assert!(ones
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .all(|&v| v == 1.0));
    assert!(m
        .generate(&Tensor::zeros((2, 6), DType::F32, &dev).unwrap())
        .is_err());
}

#[test]
fn sampling_is_reproducible_and_matches_the_model_probabilities() {
    let dev = Device::Cpu;
    let m = made(tiny_cfg(), 14);
    let n = 20_000;
    let a = m.sample(n, &mut GmRng::new(15)).unwrap();
    let b = m.sample(n, &mut GmRng::new(15)).unwrap();
    let c = m.sample(16, &mut GmRng::new(16)).unwrap();
    assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
    assert_ne!(
        a.narrow(0, 0, 16).unwrap().to_vec2::<f32>().unwrap(),
        c.to_vec2::<f32>().unwrap()
    );
    let all = all_binary(6, &dev);
    let probs: Vec<f64> = m
        .log_prob(&all)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&l| (l as f64).exp())
        .collect();
    let counts = histogram(&a, 6);
    let (stat, df) = chi_square(&counts, &probs);
    let threshold = chi_square_threshold(df);
    assert!(
        stat < threshold,
        "chi-square {stat:.1} >= {threshold:.1} (df {df})"
    );
    // The test has power: the same samples against one mask alone, or the uniform
    // distribution, are rejected.
    let one_mask: Vec<f64> = m
        .log_prob_mask(&all, 0)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&l| (l as f64).exp())
        .collect();
    for (name, wrong) in [("mask 0", one_mask), ("uniform", vec![1.0 / 64.0; 64])] {
        let (stat, df) = chi_square(&counts, &wrong);
        assert!(
            stat > chi_square_threshold(df),
            "{name}: {stat:.1} (df {df})"
        );
    }
}

#[test]
fn a_saved_made_reloads_with_the_same_likelihood_and_samples() {
    let dev = Device::Cpu;
    let m = made(tiny_cfg(), 17);
    let dir = tempfile::tempdir().unwrap();
    save_model(&m, dir.path()).unwrap();
    assert!(dir.path().join("config.json").is_file());
    let back: Made = load_model(dir.path(), &dev).unwrap();
    assert_eq!(back.config(), m.config());
    let x = all_binary(6, &dev);
    assert_eq!(
        back.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
        m.log_prob(&x).unwrap().to_vec1::<f32>().unwrap()
    );
    let z = m.sample_latent(5, &mut GmRng::new(18), &dev).unwrap();
    assert_eq!(
        back.generate(&z).unwrap().to_vec2::<f32>().unwrap(),
        m.generate(&z).unwrap().to_vec2::<f32>().unwrap()
    );
    // A PixelCNN folder is not a MADE.
    let p = gm_autoregressive::PixelCnnConfig {
        height: 2,
        width: 3,
        channels: 4,
        residual_blocks: 1,
        first_kernel: 3,
        kernel: 3,
    }
    .init(&ParamStore::new(1), &dev)
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    save_model(&p, other.path()).unwrap();
    let e = load_model::<Made>(other.path(), &dev).unwrap_err();
    assert!(e.to_string().contains("expected `made`"), "{e}");
    let _unused: BTreeMap<String, Tensor> = back.weights();
}
