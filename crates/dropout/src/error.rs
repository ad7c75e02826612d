//! Typed errors of the dropout library.
//!
//! Every misuse that can be detected is reported here, at the point of
//! construction or call, and never as a panic later: a drop probability that
//! is NaN or outside `[0, 1]`, buffers whose lengths disagree, and noise
//! shapes that cannot broadcast over the data shape, block sizes that do not
//! fit, Gaussian rates of 1 and noise deviations that are not finite, names
//! that are not a variant or scope, and calls a variant does not have (an
//! element-wise call on DropBlock, a noise shape for DropPath).

use thiserror::Error;

/// What went wrong in a dropout call.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DropoutError {
    /// The drop probability is NaN or outside `[0, 1]`.
    #[error("dropout probability p = {p} is invalid: it must be a number in [0, 1]")]
    InvalidProbability {
        /// The rejected value.
        p: f32,
    },
    /// Concrete dropout's rate is not strictly between 0 and 1.
    #[error("concrete dropout rate p = {p} is invalid: it must be strictly between 0 and 1 (its logit is infinite at 0 and 1)")]
    OpenProbability {
        /// The rejected value.
        p: f32,
    },
    /// Two buffers that must have the same length do not.
    #[error("length mismatch: {what} has {got} elements, expected {expected}")]
    LengthMismatch {
        /// Which buffer was wrong.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it should have had.
        expected: usize,
    },
    /// A `(rows, cols)` layout does not match a buffer.
    #[error("shape mismatch: {what} has {got} elements, but rows × cols = {rows} × {cols}")]
    ShapeMismatch {
        /// Which buffer was wrong.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Rows of the layout.
        rows: usize,
        /// Columns of the layout.
        cols: usize,
    },
    /// A noise shape cannot broadcast over the data shape.
    #[error("noise shape {noise:?} does not broadcast over shape {shape:?}: each noise dimension must equal the data dimension or be 1 (at most 8 dimensions)")]
    BadNoiseShape {
        /// The data shape.
        shape: Vec<usize>,
        /// The noise shape.
        noise: Vec<usize>,
    },
    /// The requested kernel backend cannot run on this CPU.
    #[error("kernel backend `{backend}` is not supported on this CPU")]
    UnsupportedBackend {
        /// The backend's name.
        backend: &'static str,
    },
    /// A packed mask was made for a different number of elements.
    #[error("packed mask covers {got} elements, but the buffer has {expected}")]
    MaskLength {
        /// Elements in the mask.
        got: usize,
        /// Elements in the buffer.
        expected: usize,
    },
    /// A DropBlock block size of 0.
    #[error("DropBlock block size 0 is invalid: blocks are b × b with b ≥ 1")]
    ZeroBlock,
    /// A DropBlock block that cannot be placed.
    #[error("DropBlock block size {block} does not fit a {height} × {width} feature map: it must be between 1 and the map's smaller side")]
    BadBlock {
        /// The block size asked for.
        block: usize,
        /// Map height.
        height: usize,
        /// Map width.
        width: usize,
    },
    /// A Gaussian dropout rate of 1 or more (the noise variance p/(1 − p) is infinite), or NaN.
    #[error("Gaussian dropout rate p = {p} is invalid: it must be a number in [0, 1) (its noise variance p/(1 − p) is infinite at p = 1)")]
    GaussianRate {
        /// The rejected value.
        p: f32,
    },
    /// A Concrete dropout temperature that is not a finite number > 0.
    #[error("Concrete dropout temperature τ = {tau} is invalid: it must be a finite number > 0 (the paper uses 0.1)")]
    InvalidTemperature {
        /// The rejected value.
        tau: f32,
    },
    /// A noise standard deviation that is negative, infinite or NaN.
    #[error("noise standard deviation σ = {sigma} is invalid: it must be a finite number ≥ 0")]
    InvalidStd {
        /// The rejected value.
        sigma: f32,
    },
    /// Data that is not `(N, C, H, W)`.
    #[error("DropBlock needs (N, C, H, W) feature maps, got shape {shape:?}")]
    NotMaps {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// Data that is not `(N, H, …)` for DropHead.
    #[error("DropHead needs (N, H, …) data (samples, heads, then each head's output) of 2 to 8 dimensions, got shape {shape:?}")]
    NotHeads {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// A shape whose element count does not fit in memory's address range.
    #[error("shape {shape:?} holds more elements than fit in memory")]
    TooLarge {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// A name that is none of the accepted ones (a variant, a DropPath scope).
    #[error("unknown {what} `{got}`: expected {expected}")]
    UnknownName {
        /// What was being named.
        what: &'static str,
        /// The name given.
        got: String,
        /// The accepted names.
        expected: &'static str,
    },
    /// An element-wise call (at an offset) on a variant whose mask follows
    /// the data's shape.
    #[error("{variant} is not element-wise (one draw per {unit}): call forward_shaped / backward_shaped with the data's shape")]
    NotElementwise {
        /// The variant.
        variant: &'static str,
        /// What one draw covers.
        unit: &'static str,
    },
    /// A noise shape given to a variant that takes none.
    #[error("{variant} takes no noise shape (one draw per {unit}); leave it out")]
    NoNoiseShape {
        /// The variant.
        variant: &'static str,
        /// What one draw covers.
        unit: &'static str,
    },
    /// A setting given to a variant that does not have it.
    #[error("{variant} has no {setting} (only {owner} does)")]
    NoSetting {
        /// The variant.
        variant: &'static str,
        /// The setting given.
        setting: &'static str,
        /// The variant that has it.
        owner: &'static str,
    },
}

/// `Ok` iff `got == expected`, else [`DropoutError::LengthMismatch`].
pub(crate) fn check_len(
    what: &'static str,
    got: usize,
    expected: usize,
) -> Result<(), DropoutError> {
    if got == expected {
        Ok(())
    } else {
        Err(DropoutError::LengthMismatch {
            what,
            got,
            expected,
        })
    }
}

/// `Ok` iff `got == rows · cols` (without overflow), else [`DropoutError::ShapeMismatch`].
pub(crate) fn check_shape(
    what: &'static str,
    got: usize,
    rows: usize,
    cols: usize,
) -> Result<(), DropoutError> {
    if rows.checked_mul(cols) == Some(got) {
        Ok(())
    } else {
        Err(DropoutError::ShapeMismatch {
            what,
            got,
            rows,
            cols,
        })
    }
}
