//! The fast-path driver: fixed-size chunks over threads, tiles of keep bits
//! within a chunk.
//!
//! A buffer of `n` elements whose first element has global index `start` is
//! cut into chunks of [`CHUNK`] elements at fixed offsets; rayon runs the
//! chunks on whatever threads it has. Within a chunk, tiles of up to [`TILE`]
//! elements get their keep bits (generated from Philox, read from a packed
//! mask, or constant), which the element-wise op then consumes while the tile
//! is in L1. Because every keep bit is a pure function of the element's global
//! index, neither the chunking nor the thread count nor the SIMD width can
//! change a single output bit.

use rayon::prelude::*;

use crate::philox::MaskKey;
use crate::simd::{self, Backend};

/// Elements per parallel task (a multiple of [`TILE`]).
pub(crate) const CHUNK: usize = 1 << 16;
/// Elements per tile of keep bits (a multiple of 64).
pub(crate) const TILE: usize = 512;

/// Where keep bits come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Bits<'a> {
    /// Philox: keep iff r ≥ t.
    Philox { key: MaskKey, t: u32 },
    /// Every element kept.
    AllKeep,
    /// Every element dropped.
    AllDrop,
    /// A stored packed mask (bit e = element e kept).
    Packed(&'a [u64]),
}

impl Bits<'_> {
    /// Keep words for elements `64·first_word ..`.
    fn fill(&self, backend: Backend, first_word: u64, out: &mut [u64]) {
        match *self {
            Bits::Philox { key, t } => simd::keep_bits(backend, key, t, first_word, out),
            Bits::AllKeep => out.fill(u64::MAX),
            Bits::AllDrop => out.fill(0),
            Bits::Packed(words) => {
                // Words past the stored mask read as "dropped".
                let src = words.get(first_word as usize..).unwrap_or(&[]);
                let have = src.len().min(out.len());
                out[..have].copy_from_slice(&src[..have]);
                out[have..].fill(0);
            }
        }
    }
}

/// Call `op(offset, len, bits)` over tiles covering elements
/// `start .. start + n` (global indices); `bits` starts at element
/// `start + offset`.
pub(crate) fn for_each_tile(
    backend: Backend,
    bits: &Bits,
    start: u64,
    n: usize,
    mut op: impl FnMut(usize, usize, &[u64]),
) {
    let mut buf = [0u64; TILE / 64 + 1];
    let mut done = 0;
    while done < n {
        let e = start + done as u64;
        let head = (e % 64) as usize;
        let len = (TILE - head).min(n - done);
        let words = (head + len).div_ceil(64);
        bits.fill(backend, e / 64, &mut buf[..words]);
        if head != 0 {
            shift_right(&mut buf[..words], head);
        }
        op(done, len, &buf[..words]);
        done += len;
    }
}

/// Shift a little-endian bit array right by `k < 64` bits.
fn shift_right(words: &mut [u64], k: usize) {
    for i in 0..words.len() {
        let next = words.get(i + 1).copied().unwrap_or(0);
        words[i] = (words[i] >> k) | (next << (64 - k));
    }
}

/// Run `f(offset, len)` over `[0, n)` in chunks of `chunk` elements, in
/// parallel when there is more than one chunk.
pub(crate) fn par_chunks(n: usize, chunk: usize, f: impl Fn(usize, usize) + Sync) {
    if n <= chunk {
        if n > 0 {
            f(0, n);
        }
        return;
    }
    (0..n.div_ceil(chunk))
        .into_par_iter()
        .for_each(|c| f(c * chunk, chunk.min(n - c * chunk)));
}

/// A raw pointer that may cross threads. Each task touches a disjoint range.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T>(pub *mut T);
// SAFETY: used only to hand disjoint element ranges of one buffer to tasks.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer moved by `i` elements.
    ///
    /// # Safety
    /// `i` must be within the buffer.
    #[inline]
    pub(crate) unsafe fn at(self, i: usize) -> *mut T {
        self.0.add(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_right_moves_bits_across_words() {
        let mut w = [0x8000_0000_0000_0001u64, 0x3];
        shift_right(&mut w, 1);
        assert_eq!(w, [0xC000_0000_0000_0000, 0x1]);
    }

    #[test]
    fn tiles_cover_range_exactly_once() {
        for (start, n) in [(0u64, 0usize), (3, 1), (63, 5000), (64, 4096), (1, 2047)] {
            let mut seen = vec![0u8; n];
            let mut next = 0;
            for_each_tile(
                Backend::Portable,
                &Bits::AllKeep,
                start,
                n,
                |off, len, _| {
                    assert_eq!(off, next);
                    next += len;
                    for s in &mut seen[off..off + len] {
                        *s += 1;
                    }
                },
            );
            assert!(seen.iter().all(|&s| s == 1), "start {start} n {n}");
        }
    }
}
