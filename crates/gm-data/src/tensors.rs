//! Arrays in tensor files: `.safetensors` (Hugging Face) and `.npy` (NumPy's format: a magic
//! string, a header dictionary, then the raw values).
//!
//! Images are u8 (pixels, read as `v / 255`) or floats (kept as f32 as they are; f16, bf16
//! and f64 are converted), of shape `(n, h, w)`, `(n, c, h, w)` or `(n, h, w, c)`: a 4-D
//! array is taken as channels-last when its last dimension is 1 or 3 and its second is not.
//! In a `.safetensors` file the images are the tensor named `images` or `x`, or the only
//! tensor; labels, optional, are the integer tensor named `labels` or `y`.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::array::{Array, Pixels};
use crate::{data_name, numbered_classes, DataInfo, DataKind, Error, LoadOptions, Loaded, Result};

/// Reads a `.safetensors` file (see the module documentation).
pub fn load_safetensors(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::format(path, format!("not a valid safetensors file: {e}")))?;
    let mut names = st.names();
    names.sort_unstable();
    let images_name = ["images", "x"]
        .into_iter()
        .find(|n| names.contains(n))
        .or_else(|| {
            let others: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| !["labels", "y"].contains(n))
                .collect();
            match others[..] {
                [only] => Some(only),
                _ => None,
            }
        })
        .ok_or_else(|| {
            Error::format(
                path,
                format!(
                    "holds tensors {names:?}: name the images `images` or `x` (and the labels \
                     `labels` or `y`)"
                ),
            )
        })?;
    let view = st
        .tensor(images_name)
        .map_err(|e| Error::format(path, e.to_string()))?;
    let what = format!("tensor `{images_name}`");
    let values = match view.dtype() {
        Dtype::U8 => Pixels::U8(view.data().to_vec()),
        Dtype::F32 => Pixels::F32(floats(view.data(), 4, |b| {
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        })),
        Dtype::F64 => Pixels::F32(floats(view.data(), 8, |b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        })),
        Dtype::F16 => Pixels::F32(floats(view.data(), 2, |b| {
            half::f16::from_le_bytes([b[0], b[1]]).to_f32()
        })),
        Dtype::BF16 => Pixels::F32(floats(view.data(), 2, |b| {
            half::bf16::from_le_bytes([b[0], b[1]]).to_f32()
        })),
        other => {
            return Err(Error::format(
                path,
                format!("{what} has dtype {other:?}; images must be U8, F16, BF16, F32 or F64"),
            ))
        }
    };
    let mut array = layout(path, &what, view.shape(), values)?;
    let labels_name = ["labels", "y"].into_iter().find(|n| names.contains(n));
    if let Some(ln) = labels_name {
        let lv = st
            .tensor(ln)
            .map_err(|e| Error::format(path, e.to_string()))?;
        let labels = integer_labels(path, ln, lv.dtype(), lv.data())?;
        if lv.shape().len() != 1 || labels.len() != array.n {
            return Err(Error::format(
                path,
                format!(
                    "tensor `{ln}` has shape {:?}; labels must be one per image, ({},)",
                    lv.shape(),
                    array.n
                ),
            ));
        }
        array.labels = Some(labels);
    }
    finish(path, array, DataKind::Safetensors, opts)
}

/// Reads a `.npy` file (see the module documentation).
pub fn load_npy(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    opts.validate()?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (header, data) = npy_header(path, &bytes)?;
    let descr = dict_value(&header, "descr")
        .ok_or_else(|| Error::format(path, format!("npy header has no `descr`: {header}")))?;
    let fortran = dict_value(&header, "fortran_order").unwrap_or("False");
    if fortran.trim() != "False" {
        return Err(Error::format(
            path,
            "is in Fortran order; save it with np.save(path, np.ascontiguousarray(x))",
        ));
    }
    let shape = parse_shape(
        dict_value(&header, "shape")
            .ok_or_else(|| Error::format(path, format!("npy header has no `shape`: {header}")))?,
    )
    .ok_or_else(|| Error::format(path, format!("cannot read the shape in {header}")))?;
    let descr = descr.trim().trim_matches(['\'', '"']);
    let (size, values): (usize, fn(&[u8]) -> Pixels) = match descr {
        "|u1" | "<u1" | ">u1" | "u1" => (1, |d| Pixels::U8(d.to_vec())),
        "<f4" => (4, |d| {
            Pixels::F32(floats(d, 4, |b| {
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }))
        }),
        ">f4" => (4, |d| {
            Pixels::F32(floats(d, 4, |b| {
                f32::from_be_bytes([b[0], b[1], b[2], b[3]])
            }))
        }),
        "<f8" => (8, |d| {
            Pixels::F32(floats(d, 8, |b| {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }))
        }),
        ">f8" => (8, |d| {
            Pixels::F32(floats(d, 8, |b| {
                f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }))
        }),
        "<f2" => (2, |d| {
            Pixels::F32(floats(d, 2, |b| {
                half::f16::from_le_bytes([b[0], b[1]]).to_f32()
            }))
        }),
        other => {
            return Err(Error::format(
                path,
                format!("has dtype `{other}`; images must be uint8 or float (f2, f4, f8)"),
            ))
        }
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|c| c.checked_mul(size))
        .ok_or_else(|| Error::format(path, format!("shape {shape:?} overflows")))?;
    if data.len() != count {
        return Err(Error::format(
            path,
            format!(
                "the header promises shape {shape:?} of `{descr}` ({count} bytes) but the file \
                 holds {} bytes of data",
                data.len()
            ),
        ));
    }
    let array = layout(path, "the array", &shape, values(data))?;
    finish(path, array, DataKind::Npy, opts)
}

/// The header text and the data of a `.npy` file.
fn npy_header<'a>(path: &Path, bytes: &'a [u8]) -> Result<(String, &'a [u8])> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(Error::format(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(Error::format(
                path,
                format!("npy format version {v} is not one gm reads (1, 2 or 3)"),
            ))
        }
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| Error::format(path, "the npy header runs past the end of the file"))?;
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| Error::format(path, "the npy header is not text"))?;
    Ok((header.to_string(), &bytes[end..]))
}

/// The text of `key`'s value in a Python dict literal (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    Some(rest.trim())
}

/// `(a, b, c)` or `(a,)` into dimensions.
fn parse_shape(s: &str) -> Option<Vec<usize>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_end_matches('L').parse().ok())
        .collect()
}

/// Decodes `width`-byte values with `f` (the caller checks the length).
fn floats(data: &[u8], width: usize, f: impl Fn(&[u8]) -> f32) -> Vec<f32> {
    data.chunks_exact(width).map(f).collect()
}

/// Integer labels as u32; a negative or too large value is an error naming the tensor.
fn integer_labels(path: &Path, name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<u32>> {
    let bad = |v: i128| {
        Error::format(
            path,
            format!("tensor `{name}` holds the label {v}; labels must be in 0..2^32"),
        )
    };
    let conv = |v: i128| u32::try_from(v).map_err(|_| bad(v));
    let ints: Vec<i128> = match dtype {
        Dtype::U8 => data.iter().map(|&b| i128::from(b)).collect(),
        Dtype::I8 => data.iter().map(|&b| i128::from(b as i8)).collect(),
        Dtype::U16 => data
            .chunks_exact(2)
            .map(|b| i128::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::I16 => data
            .chunks_exact(2)
            .map(|b| i128::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::U32 => data
            .chunks_exact(4)
            .map(|b| i128::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i128::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        Dtype::U64 => data
            .chunks_exact(8)
            .map(|b| {
                i128::from(u64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            })
            .collect(),
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| {
                i128::from(i64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            })
            .collect(),
        other => {
            return Err(Error::format(
                path,
                format!("tensor `{name}` has dtype {other:?}; labels must be integers"),
            ))
        }
    };
    ints.into_iter().map(conv).collect()
}

/// `values` of `shape` as an `(n, c, h, w)` array, transposing channels-last input.
fn layout(path: &Path, what: &str, shape: &[usize], values: Pixels) -> Result<Array> {
    let (n, c, h, w, last) = match *shape {
        [n, h, w] => (n, 1, h, w, false),
        [n, a, b, d] if (d == 1 || d == 3) && a != 1 && a != 3 => (n, d, a, b, true),
        [n, c, h, w] => (n, c, h, w, false),
        _ => {
            return Err(Error::format(
                path,
                format!("{what} has shape {shape:?}; images must be (n, h, w), (n, c, h, w) or (n, h, w, c)"),
            ))
        }
    };
    if n == 0 || c == 0 || h == 0 || w == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!("{what} of shape {shape:?} holds no images"),
        });
    }
    let pixels = if last && c > 1 {
        match values {
            Pixels::U8(v) => Pixels::U8(hwc_to_chw(&v, c, h * w)),
            Pixels::F32(v) => Pixels::F32(hwc_to_chw(&v, c, h * w)),
        }
    } else {
        values
    };
    Ok(Array {
        pixels,
        n,
        c,
        h,
        w,
        labels: None,
    })
}

fn hwc_to_chw<T: Copy + Default>(v: &[T], c: usize, hw: usize) -> Vec<T> {
    let mut out = vec![T::default(); v.len()];
    for (src, dst) in v.chunks_exact(c * hw).zip(out.chunks_exact_mut(c * hw)) {
        for i in 0..hw {
            for k in 0..c {
                dst[k * hw + i] = src[i * c + k];
            }
        }
    }
    out
}

/// Reshapes by the options, notes the value range of floats, and holds out the test set.
fn finish(path: &Path, array: Array, kind: DataKind, opts: &LoadOptions) -> Result<Loaded> {
    let mut info = DataInfo::new(kind);
    if let Pixels::F32(v) = &array.pixels {
        let (lo, hi) = v
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(Error::format(path, "holds values that are not finite"));
        }
        if lo < 0.0 || hi > 1.0 {
            info.notes.push(format!(
                "values range over [{lo}, {hi}]; gm's image models expect [0, 1]"
            ));
        }
    }
    let array = array.reshape(opts, path)?;
    info.channels = array.c;
    info.image_size = (array.h, array.w);
    let labels: Vec<&[u32]> = array.labels.iter().map(Vec::as_slice).collect();
    let (n_classes, names) = numbered_classes(&labels);
    info.n_classes = n_classes;
    info.class_names = names;
    let (train, test) = array.split_holdout(&data_name(path), opts, path, &mut info)?;
    Ok(Loaded { train, test, info })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_dict_values() {
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4, 5), }";
        assert_eq!(dict_value(h, "descr"), Some("'|u1'"));
        assert_eq!(dict_value(h, "fortran_order"), Some("False"));
        assert_eq!(
            parse_shape(dict_value(h, "shape").unwrap()),
            Some(vec![3, 4, 5])
        );
        assert_eq!(parse_shape("(7,)"), Some(vec![7]));
        assert_eq!(parse_shape("3, 4"), None);
    }

    #[test]
    fn channels_last_is_told_by_the_last_dimension() {
        let p = Path::new("x");
        let v = |n| Pixels::U8((0..n).map(|i| i as u8).collect());
        let a = layout(p, "t", &[2, 4, 5, 3], v(120)).unwrap();
        assert_eq!((a.c, a.h, a.w), (3, 4, 5));
        // Item 0, channel 1, pixel 0 was value 1 (pixel 0's second channel).
        let Pixels::U8(px) = &a.pixels else { panic!() };
        assert_eq!((px[0], px[20], px[40], px[1]), (0, 1, 2, 3));
        let b = layout(p, "t", &[2, 3, 4, 3], v(72)).unwrap();
        assert_eq!((b.c, b.h, b.w), (3, 4, 3));
        let e = layout(Path::new("f.npy"), "t", &[2, 3], v(6)).unwrap_err();
        assert!(e.to_string().contains("f.npy"), "{e}");
    }

    #[test]
    fn negative_labels_are_refused() {
        let e = integer_labels(Path::new("d.safetensors"), "y", Dtype::I8, &[1, 255]).unwrap_err();
        assert!(
            e.to_string().contains("-1") && e.to_string().contains("`y`"),
            "{e}"
        );
    }
}
