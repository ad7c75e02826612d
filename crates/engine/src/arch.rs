//! The tokens of an `--arch` string (see [`crate::spec`] for what they build):
//!
//! ```text
//! N      a dense layer of N units (an MLP's first number: its inputs)
//! cK     a 3×3 conv with K channels        p      a 2×2 max pool
//! rH     a residual MLP block, hidden H    rnnH   an Elman RNN of H units over the sample's rows
//! ```

use crate::error::{ArchProblem, EngineError};

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

pub(crate) fn arch_error(arch: &str, problem: ArchProblem) -> EngineError {
    EngineError::Arch {
        arch: arch.to_string(),
        problem,
    }
}

pub(crate) fn parse_arch(arch: &str) -> Result<Vec<Tok>, EngineError> {
    let bad = |t: &str| arch_error(arch, ArchProblem::Token(t.to_string()));
    arch.split('-')
        .map(|t| {
            let t = t.trim();
            if t == "p" {
                Ok(Tok::Pool)
            } else if let Some(k) = t.strip_prefix('c') {
                k.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Conv)
                    .ok_or_else(|| bad(t))
            } else if let Some(k) = t.strip_prefix("rnn") {
                k.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Rnn)
                    .ok_or_else(|| bad(t))
            } else if let Some(k) = t.strip_prefix('r') {
                k.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Residual)
                    .ok_or_else(|| bad(t))
            } else {
                t.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Dense)
                    .ok_or_else(|| bad(t))
            }
        })
        .collect()
}
