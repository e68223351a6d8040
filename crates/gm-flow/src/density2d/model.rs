//! [`Flow2d`]: flows on the plane for density estimation, trained by maximum likelihood on
//! samples: a vector RealNVP (alternating couplings with ActNorm between them), or stacks of
//! planar or radial layers (Rezende and Mohamed 2015). Each starts with an ActNorm, so the
//! data's scale is taken out by its data-dependent initialisation.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use gm_core::ToHostF64;
use gm_core::{Adam, AdamConfig, GmRng, ParamStore};
use serde::{Deserialize, Serialize};

use crate::flow::{log_prob, Flow, FlowSequence};
use crate::layers::{actnorm, alternating_coupling, planar, radial, ScaleFn};
use crate::{Error, Result};

/// Which flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flow2dKind {
    /// `couplings` alternating affine couplings with MLP conditioners of width `hidden`,
    /// each followed by an ActNorm.
    RealNvp {
        /// Number of affine couplings (at least 1).
        couplings: usize,
        /// Width of each coupling's MLP conditioner (at least 1).
        hidden: usize,
    },
    /// `layers` planar layers.
    Planar {
        /// Number of planar layers (at least 1).
        layers: usize,
    },
    /// `layers` radial layers.
    Radial {
        /// Number of radial layers (at least 1).
        layers: usize,
    },
}

impl Flow2dKind {
    /// A short name for tables and file names.
    pub fn name(&self) -> &'static str {
        match self {
            Flow2dKind::RealNvp { .. } => "realnvp",
            Flow2dKind::Planar { .. } => "planar",
            Flow2dKind::Radial { .. } => "radial",
        }
    }
}

/// A 2-D flow's architecture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Flow2dConfig {
    /// Which flow, with its size.
    pub kind: Flow2dKind,
    /// The couplings' log-scale bound.
    pub scale: ScaleFn,
}

impl Flow2dConfig {
    /// A RealNVP of `couplings` couplings with conditioners of width `hidden` and the
    /// [`ScaleFn::Tanh`] log-scale bound.
    pub fn realnvp(couplings: usize, hidden: usize) -> Self {
        Self {
            kind: Flow2dKind::RealNvp { couplings, hidden },
            scale: ScaleFn::Tanh,
        }
    }

    /// A stack of `layers` planar layers.
    pub fn planar(layers: usize) -> Self {
        Self {
            kind: Flow2dKind::Planar { layers },
            scale: ScaleFn::Tanh,
        }
    }

    /// A stack of `layers` radial layers.
    pub fn radial(layers: usize) -> Self {
        Self {
            kind: Flow2dKind::Radial { layers },
            scale: ScaleFn::Tanh,
        }
    }

    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        match self.kind {
            Flow2dKind::RealNvp { couplings, hidden } => {
                if couplings == 0 {
                    return Err(Error::config("kind.couplings", 0, "must be at least 1"));
                }
                if hidden == 0 {
                    return Err(Error::config("kind.hidden", 0, "must be at least 1"));
                }
            }
            Flow2dKind::Planar { layers } | Flow2dKind::Radial { layers } => {
                if layers == 0 {
                    return Err(Error::config("kind.layers", 0, "must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

/// A flow on the plane; as a [`Flow`], `(n, 2) -> (n, 2)`.
#[derive(Debug)]
pub struct Flow2d {
    cfg: Flow2dConfig,
    flow: FlowSequence,
}

impl Flow2d {
    /// Builds the flow of `cfg` (validated first), an input ActNorm then its layers, with
    /// parameters from `vb`.
    pub fn new(cfg: Flow2dConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let mut flow = FlowSequence::default();
        flow.push(Box::new(actnorm(2, vb.pp("actnorm_in"))?));
        match cfg.kind {
            Flow2dKind::RealNvp { couplings, hidden } => {
                for i in 0..couplings {
                    let vb = vb.pp(format!("layer{i}"));
                    flow.push(Box::new(alternating_coupling(
                        2,
                        hidden,
                        i % 2 == 1,
                        cfg.scale,
                        vb.pp("coupling"),
                    )?));
                    flow.push(Box::new(actnorm(2, vb.pp("actnorm"))?));
                }
            }
            Flow2dKind::Planar { layers } => {
                for i in 0..layers {
                    flow.push(Box::new(planar(2, vb.pp(format!("layer{i}")))?));
                }
            }
            Flow2dKind::Radial { layers } => {
                for i in 0..layers {
                    flow.push(Box::new(radial(2, vb.pp(format!("layer{i}")))?));
                }
            }
        }
        Ok(Self { cfg, flow })
    }

    /// The architecture this flow was built with.
    pub fn config(&self) -> &Flow2dConfig {
        &self.cfg
    }

    /// `log q(x)` at the points `pts`, in batches (f64 in, f64 out; the flow computes in its
    /// own dtype).
    pub fn log_prob_points(&self, pts: &[[f64; 2]], device: &Device) -> Result<Vec<f64>> {
        const CHUNK: usize = 1 << 15;
        let mut out = Vec::with_capacity(pts.len());
        for chunk in pts.chunks(CHUNK) {
            let flat: Vec<f32> = chunk
                .iter()
                .flat_map(|p| [p[0] as f32, p[1] as f32])
                .collect();
            let x = Tensor::from_vec(flat, (chunk.len(), 2), device)?;
            let lp = log_prob(self, &x)?.detach().to_host_f64()?;
            out.extend(lp.to_vec1::<f64>()?);
        }
        Ok(out)
    }
}

impl Flow for Flow2d {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        if x.rank() != 2 || x.dim(1)? != 2 {
            return Err(Error::Shape {
                what: "2-D flow input (n, 2) (0: any size)",
                got: x.dims().to_vec(),
                expected: vec![0, 2],
            });
        }
        self.flow.forward(x)
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.flow.inverse(z)
    }

    fn data_init(&self, x: &Tensor) -> Result<Tensor> {
        self.flow.data_init(x)
    }
}

/// How [`fit_2d`] trains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Train2dConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Points of the ActNorms' data-dependent initialisation.
    pub init_points: usize,
    /// The Adam optimiser's settings.
    pub adam: AdamConfig,
}

impl Default for Train2dConfig {
    fn default() -> Self {
        Self {
            steps: 3000,
            batch_size: 512,
            init_points: 2048,
            adam: AdamConfig {
                lr: 2e-3,
                ..Default::default()
            },
        }
    }
}

impl Train2dConfig {
    /// Checks every field; each bad value is its own error naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", 0, "must be at least 1"));
        }
        if self.init_points == 0 {
            return Err(Error::config("init_points", 0, "must be at least 1"));
        }
        Ok(self.adam.validate()?)
    }
}

/// Fits `flow` (weights in `store`) by maximum likelihood to fresh samples from `sample`
/// (`n` points, row-major `(n, 2)`), one batch per step; returns the mean negative
/// log-likelihood (nats) of each step's batch, before its update. The learning rate decays
/// by cosine to a tenth over the run.
pub fn fit_2d(
    flow: &Flow2d,
    store: &ParamStore,
    cfg: &Train2dConfig,
    sample: &mut dyn FnMut(usize, &mut GmRng) -> Vec<f32>,
    rng: &mut GmRng,
    device: &Device,
) -> Result<Vec<f64>> {
    cfg.validate()?;
    let mut batch = |n: usize, rng: &mut GmRng| -> Result<Tensor> {
        Ok(Tensor::from_vec(sample(n, rng), (n, 2), device)?)
    };
    flow.data_init(&batch(cfg.init_points, rng)?)?;
    let mut opt = Adam::new(store, cfg.adam)?;
    let mut losses = Vec::with_capacity(cfg.steps);
    for s in 0..cfg.steps {
        let progress = s as f64 / cfg.steps.max(1) as f64;
        let decay = 0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        opt.set_lr(cfg.adam.lr * decay);
        let x = batch(cfg.batch_size, rng)?;
        let nll = log_prob(flow, &x)?.mean_all()?.neg()?;
        opt.backward_step(&nll)?;
        losses.push(nll.to_host_f64()?.to_scalar::<f64>()?);
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density2d::quadrature::{expect_normal_2d, grid_mass};
    use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};

    fn kinds() -> [Flow2dConfig; 3] {
        [
            Flow2dConfig::realnvp(4, 16),
            Flow2dConfig::planar(6),
            Flow2dConfig::radial(6),
        ]
    }

    #[test]
    fn each_kind_inverts_and_its_density_integrates_to_one() {
        let dev = Device::Cpu;
        for (i, cfg) in kinds().into_iter().enumerate() {
            let store = ParamStore::new(i as u64);
            let flow = Flow2d::new(cfg, store.var_builder(&dev)).unwrap();
            randomize(&store, 10 + i as u64, 0.25);
            let x = GmRng::new(1).normal((16, 2), 0.0, 1.0, &dev).unwrap();
            assert_round_trip(&flow, &x, 1e-4);
            assert_log_det_matches(&flow, &x.narrow(0, 0, 1).unwrap(), 1e-4);
            // Midpoint rule on [-L, L]^2 at two resolutions: its error falls as h^2, so the
            // finer one's error is about a third of the gap between them, and the tolerance
            // below (the whole gap) leaves a margin of 3. The mass outside the square is made
            // negligible by taking L where the density is (checked on the border), and 1e-5
            // covers f32 rounding of log q (relative 1e-6 in q).
            let mut lq = |p: &[[f64; 2]]| flow.log_prob_points(p, &dev);
            let extent = 14.0;
            let coarse = grid_mass(&mut lq, extent, 250).unwrap();
            let fine = grid_mass(&mut lq, extent, 500).unwrap();
            let border: Vec<[f64; 2]> = (0..400)
                .flat_map(|k| {
                    let t = -extent + 2.0 * extent * k as f64 / 399.0;
                    [[t, extent], [t, -extent], [extent, t], [-extent, t]]
                })
                .collect();
            let edge = lq(&border)
                .unwrap()
                .into_iter()
                .fold(f64::MIN, f64::max)
                .exp();
            let name = cfg.kind.name();
            assert!(edge < 1e-8, "{name}: border density {edge}");
            let tol = (fine - coarse).abs() + 1e-5;
            assert!(
                (fine - 1.0).abs() < tol,
                "{name}: mass {fine} (coarse {coarse}), tol {tol}"
            );
            // A wrong log-determinant is no small effect: the mass of exp(log q + 0.01) is
            // off by 1 %.
            assert!(tol < 1e-3, "{name}: tolerance {tol}");
        }
    }

    #[test]
    fn a_tiny_realnvp_learns_a_correlated_gaussian() {
        // p = N(m, S), S = [[1, 0.8 s], [0.8 s, s^2]] with s = 0.5, m = (1, -0.5):
        // after ActNorm's init the model matches the marginals, and KL = -ln(1 - 0.8^2) / 2
        // = 0.51 nats remains from the correlation.
        let dev = Device::Cpu;
        let (m, s, rho) = ([1.0f64, -0.5], 0.5f64, 0.8f64);
        let chol = [[1.0, 0.0], [rho * s, s * (1.0 - rho * rho).sqrt()]];
        let mut sample = |n: usize, rng: &mut GmRng| -> Vec<f32> {
            let e = rng.normal_vec(2 * n);
            e.chunks_exact(2)
                .flat_map(|z| {
                    let (a, b) = (z[0] as f64, z[1] as f64);
                    [
                        (m[0] + chol[0][0] * a) as f32,
                        (m[1] + chol[1][0] * a + chol[1][1] * b) as f32,
                    ]
                })
                .collect()
        };
        let log_p = |x: [f64; 2]| -> f64 {
            let a = (x[0] - m[0]) / chol[0][0];
            let b = (x[1] - m[1] - chol[1][0] * a) / chol[1][1];
            -0.5 * (a * a + b * b) - (2.0 * std::f64::consts::PI * chol[0][0] * chol[1][1]).ln()
        };
        let store = ParamStore::new(0);
        let flow = Flow2d::new(Flow2dConfig::realnvp(2, 16), store.var_builder(&dev)).unwrap();
        let mut rng = GmRng::new(1);
        let kl = |flow: &Flow2d| -> f64 {
            expect_normal_2d(m, chol, 20, &mut |pts| {
                let q = flow.log_prob_points(pts, &dev)?;
                Ok(pts.iter().zip(q).map(|(p, q)| log_p(*p) - q).collect())
            })
            .unwrap()
        };
        flow.data_init(&Tensor::from_vec(sample(2048, &mut rng), (2048, 2), &dev).unwrap())
            .unwrap();
        let before = kl(&flow);
        let want = -0.5 * (1.0 - rho * rho).ln();
        // ActNorm's init estimates the marginals from 2048 points: KL is the correlation's
        // 0.51 nats plus an O(1/2048) estimation term.
        assert!(
            (before - want).abs() < 0.02,
            "initial KL {before} vs {want}"
        );
        let cfg = Train2dConfig {
            steps: 300,
            batch_size: 256,
            init_points: 2048,
            adam: AdamConfig {
                lr: 1e-2,
                ..Default::default()
            },
        };
        fit_2d(&flow, &store, &cfg, &mut sample, &mut rng, &dev).unwrap();
        let after = kl(&flow);
        assert!(after < 0.1 * before, "KL {before} -> {after}");
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = |c: Flow2dConfig| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(Flow2dConfig::realnvp(0, 8)), "kind.couplings");
        assert_eq!(bad(Flow2dConfig::realnvp(2, 0)), "kind.hidden");
        assert_eq!(bad(Flow2dConfig::planar(0)), "kind.layers");
        assert_eq!(bad(Flow2dConfig::radial(0)), "kind.layers");
        let t = Train2dConfig {
            batch_size: 0,
            ..Default::default()
        };
        assert!(matches!(
            t.validate(),
            Err(Error::Config {
                field: "batch_size",
                ..
            })
        ));
    }
}
