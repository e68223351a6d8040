//! Index tables of a convolution's patches, and the gathers and scatter-adds over them.
//! A table's offsets are checked once, when it is made, so the loops index without bounds
//! tests. (AVX-512's gather and scatter instructions were slower than these loops on the
//! 2-core AMD EPYC the benchmarks run on, 34 against 26 ms a DCGAN step, so there are none.)

/// Marks an entry that falls in the padding: gathered as 0, skipped when scattering.
pub(super) const PAD: u32 = u32::MAX;

/// Offsets into an image of `image` floats, each below `image` or [`PAD`].
#[derive(Debug, Clone)]
pub(super) struct Table {
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

#[cfg(test)]
mod tests {
    //! The gathers and scatters against their definitions.

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

    #[test]
    #[should_panic(expected = "out of")]
    fn an_offset_past_the_image_is_refused() {
        Table::new(vec![4], 4);
    }
}
