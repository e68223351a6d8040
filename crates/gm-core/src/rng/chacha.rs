//! The key stream of a ChaCha8 generator in bulk: sixteen blocks at a time with AVX-512
//! where the CPU has it (one block in each lane of a 512-bit register), rand_chacha's own
//! generator elsewhere. The words are rand_chacha's, in its order (tested).
//!
//! ChaCha (Bernstein 2008) keeps 16 words: four constants, the 256-bit key, a 64-bit block
//! counter and a 64-bit stream number (rand_chacha's layout); a block is the state after
//! eight rounds (four double rounds for ChaCha8) plus the state itself.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Words in a block.
pub(super) const BLOCK: usize = 16;

/// The stream of `rng` from its block `block` on, into `out` (a whole number of blocks):
/// the words `rng` would give from word `16 block`.
pub(super) fn blocks(rng: &ChaCha8Rng, block: u64, out: &mut [u32]) {
    debug_assert_eq!(out.len() % BLOCK, 0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        let seed = rng.get_seed();
        let key: [u32; 8] =
            std::array::from_fn(|i| u32::from_le_bytes(seed[4 * i..4 * i + 4].try_into().unwrap()));
        let whole = out.len() / (16 * BLOCK) * (16 * BLOCK);
        let (wide, rest) = out.split_at_mut(whole);
        for (g, chunk) in wide.chunks_exact_mut(16 * BLOCK).enumerate() {
            let chunk: &mut [u32; 256] = chunk.try_into().expect("sixteen blocks");
            // SAFETY: the CPU has AVX-512F (checked above).
            unsafe { avx512::sixteen(&key, rng.get_stream(), block + 16 * g as u64, chunk) };
        }
        by_generator(rng, block + (whole / BLOCK) as u64, rest);
        return;
    }
    by_generator(rng, block, out);
}

/// rand_chacha's generator, moved to `block`.
fn by_generator(rng: &ChaCha8Rng, block: u64, out: &mut [u32]) {
    if out.is_empty() {
        return;
    }
    let mut r = rng.clone();
    r.set_word_pos(u128::from(block) * BLOCK as u128);
    r.fill(out);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// "expand 32-byte k".
    const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

    #[inline(always)]
    unsafe fn quarter(x: &mut [__m512i; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = _mm512_add_epi32(x[a], x[b]);
        x[d] = _mm512_rol_epi32::<16>(_mm512_xor_si512(x[d], x[a]));
        x[c] = _mm512_add_epi32(x[c], x[d]);
        x[b] = _mm512_rol_epi32::<12>(_mm512_xor_si512(x[b], x[c]));
        x[a] = _mm512_add_epi32(x[a], x[b]);
        x[d] = _mm512_rol_epi32::<8>(_mm512_xor_si512(x[d], x[a]));
        x[c] = _mm512_add_epi32(x[c], x[d]);
        x[b] = _mm512_rol_epi32::<7>(_mm512_xor_si512(x[b], x[c]));
    }

    /// Blocks `block .. block + 16` of the stream `(key, stream)`, in order, into `out`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn sixteen(key: &[u32; 8], stream: u64, block: u64, out: &mut [u32; 256]) {
        let ctr: [u64; 16] = std::array::from_fn(|j| block.wrapping_add(j as u64));
        let lo: [u32; 16] = std::array::from_fn(|j| ctr[j] as u32);
        let hi: [u32; 16] = std::array::from_fn(|j| (ctr[j] >> 32) as u32);
        let splat = |w: u32| _mm512_set1_epi32(w as i32);
        let mut init = [_mm512_setzero_si512(); 16];
        for i in 0..4 {
            init[i] = splat(SIGMA[i]);
        }
        for i in 0..8 {
            init[4 + i] = splat(key[i]);
        }
        init[12] = _mm512_loadu_si512(lo.as_ptr().cast());
        init[13] = _mm512_loadu_si512(hi.as_ptr().cast());
        init[14] = splat(stream as u32);
        init[15] = splat((stream >> 32) as u32);
        let mut x = init;
        for _ in 0..4 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        // Word i of every block, then each block's words in order.
        let mut cols = [0u32; 256];
        for i in 0..16 {
            let v = _mm512_add_epi32(x[i], init[i]);
            _mm512_storeu_si512(cols[16 * i..].as_mut_ptr().cast(), v);
        }
        for (j, block) in out.chunks_exact_mut(16).enumerate() {
            for (i, w) in block.iter_mut().enumerate() {
                *w = cols[16 * i + j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngCore, SeedableRng};

    use super::*;

    #[test]
    fn bulk_blocks_are_the_generators_words() {
        for (seed, stream, block, n) in [
            (0, 0, 0, 1),
            (1, 0, 3, 16),
            (2, 7, 1 << 20, 17),
            (3, u64::MAX, u64::MAX - 100, 40),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream);
            let mut out = vec![0u32; n * BLOCK];
            blocks(&rng, block, &mut out);
            let mut r = rng.clone();
            r.set_word_pos(u128::from(block) * BLOCK as u128);
            let want: Vec<u32> = (0..n * BLOCK).map(|_| r.next_u32()).collect();
            assert_eq!(out, want, "seed {seed} stream {stream} block {block}");
        }
    }
}
