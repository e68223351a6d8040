//! The mutation engine: bit flips, byte insertion and deletion, splicing with another
//! corpus entry, integers overwritten with extreme values (at any offset, in either byte
//! order), truncation and duplicated chunks. Seeded, so a run is reproducible.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Values that break size arithmetic: empty, one, the i32 and u32 edges, and far too large.
pub const EXTREMES: [u64; 9] = [
    0,
    1,
    0x7f,
    0xff,
    1 << 31,
    (1 << 32) - 1,
    1 << 40,
    1 << 63,
    u64::MAX,
];

/// A seeded source of mutated inputs.
pub struct Mutator {
    rng: StdRng,
}

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A random index below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    /// `input` changed by one to four mutations; `corpus` supplies splices.
    pub fn mutate(&mut self, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut out = input.to_vec();
        let rounds = self.rng.random_range(1..=4);
        for _ in 0..rounds {
            self.once(&mut out, corpus);
        }
        out
    }

    fn once(&mut self, out: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        let len = out.len();
        match self.rng.random_range(0..8) {
            0 if len > 0 => {
                let i = self.below(len);
                out[i] ^= 1 << self.rng.random_range(0..8);
            }
            1 => {
                let i = self.rng.random_range(0..=len);
                out.insert(i, self.rng.random());
            }
            2 if len > 0 => {
                let i = self.below(len);
                let n = self.rng.random_range(1..=(len - i).min(16));
                out.drain(i..i + n);
            }
            3 if !corpus.is_empty() => {
                let other = &corpus[self.below(corpus.len())];
                let cut = self.rng.random_range(0..=len);
                let from = self.rng.random_range(0..=other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            // Integers in headers sit near the start: bias the offset there.
            4 | 5 if len > 0 => {
                let width = [1usize, 2, 4, 8][self.below(4)];
                let limit = if self.rng.random_bool(0.75) {
                    len.min(64)
                } else {
                    len
                };
                let i = self.below(limit);
                let v = EXTREMES[self.below(EXTREMES.len())];
                let v = if self.rng.random_bool(0.5) {
                    v
                } else {
                    v.wrapping_sub(1)
                };
                let bytes = if self.rng.random_bool(0.5) {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                let bytes = if bytes[0] == 0 && self.rng.random_bool(0.5) {
                    &bytes[8 - width..]
                } else {
                    &bytes[..width]
                };
                for (k, b) in bytes.iter().enumerate() {
                    if let Some(slot) = out.get_mut(i + k) {
                        *slot = *b;
                    }
                }
            }
            6 if len > 0 => {
                out.truncate(self.below(len));
            }
            7 if len > 0 => {
                let i = self.below(len);
                let n = self.rng.random_range(1..=(len - i).min(256));
                let chunk = out[i..i + n].to_vec();
                let at = self.rng.random_range(0..=len);
                out.splice(at..at, chunk);
            }
            _ => {
                let i = self.rng.random_range(0..=len);
                out.insert(i, self.rng.random());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutations() {
        let corpus = vec![b"abcdefgh".to_vec(), b"0123456789".to_vec()];
        let run = |seed| {
            let mut m = Mutator::new(seed);
            (0..50)
                .map(|i| m.mutate(&corpus[i % 2], &corpus))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
