//! DropHead (Zhou et al. 2020, "Scheduled DropHead"): a multi-head
//! attention layer drops whole heads of a sample, and the kept heads are
//! rescaled so the expected output is unchanged.
//!
//! ```text
//! data (N, H, …) — sample n, head h, the rest of the head's output (e.g. T × d_h)
//! keep(n, h) = word(n·H + h) ≥ t              one draw per (sample, head), t = round(p · 2^32)
//! y[n, h, …] = keep(n, h) ? x[n, h, …] · s : 0        s = 1/(1 − p)
//! ∂L/∂x      = the same map on dy (bits recomputed from the key)
//! ```
//! **Rescale rule.** The kept heads are scaled by the fixed `1/(1 − p)`, as
//! every other member of the family, not by `H / kept(n)` per sample: the
//! layer stays an unbiased inverted dropout (`E[y] = x`) and needs no count.
//! **Every head dropped.** Then the sample's attention output is zero and,
//! in a residual block, only the skip path carries it for that step (the
//! probability is `p^H`, e.g. 1.6 % at p = 0.5, H = 4).
//!
//! This is plain dropout with the broadcast mask of noise shape
//! `(N, H, 1, …)` (`crate::broadcast`): the draw index of `(n, h)` is its
//! row-major index in `(N, H)`, so the engine, candle and Python agree with
//! each other and with [`reference::forward_broadcast`](crate::reference::forward_broadcast).
//!
//! ```
//! use dropout::{DropHead, MaskKey, Mode};
//! let d = DropHead::new(0.5).unwrap();
//! let x = vec![1.0f32; 2 * 4 * 6];
//! let mut y = vec![0.0; x.len()];
//! d.forward(MaskKey::new(3, 0, 0), Mode::Train, &[2, 4, 6], &x, &mut y).unwrap();
//! for head in y.chunks(6) {
//!     assert!(head.iter().all(|&v| v == head[0]) && (head[0] == 0.0 || head[0] == 2.0));
//! }
//! ```

use crate::broadcast::MAX_DIMS;
use crate::error::DropoutError;
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode};

/// The noise shape `(N, H, 1, …)` of data `dims` (its first `dims.len()` entries).
fn noise_shape(dims: &[usize]) -> Result<[usize; MAX_DIMS], DropoutError> {
    if !(2..=MAX_DIMS).contains(&dims.len()) {
        return Err(DropoutError::NotHeads {
            shape: dims.to_vec(),
        });
    }
    let mut noise = [1usize; MAX_DIMS];
    noise[..2].copy_from_slice(&dims[..2]);
    Ok(noise)
}

/// A validated DropHead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropHead {
    rule: Dropout,
}

impl DropHead {
    /// DropHead dropping each head of each sample with probability `p`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] if `p` is not in [0, 1].
    pub fn new(p: f32) -> Result<Self, DropoutError> {
        Ok(Self {
            rule: Dropout::new(p)?,
        })
    }

    /// The same on a chosen kernel backend (the output does not depend on it).
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: crate::Backend) -> Result<Self, DropoutError> {
        Ok(Self {
            rule: self.rule.with_backend(backend)?,
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

    /// `y = drophead(x)` over data of shape `(N, H, …)` (see the module docs);
    /// also the backward pass (the same map on `dy`).
    ///
    /// # Errors
    /// [`DropoutError::NotHeads`] for fewer than 2 or more than [`MAX_DIMS`] dimensions;
    /// [`DropoutError::LengthMismatch`] if a buffer does not hold the shape.
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        dims: &[usize],
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        let noise = noise_shape(dims)?;
        self.rule
            .forward_broadcast(key, mode, dims, &noise[..dims.len()], x, y)
    }

    /// In-place [`forward`](Self::forward) (also the in-place backward).
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn forward_inplace(
        &self,
        key: MaskKey,
        mode: Mode,
        dims: &[usize],
        x: &mut [f32],
    ) -> Result<(), DropoutError> {
        let noise = noise_shape(dims)?;
        self.rule
            .forward_broadcast_inplace(key, mode, dims, &noise[..dims.len()], x)
    }

    /// The keep decision and scale of head `h` of sample `n` among `heads`
    /// (`0` when dropped, else the scale; `1` in eval mode).
    pub fn head_scale(&self, key: MaskKey, mode: Mode, n: usize, heads: usize, h: usize) -> f32 {
        if mode == Mode::Eval || self.rule.p() == 0.0 {
            return 1.0;
        }
        let e = (n as u64) * heads as u64 + h as u64;
        match self.rule.threshold() {
            Some(t) if key.word(e) >= t => self.rule.scale(),
            Some(_) => 0.0,
            None => 0.0,
        }
    }
}
