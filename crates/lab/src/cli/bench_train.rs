//! `dropout-lab bench train`: training throughput of an MLP or CNN on random
//! data for each dropout rate, with the chosen optimizer and normalisation,
//! and the GEMM-only time of the same steps; a table of medians with the
//! dropout overhead, or one JSON object per rate.

use anyhow::{bail, Context, Result};
use clap::Args;
use dropout::Dropout;
use engine::spec::Norm;
use lab::bench::train::{TrainBench, TrainBenchResult};
use lab::config::OptimizerName;

use super::choice::parser;
use super::progress::bar;

#[derive(Args)]
#[command(
    after_help = "Examples:\n  dropout-lab bench train\n  dropout-lab bench train --p 0.5,0 --threads 2 --json\n  python bench/torch_mlp.py   # the same setting in PyTorch\n  dropout-lab bench train --arch gpt --batch 12 --optimizer adamw --p 0.2,0\n  dropout-lab bench train --arch gpt --batch 12 --optimizer adamw --p 0.2,0 --attn-only\n  python bench/torch_transformer.py --arch gpt   # its PyTorch twin"
)]
pub struct TrainBenchArgs {
    /// MLP (`784-1024-1024-10`), CNN (`c16-p-c32-p-128-10`, 1×28×28 inputs), GPT (`gpt`, windows of ids) or ViT (`vit`, 1×28×28) architecture.
    #[arg(long, default_value = "784-1024-1024-10")]
    arch: String,
    /// Normalisation in hidden blocks.
    #[arg(long, value_parser = parser::<Norm>(), default_value = "none")]
    norm: Norm,
    /// Optimizer (lr 1e-3; SGD with momentum 0.9).
    #[arg(long, value_parser = parser::<OptimizerName>(), default_value = "sgd")]
    optimizer: OptimizerName,
    /// Conv dropout rate (CNNs).
    #[arg(long, default_value_t = 0.0)]
    conv_dropout: f32,
    /// Hidden dropout rates to measure.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0")]
    p: Vec<f32>,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Steps per timed block.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed blocks (median reported).
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// One JSON object per setting.
    #[arg(long)]
    json: bool,
    /// Transformers: the rates are the attention probabilities' alone (every other site at 0).
    #[arg(long)]
    attn_only: bool,
}

/// Measure training throughput.
pub fn run(a: TrainBenchArgs) -> Result<()> {
    let pool = super::pool(a.threads)?;
    if a.batch == 0 || a.steps == 0 || a.reps == 0 {
        bail!("--batch, --steps and --reps must be at least 1");
    }
    for &p in &a.p {
        Dropout::new(p).with_context(|| format!("--p {p}"))?;
    }
    Dropout::new(a.conv_dropout).with_context(|| format!("--conv-dropout {}", a.conv_dropout))?;
    let bench = TrainBench {
        arch: a.arch.clone(),
        norm: a.norm,
        optimizer: a.optimizer,
        conv_dropout: a.conv_dropout,
        batch: a.batch,
        steps: a.steps,
        reps: a.reps,
        threads: a.threads,
        attn_only: a.attn_only,
    };
    let b = bar(
        (a.p.len() * a.reps) as u64,
        "{msg:>8} [{bar:30}] {pos}/{len} ({eta} left)",
        true,
    );
    b.set_message("steps");
    let results = pool.install(|| lab::bench::train::run(&bench, &a.p, || b.inc(1)));
    b.finish_and_clear();
    let results = results?;
    if a.json {
        for r in &results {
            println!("{}", serde_json::to_string(r).expect("plain struct"));
        }
    } else {
        print_table(&a, &results);
    }
    Ok(())
}

fn print_table(a: &TrainBenchArgs, results: &[TrainBenchResult]) {
    println!(
        "training throughput, {} (norm {:?}) batch {}, {:?}, {} thread(s); medians of {} × {} steps",
        a.arch, a.norm, a.batch, a.optimizer, a.threads, a.reps, a.steps
    );
    println!(
        "{:>6} {:>12} {:>10} {:>10} {:>10} {:>14} {:>9}",
        "p", "samples/s", "tokens/s", "step ms", "GEMM ms", "GEMM bound/s", "of bound"
    );
    for r in results {
        println!(
            "{:>6} {:>12.0} {:>10.0} {:>10.2} {:>10.2} {:>14.0} {:>9.2}",
            r.p,
            r.samples_per_s,
            r.samples_per_s * r.tokens_per_sample as f64,
            r.step_ms,
            r.gemm_ms,
            r.gemm_bound_samples_per_s,
            r.of_gemm_bound
        );
    }
    if let (Some(d), Some(z)) = (
        results.iter().find(|r| r.p > 0.0),
        results.iter().find(|r| r.p == 0.0),
    ) {
        println!(
            "dropout overhead (p = {} vs 0): {:+.1} % step time",
            d.p,
            100.0 * (d.step_ms / z.step_ms - 1.0)
        );
    }
    println!(
        "of bound = GEMM time / step time of the same steps (1.00 = nothing but matrix products)"
    );
}
