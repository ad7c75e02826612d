//! One dropout site of a typed model: its rate, its Philox stream and the
//! map it applies.
//!
//! ```text
//! mask key = (run seed, stream, step)     streams numbered in layer order from 0
//! ```
//! The numbering is done once, when the model is described
//! (`spec::ModelSpec::arch`); a site keeps its
//! stream when its rate is 0, so turning one site on or off never moves
//! another site's masks.

use crate::error::EngineError;
use crate::layers::{DropoutKind, DropoutLayer, DropoutVariant};

/// A dropout site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    /// Drop rate in [0, 1].
    pub p: f32,
    /// Its Philox stream.
    pub stream: u32,
    /// The map applied to dropped and kept units.
    pub variant: DropoutVariant,
}

impl Site {
    /// Whether it drops anything.
    pub fn is_on(&self) -> bool {
        self.p > 0.0
    }

    /// The dropout layer of this site, `kind` saying what one mask bit covers.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a bad rate or a variant that cannot take it.
    pub(crate) fn layer(&self, kind: DropoutKind) -> Result<DropoutLayer, EngineError> {
        DropoutLayer::new(self.p, self.stream, kind)?.with_variant(self.variant)
    }
}
