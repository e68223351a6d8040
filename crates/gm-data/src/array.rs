//! An image array `(n, c, h, w)` of u8 pixels or f32 values as a loader reads it, the two
//! reshapes the options ask for (`--channels`: luma with ITU-R BT.709 weights, as the image
//! crate computes it, or grey replicated; `--image-size`: the centre square of each channel
//! plane resized to NxN), and the seeded holdout that turns it into train and test sets.

use std::path::Path;

use gm_core::data::Dataset;
use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, Primitive};
use rayon::prelude::*;

use crate::{DataInfo, Error, LoadOptions, Result};

/// The values of an [`Array`], row-major `(n, c, h, w)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pixels {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

/// `n` items of `c` channel planes of `h x w`, with optional labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Array {
    pub pixels: Pixels,
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub labels: Option<Vec<u32>>,
}

impl Array {
    /// The array as a data set named `name` (u8 stays u8).
    pub fn into_dataset(self, name: String) -> Result<Dataset> {
        let shape = vec![self.c, self.h, self.w];
        Ok(match self.pixels {
            Pixels::U8(v) => Dataset::from_u8(name, shape, v, self.labels)?,
            Pixels::F32(v) => Dataset::new(name, shape, v, self.labels)?,
        })
    }

    /// Applies `opts.channels` and `opts.image_size`; `source` names the file in errors.
    pub fn reshape(self, opts: &LoadOptions, source: &Path) -> Result<Array> {
        let a = match opts.channels {
            Some(k) if k != self.c => self.convert_channels(k, source)?,
            _ => self,
        };
        match opts.image_size {
            Some(s) if (a.h, a.w) != (s, s) => a.square(s, source),
            _ => Ok(a),
        }
    }

    fn convert_channels(self, k: usize, source: &Path) -> Result<Array> {
        let (c, hw) = (self.c, self.h * self.w);
        if !matches!((c, k), (1, 3) | (3, 1) | (4, 1) | (4, 3)) {
            return Err(Error::format(
                source,
                format!(
                    "items have {c} channels; --channels converts between 1 (grey) and 3 \
                     (RGB, a 4th channel taken as alpha and dropped)"
                ),
            ));
        }
        let pixels = match self.pixels {
            Pixels::U8(v) => Pixels::U8(map_items(&v, c * hw, k * hw, |src, dst| {
                convert_item(src, dst, c, k, hw, |r, g, b| {
                    // The image crate's integer luma: (2126 R + 7152 G + 722 B) / 10000.
                    ((2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b)) / 10000) as u8
                })
            })),
            Pixels::F32(v) => Pixels::F32(map_items(&v, c * hw, k * hw, |src, dst| {
                convert_item(src, dst, c, k, hw, |r, g, b| {
                    0.2126 * r + 0.7152 * g + 0.0722 * b
                })
            })),
        };
        Ok(Array {
            pixels,
            c: k,
            ..self
        })
    }

    fn square(self, s: usize, source: &Path) -> Result<Array> {
        let (h, w, c) = (self.h, self.w, self.c);
        let dims = |v: usize| {
            u32::try_from(v)
                .map_err(|_| Error::format(source, format!("dimension {v} is too large")))
        };
        let (h32, w32, s32) = (dims(h)?, dims(w)?, dims(s)?);
        let pixels = match self.pixels {
            Pixels::U8(v) => Pixels::U8(map_items(&v, c * h * w, c * s * s, |src, dst| {
                square_planes(src, dst, (h32, w32), s32)
            })),
            Pixels::F32(v) => Pixels::F32(map_items(&v, c * h * w, c * s * s, |src, dst| {
                square_planes(src, dst, (h32, w32), s32)
            })),
        };
        Ok(Array {
            pixels,
            h: s,
            w: s,
            ..self
        })
    }

    /// Splits into `(train, test)` by [`Dataset::split_seeded`]: `opts.holdout` of the items,
    /// at least one, held out.
    pub fn split_holdout(
        self,
        name: &str,
        opts: &LoadOptions,
        source: &Path,
        info: &mut DataInfo,
    ) -> Result<(Dataset, Dataset)> {
        let n = self.n;
        if n < 2 {
            return Err(Error::format(
                source,
                format!("holds {n} item(s): at least 2 are needed to hold out a test set"),
            ));
        }
        let n_hold = ((opts.holdout * n as f64).round() as usize).clamp(1, n - 1);
        info.notes.push(format!(
            "test set: {n_hold} of {n} items held out at random (--holdout {}, seed {})",
            opts.holdout, opts.seed
        ));
        let all = self.into_dataset(name.to_string())?;
        Ok(all.split_seeded(n_hold, opts.seed)?)
    }
}

/// Maps each item of `src` (`d_in` values) to one of `d_out` values, in parallel.
fn map_items<T: Copy + Default + Send + Sync>(
    src: &[T],
    d_in: usize,
    d_out: usize,
    f: impl Fn(&[T], &mut [T]) + Sync,
) -> Vec<T> {
    let n = src.len().checked_div(d_in).unwrap_or(0);
    let mut out = vec![T::default(); n * d_out];
    out.par_chunks_mut(d_out.max(1))
        .zip(src.par_chunks(d_in.max(1)))
        .for_each(|(dst, s)| f(s, dst));
    out
}

/// Converts one item of `c` planes into `k` planes (`(c, k)` checked by the caller).
fn convert_item<T: Copy>(
    src: &[T],
    dst: &mut [T],
    c: usize,
    k: usize,
    hw: usize,
    luma: impl Fn(T, T, T) -> T,
) {
    if c == 1 {
        for p in 0..k {
            dst[p * hw..(p + 1) * hw].copy_from_slice(&src[..hw]);
        }
        return;
    }
    let (r, g, b) = (&src[..hw], &src[hw..2 * hw], &src[2 * hw..3 * hw]);
    if k == 1 {
        for (((d, &r), &g), &b) in dst.iter_mut().zip(r).zip(g).zip(b) {
            *d = luma(r, g, b);
        }
    } else {
        dst.copy_from_slice(&src[..3 * hw]);
    }
}

/// The centre square of each `h x w` plane of `src`, resized to `s x s` into `dst`.
fn square_planes<T>(src: &[T], dst: &mut [T], (h, w): (u32, u32), s: u32)
where
    T: Primitive + 'static,
    Luma<T>: image::Pixel<Subpixel = T>,
{
    let (hw, ss) = (h as usize * w as usize, s as usize * s as usize);
    for (plane, out) in src.chunks(hw).zip(dst.chunks_mut(ss)) {
        // The buffer has exactly h * w values, so `from_raw` cannot fail; skip if it did.
        let Some(img) = ImageBuffer::<Luma<T>, Vec<T>>::from_raw(w, h, plane.to_vec()) else {
            continue;
        };
        let side = h.min(w);
        let crop = imageops::crop_imm(&img, (w - side) / 2, (h - side) / 2, side, side).to_image();
        let resized = if side == s {
            crop
        } else {
            imageops::resize(&crop, s, s, FilterType::Triangle)
        };
        out.copy_from_slice(resized.as_raw());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(n: usize, h: usize, w: usize) -> Array {
        Array {
            pixels: Pixels::U8((0..n * h * w).map(|i| (i % 251) as u8).collect()),
            n,
            c: 1,
            h,
            w,
            labels: None,
        }
    }

    #[test]
    fn grey_to_rgb_replicates_and_back_is_exact() {
        let a = grey(2, 3, 4);
        let opts = |c| LoadOptions {
            channels: Some(c),
            ..LoadOptions::default()
        };
        let rgb = a.clone().reshape(&opts(3), Path::new("x")).unwrap();
        assert_eq!(rgb.c, 3);
        let Pixels::U8(v) = &rgb.pixels else { panic!() };
        let Pixels::U8(g) = &a.pixels else { panic!() };
        assert_eq!(&v[..12], &g[..12]);
        assert_eq!(&v[24..36], &g[..12]);
        // R = G = B = v has luma (2126 + 7152 + 722) v / 10000 = v.
        let back = rgb.reshape(&opts(1), Path::new("x")).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn two_channels_cannot_be_converted() {
        let mut a = grey(1, 2, 2);
        a.c = 2;
        a.h = 1;
        let e = a
            .reshape(
                &LoadOptions {
                    channels: Some(3),
                    ..LoadOptions::default()
                },
                Path::new("arr.npy"),
            )
            .unwrap_err();
        assert!(e.to_string().contains("arr.npy") && e.to_string().contains("2 channels"));
    }

    #[test]
    fn square_crops_the_centre_of_a_wide_image() {
        // 2 x 4 plane; the centre 2 x 2 square is columns 1 and 2.
        let a = Array {
            pixels: Pixels::F32(vec![0., 1., 2., 3., 4., 5., 6., 7.]),
            n: 1,
            c: 1,
            h: 2,
            w: 4,
            labels: None,
        };
        let o = LoadOptions {
            image_size: Some(2),
            ..LoadOptions::default()
        };
        let b = a.reshape(&o, Path::new("x")).unwrap();
        assert_eq!((b.h, b.w), (2, 2));
        assert_eq!(b.pixels, Pixels::F32(vec![1., 2., 5., 6.]));
    }

    #[test]
    fn holdout_keeps_at_least_one_item_each_side() {
        let mut info = DataInfo::new(crate::DataKind::Npy);
        let o = LoadOptions {
            holdout: 0.0,
            ..LoadOptions::default()
        };
        let (tr, te) = grey(5, 2, 2)
            .split_holdout("t", &o, Path::new("x"), &mut info)
            .unwrap();
        assert_eq!((tr.len(), te.len()), (4, 1));
        let e = grey(1, 2, 2)
            .split_holdout("t", &o, Path::new("one.npy"), &mut info)
            .unwrap_err();
        assert!(e.to_string().contains("one.npy"), "{e}");
    }
}
