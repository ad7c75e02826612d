//! `dropout-lab bench mc`: MC-dropout inference throughput, batched vs loop
//! (see [`lab::bench::mc`]); a table or one JSON object.

use anyhow::{bail, Result};
use clap::Args;
use lab::bench::mc::McBench;

use super::progress::bar;

#[derive(Args)]
#[command(
    after_help = "Examples:\n  dropout-lab bench mc\n  dropout-lab bench mc --t 100 --inputs 2000 --json\n  python bench/torch_mc.py      # the same loop in PyTorch\n  python bench/compare_mc.py    # both, side by side, with the ratio"
)]
pub struct McBenchArgs {
    /// MLP (`784-1024-1024-10`) or CNN (`c16-p-c32-p-128-10`) architecture (dropout 0.2 input, 0.5 hidden).
    #[arg(long, default_value = "784-1024-1024-10")]
    arch: String,
    /// Inputs evaluated.
    #[arg(long, default_value_t = 1000)]
    inputs: usize,
    /// MC samples T.
    #[arg(long, default_value_t = 50)]
    t: usize,
    /// Inputs per forward pass of the loop.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Timed rounds per method (median reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// Measure MC throughput.
pub fn run(a: McBenchArgs) -> Result<()> {
    if a.inputs == 0 || a.t == 0 || a.batch == 0 || a.reps == 0 {
        bail!("--inputs, --t, --batch and --reps must be at least 1");
    }
    let pool = super::pool(a.threads)?;
    let b = bar(
        a.reps as u64,
        "{msg:>8} [{bar:30}] {pos}/{len} ({eta} left)",
        !a.json,
    );
    b.set_message("rounds");
    let bench = McBench {
        arch: a.arch.clone(),
        inputs: a.inputs,
        t: a.t,
        batch: a.batch,
        reps: a.reps,
        threads: a.threads,
    };
    let r = pool.install(|| lab::bench::mc::run(&bench, || b.inc(1)));
    b.finish_and_clear();
    let r = r?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "MC dropout inference, {} — {} inputs × T = {}, {} thread(s); medians of {} rounds",
        r.arch, r.inputs, r.t, r.threads, a.reps
    );
    println!(
        "batched (one forward of T × m rows)  {:>12.0} sample-passes/s",
        r.batched_per_s
    );
    println!(
        "loop (T forwards per batch of {:>5})  {:>12.0} sample-passes/s",
        a.batch, r.loop_per_s
    );
    println!("batched / loop                        {:>12.2}", r.ratio);
    Ok(())
}
