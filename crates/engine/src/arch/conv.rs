//! A conv block `cK` of an `--arch`: a 3×3 convolution with K channels and
//! padding 1, then `[BatchNorm2d] → act → [conv dropout]`. For an input of
//! C_i channels of H × W:
//!
//! ```text
//! params            = C_i·9·K + K  [+ 2·K BatchNorm]
//! floats per sample = HW·C_i·9 (im2col columns) + 8·HW·K (product, output, norm, activation, dropout, gradients)
//! ```
//! Conv dropout drops single elements, whole channels (spatial dropout) or
//! b × b blocks (DropBlock), with its own site.

use crate::error::EngineError;
use crate::footprint::{mul, Footprint, LayerSize};
use crate::layer::Layer;
use crate::layers::{Activation, ActivationLayer, BatchNorm, Conv2d, DropoutKind};

use super::builder::Builder;
use super::site::Site;

/// The kernel's side.
const KERNEL: usize = 3;

/// A conv block.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvSpec {
    /// Output channels K.
    pub channels: usize,
    /// BatchNorm2d after the convolution.
    pub batch_norm: bool,
    /// The activation.
    pub act: Activation,
    /// Dropout after the activation, if any.
    pub dropout: Option<ConvDropout>,
}

/// Dropout after a conv block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvDropout {
    /// Rate, stream and map.
    pub site: Site,
    /// What one mask bit covers.
    pub kind: DropoutKind,
    /// DropBlock's block side b (used with kind `Block`).
    pub block_size: usize,
}

impl Footprint for ConvSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let co = self.channels as u64;
        let [ci, h, w] = *input else {
            return LayerSize {
                params: 0,
                floats_per_sample: 0,
                output: input.to_vec(),
            };
        };
        let (hw, k2) = (mul(h, w), (KERNEL * KERNEL) as u64);
        let bn = if self.batch_norm { mul(2, co) } else { 0 };
        LayerSize {
            params: mul(mul(ci, k2), co).saturating_add(co).saturating_add(bn),
            floats_per_sample: mul(hw, mul(ci, k2)).saturating_add(mul(8, mul(hw, co))),
            output: vec![co, h, w],
        }
    }
}

impl ConvSpec {
    /// Append the block for per-sample input `input`; returns its output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let (ci, co) = (input[0], self.channels);
        let mut conv = Conv2d::new(ci, co, KERNEL, 1, KERNEL / 2)?;
        b.fill(&mut conv.w, ci * KERNEL * KERNEL, co * KERNEL * KERNEL);
        let shape = conv.output_shape(input)?;
        b.push(Box::new(conv));
        if self.batch_norm {
            b.push(Box::new(BatchNorm::new(co)));
        }
        b.push(Box::new(ActivationLayer::new(self.act)));
        if let Some(d) = &self.dropout {
            b.push(Box::new(
                d.site.layer(d.kind)?.with_block_size(d.block_size)?,
            ));
        }
        Ok(shape)
    }
}
