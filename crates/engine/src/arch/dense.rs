//! A dense block of an `--arch` (a number N after the first): a dense layer
//! of N units, then for a hidden block `[norm] → act → [dropout]` (or
//! `[dropout] → [norm] → act`, see [`DropPlace`]); the last number is the
//! output layer, a plain dense layer. For an input of `d` features:
//!
//! ```text
//! params            = d·N + N  [+ 2·N norm, hidden blocks only]
//! floats per sample = 8·N (output, norm, activation, dropout, gradients)
//! ```
//! With ReLU, no norm and standard dropout the hidden block is one fused
//! layer (`dropout(relu(x·Wᵀ + b))`). DropConnect drops the weights of hidden
//! layers; Concrete dropout puts a learned-rate dropout on the layer's input
//! (its own site). Concrete dropout's one learned logit is not counted in
//! `params` (an estimate for the memory bound; kept as it always was).

use dropout::Act;

use crate::error::EngineError;
use crate::footprint::{mul, product, Footprint, LayerSize};
use crate::layers::{
    Activation, ActivationLayer, BatchNorm, ConcreteDense, ConcreteSpec, Dense, DropoutKind,
    DropoutVariant, LayerNorm,
};

use super::block::{DropPlace, Norm};
use super::builder::Builder;
use super::site::Site;

/// A dense block.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseSpec {
    /// Units N.
    pub units: usize,
    /// A hidden block's activation; `None` for the output layer (linear, no norm, no dropout).
    pub act: Option<Activation>,
    /// Normalisation (hidden blocks).
    pub norm: Norm,
    /// The hidden dropout site; its stream is the layer's (the fused
    /// kernel's and DropConnect's) even at rate 0.
    pub dropout: Site,
    /// Where the dropout sits.
    pub place: DropPlace,
    /// DropConnect rate on the weights.
    pub dropconnect: f32,
    /// Concrete dropout on the input, with its own stream.
    pub concrete: Option<(ConcreteSpec, u32)>,
}

impl DenseSpec {
    /// Whether ReLU and dropout run in the dense layer's fused pass.
    pub fn fused(&self) -> bool {
        self.act == Some(Activation::Relu)
            && self.norm == Norm::None
            && self.dropout.variant == DropoutVariant::Standard
    }

    /// Append the block for per-sample input `input` (flat); returns its output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let (inp, out) = (input[0], self.units);
        let (fused, p) = (self.fused(), self.dropout.p);
        let (act, fused_p) = if fused {
            (Act::Relu, p)
        } else {
            (Act::Identity, 0.0)
        };
        let mut dense = Dense::new(inp, out, act, fused_p, self.dropout.stream)?
            .with_dropconnect(self.dropconnect)?;
        b.fill(&mut dense.w, inp, out);
        match self.concrete {
            Some((c, stream)) => b.push(Box::new(ConcreteDense::new(dense, c, stream)?)),
            None => b.push(Box::new(dense)),
        }
        let Some(a) = self.act.filter(|_| !fused) else {
            return Ok(vec![out]);
        };
        let drop = p > 0.0;
        if drop && self.place == DropPlace::BeforeNorm {
            b.push(Box::new(self.dropout.layer(DropoutKind::Element)?));
        }
        match self.norm {
            Norm::Batch => b.push(Box::new(BatchNorm::new(out))),
            Norm::Layer => b.push(Box::new(LayerNorm::new(out))),
            Norm::None => {}
        }
        b.push(Box::new(ActivationLayer::new(a)));
        if drop && self.place == DropPlace::AfterAct {
            b.push(Box::new(self.dropout.layer(DropoutKind::Element)?));
        }
        Ok(vec![out])
    }
}

impl Footprint for DenseSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let k = self.units as u64;
        LayerSize {
            params: mul(product(input), k)
                .saturating_add(k)
                .saturating_add(self.norm.params(k)),
            floats_per_sample: mul(8, k),
            output: vec![k],
        }
    }
}
