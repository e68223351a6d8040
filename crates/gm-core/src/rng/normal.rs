//! Many standard-normal draws at once, equal bit for bit to drawing them one by one with
//! `rand_distr::StandardNormal` from the same ChaCha8 stream, and leaving the stream at the
//! same position.
//!
//! rand_distr's normal sampler is Marsaglia and Tsang's ziggurat: each draw reads one 64-bit
//! word `b`, takes the box `i = b & 0xff` and `u` in [-1, 1) from the top 52 bits, and
//! returns `x = u x_i` at once when `|x| < x_{i+1}` (about 99 % of draws); otherwise it
//! tests the density or samples the tail, reading more words. Drawn one at a time, every
//! word passes through the generator's block buffer, one call each. Here the key stream is
//! generated into a buffer of words in bulk ([`chacha::blocks`]), the common case runs over that buffer with the
//! box edges `x_i`, and every other draw is handed back to rand_distr itself, replaying the
//! same words: so the values are rand_distr's by construction.
//!
//! The box edges are read out of rand_distr's sampler once: a word that puts `u` at exactly
//! `2^-20` in box `i` makes it return `2^-20 x_i`, exact in floating point.

use std::sync::OnceLock;

use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::chacha;

/// Words (u32) read at a time at most, and the extra words past them that a slow draw
/// starting near the end may read.
const CHUNK: usize = 1 << 16;
const SLACK: usize = 256;

/// The ziggurat's sign-and-mantissa conversion: `u` in [-1, 1) from the top 52 bits of `b`
/// (a float in [2, 4) less 3), as rand_distr computes it.
fn unit(b: u64) -> f64 {
    f64::from_bits((b >> 12) | 0x4000_0000_0000_0000) - 3.0
}

/// Words of a buffer as a generator, continuing into the stream after the buffer (from a
/// copy of the generator set there) if a draw reads past it; `used` counts the words read.
struct Replay<'a> {
    words: &'a [u32],
    used: usize,
    after: (&'a ChaCha8Rng, u128),
    beyond: Option<ChaCha8Rng>,
}

impl RngCore for Replay<'_> {
    fn next_u32(&mut self) -> u32 {
        let w = match self.words.get(self.used) {
            Some(&w) => w,
            None => {
                let (rng, at) = self.after;
                let skip = (self.used - self.words.len()) as u128;
                self.beyond
                    .get_or_insert_with(|| {
                        let mut r = rng.clone();
                        r.set_word_pos(at + skip);
                        r
                    })
                    .next_u32()
            }
        };
        self.used += 1;
        w
    }

    /// Low word first, as the generator's own block buffer composes it.
    fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        lo | (u64::from(self.next_u32()) << 32)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// The ziggurat's 257 box edges `x_0 > x_1 > .. > x_256 = 0`, as rand_distr holds them.
fn edges() -> &'static [f64; 257] {
    static EDGES: OnceLock<[f64; 257]> = OnceLock::new();
    EDGES.get_or_init(|| {
        let scale = 2f64.powi(20);
        let mantissa = (3.0 + 1.0 / scale).to_bits() & ((1u64 << 52) - 1);
        let mut x = [0.0; 257];
        // Never read: the probe's words are enough for every box.
        let unused = <ChaCha8Rng as rand::SeedableRng>::from_seed([0; 32]);
        for (i, e) in x.iter_mut().take(256).enumerate() {
            let b = (mantissa << 12) | i as u64;
            debug_assert_eq!(unit(b), 1.0 / scale);
            // The top box (i = 255) never returns at once: the second word, near 1,
            // makes its density test accept the same point.
            let words = [b as u32, (b >> 32) as u32, u32::MAX, u32::MAX];
            let mut r = Replay {
                words: &words,
                used: 0,
                after: (&unused, 0),
                beyond: None,
            };
            let v: f64 = StandardNormal.sample(&mut r);
            assert!(
                r.used <= words.len(),
                "ziggurat box {i} read past its words"
            );
            *e = v * scale;
        }
        x
    })
}

/// `n` draws of `StandardNormal` (as f32) from `rng`, exactly as drawing them one by one.
pub(super) fn standard_normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    let x = edges();
    let start = rng.get_word_pos();
    let mut out = Vec::with_capacity(n);
    // Whole groups of sixteen blocks, from the block the stream stands in.
    let group = 16 * chacha::BLOCK;
    let mut buffer = vec![0u32; (CHUNK.min(2 * n) + SLACK + chacha::BLOCK).div_ceil(group) * group];
    // Words (u32) read so far.
    let mut used: u128 = 0;
    while out.len() < n {
        // Two words for each draw still to come, most draws taking no more.
        let len = CHUNK.min(2 * (n - out.len()));
        let at = start + used;
        let off = (at % chacha::BLOCK as u128) as usize;
        let have = (off + len + SLACK).div_ceil(group) * group;
        chacha::blocks(
            rng,
            (at / chacha::BLOCK as u128) as u64,
            &mut buffer[..have],
        );
        let words = &buffer[off..off + len + SLACK];
        let mut p = 0;
        while out.len() < n && p < len {
            let b = u64::from(words[p]) | (u64::from(words[p + 1]) << 32);
            let i = (b & 0xff) as usize;
            let v = unit(b) * x[i];
            if v.abs() < x[i + 1] {
                out.push(v as f32);
                p += 2;
            } else {
                let mut r = Replay {
                    words: &words[p..],
                    used: 0,
                    after: (&*rng, start + used + words.len() as u128),
                    beyond: None,
                };
                let v: f64 = StandardNormal.sample(&mut r);
                out.push(v as f32);
                p += r.used;
            }
        }
        used += p as u128;
    }
    rng.set_word_pos(start + used);
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn one_by_one(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| StandardNormal.sample(&mut *rng)).collect()
    }

    #[test]
    fn the_box_edges_decrease_to_zero() {
        let x = edges();
        assert!(x.windows(2).all(|w| w[0] > w[1]), "{:?}", &x[..4]);
        assert_eq!(x[256], 0.0);
        // The base strip reaches past the tail's start, r = 3.654..
        assert!(x[1] > 3.6 && x[1] < 3.7, "{}", x[1]);
    }

    #[test]
    fn bulk_draws_equal_one_by_one_and_leave_the_stream_where_it_would_be() {
        // Sizes around the chunk's end, and enough draws for tail and density cases.
        for (seed, n) in [
            (0, 1),
            (1, 4097),
            (2, 32_767),
            (3, 32_768),
            (4, 32_769),
            (5, 300_000),
        ] {
            let mut a = ChaCha8Rng::seed_from_u64(seed);
            let mut b = a.clone();
            // Start off a block boundary and at an odd word.
            let _ = a.next_u32();
            let _ = b.next_u32();
            assert_eq!(
                standard_normals(&mut a, n),
                one_by_one(&mut b, n),
                "seed {seed}"
            );
            assert_eq!(a.get_word_pos(), b.get_word_pos(), "seed {seed}");
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn a_slow_draw_may_read_past_the_buffer() {
        let fake = ChaCha8Rng::seed_from_u64(9);
        let mut stream = fake.clone();
        stream.set_word_pos(2);
        let words = [7u32, 8];
        let mut r = Replay {
            words: &words,
            used: 0,
            after: (&fake, 2),
            beyond: None,
        };
        assert_eq!(r.next_u64(), 7 | (8 << 32));
        assert_eq!(r.next_u64(), stream.next_u64());
        assert_eq!(r.used, 4);
    }
}
