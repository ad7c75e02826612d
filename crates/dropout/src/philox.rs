//! Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw,
//! "Parallel random numbers: as easy as 1, 2, 3" (SC'11).
//!
//! A block is a pure function `philox(counter, key) -> [u32; 4]` of a 128-bit
//! counter `(c0, c1, c2, c3)` and a 64-bit key `(k0, k1)`. Ten rounds of
//!
//! ```text
//! (hi0, lo0) = M0 · c0          (32 × 32 → 64-bit product)
//! (hi1, lo1) = M1 · c2
//! c' = (hi1 ⊕ c1 ⊕ k0,  lo1,  hi0 ⊕ c3 ⊕ k1,  lo0)
//! k' = (k0 + W0, k1 + W1)       (mod 2^32, between rounds)
//! ```
//!
//! with `M0 = 0xD2511F53`, `M1 = 0xCD9E8D57`, `W0 = 0x9E3779B9` (golden ratio),
//! `W1 = 0xBB67AE85` (√3 − 1).
//!
//! How dropout uses it (docs/src/design.md §3): key = low/high 32 bits of the `seed`;
//! counter = (low32(j), high32(j), stream, step) for block index `j`; block `j`
//! gives the random words of elements `4j .. 4j + 3`. Because a block depends on
//! nothing but its counter and key, any element's mask bit can be computed on
//! its own — on any thread, in any order, with any SIMD width.
//!
//! ```
//! // Random123 known-answer vector: zero counter, zero key.
//! let r = dropout::philox::philox4x32_10([0; 4], [0; 2]);
//! assert_eq!(r, [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
//! ```

/// Multiplier applied to counter word 0 in each round.
pub const M0: u32 = 0xD251_1F53;
/// Multiplier applied to counter word 2 in each round.
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl increment of key word 0 between rounds.
pub const W0: u32 = 0x9E37_79B9;
/// Weyl increment of key word 1 between rounds.
pub const W1: u32 = 0xBB67_AE85;
/// Number of rounds (the "-10" of Philox4x32-10).
pub const ROUNDS: usize = 10;

/// High and low 32 bits of the 64-bit product `a · b`.
#[inline(always)]
pub fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32 round with round key `k`.
#[inline(always)]
fn round(c: [u32; 4], k: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(M0, c[0]);
    let (hi1, lo1) = mulhilo(M1, c[2]);
    [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
}

/// The Philox4x32-10 block function: four random words from a counter and a key.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for r in 0..ROUNDS {
        if r > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        c = round(c, k);
    }
    c
}

/// Where a mask comes from: the pure-function key of docs/src/design.md §3.
///
/// * `seed` — the run's seed (the Philox key);
/// * `stream` — which dropout site in the model (counter word 2);
/// * `step` — which training step or call (counter word 3).
///
/// Two calls with the same `MaskKey` and the same element index always make
/// the same keep/drop decision; change any field and the masks are independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MaskKey {
    /// Run seed: Philox key = (low 32 bits, high 32 bits).
    pub seed: u64,
    /// Dropout site within the model.
    pub stream: u32,
    /// Training step (or call number).
    pub step: u32,
}

impl MaskKey {
    /// A key from its three parts.
    pub const fn new(seed: u64, stream: u32, step: u32) -> Self {
        Self { seed, stream, step }
    }

    /// The Philox key words `(low32(seed), high32(seed))`.
    #[inline]
    pub const fn philox_key(&self) -> [u32; 2] {
        [self.seed as u32, (self.seed >> 32) as u32]
    }

    /// The counter of block `j`: `(low32(j), high32(j), stream, step)`.
    #[inline]
    pub const fn counter(&self, block: u64) -> [u32; 4] {
        [block as u32, (block >> 32) as u32, self.stream, self.step]
    }

    /// The four random words of block `j` (elements `4j .. 4j+3`).
    #[inline]
    pub fn block(&self, block: u64) -> [u32; 4] {
        philox4x32_10(self.counter(block), self.philox_key())
    }

    /// The random word of element `e`: word `e mod 4` of block `e / 4`.
    #[inline]
    pub fn word(&self, element: u64) -> u32 {
        self.block(element / 4)[(element % 4) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three Random123 `kat_vectors` lines for philox4x32_10
    /// (counter, key → output), as listed in docs/src/design.md §3.
    #[test]
    fn random123_known_answers() {
        let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0, 0, 0, 0],
                [0, 0],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in cases {
            assert_eq!(
                philox4x32_10(ctr, key),
                want,
                "counter {ctr:08x?} key {key:08x?}"
            );
        }
    }

    #[test]
    fn mask_key_maps_fields_to_counter_and_key() {
        let k = MaskKey::new(0x2222_1111_0000_0001, 7, 9);
        assert_eq!(k.philox_key(), [0x0000_0001, 0x2222_1111]);
        assert_eq!(k.counter(0x0000_0003_0000_0002), [2, 3, 7, 9]);
        let b = k.block(5);
        for w in 0..4 {
            assert_eq!(k.word(20 + w), b[w as usize]);
        }
    }
}
