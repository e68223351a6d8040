//! Spectral normalization (Miyato et al. 2018, "Spectral Normalization for Generative
//! Adversarial Networks"): each weight `W` of the critic (a convolution kernel flattened to
//! `(c_out, c_in k k)`) is used as `W / sigma(W)`, with the largest singular value `sigma`
//! estimated by power iteration:
//!
//! ```text
//! v = W^T u / ||W^T u||,   u <- W v / ||W v||,   sigma = u^T W v   (u, v held constant)
//! ```
//!
//! `u` persists across steps, one iteration per critic update as in the paper's Algorithm 1.
//! It lives in the critic's store as `<layer>.running_sn_u`, so checkpoints keep it and a run
//! resumes bit for bit, while the optimizer (no gradient reaches it), weight clipping and
//! historical averaging (which skip `running_` state) leave it alone. With `u` and `v`
//! constants, the gradient of `W / sigma` flows through `sigma`'s `W` as in the reference
//! implementation.

use candle_core::{Tensor, Var};

use crate::Result;

/// Keeps the norms finite for a zero weight.
const EPS: f64 = 1e-12;

/// The name of a layer's power-iteration vector in the critic's store.
pub const SN_U: &str = "running_sn_u";

fn normalize(x: &Tensor) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_all()? + EPS)?.sqrt()?;
    Ok(x.broadcast_div(&norm)?)
}

/// `w` as a matrix `(rows, everything else)`.
fn matrix(w: &Tensor) -> Result<Tensor> {
    let rows = w.dim(0)?;
    Ok(w.reshape((rows, w.elem_count() / rows.max(1)))?)
}

/// `v = W^T u / ||W^T u||` as a column `(in, 1)`, with nothing differentiable.
fn right_vector(w: &Tensor, u: &Tensor) -> Result<Tensor> {
    let m = matrix(&w.detach())?;
    normalize(&m.t()?.matmul(&u.detach().unsqueeze(1)?)?)
}

/// One power iteration: the next `u = W v / ||W v||` `(out,)`, with `v` from `u`.
pub fn power_step(w: &Tensor, u: &Tensor) -> Result<Tensor> {
    let v = right_vector(w, u)?;
    let wv = matrix(&w.detach())?.matmul(&v)?.squeeze(1)?;
    normalize(&wv)
}

/// The estimate `sigma = u^T W v` (`v` from `u`), a scalar tensor differentiable in `w`.
pub fn sigma(w: &Tensor, u: &Tensor) -> Result<Tensor> {
    let v = right_vector(w, u)?;
    let u = u.detach().unsqueeze(0)?;
    Ok(u.matmul(&matrix(w)?)?.matmul(&v)?.reshape(())?)
}

/// `w / sigma(w)`, differentiable in `w` with `u` held constant.
pub fn spectral_normalize(w: &Tensor, u: &Tensor) -> Result<Tensor> {
    Ok(w.broadcast_div(&sigma(w, u)?)?)
}

/// Replaces the stored vector `u` by its next power iterate for `w`.
pub fn iterate(w: &Tensor, u: &Var) -> Result<()> {
    let next = power_step(w, u.as_tensor())?;
    u.set(&next)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use gm_core::ToHostF64;

    fn scalar(t: &Tensor) -> f64 {
        t.to_host_f64().unwrap().to_scalar::<f64>().unwrap()
    }

    /// `diag(3, 1)` rotated on both sides: singular values 3 and 1, so the iteration converges
    /// to 3 and the normalized weight has spectral norm 1.
    fn known() -> Tensor {
        let (c, s) = (0.6f64, 0.8f64);
        // [c -s; s c] diag(3, 1) [1 0 0; 0 0 1]: a 2x3 matrix with singular values 3 and 1.
        let w = [[3.0 * c, 0.0, -s], [3.0 * s, 0.0, c]];
        Tensor::new(&w, &Device::Cpu).unwrap()
    }

    #[test]
    fn power_iteration_converges_to_the_largest_singular_value() {
        let w = known();
        let u = Var::new(&[1.0f64, 0.0], &Device::Cpu).unwrap();
        let first = scalar(&sigma(&w, u.as_tensor()).unwrap());
        assert!(first < 3.0, "{first}");
        for _ in 0..30 {
            iterate(&w, &u).unwrap();
        }
        let s = scalar(&sigma(&w, u.as_tensor()).unwrap());
        assert!((s - 3.0).abs() < 1e-9, "{s}");
        // W / sigma maps the top right singular vector to a unit vector.
        let wn = spectral_normalize(&w, u.as_tensor()).unwrap();
        let top = right_vector(&w, u.as_tensor()).unwrap();
        let image = wn.matmul(&top).unwrap().sqr().unwrap().sum_all().unwrap();
        assert!((scalar(&image).sqrt() - 1.0).abs() < 1e-9);
        // A kernel is flattened per output channel: (2, 3, 1, 1) has the same sigma.
        let k = w.reshape((2, 3, 1, 1)).unwrap();
        let sk = scalar(&sigma(&k, u.as_tensor()).unwrap());
        assert!((sk - s).abs() < 1e-12);
    }

    #[test]
    fn gradient_through_sigma_matches_finite_differences() {
        let w0 = known();
        let u = power_step(&w0, &Tensor::new(&[0.3f64, 0.9], &Device::Cpu).unwrap()).unwrap();
        let c = Tensor::new(&[[0.5f64, -1.0], [2.0, 0.25], [-0.75, 1.5]], &Device::Cpu).unwrap();
        // loss(W) = sum((W / sigma(W)) * C^T), with u fixed.
        let loss = |w: &Tensor| {
            spectral_normalize(w, &u)
                .unwrap()
                .mul(&c.t().unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let w = Var::from_tensor(&w0).unwrap();
        let g = loss(w.as_tensor()).backward().unwrap();
        let g = g.get(w.as_tensor()).unwrap().flatten_all().unwrap();
        let g = g.to_vec1::<f64>().unwrap();
        let base = w0.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let h = 1e-6;
        for i in 0..base.len() {
            let at = |d: f64| {
                let mut b = base.clone();
                b[i] += d;
                scalar(&loss(&Tensor::from_vec(b, (2, 3), &Device::Cpu).unwrap()))
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-7, "entry {i}: {fd} vs {}", g[i]);
        }
    }
}
