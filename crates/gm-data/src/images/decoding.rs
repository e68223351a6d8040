//! Decoding: the headers of every file first (sizes and colour, in parallel), the choice of
//! channels and size, then the pixels, each image decoded straight into its slot of one u8
//! buffer (in parallel); unreadable files stop the load or, with `skip_bad`, are skipped.

use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader};
use rayon::prelude::*;

use crate::array::{Array, Pixels};
use crate::{progress_bar, DataInfo, Error, LoadOptions, Result};

/// Size and colour from an image's header.
#[derive(Debug, Clone, Copy)]
struct Header {
    w: u32,
    h: u32,
    colour: bool,
}

fn read_header(path: &Path) -> std::result::Result<Header, String> {
    let reader = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image in a format gm reads".into());
    }
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("has no pixels ({w}x{h})"));
    }
    Ok(Header {
        w,
        h,
        colour: decoder.color_type().has_color(),
    })
}

/// The centre square of `img`, resized to `s x s` when it is another size.
fn square(img: DynamicImage, s: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let side = w.min(h);
    let img = if w == h {
        img
    } else {
        img.crop_imm((w - side) / 2, (h - side) / 2, side, side)
    };
    if side == s {
        img
    } else {
        img.resize_exact(s, s, FilterType::Triangle)
    }
}

/// Decodes `path` into `slot` as `c` planes of `h x w` u8 (CHW).
fn decode_into(
    path: &Path,
    size: Option<u32>,
    c: usize,
    (h, w): (u32, u32),
    slot: &mut [u8],
) -> std::result::Result<(), String> {
    let img = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let img = match size {
        Some(s) => square(img, s),
        None => img,
    };
    if (img.width(), img.height()) != (w, h) {
        return Err(format!(
            "decodes to {}x{}, not the {w}x{h} its header gave",
            img.width(),
            img.height()
        ));
    }
    if c == 1 {
        slot.copy_from_slice(img.to_luma8().as_raw());
    } else {
        let rgb = img.to_rgb8();
        let hw = (h * w) as usize;
        for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
            slot[i] = px[0];
            slot[hw + i] = px[1];
            slot[2 * hw + i] = px[2];
        }
    }
    Ok(())
}

/// Files that failed: an error naming the first (in file order), or with `skip_bad` listed
/// in `info.skipped`.
fn reject(
    paths: &[&Path],
    failures: Vec<(usize, String)>,
    opts: &LoadOptions,
    info: &mut DataInfo,
) -> Result<()> {
    if let Some((i, reason)) = failures.first() {
        if !opts.skip_bad {
            return Err(Error::BadImage {
                path: paths[*i].to_path_buf(),
                reason: reason.clone(),
            });
        }
    }
    info.skipped.extend(
        failures
            .into_iter()
            .map(|(i, r)| (paths[i].to_path_buf(), r)),
    );
    Ok(())
}

/// Decodes `paths` into one u8 array `(n, c, h, w)`; returns it with the indices of the
/// files it holds (all of them unless `skip_bad` skipped some).
pub(super) fn decode(
    root: &Path,
    paths: &[&Path],
    opts: &LoadOptions,
    info: &mut DataInfo,
) -> Result<(Array, Vec<usize>)> {
    let bar = progress_bar(paths.len(), "reading headers", opts.progress);
    let headers: Vec<std::result::Result<Header, String>> = paths
        .par_iter()
        .map(|p| {
            let h = read_header(p);
            bar.inc(1);
            h
        })
        .collect();
    bar.finish_and_clear();
    let mut ok: Vec<(usize, Header)> = Vec::with_capacity(paths.len());
    let mut failures = Vec::new();
    for (i, h) in headers.into_iter().enumerate() {
        match h {
            Ok(h) => ok.push((i, h)),
            Err(r) => failures.push((i, r)),
        }
    }
    reject(paths, failures, opts, info)?;
    let Some(&(first, first_h)) = ok.first() else {
        return Err(Error::Empty {
            path: root.to_path_buf(),
            what: format!(
                "every one of its {} image file(s) was unreadable and skipped",
                paths.len()
            ),
        });
    };
    let c = match opts.channels {
        Some(c) => c,
        None => choose_channels(&ok, paths[first], info),
    };
    let (h, w) = match opts.image_size {
        Some(s) => {
            info.notes.push(format!(
                "each image resized to {s}x{s}: the shorter side to {s}, then the centre crop"
            ));
            (s as u32, s as u32)
        }
        None => {
            if let Some(&(j, hj)) = ok
                .iter()
                .find(|(_, hj)| (hj.w, hj.h) != (first_h.w, first_h.h))
            {
                return Err(Error::MixedSizes {
                    first: paths[first].to_path_buf(),
                    first_w: first_h.w,
                    first_h: first_h.h,
                    second: paths[j].to_path_buf(),
                    second_w: hj.w,
                    second_h: hj.h,
                });
            }
            (first_h.h, first_h.w)
        }
    };
    let d = c * h as usize * w as usize;
    let total = d
        .checked_mul(ok.len())
        .ok_or_else(|| too_big(root, ok.len(), c, h, w))?;
    let mut pixels: Vec<u8> = Vec::new();
    pixels
        .try_reserve_exact(total)
        .map_err(|_| too_big(root, ok.len(), c, h, w))?;
    pixels.resize(total, 0);
    let size = opts.image_size.map(|s| s as u32);
    let bar = progress_bar(ok.len(), "decoding images", opts.progress);
    let results: Vec<std::result::Result<(), String>> = pixels
        .par_chunks_mut(d)
        .zip(ok.par_iter())
        .map(|(slot, &(i, _))| {
            let r = decode_into(paths[i], size, c, (h, w), slot);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut kept = Vec::with_capacity(ok.len());
    let mut failures = Vec::new();
    for (slot, r) in results.into_iter().enumerate() {
        match r {
            Ok(()) => {
                // Close the gaps the skipped files left.
                let to = kept.len();
                if to != slot {
                    pixels.copy_within(slot * d..(slot + 1) * d, to * d);
                }
                kept.push(ok[slot].0);
            }
            Err(reason) => failures.push((ok[slot].0, reason)),
        }
    }
    reject(paths, failures, opts, info)?;
    if kept.is_empty() {
        return Err(Error::Empty {
            path: root.to_path_buf(),
            what: format!(
                "every one of its {} image file(s) was unreadable and skipped",
                paths.len()
            ),
        });
    }
    pixels.truncate(kept.len() * d);
    let array = Array {
        pixels: Pixels::U8(pixels),
        n: kept.len(),
        c,
        h: h as usize,
        w: w as usize,
        labels: None,
    };
    Ok((array, kept))
}

fn too_big(root: &Path, n: usize, c: usize, h: u32, w: u32) -> Error {
    Error::format(
        root,
        format!(
            "{n} images of {c}x{h}x{w} do not fit in memory; pass --image-size N to make them \
             smaller"
        ),
    )
}

/// Grey (1) or colour (3) by the majority of the headers, the first image's on a tie; the
/// choice is noted.
fn choose_channels(ok: &[(usize, Header)], first: &Path, info: &mut DataInfo) -> usize {
    let n = ok.len();
    let colour = ok.iter().filter(|(_, h)| h.colour).count();
    let first_colour = ok.first().is_some_and(|(_, h)| h.colour);
    let c = if 2 * colour > n || (2 * colour == n && first_colour) {
        3
    } else {
        1
    };
    let why = if colour == 0 || colour == n {
        format!(
            "all {n} images are {}",
            if c == 3 { "in colour" } else { "grey" }
        )
    } else if 2 * colour == n {
        format!(
            "half the images are in colour and the first, {}, is {}",
            first.display(),
            if c == 3 { "in colour" } else { "grey" }
        )
    } else {
        format!("{colour} of {n} images are in colour")
    };
    info.notes.push(format!(
        "channels: {c} ({}), as {why}; pass --channels 1 or 3 to choose",
        if c == 3 {
            "RGB; an alpha channel is dropped"
        } else {
            "grey"
        }
    ));
    c
}
