//! Building one residual MLP block of an `--arch` (`rH`, see [`crate::spec`]):
//!
//! ```text
//! x + drop_path(fc2(dropout(act(fc1(norm(x))))))      fc1: d → H (init rng k), fc2: H → d (rng k + 1)
//! ```
//! norm is the spec's (LayerNorm, BatchNorm or none); dropout is the spec's
//! hidden rate and variant; DropPath has its own site. With ReLU, no norm
//! and standard dropout, fc1 fuses ReLU and dropout as dense blocks do.

use dropout::Act;

use crate::error::EngineError;
use crate::layer::Layer;
use crate::layers::residual::DropPathScope;
use crate::layers::{
    Activation, ActivationLayer, BatchNorm, Dense, DropoutKind, DropoutLayer, DropoutVariant,
    LayerNorm, Residual,
};
use crate::rng::Rng;
use crate::spec::{ModelSpec, Norm};

/// Where a block's randomness comes from.
pub(crate) struct BlockSeeds {
    /// DropPath's site.
    pub path_stream: u32,
    /// The hidden dropout's site.
    pub drop_stream: u32,
    /// fc1's and fc2's initialisation.
    pub init: (Rng, Rng),
}

/// The block over `d` features with hidden width `h` and DropPath rate `rate`.
pub(crate) fn residual_block(
    spec: &ModelSpec,
    d: usize,
    h: usize,
    rate: f32,
    seeds: BlockSeeds,
) -> Result<Residual, EngineError> {
    let BlockSeeds {
        path_stream,
        drop_stream,
        init: (mut r1, mut r2),
    } = seeds;
    let p = if spec.last_only { 0.0 } else { spec.dropout };
    let fused = spec.act == Activation::Relu
        && spec.norm == Norm::None
        && spec.variant == DropoutVariant::Standard;
    let init = spec.init();
    let mut parts: Vec<(&'static str, Box<dyn Layer>)> = Vec::new();
    match spec.norm {
        Norm::Layer => parts.push(("norm", Box::new(LayerNorm::new(d)))),
        Norm::Batch => parts.push(("norm", Box::new(BatchNorm::new(d)))),
        Norm::None => {}
    }
    let (act, fused_p) = if fused {
        (Act::Relu, p)
    } else {
        (Act::Identity, 0.0)
    };
    let mut fc1 =
        Dense::new(d, h, act, fused_p, drop_stream)?.with_dropconnect(spec.dropconnect)?;
    init.fill(&mut fc1.w, d, h, &mut r1);
    parts.push(("fc1", Box::new(fc1)));
    if !fused {
        parts.push(("act", Box::new(ActivationLayer::new(spec.act))));
        if p > 0.0 {
            let drop = DropoutLayer::new(p, drop_stream, DropoutKind::Element)?
                .with_variant(spec.variant)?;
            parts.push(("dropout", Box::new(drop)));
        }
    }
    let mut fc2 = Dense::new(h, d, Act::Identity, 0.0, drop_stream)?;
    init.fill(&mut fc2.w, h, d, &mut r2);
    parts.push(("fc2", Box::new(fc2)));
    let scope = match spec.drop_path_scope {
        DropPathScope::Sample => dropout::PathScope::Sample,
        DropPathScope::Batch => dropout::PathScope::Batch,
    };
    Residual::new(d, h, parts, rate, scope, path_stream)
}
