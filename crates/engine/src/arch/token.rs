//! The tokens of an `--arch` string, read once (by
//! `spec::ModelSpec::arch`); tokens are separated
//! by `-`:
//!
//! ```text
//! N      a dense layer of N units (an MLP's first number: its inputs)
//! cK     a 3×3 conv with K channels        p      a 2×2 max pool
//! rH     a residual MLP block, hidden H    rnnH   an Elman RNN of H units over the sample's rows
//! ```
//! Every number is a positive integer.

use crate::error::{ArchProblem, EngineError};

/// One token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Conv(usize),
    Pool,
    Dense(usize),
    Residual(usize),
    Rnn(usize),
}

impl Tok {
    /// Conv, pool or RNN: layers that read the sample's own shape (before the dense ones).
    pub(crate) fn reads_sample_shape(&self) -> bool {
        matches!(self, Tok::Conv(_) | Tok::Pool | Tok::Rnn(_))
    }
}

/// The tokens of `arch`.
///
/// # Errors
/// [`ArchProblem::Token`] for the first token that is not one of the grammar's.
pub(crate) fn parse_arch(arch: &str) -> Result<Vec<Tok>, EngineError> {
    let bad = |t: &str| EngineError::arch(arch, ArchProblem::Token(t.to_string()));
    let size = |t: &str, k: &str, tok: fn(usize) -> Tok| {
        k.parse()
            .ok()
            .filter(|&k| k > 0)
            .map(tok)
            .ok_or_else(|| bad(t))
    };
    arch.split('-')
        .map(|t| {
            let t = t.trim();
            if t == "p" {
                Ok(Tok::Pool)
            } else if let Some(k) = t.strip_prefix('c') {
                size(t, k, Tok::Conv)
            } else if let Some(k) = t.strip_prefix("rnn") {
                size(t, k, Tok::Rnn)
            } else if let Some(k) = t.strip_prefix('r') {
                size(t, k, Tok::Residual)
            } else {
                size(t, t, Tok::Dense)
            }
        })
        .collect()
}
