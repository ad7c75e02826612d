//! The optimisation section of a run: which optimizer, its learning rate and
//! schedule, and the regularisers applied in the update.
//!
//! ```text
//! η_e = η · schedule(e)      constant: 1    exp:γ: γ^e    step:k:γ: γ^⌊e/k⌋
//!                            cosine: ½ (1 + cos(π e / E))   (E = epochs)
//! ```

use std::fmt;
use std::str::FromStr;

use clap::{Args, ValueEnum};
use engine::optim::{OptimKind, Schedule};
use serde::{Deserialize, Serialize};

/// Which optimizer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// SGD with (optionally Nesterov) momentum.
    #[default]
    Sgd,
    /// Adam (Kingma & Ba 2015), L2 decay added to the gradient.
    Adam,
    /// AdamW (Loshchilov & Hutter 2019), decoupled weight decay.
    Adamw,
}

/// A learning-rate schedule over epochs (see the module docs). Written as
/// `constant`, `cosine`, `exp:GAMMA` or `step:EVERY:GAMMA`, on the command line
/// and in `config.json` alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LrSchedule {
    /// η every epoch.
    #[default]
    Constant,
    /// Cosine decay from η to 0 over the run.
    Cosine,
    /// η · γ^e.
    Exp {
        /// Factor per epoch, in (0, 1].
        gamma: f32,
    },
    /// η · γ^⌊e / every⌋.
    Step {
        /// Epochs between decays (≥ 1).
        every: usize,
        /// Factor per decay, in (0, 1].
        gamma: f32,
    },
}

impl FromStr for LrSchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let gamma = |g: &str| match g.parse::<f32>() {
            Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
            _ => Err(format!(
                "`{s}`: the factor `{g}` must be a number in (0, 1]"
            )),
        };
        match s.split(':').collect::<Vec<_>>().as_slice() {
            ["constant"] => Ok(Self::Constant),
            ["cosine"] => Ok(Self::Cosine),
            ["exp", g] => Ok(Self::Exp { gamma: gamma(g)? }),
            ["step", e, g] => match e.parse::<usize>() {
                Ok(every) if every >= 1 => Ok(Self::Step {
                    every,
                    gamma: gamma(g)?,
                }),
                _ => Err(format!("`{s}`: EVERY `{e}` must be a whole number ≥ 1")),
            },
            _ => Err(format!(
                "`{s}`: expected constant, cosine, exp:GAMMA or step:EVERY:GAMMA"
            )),
        }
    }
}

impl fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant => write!(f, "constant"),
            Self::Cosine => write!(f, "cosine"),
            Self::Exp { gamma } => write!(f, "exp:{gamma}"),
            Self::Step { every, gamma } => write!(f, "step:{every}:{gamma}"),
        }
    }
}

impl TryFrom<String> for LrSchedule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<LrSchedule> for String {
    fn from(s: LrSchedule) -> String {
        s.to_string()
    }
}

impl LrSchedule {
    /// The engine's schedule for a run of `epochs` epochs.
    pub fn engine(self, epochs: usize) -> Schedule {
        match self {
            Self::Constant => Schedule::Constant,
            Self::Cosine => Schedule::Cosine { total: epochs },
            Self::Exp { gamma } => Schedule::Exponential { gamma },
            Self::Step { every, gamma } => Schedule::Step { every, gamma },
        }
    }
}

/// Optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Args)]
pub struct OptimConfig {
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerName::Sgd)]
    pub optimizer: OptimizerName,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub lr: f32,
    /// SGD momentum, in [0, 1).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// L2 weight decay λ (weights only; decoupled for AdamW).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Max-norm bound on each unit's incoming weights (0 = off; Srivastava et al. use 3-4).
    #[arg(long, default_value_t = 0.0)]
    pub max_norm: f32,
    /// LR schedule: constant, cosine, exp:GAMMA, step:EVERY:GAMMA.
    #[arg(long, default_value = "constant")]
    pub schedule: LrSchedule,
}

impl OptimConfig {
    /// The engine's optimizer kind (Adam's β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    pub fn kind(&self) -> OptimKind {
        match self.optimizer {
            OptimizerName::Sgd => OptimKind::Sgd {
                momentum: self.momentum,
                nesterov: self.nesterov,
            },
            OptimizerName::Adam => OptimKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            OptimizerName::Adamw => OptimKind::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        }
    }

    /// The max-norm bound, if any.
    pub fn max_norm(&self) -> Option<f32> {
        (self.max_norm > 0.0).then_some(self.max_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::LrSchedule;

    #[test]
    fn schedules_round_trip_and_reject_nonsense() {
        for s in ["constant", "cosine", "exp:0.95", "step:10:0.5"] {
            let v: LrSchedule = s.parse().unwrap();
            assert_eq!(v.to_string(), s);
        }
        for s in [
            "exp:-1",
            "exp:0",
            "exp:1.5",
            "step:-3:0.5",
            "step:0:0.5",
            "step:x",
            "linear",
        ] {
            assert!(s.parse::<LrSchedule>().is_err(), "{s}");
        }
    }
}
