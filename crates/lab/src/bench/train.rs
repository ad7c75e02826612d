//! `dropout-lab bench train`: training throughput of an MLP or CNN on random
//! data, for each dropout rate, with the optimizer and normalisation a user
//! trains with, and the share of each step spent in matrix products — all
//! measured in the same run.
//!
//! ```text
//! samples/s  = batch · steps / (time of those steps)         (median of `reps` timed blocks)
//! GEMM bound = batch / (GEMM time per step)                   (the same steps, faer calls only)
//! of bound   = GEMM time / step time                          (1.0 = nothing but GEMMs)
//! dropout overhead = t_step(p) / t_step(0) − 1
//! ```
//! The blocks of the different rates alternate (ABBA). The default setting is
//! `bench/torch_mlp.py`'s: 784-1024-1024-10, ReLU, dropout after each hidden
//! layer, batch 128, SGD with momentum 0.9 (Adam/AdamW: lr 1e-3). A CNN
//! (`c16-p-c32-p-128-10`) takes 1 × 28 × 28 inputs; its conv dropout rate is
//! `conv_dropout`. A Transformer (`bench/torch_transformer.py`'s twins): a
//! `gpt…` reads random windows of ids over 85 symbols (Shakespeare's
//! vocabulary) and predicts one per position, a `vit…` 1 × 28 × 28 images;
//! the rate is every site's (`--dropout`), or with `attn_only` the attention
//! probabilities' alone. Tokens/s = samples/s × tokens per sample.

use std::time::Instant;

use engine::arch::{LayerSpec, TransformerKind};
use engine::layer::Ctx;
use engine::matmul::gemm_time;
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::spec::{build, ModelSpec, Norm};
use serde::Serialize;

use super::median;
use crate::config::{OptimConfig, OptimizerName};
use crate::error::Result;

/// What to measure.
#[derive(Clone, Debug)]
pub struct TrainBench {
    /// MLP (`784-1024-1024-10`) or CNN (`c16-p-c32-p-128-10`) architecture.
    pub arch: String,
    /// Normalisation in hidden blocks.
    pub norm: Norm,
    /// Optimizer.
    pub optimizer: OptimizerName,
    /// Conv dropout rate (CNNs).
    pub conv_dropout: f32,
    /// Batch size.
    pub batch: usize,
    /// Steps per timed block.
    pub steps: usize,
    /// Timed blocks.
    pub reps: usize,
    /// Threads (for the record; the caller's pool runs it).
    pub threads: usize,
    /// Transformers: the rate is the attention probabilities' alone.
    pub attn_only: bool,
}

/// A Transformer's vocabulary in the benchmark (Shakespeare's 84 characters and the reserved one).
pub const BENCH_VOCAB: usize = 85;

/// One measured setting.
#[derive(Clone, Debug, Serialize)]
pub struct TrainBenchResult {
    /// Architecture.
    pub arch: String,
    /// Normalisation.
    pub norm: Norm,
    /// Optimizer.
    pub optimizer: OptimizerName,
    /// Hidden dropout rate.
    pub p: f32,
    /// Threads.
    pub threads: usize,
    /// Batch size.
    pub batch: usize,
    /// Median training throughput.
    pub samples_per_s: f64,
    /// Tokens per sample (a GPT's context; 1 otherwise).
    pub tokens_per_sample: usize,
    /// Median time of one step, ms.
    pub step_ms: f64,
    /// Median GEMM time within one step, ms (the products through `matmul`;
    /// attention's per-head products run inside parallel tasks and are not in it).
    pub gemm_ms: f64,
    /// GEMM time / step time (of the median blocks).
    pub of_gemm_bound: f64,
    /// Throughput if a step were its GEMMs only.
    pub gemm_bound_samples_per_s: f64,
}

struct Setup {
    model: engine::Sequential,
    opt: Optimizer,
    step: u32,
    block_s: Vec<f64>,
    gemm_s: Vec<f64>,
}

/// Measure `b.steps` training steps, `b.reps` times, for each dropout rate
/// in `ps`. The timed blocks of the rates alternate in ABBA order, so every
/// rate sees the same machine conditions and runs first equally often.
///
/// # Errors
/// An architecture the engine cannot build.
pub fn run(b: &TrainBench, ps: &[f32], mut tick: impl FnMut()) -> Result<Vec<TrainBenchResult>> {
    // An MLP reads its first number's features, a GPT windows of ids, other nets MNIST-shaped images.
    let arch = ModelSpec::new(&b.arch).arch()?;
    let cnn = arch.reads_sample_shape();
    let gpt = match arch.layers.as_slice() {
        [LayerSpec::Transformer(t)] => match t.kind {
            TransformerKind::Gpt { context } => Some(context),
            TransformerKind::Vit { .. } => None,
        },
        _ => None,
    };
    let transformer = matches!(arch.layers.as_slice(), [LayerSpec::Transformer(_)]);
    let sample: Vec<usize> = match (gpt, arch.inputs) {
        (Some(t), _) => vec![t],
        (None, Some(n)) => vec![n],
        (None, None) => vec![1, 28, 28],
    };
    let optim = OptimConfig {
        optimizer: b.optimizer,
        ..OptimConfig::default()
    };
    let lr = 1e-3;
    let mut setups = Vec::new();
    for &p in ps {
        let mut spec = ModelSpec::new(&b.arch);
        spec.dropout = p;
        spec.norm = b.norm;
        spec.outputs = if gpt.is_some() { BENCH_VOCAB } else { 10 };
        if transformer && b.attn_only {
            spec.dropout = 0.0;
            spec.sites.attn = Some(p);
        }
        spec.conv_dropout = if cnn { b.conv_dropout } else { 0.0 };
        let model = build(&spec, &sample, 1)?;
        let needed = model
            .buffer_floats_per_sample()
            .saturating_mul(4)
            .saturating_mul(b.batch as u64);
        if needed > crate::train::MAX_BATCH_BYTES {
            return Err(crate::LabError::Memory {
                what: format!("a batch of {} through `{}`", b.batch, b.arch),
                needed,
                limit: crate::train::MAX_BATCH_BYTES,
            });
        }
        setups.push(Setup {
            model,
            opt: Optimizer::new(optim.kind(), 0.0, None),
            step: 0,
            block_s: Vec::new(),
            gemm_s: Vec::new(),
        });
    }
    let classes = setups.first().map_or(2, |s| s.model.classes());
    let dim: usize = sample.iter().product();
    let mut rng = Rng::new(2);
    let x: Vec<f32> = (0..b.batch * dim)
        .map(|_| match gpt {
            Some(_) => rng.below(classes) as f32,
            None => rng.uniform() as f32,
        })
        .collect();
    let labels = if gpt.is_some() {
        b.batch * dim
    } else {
        b.batch
    };
    let y: Vec<u32> = (0..labels).map(|_| rng.below(classes) as u32).collect();
    let one = |s: &mut Setup| -> Result<()> {
        s.model.input_mut(b.batch).copy_from_slice(&x);
        s.model.forward_backward(&y, &Ctx::train(1, s.step))?;
        s.opt.step(&mut s.model, lr);
        s.step += 1;
        Ok(())
    };
    for s in setups.iter_mut() {
        for _ in 0..3 {
            one(s)?;
        }
    }
    gemm_time::enable(true);
    for rep in 0..b.reps {
        // ABBA order: each rate runs first in half of the repetitions.
        let mut order: Vec<usize> = (0..setups.len()).collect();
        if rep % 2 == 1 {
            order.reverse();
        }
        for &i in &order {
            let s = &mut setups[i];
            gemm_time::take();
            let t = Instant::now();
            for _ in 0..b.steps {
                one(s)?;
            }
            s.block_s.push(t.elapsed().as_secs_f64() / b.steps as f64);
            s.gemm_s
                .push(gemm_time::take().as_secs_f64() / b.steps as f64);
            tick();
        }
    }
    gemm_time::enable(false);
    Ok(ps
        .iter()
        .zip(&setups)
        .map(|(&p, s)| {
            let (step_s, gemm_s) = (median(&s.block_s), median(&s.gemm_s));
            TrainBenchResult {
                arch: b.arch.clone(),
                norm: b.norm,
                optimizer: b.optimizer,
                p,
                threads: b.threads,
                batch: b.batch,
                samples_per_s: b.batch as f64 / step_s,
                tokens_per_sample: gpt.unwrap_or(1),
                step_ms: step_s * 1e3,
                gemm_ms: gemm_s * 1e3,
                of_gemm_bound: gemm_s / step_s,
                gemm_bound_samples_per_s: b.batch as f64 / gemm_s,
            }
        })
        .collect())
}
