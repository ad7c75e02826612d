//! A model's footprint, computed from its typed description
//! (`arch::Arch`) before anything is allocated, in saturating
//! arithmetic. Each layer kind states its own size ([`Footprint`]); this
//! file only sums them along the per-sample shape:
//!
//! ```text
//! s_0 = the first layer's input shape,   (p_i, f_i, s_i) = size_i(s_{i−1})
//! params            = Σ_i p_i
//! floats per sample = 2·|sample| + Σ_i f_i      (|sample|: the input's features)
//! ```
//! `f_i` is an upper estimate of the f32 buffers one sample of a batch needs
//! in layer i: its activations (outputs kept for backward), input gradients,
//! normalisation and im2col buffers. A batch of B needs B × that, so a
//! layer whose buffers grow with the square of a sequence length T (an
//! attention layer's H·T² scores) states H·T² (times its buffer count) here.

/// Most parameters a model may have: 100 M (weights, gradients and two
/// optimizer moments: 1.6 GB). Anything larger is an input error here, not
/// an allocation failure.
pub const MAX_PARAMS: u64 = 100_000_000;

/// What one layer needs, from its per-sample input shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSize {
    /// Trainable parameters.
    pub params: u64,
    /// f32 buffers per sample of a batch (activations, gradients, scratch).
    pub floats_per_sample: u64,
    /// The per-sample output shape (the next layer's input).
    pub output: Vec<u64>,
}

/// A layer kind that states its own size.
pub trait Footprint {
    /// The size for per-sample input shape `input`, in saturating arithmetic
    /// (an absurd size gives `u64::MAX`, never an overflow). A shape the
    /// layer cannot take is not an error here: the builder refuses it.
    fn size(&self, input: &[u64]) -> LayerSize;
}

/// What a model needs, computed from its typed description before anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSize {
    /// Trainable parameters.
    pub params: u64,
    /// f32 buffers per sample of a batch, over all layers (outputs, input
    /// gradients, normalisation and im2col buffers; an upper estimate).
    pub floats_per_sample: u64,
}

/// `a · b`, saturating.
pub fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// The number of elements of `shape`, saturating.
pub fn product(shape: &[u64]) -> u64 {
    shape.iter().fold(1, |a, &d| mul(a, d))
}

/// The sum over `layers`, the first reading shape `first` of a model whose
/// input samples have shape `sample`.
pub fn total<L: Footprint>(sample: &[usize], first: &[u64], layers: &[L]) -> ModelSize {
    let (mut params, mut floats) = (0u64, 0u64);
    let mut shape = first.to_vec();
    for layer in layers {
        let s = layer.size(&shape);
        params = params.saturating_add(s.params);
        floats = floats.saturating_add(s.floats_per_sample);
        shape = s.output;
    }
    let input: Vec<u64> = sample.iter().map(|&d| d as u64).collect();
    ModelSize {
        params,
        floats_per_sample: floats.saturating_add(mul(2, product(&input))),
    }
}
