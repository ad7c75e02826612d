//! The layers that only reshape: a 2×2 max pool `p` of an `--arch`, and the
//! flatten the builder puts before the first dense layer after conv blocks.
//!
//! ```text
//! pool:     (C, H, W) → (C, ⌊H/2⌋, ⌊W/2⌋)   no params; floats per sample = 2·C·⌊H/2⌋·⌊W/2⌋ (output, argmax)
//! flatten:  (d₁, …, d_n) → (d₁·…·d_n)        no params, no buffers
//! ```

use crate::error::EngineError;
use crate::footprint::{mul, product, Footprint, LayerSize};
use crate::layer::Layer;
use crate::layers::{Flatten, MaxPool2d};

use super::builder::Builder;

/// The pool's window and stride.
const WINDOW: usize = 2;

/// A max pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolSpec;

/// A flatten.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlattenSpec;

impl Footprint for PoolSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let mut output = input.to_vec();
        let mut floats = 0;
        if let [_, h, w] = &mut output[..] {
            *h /= WINDOW as u64;
            *w /= WINDOW as u64;
            floats = mul(2, product(&output));
        }
        LayerSize {
            params: 0,
            floats_per_sample: floats,
            output,
        }
    }
}

impl PoolSpec {
    /// Append the pool for per-sample input `input`; returns its output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let pool = MaxPool2d::new(WINDOW)?;
        let shape = pool.output_shape(input)?;
        b.push(Box::new(pool));
        Ok(shape)
    }
}

impl Footprint for FlattenSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        LayerSize {
            params: 0,
            floats_per_sample: 0,
            output: vec![product(input)],
        }
    }
}

impl FlattenSpec {
    /// Append the flatten for per-sample input `input`; returns its output shape.
    pub(crate) fn build(&self, input: &[usize], b: &mut Builder) -> Vec<usize> {
        b.push(Box::new(Flatten::default()));
        vec![input.iter().product()]
    }
}
