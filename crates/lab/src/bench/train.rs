//! `dropout-lab bench train`: training throughput of an MLP on random data,
//! with dropout and without, measured in the same run.
//!
//! ```text
//! samples/s = batch · steps / (time of those steps)        (median of `reps` timed blocks)
//! dropout overhead = t_step(p) / t_step(0) − 1
//! ```
//! The blocks of the different rates alternate (ABBA). Same setting as `bench/torch_mlp.py`: 784-1024-1024-10, ReLU, dropout
//! after each hidden layer, batch 128, SGD with momentum 0.9.

use std::time::Instant;

use engine::layer::Ctx;
use engine::optim::{OptimKind, Optimizer};
use engine::rng::Rng;
use engine::spec::{build, ModelSpec};
use serde::Serialize;

use super::median;
use crate::error::Result;

/// One measured setting.
#[derive(Clone, Debug, Serialize)]
pub struct TrainBenchResult {
    /// Architecture.
    pub arch: String,
    /// Hidden dropout rate.
    pub p: f32,
    /// Threads.
    pub threads: usize,
    /// Batch size.
    pub batch: usize,
    /// Median training throughput.
    pub samples_per_s: f64,
    /// Median time of one step, ms.
    pub step_ms: f64,
}

/// Measure `steps` training steps, `reps` times, for each dropout rate in
/// `ps`. The timed blocks of the rates alternate in ABBA order, so every rate
/// sees the same machine conditions and runs first equally often.
pub fn run(
    arch: &str,
    ps: &[f32],
    batch: usize,
    steps: usize,
    reps: usize,
    threads: usize,
    mut tick: impl FnMut(),
) -> Result<Vec<TrainBenchResult>> {
    let inputs: usize = arch
        .split('-')
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| engine::EngineError::Arch {
            arch: arch.into(),
            problem: engine::ArchProblem::Token(arch.split('-').next().unwrap_or("").into()),
        })?;
    let mut setups = Vec::new();
    for &p in ps {
        let mut spec = ModelSpec::new(arch);
        spec.dropout = p;
        let model = build(&spec, &[inputs], 1)?;
        let opt = Optimizer::new(
            OptimKind::Sgd {
                momentum: 0.9,
                nesterov: false,
            },
            0.0,
            None,
        );
        setups.push((model, opt, 0u32, Vec::new()));
    }
    let classes = setups.first().map_or(2, |s| s.0.classes());
    let mut rng = Rng::new(2);
    let x: Vec<f32> = (0..batch * inputs).map(|_| rng.uniform() as f32).collect();
    let y: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    let one =
        |(model, opt, step, _): &mut (engine::Sequential, Optimizer, u32, Vec<f64>)| -> Result<()> {
            model.input_mut(batch).copy_from_slice(&x);
            model.forward_backward(&y, &Ctx::train(1, *step))?;
            opt.step(model, 1e-3);
            *step += 1;
            Ok(())
        };
    for s in setups.iter_mut() {
        for _ in 0..3 {
            one(s)?;
        }
    }
    for rep in 0..reps {
        // ABBA order: each rate runs first in half of the repetitions.
        let mut order: Vec<usize> = (0..setups.len()).collect();
        if rep % 2 == 1 {
            order.reverse();
        }
        for &i in &order {
            let s = &mut setups[i];
            let t = Instant::now();
            for _ in 0..steps {
                one(s)?;
            }
            s.3.push(t.elapsed().as_secs_f64() / steps as f64);
            tick();
        }
    }
    Ok(ps
        .iter()
        .zip(&setups)
        .map(|(&p, s)| {
            let step_s = median(&s.3);
            TrainBenchResult {
                arch: arch.to_string(),
                p,
                threads,
                batch,
                samples_per_s: batch as f64 / step_s,
                step_ms: step_s * 1e3,
            }
        })
        .collect())
}
