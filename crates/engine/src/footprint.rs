//! A model's footprint, computed from its spec before anything is
//! allocated, in saturating arithmetic:
//!
//! ```text
//! params            = Σ_conv (Ci·9·Co + Co [+ 2·Co BN]) + Σ_dense (in·out + out [+ 2·out norm, hidden only])
//!                     + Σ_residual (2·d·h + h + d [+ 2·d norm]) + Σ_rnn (h·d + h·h + h)
//!                     [+ 1 per dense layer with Concrete dropout]
//! floats per sample ≈ 2·input + Σ_conv (HW·Ci·9 + 8·HW·Co) + Σ_pool 2·(C·H·W)/4 + Σ_dense 8·out
//!                     + Σ_residual (8·h + 12·d) + Σ_rnn (T·(d + 2h) + 4h)
//! ```
//! (the second is an upper estimate of the buffers one sample of a batch
//! needs: im2col columns, outputs, input gradients, normalisation buffers).

use crate::arch::{parse_arch, Tok};
use crate::error::EngineError;
use crate::spec::{ModelSpec, Norm};

/// Most parameters a model may have: 100 M (weights, gradients and two
/// optimizer moments: 1.6 GB). Anything larger is an input error here, not
/// an allocation failure.
pub const MAX_PARAMS: u64 = 100_000_000;

/// What a model needs, computed from its spec before anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSize {
    /// Trainable parameters.
    pub params: u64,
    /// f32 buffers per sample of a batch, over all layers (outputs, input
    /// gradients, normalisation and im2col buffers; an upper estimate).
    pub floats_per_sample: u64,
}

/// The size of the model `spec` describes for inputs of shape `sample`, in
/// saturating arithmetic (an absurd architecture gives `u64::MAX`, never an
/// overflow).
///
/// # Errors
/// [`EngineError::Arch`] for an unreadable architecture.
pub fn size(spec: &ModelSpec, sample: &[usize]) -> Result<ModelSize, EngineError> {
    let toks = parse_arch(&spec.arch)?;
    let mul = |a: u64, b: u64| a.saturating_mul(b);
    let (mut params, mut floats) = (0u64, 0u64);
    let mut shape: Vec<u64> = sample.iter().map(|&d| d as u64).collect();
    let cnn = toks.iter().any(Tok::reads_sample_shape);
    let mut first_dense = !cnn;
    let last = toks.len().saturating_sub(1);
    // A norm's scale and shift over `c` features.
    let norm = |c: u64| {
        if spec.norm == Norm::None {
            0
        } else {
            mul(2, c)
        }
    };
    for (i, t) in toks.iter().enumerate() {
        match *t {
            Tok::Conv(co) if shape.len() == 3 => {
                let (ci, hw, co) = (shape[0], mul(shape[1], shape[2]), co as u64);
                let bn = if spec.norm == Norm::Batch {
                    mul(2, co)
                } else {
                    0
                };
                params = params
                    .saturating_add(mul(mul(ci, 9), co).saturating_add(co).saturating_add(bn));
                // im2col columns, the product, output, norm and activation buffers.
                floats = floats
                    .saturating_add(mul(hw, mul(ci, 9)))
                    .saturating_add(mul(8, mul(hw, co)));
                shape[0] = co;
            }
            Tok::Pool if shape.len() == 3 => {
                shape[1] /= 2;
                shape[2] /= 2;
                floats = floats.saturating_add(mul(2, shape.iter().fold(1, |a, &d| mul(a, d))));
            }
            Tok::Dense(k) => {
                let k = k as u64;
                if first_dense {
                    first_dense = false;
                    shape = vec![k];
                    continue;
                }
                let inp = shape.iter().fold(1u64, |a, &d| mul(a, d));
                let hidden_norm = if i == last { 0 } else { norm(k) };
                params = params
                    .saturating_add(mul(inp, k).saturating_add(k).saturating_add(hidden_norm));
                floats = floats.saturating_add(mul(8, k));
                shape = vec![k];
            }
            Tok::Rnn(h) if shape.len() >= 2 => {
                let h = h as u64;
                let d = *shape.last().expect("two dims");
                let steps = shape.iter().fold(1u64, |a, &v| mul(a, v)) / d.max(1);
                params =
                    params.saturating_add(mul(h, d).saturating_add(mul(h, h)).saturating_add(h));
                // masked inputs, masked and plain states per step, gradients.
                floats = floats
                    .saturating_add(mul(steps, d.saturating_add(mul(2, h))))
                    .saturating_add(mul(4, h));
                shape = vec![h];
            }
            Tok::Residual(h) => {
                let (d, h) = (shape.iter().fold(1u64, |a, &v| mul(a, v)), h as u64);
                // fc1, fc2 and a norm's scale and shift; buffers as two dense blocks plus the sum.
                let norm = if spec.norm == Norm::None {
                    0
                } else {
                    mul(2, d)
                };
                params = params.saturating_add(
                    mul(2, mul(d, h))
                        .saturating_add(h)
                        .saturating_add(d)
                        .saturating_add(norm),
                );
                floats = floats.saturating_add(mul(8, h)).saturating_add(mul(12, d));
                shape = vec![d];
            }
            _ => {}
        }
    }
    let input = sample.iter().fold(1u64, |a, &d| mul(a, d as u64));
    Ok(ModelSize {
        params,
        floats_per_sample: floats.saturating_add(mul(2, input)),
    })
}
