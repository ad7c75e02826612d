//! `dropout-lab bench train`: training throughput of an MLP on random data
//! for each dropout rate, measured in the same run; a table of medians with
//! the dropout overhead, or one JSON object per rate.

use anyhow::{bail, Context, Result};
use clap::Args;
use dropout::Dropout;
use lab::bench::train::TrainBenchResult;

use super::progress::bar;

#[derive(Args)]
#[command(
    after_help = "Examples:\n  dropout-lab bench train\n  dropout-lab bench train --p 0.5,0 --threads 2 --json\n  python bench/torch_mlp.py   # the same setting in PyTorch"
)]
pub struct TrainBenchArgs {
    /// MLP architecture.
    #[arg(long, default_value = "784-1024-1024-10")]
    arch: String,
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
    let b = bar(
        (a.p.len() * a.reps) as u64,
        "{msg:>8} [{bar:30}] {pos}/{len} ({eta} left)",
        true,
    );
    b.set_message("steps");
    let results = pool.install(|| {
        lab::bench::train::run(&a.arch, &a.p, a.batch, a.steps, a.reps, a.threads, || {
            b.inc(1)
        })
    });
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
        "training throughput, {} batch {}, SGD momentum 0.9, {} thread(s); medians of {} × {} steps",
        a.arch, a.batch, a.threads, a.reps, a.steps
    );
    println!("{:>6} {:>12} {:>10}", "p", "samples/s", "step ms");
    for r in results {
        println!("{:>6} {:>12.0} {:>10.2}", r.p, r.samples_per_s, r.step_ms);
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
}
