//! Helpers shared by the integration tests: exhaustive enumeration of binary vectors and a
//! chi-square goodness-of-fit test.

#![allow(dead_code)]

use candle_core::{Device, Tensor};

/// All 2^d binary vectors, `(2^d, d)`, row r holding the bits of r (bit j = variable j).
pub fn all_binary(d: usize, dev: &Device) -> Tensor {
    let n = 1usize << d;
    let v: Vec<f32> = (0..n)
        .flat_map(|r| (0..d).map(move |j| ((r >> j) & 1) as f32))
        .collect();
    Tensor::from_vec(v, (n, d), dev).unwrap()
}

/// The index r of a binary vector (bit j = variable j), inverse of [`all_binary`].
pub fn index_of(bits: &[f32]) -> usize {
    bits.iter()
        .enumerate()
        .map(|(j, &b)| usize::from(b > 0.5) << j)
        .sum()
}

/// The upper 1e-6 quantile of chi-square with `df` degrees of freedom, by the
/// Wilson-Hilferty approximation df (1 - 2/(9 df) + z sqrt(2/(9 df)))^3, z = 4.753 the
/// standard normal's upper 1e-6 quantile.
pub fn chi_square_threshold(df: usize) -> f64 {
    let df = df as f64;
    let z = 4.753;
    df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3)
}

/// Pearson's statistic of `counts` (n draws) against `probs`, cells whose expected count
/// n p is below 5 pooled into one (the chi-square approximation needs expected counts of
/// about 5 or more: the sample size decides which cells stand alone). Returns the statistic
/// and its degrees of freedom.
pub fn chi_square(counts: &[usize], probs: &[f64]) -> (f64, usize) {
    let n: usize = counts.iter().sum();
    let n = n as f64;
    let (mut stat, mut cells) = (0.0, 0);
    let (mut pooled_obs, mut pooled_exp) = (0.0, 0.0);
    for (&c, &p) in counts.iter().zip(probs) {
        let e = n * p;
        if e < 5.0 {
            pooled_obs += c as f64;
            pooled_exp += e;
        } else {
            stat += (c as f64 - e).powi(2) / e;
            cells += 1;
        }
    }
    if pooled_exp > 0.0 {
        stat += (pooled_obs - pooled_exp).powi(2) / pooled_exp;
        cells += 1;
    }
    (stat, cells - 1)
}

/// Counts of each of the 2^d binary vectors among the rows of `x` `(n, d)`.
pub fn histogram(x: &Tensor, d: usize) -> Vec<usize> {
    let mut counts = vec![0usize; 1 << d];
    for row in x
        .reshape((x.dim(0).unwrap(), d))
        .unwrap()
        .to_vec2::<f32>()
        .unwrap()
    {
        counts[index_of(&row)] += 1;
    }
    counts
}
