//! Attention-probability dropout fused with the softmax: the dropout of a
//! Transformer's attention weights (Vaswani et al. 2017; GPT-2's
//! `attn_pdrop`), one `(sample, head)` block of `T × T` scores at a time.
//!
//! ```text
//! P[i, j] = exp(S[i, j] − m_i) / Σ_k exp(S[i, k] − m_i),  m_i = max_k S[i, k]   k over allowed keys
//! allowed: every j (bidirectional), j ≤ i (causal: P[i, j] = 0 for j > i)
//! A[i, j] = keep(e) ? P[i, j] · s : 0,        s = 1/(1 − p)                   (what multiplies V)
//! e       = b·T² + i·T + j,                  b = n·H + h, the block of sample n, head h
//! backward, from ∂L/∂A:
//! ∂L/∂P[i, j] = keep(e) ? ∂L/∂A[i, j] · s : 0                                 (bits recomputed from the key)
//! ∂L/∂S[i, j] = P[i, j] · (∂L/∂P[i, j] − Σ_k P[i, k] · ∂L/∂P[i, k])
//! ```
//! **The draw index.** Element `(i, j)` of block `b` takes Philox word
//! `e = b·T² + i·T + j` of the site's key, on the full `T × T` grid: causally
//! masked positions (`j > i`) have an index and their words are computed with
//! their row's (the kernel draws whole blocks) but never change anything,
//! since `P = 0` there. So a causal and a bidirectional layer draw the same
//! bits at the same allowed positions, and the engine, candle and Python
//! agree by construction.
//!
//! Only `P` is kept for backward (the layer needs it for `∂L/∂S` anyway);
//! the mask is never stored: `A` is recomputed from `P` and the key when
//! `∂L/∂V = Aᵀ · ∂L/∂O` needs it. The exponential is [`crate::fastmath::exp`]
//! (vectorisable, the same bits on every CPU); the mask is plain dropout's
//! ([`Dropout::forward_at`], SIMD Philox) at offset `b·T²`.
//!
//! ```
//! use dropout::{AttentionDropout, MaskKey, Mode};
//! let d = AttentionDropout::new(0.0).unwrap();
//! let mut s = vec![0.0f32; 9]; // T = 3, all scores equal
//! let mut a = vec![0.0; 9];
//! d.forward(MaskKey::new(1, 0, 0), Mode::Train, 0, 3, true, &mut s, &mut a).unwrap();
//! assert_eq!(&a[..3], &[1.0, 0.0, 0.0]);      // row 0 sees key 0 only
//! assert_eq!(&a[6..], &[1.0 / 3.0; 3]);       // row 2 sees all three
//! ```

use crate::error::{check_len, DropoutError};
use crate::fastmath;
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode};
use crate::wide::wide;

/// A validated attention-probability dropout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionDropout {
    rule: Dropout,
}

/// The softmax of one row's first `len` scores, in place; the rest set to 0.
/// The exponentials are one loop (vectorised inside [`wide`]), their sum
/// another, in index order; indexed loops, since an iterator adapter's `fold`
/// may be compiled outside the wide function.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed on purpose (see above)
pub(crate) fn softmax_row(row: &mut [f32], len: usize) {
    let (live, dead) = row.split_at_mut(len);
    let m = live.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for i in 0..live.len() {
        live[i] = fastmath::exp(live[i] - m);
    }
    let mut sum = 0.0f32;
    for &v in live.iter() {
        sum += v;
    }
    let inv = 1.0 / sum;
    for i in 0..live.len() {
        live[i] *= inv;
    }
    dead.fill(0.0);
}

impl AttentionDropout {
    /// Dropout of attention probabilities at rate `p`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] if `p` is not in [0, 1].
    pub fn new(p: f32) -> Result<Self, DropoutError> {
        Ok(Self {
            rule: Dropout::new(p)?,
        })
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.rule.p()
    }

    /// The keep rule and scale (plain dropout's).
    pub fn rule(&self) -> Dropout {
        self.rule
    }

    /// One block `b`: `s` holds the `t × t` scaled scores and is overwritten
    /// with the probabilities `P`; `a` gets `dropout(P)` (see the module docs).
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `s` or `a` is not `t × t`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        b: u64,
        t: usize,
        causal: bool,
        s: &mut [f32],
        a: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_len("scores", s.len(), t * t)?;
        check_len("output", a.len(), t * t)?;
        wide(
            #[inline(always)]
            || {
                for (i, row) in s.chunks_exact_mut(t.max(1)).enumerate() {
                    softmax_row(row, if causal { i + 1 } else { t });
                }
            },
        );
        self.rule.forward_at(key, mode, b * (t * t) as u64, s, a)
    }

    /// `A = dropout(P)` again from the stored `P` (for `∂L/∂V = Aᵀ · ∂L/∂O`).
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `a` and `p` differ in length.
    pub fn mask(
        &self,
        key: MaskKey,
        mode: Mode,
        b: u64,
        p: &[f32],
        a: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.rule.forward_at(key, mode, b * p.len() as u64, p, a)
    }

    /// Backward of block `b`: `g` holds `∂L/∂A` and is overwritten with
    /// `∂L/∂S`, from the stored probabilities `p` (see the module docs).
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `p` or `g` is not `t × t`.
    pub fn backward(
        &self,
        key: MaskKey,
        mode: Mode,
        b: u64,
        t: usize,
        p: &[f32],
        g: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_len("probabilities", p.len(), t * t)?;
        check_len("gradient", g.len(), t * t)?;
        self.rule
            .forward_at_inplace(key, mode, b * (t * t) as u64, g);
        wide(
            #[inline(always)]
            || {
                for (prow, grow) in p.chunks_exact(t.max(1)).zip(g.chunks_exact_mut(t.max(1))) {
                    let dot: f32 = prow.iter().zip(grow.iter()).map(|(p, g)| p * g).sum();
                    for (g, &p) in grow.iter_mut().zip(prow) {
                        *g = p * (*g - dot);
                    }
                }
            },
        );
        Ok(())
    }
}
