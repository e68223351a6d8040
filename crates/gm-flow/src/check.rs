//! Numerical checks of a flow: its Jacobian by autograd, one output at a time, and the
//! log-determinant of that Jacobian, to compare with the layer's own `log |det|`. Also the
//! finite-difference Jacobian, for maps outside the autograd graph.

use candle_core::{Tensor, Var};
use gm_core::ToHostF64;

use crate::{linalg, Error, Result};

/// The Jacobian `dy/dx` of `f` at one item `x` (shape `(1, ...)`), by autograd: one backward
/// pass per output. Returns `(row-major values, outputs, inputs)`.
pub fn jacobian(
    f: impl Fn(&Tensor) -> Result<Tensor>,
    x: &Tensor,
) -> Result<(Vec<f64>, usize, usize)> {
    let var = Var::from_tensor(&x.detach())?;
    let y = f(var.as_tensor())?.flatten_all()?;
    let (m, n) = (y.elem_count(), x.elem_count());
    let mut jac = Vec::with_capacity(m * n);
    for i in 0..m {
        let grads = y.get(i)?.backward()?;
        let row = match grads.get(var.as_tensor()) {
            Some(g) => g.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?,
            None => vec![0.0; n],
        };
        jac.extend(row);
    }
    Ok((jac, m, n))
}

/// The Jacobian of `f` at `x` by central differences with step `h` (in f64, whatever the
/// dtype of `x`). Returns `(row-major values, outputs, inputs)`.
pub fn jacobian_fd(
    f: impl Fn(&Tensor) -> Result<Tensor>,
    x: &Tensor,
    h: f64,
) -> Result<(Vec<f64>, usize, usize)> {
    let x0 = x.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?;
    let n = x0.len();
    let eval = |v: &[f64]| -> Result<Vec<f64>> {
        let t = Tensor::from_vec(v.to_vec(), x.shape(), x.device())?.to_dtype(x.dtype())?;
        Ok(f(&t)?.to_host_f64()?.flatten_all()?.to_vec1::<f64>()?)
    };
    let m = eval(&x0)?.len();
    let mut jac = vec![0.0; m * n];
    for j in 0..n {
        let (mut hi, mut lo) = (x0.clone(), x0.clone());
        hi[j] += h;
        lo[j] -= h;
        let (yh, yl) = (eval(&hi)?, eval(&lo)?);
        for i in 0..m {
            jac[i * n + j] = (yh[i] - yl[i]) / (2.0 * h);
        }
    }
    Ok((jac, m, n))
}

/// `log |det J|` of a square Jacobian as returned by [`jacobian`].
pub fn log_abs_det_of(jac: &(Vec<f64>, usize, usize)) -> Result<f64> {
    let (values, m, n) = jac;
    if m != n {
        return Err(Error::Shape {
            what: "Jacobian (must be square)",
            got: vec![*m, *n],
            expected: vec![*n, *n],
        });
    }
    Ok(linalg::log_abs_det(values, *n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{checkerboard_coupling, ScaleFn};
    use crate::test_util::randomize;
    use crate::Flow;
    use candle_core::DType;
    use candle_core::Device;
    use gm_core::{GmRng, ParamStore};

    #[test]
    fn autograd_jacobian_agrees_with_central_differences() {
        // A randomised checkerboard coupling in f64: central differences with h = 1e-5 have
        // truncation error O(h^2 f''') ~ 1e-10 and rounding error O(eps / h) ~ 1e-11.
        let dev = Device::Cpu;
        let store = ParamStore::new(1);
        checkerboard_coupling(1, 4, false, ScaleFn::Tanh, store.var_builder(&dev)).unwrap();
        randomize(&store, 2, 0.5);
        let vb = candle_nn::VarBuilder::from_tensors(
            store.tensors().into_iter().collect(),
            DType::F64,
            &dev,
        );
        let layer = checkerboard_coupling(1, 4, false, ScaleFn::Tanh, vb).unwrap();
        let x = GmRng::new(3)
            .normal((1, 1, 3, 3), 0.0, 1.0, &dev)
            .unwrap()
            .to_host_f64()
            .unwrap();
        let f = |v: &Tensor| Ok(layer.forward(v)?.0);
        let (a, m, n) = jacobian(f, &x).unwrap();
        let (b, m2, n2) = jacobian_fd(f, &x, 1e-5).unwrap();
        assert_eq!((m, n), (m2, n2));
        assert_eq!((m, n), (9, 9));
        let err = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-8, "max |autograd - fd| = {err}");
        // Not trivially the identity: some off-diagonal entries are far from zero.
        assert!((0..81)
            .filter(|k| k / 9 != k % 9)
            .any(|k| a[k].abs() > 0.05));
        assert!(log_abs_det_of(&(a, m, n)).unwrap().abs() > 1e-3);
        assert!(log_abs_det_of(&(vec![0.0; 6], 2, 3)).is_err());
    }
}
