//! Latent interpolation for any [`crate::Generator`]: linear and spherical paths between
//! latent pairs (Radford et al. 2016, section 6; White 2016, "Sampling generative networks")
//! and walks of several points, one walk per row.

use candle_core::Tensor;

use crate::{Error, Result};

/// `(1 - t) a + t b`.
pub fn lerp(a: &Tensor, b: &Tensor, t: f64) -> Result<Tensor> {
    Ok((a.affine(1.0 - t, 0.0)? + b.affine(t, 0.0)?)?)
}

/// Spherical interpolation of each row pair: `sin((1 - t) o) / sin o a + sin(t o) / sin o b`
/// with `o` the angle between the rows; linear where the rows are (anti)parallel.
pub fn slerp(a: &Tensor, b: &Tensor, t: f64) -> Result<Tensor> {
    let (av, bv) = (a.to_vec2::<f32>()?, b.to_vec2::<f32>()?);
    let mut out = Vec::new();
    for (x, y) in av.iter().zip(&bv) {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(p, q)| (*p as f64) * (*q as f64))
            .sum();
        let nx = x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
        let ny = y.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
        let cos = (dot / (nx * ny).max(1e-12)).clamp(-1.0, 1.0);
        let o = cos.acos();
        let (s0, s1) = if o.sin().abs() < 1e-6 {
            (1.0 - t, t)
        } else {
            (((1.0 - t) * o).sin() / o.sin(), (t * o).sin() / o.sin())
        };
        out.extend(
            x.iter()
                .zip(y)
                .map(|(p, q)| (s0 * *p as f64 + s1 * *q as f64) as f32),
        );
    }
    Ok(Tensor::from_vec(out, a.dims(), a.device())?)
}

/// Latents of `rows` walks of `steps` points each, from `start[r]` to `end[r]`, row-major
/// `(rows * steps, d)`.
pub fn interpolation_latents(
    start: &Tensor,
    end: &Tensor,
    steps: usize,
    spherical: bool,
) -> Result<Tensor> {
    if steps < 2 {
        return Err(Error::Config {
            field: "steps",
            value: steps.to_string(),
            reason: "a walk needs at least 2 points",
        });
    }
    if start.dims() != end.dims() || start.rank() != 2 {
        return Err(Error::Config {
            field: "end",
            value: format!("{:?} against start {:?}", end.dims(), start.dims()),
            reason: "a walk's end points have the start points' shape (rows, d)",
        });
    }
    let pts: Vec<Tensor> = (0..steps)
        .map(|k| {
            let t = k as f64 / (steps - 1) as f64;
            if spherical {
                slerp(start, end, t)
            } else {
                lerp(start, end, t)
            }
        })
        .collect::<Result<_>>()?;
    // (steps, rows, d) -> (rows, steps, d): one walk per grid row.
    let s = Tensor::stack(&pts, 0)?.transpose(0, 1)?.contiguous()?;
    let (r, k, d) = s.dims3()?;
    Ok(s.reshape((r * k, d))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GmRng;
    use candle_core::Device;

    #[test]
    fn walks_start_and_end_at_their_points() {
        let dev = Device::Cpu;
        let mut rng = GmRng::new(0);
        let a = rng.normal((3, 5), 0.0, 1.0, &dev).unwrap();
        let b = rng.normal((3, 5), 0.0, 1.0, &dev).unwrap();
        for spherical in [false, true] {
            let z = interpolation_latents(&a, &b, 4, spherical).unwrap();
            assert_eq!(z.dims(), &[12, 5]);
            let z = z.to_vec2::<f32>().unwrap();
            let (av, bv) = (a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
            for r in 0..3 {
                for j in 0..5 {
                    assert!((z[4 * r][j] - av[r][j]).abs() < 1e-5);
                    assert!((z[4 * r + 3][j] - bv[r][j]).abs() < 1e-5);
                }
            }
        }
        assert!(interpolation_latents(&a, &b, 1, false).is_err());
    }

    #[test]
    fn slerp_keeps_the_norm_of_equal_norm_points() {
        let dev = Device::Cpu;
        let a = Tensor::new(&[[3f32, 0.0]], &dev).unwrap();
        let b = Tensor::new(&[[0f32, 3.0]], &dev).unwrap();
        let m = slerp(&a, &b, 0.5).unwrap().to_vec2::<f32>().unwrap();
        let norm = (m[0][0].powi(2) + m[0][1].powi(2)).sqrt();
        assert!((norm - 3.0).abs() < 1e-5, "{m:?}");
        let l = lerp(&a, &b, 0.5).unwrap().to_vec2::<f32>().unwrap();
        assert!((l[0][0] - 1.5).abs() < 1e-6);
    }
}
