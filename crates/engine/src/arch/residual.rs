//! A residual MLP block `rH` of an `--arch`, at the current width d (a
//! Transformer's MLP block):
//!
//! ```text
//! y = x + drop_path(fc2(dropout(act(fc1(norm(x))))))     fc1: d → H (init k), fc2: H → d (init k + 1)
//! params            = 2·d·H + H + d  [+ 2·d norm]
//! floats per sample = 8·H + 12·d (two dense blocks' buffers and the sum)
//! ```
//! Block l of L gets the DropPath rate `P·l/L` (Huang et al. 2016), with
//! its own site; the hidden dropout is the model's. With ReLU, no norm and
//! standard dropout, fc1 fuses ReLU and dropout as dense blocks do.

use dropout::{Act, PathScope};

use crate::error::EngineError;
use crate::footprint::{mul, product, Footprint, LayerSize};
use crate::layer::Layer;
use crate::layers::{
    Activation, ActivationLayer, BatchNorm, Dense, DropoutKind, DropoutVariant, LayerNorm, Residual,
};

use super::block::Norm;
use super::builder::Builder;
use super::site::Site;

/// A residual MLP block.
#[derive(Clone, Debug, PartialEq)]
pub struct ResidualSpec {
    /// Hidden width H.
    pub hidden: usize,
    /// The activation after fc1.
    pub act: Activation,
    /// The pre-norm.
    pub norm: Norm,
    /// The hidden dropout site (fc1's stream).
    pub dropout: Site,
    /// DropConnect rate on fc1's weights.
    pub dropconnect: f32,
    /// This block's DropPath rate.
    pub drop_path: f32,
    /// One DropPath coin per sample or per batch.
    pub drop_path_scope: PathScope,
    /// DropPath's stream.
    pub path_stream: u32,
}

impl ResidualSpec {
    /// Whether ReLU and dropout run in fc1's fused pass.
    pub fn fused(&self) -> bool {
        self.act == Activation::Relu
            && self.norm == Norm::None
            && self.dropout.variant == DropoutVariant::Standard
    }

    /// Append the block for per-sample input `input` (d features); returns its output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let (d, h) = (input[0], self.hidden);
        let (fused, p, stream) = (self.fused(), self.dropout.p, self.dropout.stream);
        let mut parts: Vec<(&'static str, Box<dyn Layer>)> = Vec::new();
        match self.norm {
            Norm::Layer => parts.push(("norm", Box::new(LayerNorm::new(d)))),
            Norm::Batch => parts.push(("norm", Box::new(BatchNorm::new(d)))),
            Norm::None => {}
        }
        let (act, fused_p) = if fused {
            (Act::Relu, p)
        } else {
            (Act::Identity, 0.0)
        };
        let mut fc1 = Dense::new(d, h, act, fused_p, stream)?.with_dropconnect(self.dropconnect)?;
        b.fill(&mut fc1.w, d, h);
        parts.push(("fc1", Box::new(fc1)));
        if !fused {
            parts.push(("act", Box::new(ActivationLayer::new(self.act))));
            if p > 0.0 {
                parts.push((
                    "dropout",
                    Box::new(self.dropout.layer(DropoutKind::Element)?),
                ));
            }
        }
        let mut fc2 = Dense::new(h, d, Act::Identity, 0.0, stream)?;
        b.fill(&mut fc2.w, h, d);
        parts.push(("fc2", Box::new(fc2)));
        let block = Residual::new(
            d,
            h,
            parts,
            self.drop_path,
            self.drop_path_scope,
            self.path_stream,
        )?;
        b.push(Box::new(block));
        Ok(vec![d])
    }
}

impl Footprint for ResidualSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let (d, h) = (product(input), self.hidden as u64);
        LayerSize {
            params: mul(2, mul(d, h))
                .saturating_add(h)
                .saturating_add(d)
                .saturating_add(self.norm.params(d)),
            floats_per_sample: mul(8, h).saturating_add(mul(12, d)),
            output: vec![d],
        }
    }
}
