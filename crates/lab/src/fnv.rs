//! FNV-1a, 64 bit — the lab's one content hash (cache keys, cache checksums,
//! data fingerprints). Not cryptographic: it detects accidents (edits,
//! truncation, swapped files), not adversaries.
//!
//! ```text
//! h ← 0xcbf29ce484222325;  for each byte b: h ← (h ⊕ b) · 0x100000001b3 (mod 2^64)
//! ```

/// A running FNV-1a hash.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Add `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The hash of `bytes` as 16 hex digits.
pub fn hex(bytes: &[u8]) -> String {
    let mut h = Fnv::default();
    h.write(bytes);
    h.hex()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(super::hex(b""), "cbf29ce484222325");
        assert_eq!(super::hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(super::hex(b"foobar"), "85944171f73967e8");
    }
}
