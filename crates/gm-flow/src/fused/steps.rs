//! The layers of the multi-scale flow on host memory, each a forward pass that keeps what its
//! backward pass needs and the backward pass written out (the derivations are in the
//! comments beside each). Buffers are channel-major `(c, n, h, w)`, so that channel splits,
//! factored-out channels and per-channel parameters are contiguous blocks.
//!
//! The loss is `L = 1/(n D) sum_i -log p(x_i)`, so the backward pass starts from
//! `dL/dz = z / (n D)` and every item's log-determinant enters with the weight
//! `dL/d logdet_i = -1/(n D)`, called `gl` below.

use gm_core::nn::{long_inner_into, matmul_into, View};

use super::conv::{Grid, HostConvNet, NetTape};

/// A batch of channel-major planes.
#[derive(Debug, Clone)]
pub(crate) struct Planes {
    pub data: Vec<f32>,
    pub c: usize,
    pub g: Grid,
}

/// How a coupling's raw network output becomes its log-scale.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostScale {
    /// `s = a tanh(raw)`, `a` the parameter at this index.
    Tanh(usize),
    /// `s = log sigmoid(raw + 2)`.
    Sigmoid,
}

/// The parameters of a 1x1 convolution `W = P L U'`: the trained `lower`, `upper`, `log_s`
/// and the fixed `perm` and `sign`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LuParams {
    pub lower: usize,
    pub upper: usize,
    pub log_s: usize,
    pub perm: usize,
    pub sign: usize,
}

/// Which part a coupling keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Split {
    /// The pixels of the checkerboard (odd `i + j` when `true`); the network sees the kept
    /// pixels and the mask.
    Checkerboard(bool),
    /// The first half of the channels (the last half when `true`).
    Channel(bool),
}

/// One layer, its parameters as indices into the flow's parameter list.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    ActNorm {
        bias: usize,
        logs: usize,
    },
    InvConv {
        c: usize,
        lu: LuParams,
    },
    Coupling {
        split: Split,
        scale: HostScale,
        net: HostConvNet,
    },
    Squeeze,
    /// The first `k` channels leave for the latent.
    FactorOut(usize),
}

/// What a step's forward pass keeps for its backward pass.
pub(crate) enum Tape {
    None,
    /// The 1x1 convolution's weight `W` and its factors `L`, `U'`.
    InvConv {
        w: Vec<f32>,
        l: Vec<f32>,
        u: Vec<f32>,
    },
    /// The network's tape, `e^s` and the scale's derivative factor, over the changed part.
    Coupling {
        net: NetTape,
        exp_s: Vec<f32>,
        /// `tanh(raw)` for [`HostScale::Tanh`], unused for [`HostScale::Sigmoid`].
        th: Vec<f32>,
    },
    /// The factored-out channels.
    FactorOut(Vec<f32>),
}

/// What the forward pass adds up: the log-determinant over the batch and the squared norm of
/// the factored-out latents.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub logdet: f64,
    pub latent_sq: f64,
}

fn sum_sq(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// The checkerboard mask `b` (1 = kept) over the batch's pixels.
fn checkerboard(g: Grid, odd: bool) -> Vec<f32> {
    let plane = g.h * g.w;
    (0..g.pixels())
        .map(|q| {
            let (y, x) = ((q % plane) / g.w, q % g.w);
            f32::from(u8::from((y + x) % 2 == usize::from(odd)))
        })
        .collect()
}

/// `(kept, changed)` channel ranges of a channel coupling.
fn channel_ranges(c: usize, flip: bool) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let first = c / 2;
    if flip {
        (first..c, 0..first)
    } else {
        (0..first, first..c)
    }
}

/// `W = P L U'`, `L = lower (strictly lower part) + I`, `U' = upper (strictly upper part) +
/// diag(sign e^log_s)`, as the [`crate::layers::InvConv1x1`] layer builds it.
fn lu_weight(p: &[Vec<f32>], c: usize, lu: LuParams) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let [lower, upper, log_s, perm, sign] =
        [lu.lower, lu.upper, lu.log_s, lu.perm, lu.sign].map(|i| p[i].as_slice());
    let mut l = vec![0f32; c * c];
    let mut u = vec![0f32; c * c];
    for i in 0..c {
        for j in 0..c {
            let k = i * c + j;
            l[k] = if j < i {
                lower[k]
            } else {
                f32::from(u8::from(i == j))
            };
            u[k] = if j > i {
                upper[k]
            } else if i == j {
                sign[i] * log_s[i].exp()
            } else {
                0.0
            };
        }
    }
    let mut lu = vec![0f32; c * c];
    matmul_into(&mut lu, View::new(&l, c, c), View::new(&u, c, c), false);
    let mut w = vec![0f32; c * c];
    matmul_into(&mut w, View::new(perm, c, c), View::new(&lu, c, c), false);
    (w, l, u)
}

/// The log-scale and `e^s` of the raw output, with the factor its derivative needs.
fn scale_forward(
    scale: HostScale,
    p: &[Vec<f32>],
    raw: &[f32],
    pix: usize,
) -> (Vec<f32>, Vec<f32>) {
    match scale {
        HostScale::Tanh(a) => {
            let th: Vec<f32> = raw.iter().map(|v| v.tanh()).collect();
            let s = th
                .chunks_exact(pix)
                .zip(&p[a])
                .flat_map(|(row, &a)| row.iter().map(move |&t| a * t))
                .collect();
            (s, th)
        }
        HostScale::Sigmoid => {
            // log sigmoid(u) = -softplus(-u), in the stable form.
            let s = raw
                .iter()
                .map(|&r| {
                    let u = r + 2.0;
                    u.min(0.0) - (-u.abs()).exp().ln_1p()
                })
                .collect();
            (s, Vec::new())
        }
    }
}

/// `d raw` from `d s`: `a (1 - tanh^2)` (and `da += sum ds tanh`), or `1 - sigmoid = 1 - e^s`.
fn scale_backward(
    scale: HostScale,
    p: &[Vec<f32>],
    grads: &mut [Vec<f32>],
    ds: &mut [f32],
    exp_s: &[f32],
    th: &[f32],
    pix: usize,
) {
    match scale {
        HostScale::Tanh(a) => {
            for (j, (ds, th)) in ds
                .chunks_exact_mut(pix)
                .zip(th.chunks_exact(pix))
                .enumerate()
            {
                let aj = p[a][j];
                let mut da = 0f32;
                for (d, &t) in ds.iter_mut().zip(th) {
                    da += *d * t;
                    *d *= aj * (1.0 - t * t);
                }
                grads[a][j] += da;
            }
        }
        HostScale::Sigmoid => ds.iter_mut().zip(exp_s).for_each(|(d, &e)| *d *= 1.0 - e),
    }
}

impl Step {
    /// The step's output from `x`, adding to `totals`.
    pub fn forward(&self, p: &[Vec<f32>], x: &Planes, totals: &mut Totals) -> (Planes, Tape) {
        let (c, g) = (x.c, x.g);
        let pix = g.pixels();
        let plane = (g.h * g.w) as f64;
        match *self {
            Step::ActNorm { bias, logs } => {
                // z = (x + b) e^logs per channel; log |det| = h w sum logs per item.
                let mut z = x.data.clone();
                for ((row, &b), &ls) in z.chunks_exact_mut(pix).zip(&p[bias]).zip(&p[logs]) {
                    let s = ls.exp();
                    row.iter_mut().for_each(|v| *v = (*v + b) * s);
                }
                totals.logdet +=
                    g.n as f64 * plane * p[logs].iter().map(|&v| f64::from(v)).sum::<f64>();
                (Planes { data: z, c, g }, Tape::None)
            }
            Step::InvConv { c: cc, lu } => {
                // z = W x per pixel; log |det| = h w sum log_s per item.
                let (w, l, u) = lu_weight(p, cc, lu);
                let mut z = vec![0f32; c * pix];
                matmul_into(
                    &mut z,
                    View::new(&w, c, c),
                    View::new(&x.data, c, pix),
                    false,
                );
                totals.logdet +=
                    g.n as f64 * plane * p[lu.log_s].iter().map(|&v| f64::from(v)).sum::<f64>();
                (Planes { data: z, c, g }, Tape::InvConv { w, l, u })
            }
            Step::Coupling {
                split,
                scale,
                ref net,
            } => {
                // Checkerboard: the net sees (x b, b) and s, t are zero on the kept pixels.
                // Channel: it sees the kept channels x_a. Then z = x e^s + t on the rest.
                let mask = match split {
                    Split::Checkerboard(odd) => Some(checkerboard(g, odd)),
                    Split::Channel(_) => None,
                };
                let (input, changed) = match (split, &mask) {
                    (Split::Checkerboard(_), Some(b)) => {
                        let mut input = Vec::with_capacity((c + 1) * pix);
                        for row in x.data.chunks_exact(pix) {
                            input.extend(row.iter().zip(b).map(|(&v, &m)| v * m));
                        }
                        input.extend_from_slice(b);
                        (input, 0..c)
                    }
                    (Split::Channel(flip), _) => {
                        let (kept, changed) = channel_ranges(c, flip);
                        (x.data[kept.start * pix..kept.end * pix].to_vec(), changed)
                    }
                    (Split::Checkerboard(_), None) => unreachable!("the mask was just built"),
                };
                let (out, tape) = net.forward(p, input, g);
                let (raw, t) = out.split_at(changed.len() * pix);
                let (mut s, th) = scale_forward(scale, p, raw, pix);
                let keep = |k: usize| mask.as_ref().map_or(1.0, |b| 1.0 - b[k % pix]);
                if mask.is_some() {
                    s.iter_mut().enumerate().for_each(|(k, v)| *v *= keep(k));
                }
                totals.logdet += s.iter().map(|&v| f64::from(v)).sum::<f64>();
                let exp_s: Vec<f32> = s.iter().map(|v| v.exp()).collect();
                let mut z = x.data.clone();
                z[changed.start * pix..changed.end * pix]
                    .iter_mut()
                    .zip(&exp_s)
                    .zip(t)
                    .enumerate()
                    .for_each(|(k, ((v, &e), &t))| *v = *v * e + t * keep(k));
                (
                    Planes { data: z, c, g },
                    Tape::Coupling {
                        net: tape,
                        exp_s,
                        th,
                    },
                )
            }
            Step::Squeeze => {
                let h = Grid {
                    n: g.n,
                    h: g.h / 2,
                    w: g.w / 2,
                };
                let mut z = vec![0f32; c * pix];
                squeeze_map(c, g, |src, dst| z[dst] = x.data[src]);
                (
                    Planes {
                        data: z,
                        c: 4 * c,
                        g: h,
                    },
                    Tape::None,
                )
            }
            Step::FactorOut(k) => {
                let (part, rest) = x.data.split_at(k * pix);
                totals.latent_sq += sum_sq(part);
                (
                    Planes {
                        data: rest.to_vec(),
                        c: c - k,
                        g,
                    },
                    Tape::FactorOut(part.to_vec()),
                )
            }
        }
    }

    /// `dL/dx` from `dL/dz`, the parameters' gradients added into `grads`; `x` is the step's
    /// input and `scale = 1/(n D)`, so that `dL/dz = scale z` for the latents and
    /// `gl = dL/d logdet_i = -scale`.
    pub fn backward(
        &self,
        p: &[Vec<f32>],
        grads: &mut [Vec<f32>],
        (x, tape): (&Planes, &Tape),
        mut dz: Vec<f32>,
        scale: f32,
    ) -> Vec<f32> {
        let gl = -scale;
        let (c, g) = (x.c, x.g);
        let pix = g.pixels();
        let per_batch = (g.n * g.h * g.w) as f32 * gl;
        match (self, tape) {
            (&Step::ActNorm { bias, logs }, _) => {
                // dx = dz e^logs, db = e^logs sum dz, dlogs = sum dz z + n h w gl.
                for (j, (d, xr)) in dz
                    .chunks_exact_mut(pix)
                    .zip(x.data.chunks_exact(pix))
                    .enumerate()
                {
                    let (b, s) = (p[bias][j], p[logs][j].exp());
                    let (mut sum_d, mut sum_dz) = (0f32, 0f32);
                    for (d, &v) in d.iter_mut().zip(xr) {
                        sum_d += *d;
                        sum_dz += *d * (v + b) * s;
                        *d *= s;
                    }
                    grads[bias][j] += s * sum_d;
                    grads[logs][j] += sum_dz + per_batch;
                }
                dz
            }
            (&Step::InvConv { c: cc, lu }, Tape::InvConv { w, l, u }) => {
                let LuParams {
                    lower,
                    upper,
                    log_s,
                    perm,
                    sign,
                } = lu;
                // dW = dz x^T, dx = W^T dz; with M = L U' = P^T W: dL = dM U'^T, dU' = L^T dM.
                let mut dw = vec![0f32; cc * cc];
                long_inner_into(&mut dw, &dz, cc, &x.data, cc, pix, false);
                let mut dx = vec![0f32; cc * pix];
                matmul_into(
                    &mut dx,
                    View::new(w, cc, cc).t(),
                    View::new(&dz, cc, pix),
                    false,
                );
                let mut dm = vec![0f32; cc * cc];
                matmul_into(
                    &mut dm,
                    View::new(&p[perm], cc, cc).t(),
                    View::new(&dw, cc, cc),
                    false,
                );
                let mut dl = vec![0f32; cc * cc];
                matmul_into(
                    &mut dl,
                    View::new(&dm, cc, cc),
                    View::new(u, cc, cc).t(),
                    false,
                );
                let mut du = vec![0f32; cc * cc];
                matmul_into(
                    &mut du,
                    View::new(l, cc, cc).t(),
                    View::new(&dm, cc, cc),
                    false,
                );
                for i in 0..cc {
                    for j in 0..cc {
                        let k = i * cc + j;
                        if j < i {
                            grads[lower][k] += dl[k];
                        } else if j > i {
                            grads[upper][k] += du[k];
                        }
                    }
                    grads[log_s][i] += du[i * cc + i] * p[sign][i] * p[log_s][i].exp() + per_batch;
                }
                dx
            }
            (
                &Step::Coupling {
                    split,
                    scale,
                    ref net,
                },
                Tape::Coupling {
                    net: tape,
                    exp_s,
                    th,
                },
            ) => {
                // On the changed part: dx = dz e^s, ds = dz x e^s + gl, dt = dz (times 1 - b
                // for a checkerboard); then the net's input gradient reaches the kept part
                // (times b for a checkerboard, whose net also saw the mask).
                let mask = match split {
                    Split::Checkerboard(odd) => Some(checkerboard(g, odd)),
                    Split::Channel(_) => None,
                };
                let keep = |k: usize| mask.as_ref().map_or(1.0, |b| 1.0 - b[k % pix]);
                let (kept, changed) = match split {
                    Split::Checkerboard(_) => (0..c, 0..c),
                    Split::Channel(flip) => channel_ranges(c, flip),
                };
                let k = changed.len();
                let mut dout = vec![0f32; 2 * k * pix];
                let (ds, dt) = dout.split_at_mut(k * pix);
                let base = changed.start * pix;
                for q in 0..k * pix {
                    let (d, m) = (dz[base + q], keep(q));
                    ds[q] = (d * x.data[base + q] * exp_s[q] + gl) * m;
                    dt[q] = d * m;
                    dz[base + q] = d * exp_s[q];
                }
                scale_backward(scale, p, grads, ds, exp_s, th, pix);
                let d_in = net.backward(p, grads, tape, &dout, g);
                dz[kept.start * pix..kept.end * pix]
                    .iter_mut()
                    .zip(&d_in)
                    .enumerate()
                    .for_each(|(q, (d, &v))| *d += v * mask.as_ref().map_or(1.0, |b| b[q % pix]));
                dz
            }
            (Step::Squeeze, _) => {
                let mut dx = vec![0f32; c * pix];
                squeeze_map(c, g, |src, dst| dx[src] = dz[dst]);
                dx
            }
            (Step::FactorOut(_), Tape::FactorOut(part)) => {
                let mut dx: Vec<f32> = part.iter().map(|&v| v * scale).collect();
                dx.extend_from_slice(&dz);
                dx
            }
            _ => unreachable!("a step's tape comes from its own forward pass"),
        }
    }
}

/// Calls `f(src, dst)` for every entry of a squeeze of `(c, n, h, w)` planes to
/// `(4c, n, h/2, w/2)`: `out[4 ci + 2 dy + dx][i][y][x] = in[ci][i][2 y + dy][2 x + dx]`.
fn squeeze_map(c: usize, g: Grid, mut f: impl FnMut(usize, usize)) {
    let (h2, w2) = (g.h / 2, g.w / 2);
    let (pix_in, pix_out) = (g.pixels(), g.n * h2 * w2);
    for ci in 0..c {
        for dy in 0..2 {
            for dx in 0..2 {
                let co = 4 * ci + 2 * dy + dx;
                for i in 0..g.n {
                    for y in 0..h2 {
                        for x in 0..w2 {
                            let src = ci * pix_in + i * g.h * g.w + (2 * y + dy) * g.w + 2 * x + dx;
                            let dst = co * pix_out + i * h2 * w2 + y * w2 + x;
                            f(src, dst);
                        }
                    }
                }
            }
        }
    }
}
