//! An RNN `rnnH` of an `--arch`: an Elman RNN (tanh) of H units reading each
//! sample as T rows of D features (an image's rows: sequential MNIST), its
//! last state into the dense layers. It must be the first layer.
//!
//! ```text
//! h_t = tanh(W_x·m_x⊙x_t + W_h·m_h⊙h_{t−1} + b)       W_x: init k, W_h: init k + 1
//! params            = H·D + H·H + H
//! floats per sample = T·(D + 2H) (masked inputs, masked and plain states) + 4H (gradients)
//! ```
//! Dropout on the inputs (site s) and the recurrent state (site s + 1):
//! locked (one mask per sequence) or naive (a new mask per step).

use crate::error::EngineError;
use crate::footprint::{mul, product, Footprint, LayerSize};
use crate::layers::{Rnn, RnnDropout};

use super::builder::Builder;

/// An Elman RNN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnSpec {
    /// Hidden units H.
    pub units: usize,
    /// Dropout rate on the inputs and the recurrent state.
    pub p: f32,
    /// Locked or naive masks.
    pub kind: RnnDropout,
    /// The input site's stream; the recurrent site's is `stream + 1`.
    pub stream: u32,
}

impl Footprint for RnnSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let h = self.units as u64;
        let Some(&d) = input.last().filter(|_| input.len() >= 2) else {
            return LayerSize {
                params: 0,
                floats_per_sample: 0,
                output: input.to_vec(),
            };
        };
        let steps = product(input) / d.max(1);
        LayerSize {
            params: mul(h, d).saturating_add(mul(h, h)).saturating_add(h),
            floats_per_sample: mul(steps, d.saturating_add(mul(2, h))).saturating_add(mul(4, h)),
            output: vec![h],
        }
    }
}

impl RnnSpec {
    /// Append the RNN for per-sample input `input` (rows of D); returns its output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let (d, h) = (*input.last().expect("a sequence shape"), self.units);
        let mut rnn = Rnn::new(d, h, self.p, self.kind, self.stream)?;
        b.fill(&mut rnn.w_x, d, h);
        b.fill(&mut rnn.w_h, h, h);
        b.push(Box::new(rnn));
        Ok(vec![h])
    }
}
