//! The two choices every hidden block of a model shares: its normalisation
//! and where its dropout sits.
//!
//! ```text
//! AfterAct:    Dense → [norm] → act → [dropout]     (Srivastava et al. 2014)
//! BeforeNorm:  Dense → [dropout] → [norm] → act
//! ```
//! BatchNorm is 1-d after a dense layer and 2-d after a conv; LayerNorm is for
//! dense blocks only.

/// Normalisation in hidden blocks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Norm {
    /// None.
    #[default]
    #[serde(rename = "none")]
    None,
    /// BatchNorm (1-d for dense, 2-d for conv).
    #[serde(rename = "bn")]
    Batch,
    /// LayerNorm (dense blocks only).
    #[serde(rename = "ln")]
    Layer,
}

impl Norm {
    /// Scale and shift over `c` features: `2·c`, or 0 without a norm.
    pub fn params(self, c: u64) -> u64 {
        match self {
            Norm::None => 0,
            Norm::Batch | Norm::Layer => c.saturating_mul(2),
        }
    }
}

/// Where hidden dropout sits in a block.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DropPlace {
    /// `Dense → norm → act → dropout`.
    #[default]
    AfterAct,
    /// `Dense → dropout → norm → act`.
    BeforeNorm,
}
