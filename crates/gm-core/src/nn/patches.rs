//! The patches of a convolution as index tables, and the cache-sized blocks of images that
//! gm's convolutions build, multiply and consume their patch matrices in (one block per task
//! on rayon's threads: a whole batch's patches are megabytes, and writing them to memory and
//! reading them back costs as much as the products).
//!
//! For a `k x k` kernel with stride `s` and padding `p` from images `H x W` to the grid
//! `h x w`, kernel position `(ky, kx)` reads, for output position `(oy, ox)`, the input
//! pixel `(oy s + ky - p, ox s + kx - p)`, or the padding. [`tap_tables`] holds those
//! offsets, the same for every channel and image, so that the gathers run one table over
//! whole images rather than a loop per output row (rows of the digits' networks are 7 to 28
//! wide). A table's offsets are checked once, when it is made, so the loops index without
//! bounds tests. (AVX-512's gather and scatter instructions were slower than these loops on
//! the 2-core AMD EPYC the benchmarks run on, 34 against 26 ms a DCGAN step, so there are
//! none.)

use std::cell::RefCell;

/// Marks an entry that falls in the padding: gathered as 0, skipped when scattering.
pub const PAD: u32 = u32::MAX;

/// Offsets into an image of `image` floats, each below `image` or [`PAD`].
#[derive(Debug, Clone)]
pub struct Table {
    idx: Vec<u32>,
    image: usize,
}

impl Table {
    /// The table of `idx` into images of `image` floats.
    ///
    /// # Panics
    /// When an offset is neither [`PAD`] nor below `image`: tables come from a
    /// convolution's geometry, so that is a bug in the caller.
    pub fn new(idx: Vec<u32>, image: usize) -> Self {
        assert!(image < PAD as usize, "image of {image} floats");
        if let Some(o) = idx.iter().find(|&&o| o != PAD && o as usize >= image) {
            panic!("offset {o} out of {image}");
        }
        Self { idx, image }
    }

    /// The offset of entry `j`.
    pub fn get(&self, j: usize) -> u32 {
        self.idx[j]
    }

    /// `dst[j] = src[idx[j]]`, 0 where `idx[j]` is [`PAD`].
    ///
    /// # Panics
    /// When `src` is not one image or `dst` not one entry per offset.
    pub fn gather(&self, src: &[f32], dst: &mut [f32]) {
        assert!(src.len() == self.image && dst.len() == self.idx.len());
        for (d, &o) in dst.iter_mut().zip(&self.idx) {
            // SAFETY: an offset that is not PAD is below `image == src.len()` (`new`).
            *d = if o == PAD {
                0.0
            } else {
                unsafe { *src.get_unchecked(o as usize) }
            };
        }
    }

    /// `dst[idx[j]] += src[j]` wherever `idx[j]` is not [`PAD`].
    ///
    /// # Panics
    /// As [`Table::gather`], with `src` and `dst` exchanged.
    pub fn scatter_add(&self, src: &[f32], dst: &mut [f32]) {
        assert!(dst.len() == self.image && src.len() == self.idx.len());
        for (&v, &o) in src.iter().zip(&self.idx) {
            if o != PAD {
                // SAFETY: as in `gather`, with `dst.len() == image`.
                unsafe { *dst.get_unchecked_mut(o as usize) += v };
            }
        }
    }
}

/// The tables of every kernel position `(ky, kx)`, row-major, of a `k x k` kernel with
/// stride `s` and padding `p` from images `big` to the grid `small` (`(height, width)`).
pub fn tap_tables(
    big: (usize, usize),
    small: (usize, usize),
    k: usize,
    s: usize,
    p: usize,
) -> Vec<Table> {
    let ((bh, bw), (sh, sw)) = (big, small);
    let at = |o: usize, kk: usize, side: usize| (o * s + kk).checked_sub(p).filter(|&v| v < side);
    (0..k * k)
        .map(|kk| {
            let (ky, kx) = (kk / k, kk % k);
            let idx = (0..sh * sw)
                .map(|q| match (at(q / sw, ky, bh), at(q % sw, kx, bw)) {
                    (Some(iy), Some(ix)) => (iy * bw + ix) as u32,
                    _ => PAD,
                })
                .collect();
            Table::new(idx, bh * bw)
        })
        .collect()
}

/// The patch matrix `(c k k, m per)` of `m` images of `c` channels into `cols`, every entry
/// written: row `(ci, tap)`, column `(i, q)` for position `q` of image `i`, where `image(ci, i)`
/// is channel `ci` of image `i` and `tables` are [`tap_tables`] with `per` positions.
pub fn im2col<'a>(
    tables: &[Table],
    per: usize,
    (c, m): (usize, usize),
    image: impl Fn(usize, usize) -> &'a [f32],
    cols: &mut [f32],
) {
    let taps = tables.len();
    if per == 1 {
        // One position per image (a kernel over the whole image): image by image, so that
        // the loop runs over the taps rather than over one-entry rows.
        let at: Vec<u32> = tables.iter().map(|t| t.get(0)).collect();
        for ci in 0..c {
            for i in 0..m {
                let src = image(ci, i);
                for (t, &o) in at.iter().enumerate() {
                    cols[(ci * taps + t) * m + i] = if o == PAD { 0.0 } else { src[o as usize] };
                }
            }
        }
        return;
    }
    for (r, row) in cols.chunks_exact_mut(m * per).enumerate() {
        let (ci, table) = (r / taps, &tables[r % taps]);
        for (i, dst) in row.chunks_exact_mut(per).enumerate() {
            table.gather(image(ci, i), dst);
        }
    }
}

/// The adjoint of [`im2col`] for one image plane: adds onto `dst`, channel `ci` of image `i`,
/// its entries of the patch matrix `cols` of `m` images.
pub fn col2im_add(
    tables: &[Table],
    per: usize,
    m: usize,
    cols: &[f32],
    (ci, i): (usize, usize),
    dst: &mut [f32],
) {
    let taps = tables.len();
    for (t, table) in tables.iter().enumerate() {
        let row = &cols[(ci * taps + t) * m * per + i * per..][..per];
        if per == 1 {
            // One entry: no loop to set up.
            let o = table.get(0);
            if o != PAD {
                dst[o as usize] += row[0];
            }
        } else {
            table.scatter_add(row, dst);
        }
    }
}

/// How many images a block holds: at most `floats` floats of patches, but at least
/// `min_columns` columns of the block's matrix product (and between one image and the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocks {
    /// Floats of patches per block at most.
    pub floats: usize,
    /// Columns (images times positions) per block at least.
    pub min_columns: usize,
}

impl Default for Blocks {
    /// 2^16 floats (256 KB), so that a block's patches are written, multiplied and read back
    /// in a core's second-level cache: on the benchmarks' 2-core EPYC (1 MB of L2 per core)
    /// it gave the fastest DCGAN step of 2^14 to 2^19. At least 512 columns: layers with
    /// many input channels and few positions (128 channels at 7x7: 100,000 floats of patches
    /// per image) would otherwise multiply one image, 49 columns, at a time, below the matrix
    /// kernel's speed; 512 made the benchmark's conv2d forward and backward 10.6 ms against
    /// 11.7 without a floor and left the DCGAN step as it was.
    fn default() -> Self {
        Self {
            floats: 1 << 16,
            min_columns: 512,
        }
    }
}

impl Blocks {
    /// Images per block of a batch of `n` whose patches are `rows x per` floats an image.
    pub fn images(&self, n: usize, rows: usize, per: usize) -> usize {
        (self.floats / (rows * per).max(1))
            .max(self.min_columns.div_ceil(per.max(1)))
            .clamp(1, n.max(1))
    }

    /// At most `floats` floats of patches per block, without a floor on the columns: for
    /// tests of the blocks.
    pub fn at_most(floats: usize) -> Self {
        Self {
            floats,
            min_columns: 0,
        }
    }
}

thread_local! {
    /// Each thread's patch and product buffers, reused from block to block.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// `f(a, b)` on this thread's scratch buffers of `a_len` and `b_len` floats (their contents
/// are whatever the last use left). `f` must not start parallel work that could run another
/// block's task on this thread.
pub fn with_scratch<R>(
    a_len: usize,
    b_len: usize,
    f: impl FnOnce(&mut [f32], &mut [f32]) -> R,
) -> R {
    SCRATCH.with(|s| {
        let [a, b] = &mut *s.borrow_mut();
        for (v, len) in [(&mut *a, a_len), (&mut *b, b_len)] {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        }
        f(&mut a[..a_len], &mut b[..b_len])
    })
}

#[cfg(test)]
mod tests {
    //! The tables, gathers and scatters against their definitions.

    use super::*;

    #[test]
    fn gathers_and_scatters_follow_their_definitions() {
        let src: Vec<f32> = (0..53).map(|i| i as f32 * 0.5 - 3.0).collect();
        for len in [0, 1, 17, 53] {
            let idx: Vec<u32> = (0..len as u32)
                .map(|j| if j % 3 == 1 { PAD } else { (j * 17) % 53 })
                .collect();
            let t = Table::new(idx.clone(), 53);
            let mut got = vec![7.0; len];
            t.gather(&src, &mut got);
            for (j, (&v, &o)) in got.iter().zip(&idx).enumerate() {
                assert_eq!(v, if o == PAD { 0.0 } else { src[o as usize] }, "entry {j}");
            }
            let vals: Vec<f32> = (0..len).map(|j| j as f32 + 0.25).collect();
            let mut got = src.clone();
            t.scatter_add(&vals, &mut got);
            let mut want = src.clone();
            for (&v, &o) in vals.iter().zip(&idx) {
                if o != PAD {
                    want[o as usize] += v;
                }
            }
            assert_eq!(got, want);
        }
    }

    /// A 3x3 kernel, stride 2, padding 1, from 5x5 to 3x3: the corner tap reads the
    /// padding in the first row and column.
    #[test]
    fn tap_tables_follow_the_geometry() {
        let t = tap_tables((5, 5), (3, 3), 3, 2, 1);
        assert_eq!(t.len(), 9);
        let corner: Vec<u32> = (0..9).map(|q| t[0].get(q)).collect();
        assert_eq!(corner, [PAD, PAD, PAD, PAD, 6, 8, PAD, 16, 18]);
        let centre: Vec<u32> = (0..9).map(|q| t[4].get(q)).collect();
        assert_eq!(centre, [0, 2, 4, 10, 12, 14, 20, 22, 24]);
    }

    #[test]
    #[should_panic(expected = "out of")]
    fn an_offset_past_the_image_is_refused() {
        Table::new(vec![4], 4);
    }
}
