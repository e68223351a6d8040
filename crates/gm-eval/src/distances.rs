//! Blocked squared Euclidean distances `||a_i - b_j||^2 = ||a_i||^2 + ||b_j||^2 - 2 a_i . b_j`,
//! with the inner products as one matrix product per block of rows (candle, f64), so that
//! the `n x m` matrix is never held whole. Shared by the Parzen window and the
//! nearest-neighbour metrics.

use candle_core::{Tensor, D};
use gm_core::ToHostF64;

use crate::{Error, Result};

/// Points as an f64 `(n, d)` tensor with their squared norms.
pub(crate) struct Points {
    pub x: Tensor,
    pub xt: Tensor,
    pub norms: Vec<f64>,
}

impl Points {
    /// Flattens `(n, ...)` to `(n, d)` in f64.
    pub fn new(x: &Tensor, what: &'static str) -> Result<Self> {
        let dims = x.dims();
        if dims.is_empty() || dims[0] == 0 {
            return Err(Error::Shape {
                what,
                expected: "(n, ...) with n >= 1",
                found: dims.to_vec(),
            });
        }
        let x = x.flatten_from(1)?.to_host_f64()?.contiguous()?;
        let norms = x.sqr()?.sum(D::Minus1)?.to_vec1::<f64>()?;
        if norms.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput {
                what,
                reason: "holds non-finite values".into(),
            });
        }
        let xt = x.t()?.contiguous()?;
        Ok(Self { x, xt, norms })
    }

    pub fn len(&self) -> usize {
        self.norms.len()
    }

    pub fn dim(&self) -> Result<usize> {
        Ok(self.x.dim(1)?)
    }
}

/// Calls `f(i, row)` for every row `i` of `a`, `row[j] = ||a_i - b_j||^2` (clamped at 0),
/// computing `block` rows at a time.
pub(crate) fn for_each_distance_row(
    a: &Points,
    b: &Points,
    block: usize,
    mut f: impl FnMut(usize, &[f64]) -> Result<()>,
) -> Result<()> {
    if a.dim()? != b.dim()? {
        return Err(Error::InvalidInput {
            what: "distances",
            reason: format!("point dimensions differ: {} vs {}", a.dim()?, b.dim()?),
        });
    }
    let m = b.len();
    let block = block.max(1);
    let mut row = vec![0.0; m];
    for lo in (0..a.len()).step_by(block) {
        let len = block.min(a.len() - lo);
        let dots = a.x.narrow(0, lo, len)?.matmul(&b.xt)?;
        let dots = dots.flatten_all()?.to_vec1::<f64>()?;
        for r in 0..len {
            let an = a.norms[lo + r];
            for (j, out) in row.iter_mut().enumerate() {
                *out = (an + b.norms[j] - 2.0 * dots[r * m + j]).max(0.0);
            }
            f(lo + r, &row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn matches_direct_computation() {
        let dev = Device::Cpu;
        let a = Tensor::new(&[[0f32, 0.0], [1.0, 2.0], [3.0, -1.0]], &dev).unwrap();
        let b = Tensor::new(&[[1f32, 1.0], [0.0, 0.0]], &dev).unwrap();
        let (pa, pb) = (Points::new(&a, "a").unwrap(), Points::new(&b, "b").unwrap());
        let mut got = Vec::new();
        for_each_distance_row(&pa, &pb, 2, |_, r| {
            got.push(r.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![vec![2.0, 0.0], vec![1.0, 5.0], vec![8.0, 10.0]]);
    }
}
