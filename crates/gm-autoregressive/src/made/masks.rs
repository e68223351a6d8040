//! MADE's masks (Germain et al., 2015, section 4). Each input d gets a degree m^0(d) in
//! 1..=D (its position in the ordering), each hidden unit k of layer l a degree m^l(k) in
//! min_k' m^{l-1}(k') ..= D - 1, and
//!
//! - hidden layer l: M^l[k, k'] = 1 if m^l(k) >= m^{l-1}(k'),
//! - output layer:   M^V[d, k]  = 1 if m^0(d) > m^L(k)   (strict),
//!
//! so that output d (the conditional of x_d) depends only on inputs of smaller degree, the
//! variables before x_d in the ordering. A [`MaskSet`] is one such connectivity; a pool of
//! them (for order-agnostic and connectivity-agnostic training) is a pure function of the
//! configuration and its seed ([`mask_pool`]).

use gm_core::GmRng;
use rand::Rng;

use crate::{Error, Result};

/// One MADE connectivity: the degrees of the inputs (the ordering) and of every hidden unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskSet {
    input_degrees: Vec<usize>,
    hidden_degrees: Vec<Vec<usize>>,
}

impl MaskSet {
    /// A connectivity from explicit degrees: `input_degrees` must be a permutation of 1..=D
    /// and every hidden degree must lie in 1..=D-1.
    pub fn new(input_degrees: Vec<usize>, hidden_degrees: Vec<Vec<usize>>) -> Result<Self> {
        let d = input_degrees.len();
        let mut seen = vec![false; d + 1];
        for &m in &input_degrees {
            if m == 0 || m > d || seen[m] {
                return Err(Error::config(
                    "input_degrees",
                    format!("{input_degrees:?}"),
                    "must be a permutation of 1..=D",
                ));
            }
            seen[m] = true;
        }
        if hidden_degrees
            .iter()
            .flatten()
            .any(|&m| m == 0 || m + 1 > d)
        {
            return Err(Error::config(
                "hidden_degrees",
                format!("{hidden_degrees:?}"),
                "every hidden degree must lie in 1..=D-1",
            ));
        }
        Ok(Self {
            input_degrees,
            hidden_degrees,
        })
    }

    /// Draws a connectivity for `d` inputs and hidden layers of the sizes `hidden`: a random
    /// ordering if `order_agnostic` (else the natural one, m^0(d) = d + 1), then each hidden
    /// degree uniform on min(previous layer's degrees) ..= D - 1. Needs `d >= 2`.
    pub fn sample(d: usize, hidden: &[usize], order_agnostic: bool, rng: &mut GmRng) -> Self {
        let mut input_degrees = vec![0; d];
        let order: Vec<usize> = if order_agnostic {
            rng.permutation(d)
        } else {
            (0..d).collect()
        };
        for (pos, &var) in order.iter().enumerate() {
            input_degrees[var] = pos + 1;
        }
        let mut low = 1;
        let mut hidden_degrees = Vec::with_capacity(hidden.len());
        for &h in hidden {
            let top = d.saturating_sub(1).max(low);
            let layer: Vec<usize> = (0..h).map(|_| rng.random_range(low..=top)).collect();
            low = layer.iter().copied().min().unwrap_or(low);
            hidden_degrees.push(layer);
        }
        Self {
            input_degrees,
            hidden_degrees,
        }
    }

    /// Number of inputs D.
    pub fn dim(&self) -> usize {
        self.input_degrees.len()
    }

    /// m^0: the position (from 1) of each input in the ordering.
    pub fn input_degrees(&self) -> &[usize] {
        &self.input_degrees
    }

    /// m^l for each hidden layer l = 1..=L.
    pub fn hidden_degrees(&self) -> &[Vec<usize>] {
        &self.hidden_degrees
    }

    /// The inputs in the order the model generates them (the inverse of m^0).
    pub fn ordering(&self) -> Vec<usize> {
        let mut order = vec![0; self.dim()];
        for (var, &m) in self.input_degrees.iter().enumerate() {
            order[m - 1] = var;
        }
        order
    }

    /// The 0/1 masks of the L + 1 layers, each `(out, in)` row-major with its shape:
    /// hidden layers by `m^l(k) >= m^{l-1}(k')`, the output layer by `m^0(d) > m^L(k)`.
    pub fn layer_masks(&self) -> Vec<(Vec<f32>, (usize, usize))> {
        let mut out = Vec::with_capacity(self.hidden_degrees.len() + 1);
        let mut prev: &[usize] = &self.input_degrees;
        for layer in &self.hidden_degrees {
            let m = layer
                .iter()
                .flat_map(|&k| prev.iter().map(move |&j| f32::from(u8::from(k >= j))))
                .collect();
            out.push((m, (layer.len(), prev.len())));
            prev = layer;
        }
        let m = self
            .input_degrees
            .iter()
            .flat_map(|&d| prev.iter().map(move |&k| f32::from(u8::from(d > k))))
            .collect();
        out.push((m, (self.dim(), prev.len())));
        out
    }
}

/// The pool of `num_masks` connectivities of a MADE with `d` inputs and hidden sizes
/// `hidden`, drawn in turn from `GmRng::new(seed)`: the same arguments give the same pool.
pub fn mask_pool(
    d: usize,
    hidden: &[usize],
    num_masks: usize,
    order_agnostic: bool,
    seed: u64,
) -> Vec<MaskSet> {
    let mut rng = GmRng::new(seed);
    (0..num_masks)
        .map(|_| MaskSet::sample(d, hidden, order_agnostic, &mut rng))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_mask_is_strict_and_hidden_masks_are_not() {
        // D = 3 in natural order, one hidden layer with degrees 1 and 2.
        let m = MaskSet::new(vec![1, 2, 3], vec![vec![1, 2]]).unwrap();
        let masks = m.layer_masks();
        // Hidden unit of degree 1 sees x_1; of degree 2 sees x_1, x_2.
        assert_eq!(masks[0], (vec![1., 0., 0., 1., 1., 0.], (2, 3)));
        // Output 1 sees nothing, output 2 the degree-1 unit, output 3 both.
        assert_eq!(masks[1], (vec![0., 0., 1., 0., 1., 1.], (3, 2)));
    }

    #[test]
    fn sampled_degrees_lie_in_their_ranges() {
        let mut rng = GmRng::new(3);
        for order_agnostic in [false, true] {
            let m = MaskSet::sample(10, &[20, 7], order_agnostic, &mut rng);
            let mut deg = m.input_degrees().to_vec();
            deg.sort_unstable();
            assert_eq!(deg, (1..=10).collect::<Vec<_>>());
            let h = m.hidden_degrees();
            assert!(h[0].iter().all(|&k| (1..=9).contains(&k)));
            let low = h[0].iter().copied().min().unwrap();
            assert!(h[1].iter().all(|&k| (low..=9).contains(&k)));
            let order = m.ordering();
            for (pos, &var) in order.iter().enumerate() {
                assert_eq!(m.input_degrees()[var], pos + 1);
            }
            if !order_agnostic {
                assert_eq!(order, (0..10).collect::<Vec<_>>());
            }
        }
    }

    /// Value stability: a saved model stores only its config, so the pool drawn from a seed
    /// must never change. These degrees pin `mask_pool(6, [4], 2, true, 7)`.
    #[test]
    fn the_pool_of_a_seed_is_pinned() {
        let pool = mask_pool(6, &[4], 2, true, 7);
        let got: Vec<(Vec<usize>, Vec<usize>)> = pool
            .iter()
            .map(|m| (m.input_degrees().to_vec(), m.hidden_degrees()[0].clone()))
            .collect();
        let pinned = vec![
            (vec![6, 1, 2, 3, 4, 5], vec![4, 1, 4, 1]),
            (vec![3, 4, 2, 6, 5, 1], vec![2, 5, 2, 2]),
        ];
        assert_eq!(got, pinned);
        assert_eq!(pool, mask_pool(6, &[4], 2, true, 7));
        assert_ne!(pool, mask_pool(6, &[4], 2, true, 8));
    }

    #[test]
    fn bad_degrees_are_refused() {
        assert!(MaskSet::new(vec![1, 1, 3], vec![]).is_err());
        assert!(MaskSet::new(vec![1, 2, 4], vec![]).is_err());
        assert!(MaskSet::new(vec![1, 2, 3], vec![vec![3]]).is_err());
        assert!(MaskSet::new(vec![1, 2, 3], vec![vec![0]]).is_err());
    }
}
