//! An opt-in 1-bit packed mask: for callers that would rather store n/8 bytes
//! than regenerate the mask (e.g. to inspect it, or to reuse it across calls
//! whose key differs).
//!
//! Bit `e` (word `e / 64`, bit `e mod 64`) is 1 iff element `e` is **kept**;
//! bits past `len` are 0. Applying the mask is the same map as the kernels:
//! `y_e = keep_e ? x_e · s : 0`, for both forward and backward. The default
//! kernels never build one: their backward keeps zero bytes of mask.
//!
//! ```
//! use dropout::{Dropout, MaskKey, Mode, PackedMask};
//! let d = Dropout::new(0.25).unwrap();
//! let key = MaskKey::new(7, 1, 3);
//! let mask = d.mask(key, Mode::Train, 10_000);
//! let x = vec![1.0f32; 10_000];
//! let (mut a, mut b) = (vec![0.0; 10_000], vec![0.0; 10_000]);
//! d.forward(key, Mode::Train, &x, &mut a).unwrap();
//! mask.apply(&x, &mut b).unwrap();
//! assert_eq!(a, b);
//! assert_eq!(PackedMask::pack(&mask.unpack(), mask.scale()), mask);
//! ```

use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::simd;
use crate::tiles::{for_each_tile, par_chunks, Bits, Shared, CHUNK};

/// A keep mask, one bit per element, with the survivors' scale.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedMask {
    len: usize,
    scale: f32,
    words: Vec<u64>,
}

impl PackedMask {
    /// Pack a keep mask (`true` = kept) with survivor scale `scale`.
    pub fn pack(keep: &[bool], scale: f32) -> Self {
        let mut words = vec![0u64; keep.len().div_ceil(64)];
        for (i, &k) in keep.iter().enumerate() {
            words[i / 64] |= u64::from(k) << (i % 64);
        }
        Self {
            len: keep.len(),
            scale,
            words,
        }
    }

    /// The mask as one `bool` per element (`true` = kept).
    pub fn unpack(&self) -> Vec<bool> {
        (0..self.len)
            .map(|i| (self.words[i / 64] >> (i % 64)) & 1 == 1)
            .collect()
    }

    /// Whether element `i` is kept (`None` past the end).
    pub fn get(&self, i: usize) -> Option<bool> {
        (i < self.len).then(|| (self.words[i / 64] >> (i % 64)) & 1 == 1)
    }

    /// Number of elements covered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of kept elements.
    pub fn kept(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The survivors' scale `s`.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The packed words (bit e of the array = element e kept).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Bytes of storage used by the bits.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// `y = keep ? x · s : 0` — the forward pass, and equally the backward
    /// pass (`dx` from `dy`) of the call that produced the mask.
    ///
    /// # Errors
    /// [`DropoutError::MaskLength`] if `x` does not have the mask's length,
    /// [`DropoutError::LengthMismatch`] if `y` differs from `x`.
    pub fn apply(&self, x: &[f32], y: &mut [f32]) -> Result<(), DropoutError> {
        if x.len() != self.len {
            return Err(DropoutError::MaskLength {
                got: self.len,
                expected: x.len(),
            });
        }
        check_len("output", y.len(), x.len())?;
        // SAFETY: distinct buffers of len elements.
        unsafe { self.apply_raw(x.as_ptr(), y.as_mut_ptr()) };
        Ok(())
    }

    /// In-place [`apply`](Self::apply).
    ///
    /// # Errors
    /// [`DropoutError::MaskLength`] if `x` does not have the mask's length.
    pub fn apply_inplace(&self, x: &mut [f32]) -> Result<(), DropoutError> {
        if x.len() != self.len {
            return Err(DropoutError::MaskLength {
                got: self.len,
                expected: x.len(),
            });
        }
        let p = x.as_mut_ptr();
        // SAFETY: in place; each element is read before it is written.
        unsafe { self.apply_raw(p, p) };
        Ok(())
    }

    /// # Safety
    /// `x` readable and `y` writable for `len` elements, equal or disjoint.
    unsafe fn apply_raw(&self, x: *const f32, y: *mut f32) {
        let backend = simd::Backend::best();
        let bits = Bits::Packed(&self.words);
        let (xs, ys) = (Shared(x.cast_mut()), Shared(y));
        let s = self.scale;
        par_chunks(self.len, CHUNK, |c0, len| {
            for_each_tile(backend, &bits, c0 as u64, len, |o, l, b| {
                // SAFETY: [c0 + o, c0 + o + l) is inside this task's chunk.
                unsafe { simd::scale(backend, xs.at(c0 + o), ys.at(c0 + o), l, b, s) }
            });
        });
    }
}

impl Dropout {
    /// The packed keep mask of the call `(key, mode)` over `len` elements —
    /// bit for bit the mask [`forward`](Dropout::forward) applies. In eval mode
    /// and for `p = 0` every bit is set and the scale is 1; for `p = 1` none is
    /// set and the scale is 0.
    pub fn mask(&self, key: MaskKey, mode: Mode, len: usize) -> PackedMask {
        let nwords = len.div_ceil(64);
        let mut words = vec![0u64; nwords];
        let (scale, fill) = match self.plan(mode) {
            Plan::Identity => (1.0, Some(u64::MAX)),
            Plan::DropAll => (0.0, Some(0)),
            Plan::Threshold { t, s } => {
                let backend = self.backend();
                let ws = Shared(words.as_mut_ptr());
                par_chunks(nwords, CHUNK / 64, |w0, n| {
                    // SAFETY: words [w0, w0 + n) belong to this task alone.
                    let out = unsafe { std::slice::from_raw_parts_mut(ws.at(w0), n) };
                    simd::keep_bits(backend, key, t, w0 as u64, out);
                });
                (s, None)
            }
        };
        if let Some(v) = fill {
            words.fill(v);
        }
        if !len.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last &= (1u64 << (len % 64)) - 1;
            }
        }
        PackedMask { len, scale, words }
    }
}
