//! `dropout-lab bench mc`: MC-dropout inference throughput — the T passes
//! batched into one forward of T·m rows ([`crate::uq::sample::mc`]) against
//! the straightforward loop (T forward passes over each batch of inputs, what
//! a PyTorch user writes), on random inputs, in the same run.
//!
//! ```text
//! throughput = inputs · T / (time of one MC evaluation of all inputs)     (sample-passes per second)
//! ratio      = batched / loop                                              (median of `reps` timed rounds, ABBA order)
//! ```
//! The default is `bench/torch_mc.py`'s: 784-1024-1024-10, ReLU, input
//! dropout 0.2, hidden 0.5, 1,000 inputs, T = 50, loop batch 1,000.

use engine::layer::Ctx;
use engine::loss::softmax;
use engine::rng::Rng;
use engine::spec::ModelSpec;
use engine::Sequential;
use serde::Serialize;

use super::{median, time_ms};
use crate::data::Dataset;
use crate::error::Result;
use crate::uq::sample::{mc, McSites, Sampling};
use crate::uq::Accum;

/// What to measure.
#[derive(Clone, Debug)]
pub struct McBench {
    /// MLP or CNN architecture.
    pub arch: String,
    /// Inputs evaluated.
    pub inputs: usize,
    /// MC samples T.
    pub t: usize,
    /// Inputs per forward pass of the loop.
    pub batch: usize,
    /// Timed rounds per method.
    pub reps: usize,
    /// Threads (for the record).
    pub threads: usize,
}

/// The measured medians.
#[derive(Clone, Debug, Serialize)]
pub struct McBenchResult {
    /// Architecture.
    pub arch: String,
    /// Inputs.
    pub inputs: usize,
    /// T.
    pub t: usize,
    /// Threads.
    pub threads: usize,
    /// Batched: sample-passes per second.
    pub batched_per_s: f64,
    /// Loop: sample-passes per second.
    pub loop_per_s: f64,
    /// batched / loop.
    pub ratio: f64,
}

/// The loop a user writes: for each batch, T forward passes, each averaged in.
pub fn mc_loop(model: &mut Sequential, data: &Dataset, t: usize, batch: usize, seed: u64) {
    let (n, d, k) = (data.len(), data.dim(), model.classes());
    let mut acc = Accum::new(n, k);
    let mut p = Vec::new();
    for start in (0..n).step_by(batch.max(1)) {
        let m = batch.min(n - start);
        for s in 0..t {
            model
                .input_mut(m)
                .copy_from_slice(&data.x[start * d..(start + m) * d]);
            softmax(model.forward(&Ctx::mc_sample(seed, s as u32)), &mut p);
            acc.add_rows(start, &p);
        }
    }
    std::hint::black_box(acc.finish());
}

/// Measure; `tick` after each timed round.
///
/// # Errors
/// An architecture the engine rejects.
pub fn run(b: &McBench, mut tick: impl FnMut()) -> Result<McBenchResult> {
    let mut spec = ModelSpec::new(&b.arch);
    spec.dropout = 0.5;
    spec.input_dropout = 0.2;
    // An MLP reads its first number's features, other nets MNIST-shaped images.
    let arch = spec.arch()?;
    let shape: Vec<usize> = arch.inputs.map_or(vec![1, 28, 28], |n| vec![n]);
    let mut model = arch.build(&shape, 1)?;
    let mut rng = Rng::new(3);
    let d: usize = shape.iter().product();
    let data = Dataset {
        x: (0..b.inputs * d).map(|_| rng.uniform() as f32).collect(),
        y: vec![0; b.inputs],
        sample_shape: shape,
    };
    let s = Sampling {
        t: b.t,
        seed: 7,
        consistent: false,
        sites: McSites::All,
        per_pass: false,
    };
    // Warm up both (buffers sized, caches filled).
    mc(&mut model, &data, &s);
    mc_loop(&mut model, &data, b.t, b.batch, 7);
    let (mut batched, mut looped) = (Vec::new(), Vec::new());
    for r in 0..b.reps {
        let mut one = |batched_first: bool| {
            if batched_first {
                batched.push(time_ms(|| {
                    std::hint::black_box(mc(&mut model, &data, &s));
                }));
            } else {
                looped.push(time_ms(|| mc_loop(&mut model, &data, b.t, b.batch, 7)));
            }
        };
        // ABBA.
        one(r % 2 == 0);
        one(r % 2 == 1);
        tick();
    }
    let per_s = |ms: f64| (b.inputs * b.t) as f64 / (ms / 1e3);
    let (bs, ls) = (per_s(median(&batched)), per_s(median(&looped)));
    Ok(McBenchResult {
        arch: b.arch.clone(),
        inputs: b.inputs,
        t: b.t,
        threads: b.threads,
        batched_per_s: bs,
        loop_per_s: ls,
        ratio: bs / ls,
    })
}
