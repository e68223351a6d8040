//! The IDX file format of MNIST (LeCun et al.): a big-endian header `0 0 type ndim`, one u32
//! per dimension, then the data. Raw or gzip-compressed files are read alike.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions the header declares, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major (the product of `dims` bytes).
    pub data: Vec<u8>,
}

/// Reads an IDX file from disk, gunzipping it when it starts with the gzip magic.
pub fn read_idx_file(path: impl AsRef<Path>, expected_magic: u32) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx(&bytes, expected_magic, &path.display().to_string())
}

/// The most a deflate stream can expand (1032:1, reached by long runs of one byte): a header
/// that claims more data than this times the compressed size cannot be honest.
const DEFLATE_MAX_RATIO: usize = 1032;

/// Gunzips an IDX stream without trusting it: the header is decoded first, and at most the
/// data it declares (plus one byte, to detect trailing data) is inflated, so a small file
/// that inflates without end, or a header claiming terabytes, is refused before it is held
/// in memory.
fn gunzip_bounded(gz: &[u8], name: &str) -> Result<Vec<u8>> {
    let corrupt = |e: std::io::Error| Error::IdxFormat {
        path: name.to_string(),
        message: format!("corrupt gzip stream: {e}"),
    };
    let mut dec = flate2::read::GzDecoder::new(gz);
    let mut out = Vec::new();
    (&mut dec).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 {
        return Ok(out);
    }
    let ndim = out[3] as usize;
    let header = 4 + 4 * ndim;
    (&mut dec)
        .take(4 * ndim as u64)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() < header {
        return Ok(out);
    }
    let count = out[4..header]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .try_fold(1usize, |acc, d| acc.checked_mul(d));
    let limit = DEFLATE_MAX_RATIO.saturating_mul(gz.len());
    match count {
        Some(c) if c <= limit => {
            (&mut dec)
                .take(c as u64 + 1)
                .read_to_end(&mut out)
                .map_err(corrupt)?;
            Ok(out)
        }
        _ => Err(Error::IdxFormat {
            path: name.to_string(),
            message: format!(
                "the header declares {} bytes of data, more than a gzip stream of {} bytes \
                 can hold",
                count.map_or("more than 2^64".to_string(), |c| c.to_string()),
                gz.len()
            ),
        }),
    }
}

/// Decodes IDX bytes (raw or gzip); `name` is used in error messages.
pub fn parse_idx(bytes: &[u8], expected_magic: u32, name: &str) -> Result<IdxArray> {
    let raw;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        raw = gunzip_bounded(bytes, name)?;
        &raw[..]
    } else {
        bytes
    };
    if bytes.len() < 4 {
        return Err(Error::IdxTruncated {
            path: name.to_string(),
            expected: 4,
            found: bytes.len(),
        });
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        return Err(Error::IdxMagic {
            path: name.to_string(),
            found: magic,
            expected: expected_magic,
        });
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(Error::IdxTruncated {
            path: name.to_string(),
            expected: header,
            found: bytes.len(),
        });
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::IdxFormat {
            path: name.to_string(),
            message: format!("dimensions {dims:?} overflow"),
        })?;
    let expected = header + count;
    if bytes.len() < expected {
        return Err(Error::IdxTruncated {
            path: name.to_string(),
            expected,
            found: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(Error::IdxFormat {
            path: name.to_string(),
            message: format!(
                "{} trailing bytes after the {count} values the header declares",
                bytes.len() - expected
            ),
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzip() {
        let b = idx_bytes(IMAGES_MAGIC, &[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
        let a = parse_idx(&b, IMAGES_MAGIC, "x").unwrap();
        assert_eq!(a.dims, vec![2, 2, 2]);
        assert_eq!(a.data, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(parse_idx(&gz(&b), IMAGES_MAGIC, "x").unwrap(), a);
    }

    #[test]
    fn wrong_magic_is_named() {
        let b = idx_bytes(LABELS_MAGIC, &[3], &[1, 2, 3]);
        let e = parse_idx(&b, IMAGES_MAGIC, "labels.idx").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::IdxMagic { found: 0x801, .. }), "{msg}");
        assert!(msg.contains("labels.idx") && msg.contains("magic"), "{msg}");
    }

    #[test]
    fn truncated_data_and_header() {
        let b = idx_bytes(IMAGES_MAGIC, &[2, 2, 2], &[0, 1, 2]);
        let e = parse_idx(&b, IMAGES_MAGIC, "f").unwrap_err();
        assert!(
            matches!(
                e,
                Error::IdxTruncated {
                    expected: 24,
                    found: 19,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_idx(&b[..6], IMAGES_MAGIC, "f").unwrap_err();
        assert!(matches!(e, Error::IdxTruncated { expected: 16, .. }), "{e}");
        let e = parse_idx(&[0, 0], IMAGES_MAGIC, "f").unwrap_err();
        assert!(matches!(e, Error::IdxTruncated { .. }), "{e}");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let b = gz(&idx_bytes(LABELS_MAGIC, &[100], &[7; 100]));
        let e = parse_idx(&b[..b.len() / 2], LABELS_MAGIC, "g.gz").unwrap_err();
        assert!(e.to_string().contains("g.gz"), "{e}");
    }

    #[test]
    fn gzip_claiming_more_than_it_can_hold_is_refused_before_inflating() {
        // 2^30 images of 28x28 declared in a stream of a few dozen bytes.
        let bomb = gz(&idx_bytes(IMAGES_MAGIC, &[1 << 30, 28, 28], &[0; 16]));
        let e = parse_idx(&bomb, IMAGES_MAGIC, "bomb.gz").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("bomb.gz") && msg.contains("can hold"), "{msg}");
        // A stream that inflates far beyond what its header declares stops one byte past it.
        let long = gz(&idx_bytes(IMAGES_MAGIC, &[1, 2, 2], &[7; 1 << 20]));
        let e = parse_idx(&long, IMAGES_MAGIC, "long.gz").unwrap_err();
        assert!(e.to_string().contains("long.gz"), "{e}");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let b = idx_bytes(LABELS_MAGIC, &[2], &[1, 2, 3]);
        assert!(matches!(
            parse_idx(&b, LABELS_MAGIC, "f").unwrap_err(),
            Error::IdxFormat { .. }
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = read_idx_file("/no/such/dir/train-images.gz", IMAGES_MAGIC).unwrap_err();
        assert!(
            e.to_string().contains("/no/such/dir/train-images.gz"),
            "{e}"
        );
    }
}
