//! The optimisation flags of a run (`--optimizer`, `--lr`, …): each one
//! optional, each given one overriding [`OptimConfig`]'s default.

use clap::Args;
use lab::config::{LrSchedule, MomentumForm, MomentumRamp, OptimConfig, OptimizerName};
use serde::Serialize;

use super::set;
use crate::cli::choice::parser;

/// Optimisation flags.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct OptimFlags {
    /// Optimizer.
    #[arg(long, value_parser = parser::<OptimizerName>())]
    pub optimizer: Option<OptimizerName>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f32>,
    /// SGD momentum, in [0, 1).
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// SGD momentum form: heavy-ball (v ← μv + g) or dampened (v ← μv + (1 − μ)g, Hinton et al. 2012).
    #[arg(long, value_parser = parser::<MomentumForm>())]
    pub momentum_form: Option<MomentumForm>,
    /// SGD momentum schedule (overrides --momentum): MU0:MU1:EPOCHS, linear over the first EPOCHS epochs, e.g. 0.5:0.99:500; or exp:MU0:MU1:STEPS, μ1 − (μ1 − μ0)·e^(−t/STEPS) per step.
    #[arg(long)]
    pub momentum_ramp: Option<MomentumRamp>,
    /// L2 weight decay λ (weights only; decoupled for AdamW).
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Max-norm bound on each unit's incoming weights (0 = off; Srivastava et al. use 3-4).
    #[arg(long)]
    pub max_norm: Option<f32>,
    /// LR schedule: constant, cosine, exp:GAMMA, step:EVERY:GAMMA, invtime:K (per epoch); exp-step:GAMMA, invtime-step:K, warmup-cosine:STEPS:FLOOR (per step: linear warm-up, then a cosine to FLOOR·lr at the last step, as nanoGPT).
    #[arg(long)]
    pub schedule: Option<LrSchedule>,
    /// Clip the gradient's global norm to this before each step (0 = off; nanoGPT uses 1). Not --max-norm, which bounds each unit's weights.
    #[arg(long, value_name = "NORM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad: Option<f32>,
}

impl OptimFlags {
    /// Set every given flag in `o`.
    pub fn apply(&self, o: &mut OptimConfig) {
        let Self {
            optimizer,
            lr,
            momentum,
            nesterov,
            momentum_form,
            momentum_ramp,
            weight_decay,
            max_norm,
            schedule,
            clip_grad,
        } = self.clone();
        set(&mut o.optimizer, optimizer);
        set(&mut o.lr, lr);
        set(&mut o.momentum, momentum);
        set(&mut o.nesterov, nesterov.then_some(true));
        set(&mut o.momentum_form, momentum_form);
        set(&mut o.momentum_ramp, momentum_ramp.map(Some));
        set(&mut o.weight_decay, weight_decay);
        set(&mut o.max_norm, max_norm);
        set(&mut o.schedule, schedule);
        set(&mut o.clip_grad, clip_grad);
    }
}
