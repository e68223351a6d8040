//! Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for
//! Data-Efficient GAN Training"): the same random transformations are applied to the real and
//! the generated batches the critic sees, and to the generated batch of the generator's loss,
//! so the generator is trained through them. Each item draws its own parameters:
//!
//! - colour: brightness `x + b`, `b ~ U[-0.5, 0.5)`; saturation `(x - m_c) s + m_c`, `m_c` the
//!   mean over channels, `s ~ U[0, 2)`; contrast `(x - m) c + m`, `m` the item's mean,
//!   `c ~ U[0.5, 1.5)`;
//! - translation: a shift by whole pixels, uniform in `[-r, r]` per axis with `r = round(side
//!   / 8)`, zero filled (as a product with two shift matrices, so its gradient is exact);
//! - cutout: a square of half the side, centred uniformly, set to 0.
//!
//! Images are `(n, c, h, w)` in network space (`[-1, 1]` for tanh generators). All draws come
//! from the loop's [`GmRng`], so augmented runs stay reproducible.

use candle_core::Tensor;
use gm_core::GmRng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One DiffAugment transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Augment {
    /// Random brightness, saturation and contrast.
    Color,
    /// A random shift by whole pixels, up to [`TRANSLATION_RATIO`] of the side, zero filled.
    Translation,
    /// A square of [`CUTOUT_RATIO`] of the side, centred at random, set to 0.
    Cutout,
}

/// The largest translation as a share of the side.
pub const TRANSLATION_RATIO: f64 = 0.125;
/// The cutout square's side as a share of the image's side.
pub const CUTOUT_RATIO: f64 = 0.5;

impl Augment {
    /// Every transformation, in the order DiffAugment applies them.
    pub const ALL: [Augment; 3] = [Augment::Color, Augment::Translation, Augment::Cutout];

    /// The transformation's name in a policy: `color`, `translation` or `cutout`.
    pub fn name(&self) -> &'static str {
        match self {
            Augment::Color => "color",
            Augment::Translation => "translation",
            Augment::Cutout => "cutout",
        }
    }

    /// A comma-separated policy such as `color,translation,cutout` (empty: none).
    pub fn parse_policy(s: &str) -> Result<Vec<Augment>> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                Augment::ALL
                    .into_iter()
                    .find(|a| a.name() == p || (p == "colour" && *a == Augment::Color))
                    .ok_or_else(|| {
                        Error::config(
                            "diff_augment",
                            p,
                            "unknown transformation: use color, translation or cutout",
                        )
                    })
            })
            .collect()
    }
}

/// `x` `(n, c, h, w)` through each transformation of `policy` in turn.
pub fn diff_augment(x: &Tensor, policy: &[Augment], rng: &mut GmRng) -> Result<Tensor> {
    if policy.is_empty() {
        return Ok(x.clone());
    }
    if x.rank() != 4 {
        return Err(Error::Shape {
            what: "diff_augment input (n, c, h, w)",
            got: x.dims().to_vec(),
            expected: vec![0, 0, 0, 0],
        });
    }
    let mut h = x.clone();
    for op in policy {
        h = match op {
            Augment::Color => color(&h, rng)?,
            Augment::Translation => translation(&h, rng)?,
            Augment::Cutout => cutout(&h, rng)?,
        };
    }
    Ok(h)
}

/// One value per item, `U[lo, hi)`, shaped `(n, 1, 1, 1)` like `x`.
fn per_item(x: &Tensor, rng: &mut GmRng, lo: f32, hi: f32) -> Result<Tensor> {
    let n = x.dim(0)?;
    let v = rng.uniform_vec(n, lo, hi);
    Ok(Tensor::from_vec(v, (n, 1, 1, 1), x.device())?.to_dtype(x.dtype())?)
}

fn color(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let n = x.dim(0)?;
    let x = x.broadcast_add(&per_item(x, rng, -0.5, 0.5)?)?;
    let m = x.mean_keepdim(1)?;
    let s = per_item(&x, rng, 0.0, 2.0)?;
    let x = x.broadcast_sub(&m)?.broadcast_mul(&s)?.broadcast_add(&m)?;
    let m = x.flatten_from(1)?.mean_keepdim(1)?.reshape((n, 1, 1, 1))?;
    let c = per_item(&x, rng, 0.5, 1.5)?;
    Ok(x.broadcast_sub(&m)?.broadcast_mul(&c)?.broadcast_add(&m)?)
}

/// Whole numbers uniform in `[lo, lo + count)`, one per item.
fn integers(rng: &mut GmRng, n: usize, lo: i64, count: usize) -> Vec<i64> {
    rng.uniform_vec(n, 0.0, 1.0)
        .into_iter()
        .map(|u| lo + ((u as f64 * count as f64).floor() as i64).min(count as i64 - 1))
        .collect()
}

/// The shifts of each item along one axis of `size` pixels.
fn shifts(rng: &mut GmRng, n: usize, size: usize) -> Vec<i64> {
    let r = (size as f64 * TRANSLATION_RATIO + 0.5) as i64;
    integers(rng, n, -r, (2 * r + 1) as usize)
}

/// `(n, size, size)` matrices `S` with `S[i][a][b] = 1` where `a = b + shift_i` (rows), so
/// that `S x` moves rows down by the shift; transposed for columns (`x S^T`).
fn shift_matrices(shifts: &[i64], size: usize, transpose: bool) -> Vec<f32> {
    let mut m = vec![0f32; shifts.len() * size * size];
    for (i, &s) in shifts.iter().enumerate() {
        for a in 0..size as i64 {
            let b = a - s;
            if (0..size as i64).contains(&b) {
                let (r, c) = if transpose { (b, a) } else { (a, b) };
                m[i * size * size + r as usize * size + c as usize] = 1.0;
            }
        }
    }
    m
}

fn translation(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (dy, dx) = (shifts(rng, n, h), shifts(rng, n, w));
    let dev = x.device();
    let rows = Tensor::from_vec(shift_matrices(&dy, h, false), (n, 1, h, h), dev)?
        .to_dtype(x.dtype())?
        .broadcast_as((n, c, h, h))?
        .contiguous()?;
    let cols = Tensor::from_vec(shift_matrices(&dx, w, true), (n, 1, w, w), dev)?
        .to_dtype(x.dtype())?
        .broadcast_as((n, c, w, w))?
        .contiguous()?;
    Ok(rows.matmul(&x.contiguous()?)?.matmul(&cols)?)
}

/// The `[start, end)` of a cutout along an axis of `size` pixels.
fn cut_span(offset: i64, cut: usize, size: usize) -> (usize, usize) {
    let start = offset - (cut / 2) as i64;
    let end = start + cut as i64;
    (start.max(0) as usize, end.clamp(0, size as i64) as usize)
}

fn cutout(x: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
    let (n, _, h, w) = x.dims4()?;
    let ch = (h as f64 * CUTOUT_RATIO + 0.5) as usize;
    let cw = (w as f64 * CUTOUT_RATIO + 0.5) as usize;
    let oy = integers(rng, n, 0, h + (1 - ch % 2));
    let ox = integers(rng, n, 0, w + (1 - cw % 2));
    let mut mask = vec![1f32; n * h * w];
    for i in 0..n {
        let (y0, y1) = cut_span(oy[i], ch, h);
        let (x0, x1) = cut_span(ox[i], cw, w);
        for y in y0..y1 {
            mask[i * h * w + y * w + x0..i * h * w + y * w + x1].fill(0.0);
        }
    }
    let mask = Tensor::from_vec(mask, (n, 1, h, w), x.device())?.to_dtype(x.dtype())?;
    Ok(x.broadcast_mul(&mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    fn host(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn translation_moves_each_item_by_its_own_whole_shift() {
        let dev = Device::Cpu;
        let (n, side) = (400, 28);
        // One lit pixel in the middle of each item.
        let mut px = vec![0f32; n * side * side];
        for i in 0..n {
            px[i * side * side + 14 * side + 14] = 1.0;
        }
        let x = Tensor::from_vec(px, (n, 1, side, side), &dev).unwrap();
        let y = diff_augment(&x, &[Augment::Translation], &mut GmRng::new(3)).unwrap();
        let v = host(&y);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..n {
            let item = &v[i * side * side..(i + 1) * side * side];
            let lit: Vec<usize> = (0..item.len()).filter(|&k| item[k] != 0.0).collect();
            assert_eq!(lit.len(), 1, "item {i}: one pixel, moved whole");
            assert_eq!(item[lit[0]], 1.0);
            let dy = (lit[0] / side) as i64 - 14;
            let dx = (lit[0] % side) as i64 - 14;
            assert!(dy.abs() <= 4 && dx.abs() <= 4, "shift ({dy}, {dx})");
            seen.insert((dy, dx));
        }
        // r = round(28 / 8) = 4: 81 possible shifts, 400 draws see nearly all of them.
        assert!(seen.len() > 70, "{} distinct shifts", seen.len());
        // A shifted image of ones keeps exactly the overlap: zero filled, nothing wraps.
        let ones = Tensor::ones((50, 1, side, side), DType::F32, &dev).unwrap();
        let y = diff_augment(&ones, &[Augment::Translation], &mut GmRng::new(4)).unwrap();
        let v = host(&y);
        for i in 0..50 {
            let item = &v[i * side * side..(i + 1) * side * side];
            let rows = (0..side)
                .filter(|r| item[r * side..(r + 1) * side].iter().any(|&p| p != 0.0))
                .count();
            let cols = (0..side)
                .filter(|c| (0..side).any(|r| item[r * side + c] != 0.0))
                .count();
            let sum: f32 = item.iter().sum();
            assert_eq!(sum as usize, rows * cols);
            assert!(rows >= side - 4 && cols >= side - 4);
        }
    }

    #[test]
    fn cutout_zeroes_one_square_of_half_the_side() {
        let dev = Device::Cpu;
        let (n, side) = (300, 28);
        let ones = Tensor::ones((n, 2, side, side), DType::F32, &dev).unwrap();
        let y = diff_augment(&ones, &[Augment::Cutout], &mut GmRng::new(5)).unwrap();
        let v = host(&y);
        let mut inside = 0;
        for i in 0..n {
            let item = &v[i * 2 * side * side..i * 2 * side * side + side * side];
            let zero: Vec<usize> = (0..item.len()).filter(|&k| item[k] == 0.0).collect();
            let rows: std::collections::BTreeSet<usize> = zero.iter().map(|k| k / side).collect();
            let cols: std::collections::BTreeSet<usize> = zero.iter().map(|k| k % side).collect();
            // The zeros form one axis-aligned rectangle, at most 14 x 14.
            assert_eq!(zero.len(), rows.len() * cols.len(), "item {i}");
            assert!(rows.len() <= 14 && cols.len() <= 14 && !zero.is_empty());
            inside += usize::from(zero.len() == 14 * 14);
            // Both channels share the mask.
            let other = &v[i * 2 * side * side + side * side..(i + 1) * 2 * side * side];
            assert_eq!(item, other);
        }
        // Centres uniform over 0..28 (the side is even): the square fits whole when the
        // centre lies in 7..=21, 15 of 28 positions per axis, (15/28)^2 = 0.287.
        let share = inside as f64 / n as f64;
        let p = (15.0f64 / 28.0).powi(2);
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!((share - p).abs() < 4.0 * sd, "{share} vs {p}");
    }

    #[test]
    fn color_is_an_affine_map_of_each_grey_item_within_the_ranges() {
        let dev = Device::Cpu;
        let (n, side) = (200, 8);
        let x = GmRng::new(1)
            .uniform((n, 1, side, side), -1.0, 1.0, &dev)
            .unwrap();
        let y = diff_augment(&x, &[Augment::Color], &mut GmRng::new(2)).unwrap();
        let (xv, yv) = (host(&x), host(&y));
        let k = side * side;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for i in 0..n {
            let a = &xv[i * k..(i + 1) * k];
            let b = &yv[i * k..(i + 1) * k];
            // One channel: saturation is the identity, so y = c (x + b - m) + m with
            // m = mean(x) + b: the slope is c, the mean moves by b.
            let ma = a.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
            let mb = b.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
            let c = (b[0] as f64 - mb) / (a[0] as f64 - ma);
            for j in 0..k {
                let want = c * (a[j] as f64 - ma) + mb;
                assert!((b[j] as f64 - want).abs() < 1e-4, "item {i} pixel {j}");
            }
            assert!((0.5..1.5).contains(&c), "contrast {c}");
            assert!((mb - ma).abs() <= 0.5, "brightness {}", mb - ma);
            lo = lo.min(c);
            hi = hi.max(c);
        }
        assert!(lo < 0.55 && hi > 1.45, "contrast range [{lo}, {hi}]");
        // Colour: saturation scales each pixel's distance from its channel mean.
        let rgb = Tensor::from_vec(vec![1f32, -1.0, 0.0], (1, 3, 1, 1), &dev).unwrap();
        let mut rng = GmRng::new(9);
        let y = host(&diff_augment(&rgb, &[Augment::Color], &mut rng.clone()).unwrap());
        let d = rng.uniform_vec(3, 0.0, 1.0);
        let (b, s, c) = (d[0] - 0.5, 2.0 * d[1], d[2] + 0.5);
        // Mean over channels 0 (+ b); the item mean equals it, so contrast scales by c too.
        for (yi, xi) in y.iter().zip([1f32, -1.0, 0.0]) {
            let want = xi * s * c + b;
            assert!((yi - want).abs() < 1e-5, "{yi} vs {want}");
        }
    }

    #[test]
    fn gradients_flow_through_every_transformation() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(
            &GmRng::new(1)
                .uniform((4, 3, 16, 16), -1.0, 1.0, &dev)
                .unwrap(),
        )
        .unwrap();
        let mut rng = GmRng::new(7);
        let y = diff_augment(x.as_tensor(), &Augment::ALL, &mut rng).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = host(g.get(x.as_tensor()).unwrap());
        assert!(g.iter().any(|&v| v != 0.0));
        // Same seed, same batch: the same augmentation.
        let again = diff_augment(x.as_tensor(), &Augment::ALL, &mut GmRng::new(7)).unwrap();
        assert_eq!(host(&y), host(&again));
        assert!(
            diff_augment(x.as_tensor(), &Augment::ALL, &mut GmRng::new(8))
                .map(|t| host(&t) != host(&y))
                .unwrap()
        );
    }

    #[test]
    fn policies_parse_and_bad_names_are_refused() {
        assert_eq!(
            Augment::parse_policy("color, translation,cutout").unwrap(),
            Augment::ALL.to_vec()
        );
        assert!(Augment::parse_policy("").unwrap().is_empty());
        let e = Augment::parse_policy("color,flip").unwrap_err().to_string();
        assert!(e.contains("flip") && e.contains("diff_augment"), "{e}");
    }
}
