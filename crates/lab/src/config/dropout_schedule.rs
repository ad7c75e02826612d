//! Dropout schedules: every dropout site runs at f(t) × its configured rate,
//! f set before each training step t (0-based; S steps per epoch). Any
//! variant (standard, alpha, DropConnect) follows it.
//!
//! ```text
//! constant         f = 1
//! early:E          f = [t < E·S]            dropout for the first E epochs only (Liu et al. 2023, "early dropout")
//! late:E           f = [t ≥ E·S]            dropout from epoch E on (Liu et al. 2023, "late dropout")
//! ramp:E           f = min(1, t / (E·S))    linear ramp from 0 (the DropPath/DropBlock ramps)
//! curriculum:γ     f = 1 − e^(−γ t)         Morerio et al. 2017: the keep probability decays from 1
//!                                           to 1 − p as θ(t) = p̄·e^(−γt) + (1 − p̄) with p̄ the rate
//! ```
//! After training the configured rates are restored (MC dropout on the
//! trained net samples at them).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A dropout-rate schedule (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DropoutSchedule {
    /// The configured rates throughout.
    #[default]
    Constant,
    /// Dropout for the first E epochs only.
    Early(usize),
    /// Dropout from epoch E on.
    Late(usize),
    /// A linear ramp from 0 over E epochs.
    Ramp(usize),
    /// Curriculum dropout with decay γ per step.
    Curriculum(f64),
}

impl DropoutSchedule {
    /// Whether every rate stays as given (the default).
    pub fn is_constant(&self) -> bool {
        *self == Self::Constant
    }

    /// The factor f before step `t`, with `per_epoch` steps per epoch.
    pub fn factor(self, t: u64, per_epoch: u64) -> f32 {
        let at = |e: usize| e as u64 * per_epoch;
        match self {
            Self::Constant => 1.0,
            Self::Early(e) => f32::from(u8::from(t < at(e))),
            Self::Late(e) => f32::from(u8::from(t >= at(e))),
            Self::Ramp(e) => (t as f64 / at(e).max(1) as f64).min(1.0) as f32,
            Self::Curriculum(g) => (1.0 - (-g * t as f64).exp()) as f32,
        }
    }
}

impl FromStr for DropoutSchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let epochs = |v: &str| {
            v.parse::<usize>()
                .ok()
                .filter(|&e| e >= 1)
                .ok_or_else(|| format!("`{s}`: `{v}` must be a whole number of epochs ≥ 1"))
        };
        match s.split(':').collect::<Vec<_>>().as_slice() {
            ["constant"] => Ok(Self::Constant),
            ["early", e] => Ok(Self::Early(epochs(e)?)),
            ["late", e] => Ok(Self::Late(epochs(e)?)),
            ["ramp", e] => Ok(Self::Ramp(epochs(e)?)),
            ["curriculum", g] => match g.parse::<f64>() {
                Ok(g) if g > 0.0 && g.is_finite() => Ok(Self::Curriculum(g)),
                _ => Err(format!("`{s}`: γ `{g}` must be a positive number (per step), e.g. curriculum:0.001")),
            },
            _ => Err(format!(
                "`{s}`: expected constant, early:EPOCHS, late:EPOCHS, ramp:EPOCHS or curriculum:GAMMA"
            )),
        }
    }
}

impl fmt::Display for DropoutSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant => write!(f, "constant"),
            Self::Early(e) => write!(f, "early:{e}"),
            Self::Late(e) => write!(f, "late:{e}"),
            Self::Ramp(e) => write!(f, "ramp:{e}"),
            Self::Curriculum(g) => write!(f, "curriculum:{g}"),
        }
    }
}

impl TryFrom<String> for DropoutSchedule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<DropoutSchedule> for String {
    fn from(v: DropoutSchedule) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_by_hand_and_text_round_trips() {
        // 10 steps per epoch.
        let f = |s: &str, t| s.parse::<DropoutSchedule>().unwrap().factor(t, 10);
        assert_eq!((f("early:2", 19), f("early:2", 20)), (1.0, 0.0));
        assert_eq!((f("late:2", 19), f("late:2", 20)), (0.0, 1.0));
        assert_eq!(
            (f("ramp:2", 0), f("ramp:2", 5), f("ramp:2", 99)),
            (0.0, 0.25, 1.0)
        );
        assert!((f("curriculum:0.1", 10) - (1.0 - (-1.0f64).exp()) as f32).abs() < 1e-7);
        assert_eq!(f("constant", 7), 1.0);
        for s in [
            "constant",
            "early:3",
            "late:1",
            "ramp:5",
            "curriculum:0.001",
        ] {
            assert_eq!(s.parse::<DropoutSchedule>().unwrap().to_string(), s);
        }
        for bad in [
            "early:0",
            "late:x",
            "curriculum:-1",
            "curriculum:nan",
            "sometimes",
        ] {
            assert!(bad.parse::<DropoutSchedule>().is_err(), "{bad}");
        }
    }
}
