//! The optimisation section of a run: which optimizer, its learning rate and
//! schedule, and the regularisers applied in the update.
//!
//! ```text
//! η_e = η · schedule(e)      constant: 1    exp:γ: γ^e    step:k:γ: γ^⌊e/k⌋
//!                            cosine: ½ (1 + cos(π e / E))   (E = epochs)
//!                            invtime:k: 1 / (1 + k e)
//! per step t (0-based):      exp-step:γ: γ^t    invtime-step:k: 1 / (1 + k t)
//! momentum ramp μ0:μ1:K:     μ_e = μ0 + (μ1 − μ0) · min(e / K, 1)   (SGD; e 0-based epoch)
//!   exp:μ0:μ1:T:             μ_t = μ1 − (μ1 − μ0) · exp(−t / T)     (per step t)
//! momentum form:             heavy-ball  v ← μv + g      dampened  v ← μv + (1 − μ) g
//! ```

use std::fmt;
use std::str::FromStr;

use engine::optim::{OptimKind, Schedule};
use serde::{Deserialize, Serialize};

/// `String` conversions through `FromStr`/`Display`, so a setting is written
/// the same way on the command line and in `config.json`.
macro_rules! via_string {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    )*};
}
via_string!(LrSchedule, MomentumRamp);

/// Which optimizer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// A learning-rate schedule (see the module docs). Written as `constant`,
/// `cosine`, `exp:GAMMA`, `step:EVERY:GAMMA`, `invtime:K`, `exp-step:GAMMA`
/// or `invtime-step:K`, on the command line and in `config.json` alike.
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
    /// η / (1 + k·e).
    InvTime {
        /// Decay rate per epoch, ≥ 0.
        k: f32,
    },
    /// η · γ^t over optimizer steps t.
    ExpStep {
        /// Factor per step, in (0, 1].
        gamma: f32,
    },
    /// η / (1 + k·t) over optimizer steps t.
    InvTimeStep {
        /// Decay rate per step, ≥ 0.
        k: f32,
    },
    /// Linear warm-up over W steps, then a cosine down to r·η at the run's last step (nanoGPT's).
    WarmupCosine {
        /// Warm-up steps W.
        warmup: u64,
        /// The floor r, a share of η in [0, 1].
        min_ratio: f32,
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
        let rate = |k: &str| match k.parse::<f32>() {
            Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
            _ => Err(format!("`{s}`: the rate `{k}` must be a number ≥ 0")),
        };
        match s.split(':').collect::<Vec<_>>().as_slice() {
            ["constant"] => Ok(Self::Constant),
            ["invtime", k] => Ok(Self::InvTime { k: rate(k)? }),
            ["exp-step", g] => Ok(Self::ExpStep { gamma: gamma(g)? }),
            ["invtime-step", k] => Ok(Self::InvTimeStep { k: rate(k)? }),
            ["warmup-cosine", w, r] => match (w.parse::<u64>(), r.parse::<f32>()) {
                (Ok(warmup), Ok(min_ratio)) if (0.0..=1.0).contains(&min_ratio) => {
                    Ok(Self::WarmupCosine { warmup, min_ratio })
                }
                _ => Err(format!(
                    "`{s}`: expected warmup-cosine:STEPS:FLOOR, STEPS a whole number and FLOOR in [0, 1] (e.g. warmup-cosine:100:0.1)"
                )),
            },
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
                "`{s}`: expected constant, cosine, exp:GAMMA, step:EVERY:GAMMA, invtime:K, exp-step:GAMMA, invtime-step:K or warmup-cosine:STEPS:FLOOR"
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
            Self::InvTime { k } => write!(f, "invtime:{k}"),
            Self::ExpStep { gamma } => write!(f, "exp-step:{gamma}"),
            Self::InvTimeStep { k } => write!(f, "invtime-step:{k}"),
            Self::WarmupCosine { warmup, min_ratio } => {
                write!(f, "warmup-cosine:{warmup}:{min_ratio}")
            }
        }
    }
}

impl LrSchedule {
    /// The engine's schedule for a run of `epochs` epochs of `steps` optimizer steps in all.
    pub fn engine(self, epochs: usize, steps: u64) -> Schedule {
        match self {
            Self::Constant => Schedule::Constant,
            Self::Cosine => Schedule::Cosine { total: epochs },
            Self::Exp { gamma } => Schedule::Exponential { gamma },
            Self::Step { every, gamma } => Schedule::Step { every, gamma },
            Self::InvTime { k } => Schedule::InvTime { k },
            Self::ExpStep { gamma } => Schedule::ExponentialStep { gamma },
            Self::InvTimeStep { k } => Schedule::InvTimeStep { k },
            Self::WarmupCosine { warmup, min_ratio } => Schedule::WarmupCosineStep {
                warmup,
                total: steps.saturating_sub(1),
                min_ratio,
            },
        }
    }
}

/// How SGD's momentum buffer takes the gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MomentumForm {
    /// v ← μv + g (PyTorch's form).
    #[default]
    HeavyBall,
    /// v ← μv + (1 − μ)g (Hinton et al. 2012); not with Nesterov.
    Dampened,
}

/// A momentum schedule from μ0 towards μ1: linear over the first K epochs
/// (then μ1), written `MU0:MU1:K`; or, written `exp:MU0:MU1:T`, the
/// approach μ_t = μ1 − (μ1 − μ0)·exp(−t/T) over optimizer steps t (the
/// authors' toolkit).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MomentumRamp {
    /// μ at the start.
    pub from: f32,
    /// μ at the end of the ramp (approached, for `exp`).
    pub to: f32,
    /// Epochs of the linear ramp, or steps T of the exponential approach (≥ 1).
    pub span: usize,
    /// The exponential approach over steps instead of the linear ramp over epochs.
    pub exp: bool,
}

impl MomentumRamp {
    /// μ at 0-based `epoch` and global optimizer `step`.
    pub fn at(&self, epoch: usize, step: u64) -> f32 {
        let span = self.span.max(1);
        if self.exp {
            let decay = (-(step as f64) / span as f64).exp();
            (f64::from(self.to) - f64::from(self.to - self.from) * decay) as f32
        } else {
            let f = (epoch as f32 / span as f32).min(1.0);
            self.from + (self.to - self.from) * f
        }
    }
}

impl FromStr for MomentumRamp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mu = |v: &str| match v.parse::<f32>() {
            Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
            _ => Err(format!("`{s}`: momentum `{v}` must be in [0, 1)")),
        };
        let span = |k: &str| match k.parse::<usize>() {
            Ok(k) if k >= 1 => Ok(k),
            _ => Err(format!("`{s}`: the span `{k}` must be a whole number ≥ 1")),
        };
        match s.split(':').collect::<Vec<_>>().as_slice() {
            [a, b, k] => Ok(Self {
                from: mu(a)?,
                to: mu(b)?,
                span: span(k)?,
                exp: false,
            }),
            ["exp", a, b, t] => Ok(Self {
                from: mu(a)?,
                to: mu(b)?,
                span: span(t)?,
                exp: true,
            }),
            _ => Err(format!(
                "`{s}`: expected MU0:MU1:EPOCHS (linear) or exp:MU0:MU1:STEPS, e.g. 0.5:0.99:500"
            )),
        }
    }
}

impl fmt::Display for MomentumRamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = if self.exp { "exp:" } else { "" };
        write!(f, "{exp}{}:{}:{}", self.from, self.to, self.span)
    }
}

/// Optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    /// Optimizer.
    pub optimizer: OptimizerName,
    /// Learning rate.
    pub lr: f32,
    /// SGD momentum, in [0, 1).
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    pub nesterov: bool,
    /// SGD momentum form: heavy-ball (v ← μv + g) or dampened (v ← μv + (1 − μ)g, Hinton et al. 2012).
    #[serde(default)]
    pub momentum_form: MomentumForm,
    /// SGD momentum schedule (overrides --momentum): MU0:MU1:EPOCHS, linear over the first EPOCHS epochs, e.g. 0.5:0.99:500; or exp:MU0:MU1:STEPS, μ1 − (μ1 − μ0)·e^(−t/STEPS) per step.
    #[serde(default)]
    pub momentum_ramp: Option<MomentumRamp>,
    /// L2 weight decay λ (weights only; decoupled for AdamW).
    pub weight_decay: f32,
    /// Max-norm bound on each unit's incoming weights (0 = off; Srivastava et al. use 3-4).
    pub max_norm: f32,
    /// LR schedule: constant, cosine, exp:GAMMA, step:EVERY:GAMMA, invtime:K (per epoch); exp-step:GAMMA, invtime-step:K, warmup-cosine:STEPS:FLOOR (per step).
    pub schedule: LrSchedule,
    /// Clip the gradient's global norm to this before each step (0 = off; nanoGPT uses 1).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clip_grad: f32,
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerName::Sgd,
            lr: 0.05,
            momentum: 0.9,
            nesterov: false,
            momentum_form: MomentumForm::HeavyBall,
            momentum_ramp: None,
            weight_decay: 0.0,
            max_norm: 0.0,
            schedule: LrSchedule::Constant,
            clip_grad: 0.0,
        }
    }
}

impl OptimConfig {
    /// The engine's optimizer kind (Adam's β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    pub fn kind(&self) -> OptimKind {
        match self.optimizer {
            OptimizerName::Sgd => OptimKind::Sgd {
                momentum: self.momentum_ramp.map_or(self.momentum, |r| r.at(0, 0)),
                nesterov: self.nesterov,
                dampened: self.momentum_form == MomentumForm::Dampened,
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
    use super::{LrSchedule, MomentumRamp};

    #[test]
    fn schedules_round_trip_and_reject_nonsense() {
        for s in [
            "constant",
            "cosine",
            "exp:0.95",
            "step:10:0.5",
            "invtime:0.01",
            "exp-step:0.9999",
            "invtime-step:0.001",
            "warmup-cosine:100:0.1",
        ] {
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
            "invtime:-1",
            "exp-step:0",
            "invtime-step:x",
            "warmup-cosine:100",
            "warmup-cosine:-1:0.1",
            "warmup-cosine:100:2",
        ] {
            assert!(s.parse::<LrSchedule>().is_err(), "{s}");
        }
    }

    #[test]
    fn momentum_ramp_by_hand() {
        let r: MomentumRamp = "0.5:0.99:500".parse().unwrap();
        assert_eq!(r.to_string(), "0.5:0.99:500");
        assert_eq!(r.at(0, 0), 0.5);
        // Halfway: 0.5 + 0.49 · 0.5 = 0.745; after the ramp: 0.99 (the step does not matter).
        assert!((r.at(250, 7) - 0.745).abs() < 1e-6);
        assert_eq!(r.at(500, 0), 0.99);
        assert_eq!(r.at(10_000, 0), 0.99);
        // The toolkit's approach: at t = T, 0.99 − 0.49/e = 0.809741…; the epoch does not matter.
        let x: MomentumRamp = "exp:0.5:0.99:100000".parse().unwrap();
        assert_eq!(x.to_string(), "exp:0.5:0.99:100000");
        assert_eq!(x.at(3, 0), 0.5);
        assert!(
            (x.at(0, 100_000) - 0.809_741).abs() < 1e-5,
            "{}",
            x.at(0, 100_000)
        );
        for bad in [
            "0.5:1.0:10",
            "0.5:0.9",
            "0.5:0.9:0",
            "-0.1:0.9:5",
            "a:b:c",
            "exp:0.5:0.9",
            "lin:0.5:0.9:3",
        ] {
            assert!(bad.parse::<MomentumRamp>().is_err(), "{bad}");
        }
    }
}
