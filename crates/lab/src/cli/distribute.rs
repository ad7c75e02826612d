//! The options that spread a study, sweep or tune over workers sharing one
//! cache (`--plan`, `--shard I/N`, `--merge`, `--cache`), and running a shard.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use lab::runner::estimate::Rates;
use lab::runner::plan::{Plan, Planned};
use lab::runner::shard::{from_env, run_shard, threads_from_env, Shard, ShardProgress, MAX_SHARDS};
use lab::runner::{Job, Runner};

/// Plan, shard, merge.
#[derive(Args, Clone, Debug, Default)]
pub struct Distribute {
    /// The run cache (default: inside --out). Shards of one job must share it (a shared file system on a cluster).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Print every run as JSON lines (key, claims, wave, cached, cost, config) and exit; nothing is trained. Runs that depend on a choice (tuning) appear once the runs it chooses from are cached.
    #[arg(long, conflicts_with_all = ["shard", "merge"])]
    pub plan: bool,
    /// Train only shard I of N (1-based, e.g. 2/4) into the shared --cache, then exit; without a value, I/N come from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX (with --shards). Safe to rerun; a shard also takes runs nobody holds, so a killed shard's work gets done.
    #[arg(long, value_name = "I/N", num_args = 0..=1, default_missing_value = "env", conflicts_with = "merge")]
    pub shard: Option<String>,
    /// The number of shards when the scheduler gives only the index (Kubernetes' JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Build the results from the cache alone (after the shards): lists the missing runs and fails if any are missing.
    #[arg(long)]
    pub merge: bool,
}

/// Threads: `given`, else the scheduler's allocation, else 2.
/// A value from the scheduler above [`lab::config::max_threads`] is clamped
/// with a note (an explicit `--threads` above it is an error, in `pool`).
pub fn threads(given: Option<usize>) -> usize {
    given.unwrap_or_else(|| {
        let t = threads_from_env(
            |k| std::env::var(k).ok(),
            std::fs::read_to_string("/sys/fs/cgroup/cpu.max").ok(),
        )
        .unwrap_or(2);
        if let Ok(v) = std::env::var("SLURM_CPUS_PER_TASK") {
            if v.trim().parse::<usize>().map_or(true, |n| n == 0) {
                note(format_args!(
                    "note: SLURM_CPUS_PER_TASK={v:?} is not a positive whole number; ignored (using {t} threads; set --threads to choose)"
                ));
            }
        }
        let max = lab::config::max_threads();
        if t > max {
            note(format_args!(
                "note: the scheduler allows {t} threads; clamped to {max} (4 × the {} cores here, at least 64)",
                lab::config::cores()
            ));
        }
        t.min(max)
    })
}

/// `--shard I/N` (1-based), or `env`: from the scheduler's variables.
pub fn parse_shard(spec: &str, shards: Option<usize>) -> Result<Shard> {
    if spec == "env" {
        return match from_env(|k| std::env::var(k).ok(), shards) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => bail!("--shard without I/N needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm array job), or JOB_COMPLETION_INDEX and --shards N (a Kubernetes Indexed Job); or give it as --shard I/N, e.g. --shard 1/4"),
            Err(e) => Err(anyhow!("--shard from the scheduler: {e}")),
        };
    }
    let bad =
        || anyhow!("--shard {spec}: give I/N with 1 ≤ I ≤ N, e.g. --shard 1/4 (shard 1 of 4)");
    let (i, n) = spec.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n > MAX_SHARDS {
        bail!("--shard {spec}: at most {MAX_SHARDS} shards; give N ≤ {MAX_SHARDS}");
    }
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok(Shard::new(i - 1, n)?)
}

/// A line on stderr; a closed stderr is not an error (nothing could say it).
pub fn note(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// `--plan`: JSON lines on stdout, a summary on stderr.
pub fn print_plan(plan: &Plan) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    for r in &plan.runs {
        line.clear();
        serde_json::to_writer(&mut line, r)?;
        line.push(b'\n');
        // An io::Error (not serde's wrapper), so that a closed pipe is seen as one.
        out.write_all(&line)?;
    }
    out.flush()?;
    let cached = plan.runs.iter().filter(|r| r.cached).count();
    let rates = Rates::calibrate()?;
    let secs = |runs: &[&Planned]| -> f64 {
        runs.iter()
            .map(|r| rates.seconds(&r.config, r.eval_every))
            .sum()
    };
    let all: Vec<&Planned> = plan.runs.iter().collect();
    note(format_args!(
        "{} runs planned ({cached} cached); training them takes about {} here ({} for the {} not cached) at {} threads — an estimate from a 1-second probe of this machine{}",
        plan.runs.len(),
        super::progress::secs(secs(&all)),
        super::progress::secs(secs(&plan.missing())),
        plan.runs.len() - cached,
        rayon::current_num_threads(),
        if plan.pending.is_empty() {
            "; the plan is complete".to_string()
        } else {
            format!(
                "; {} will plan more runs once these are cached (they choose from their results)",
                plan.pending.join(", ")
            )
        }
    ));
    Ok(())
}

/// Plain progress lines of a shard (stderr).
struct ShardLines {
    shard: Shard,
    on: bool,
}

impl ShardProgress for ShardLines {
    fn trained(&self, run: &Planned, own: bool, secs: f64) {
        if self.on {
            note(format_args!(
                "shard {}/{}: trained {} ({}, wave {}{}) in {secs:.1} s",
                self.shard.index + 1,
                self.shard.count,
                run.key,
                run.claims.join(", "),
                run.depth,
                if own { "" } else { ", nobody held it" }
            ));
        }
    }

    fn waiting(&self, wave: usize, held: usize) {
        if self.on {
            note(format_args!(
                "shard {}/{}: waiting for other shards ({held} runs of wave ≤ {wave} not cached yet)",
                self.shard.index + 1,
                self.shard.count
            ));
        }
    }
}

/// Run shard `shard` of `jobs` in `lab` (made in `load_s` seconds) and print its summary.
pub fn shard_run<L, J>(lab: &L, jobs: &[&J], shard: Shard, load_s: f64, verbose: bool) -> Result<()>
where
    L: AsRef<Runner> + ?Sized,
    J: Job<L> + ?Sized,
{
    let lines = ShardLines { shard, on: verbose };
    let t = Instant::now();
    let st = run_shard(lab, jobs, shard, Duration::from_secs(5), &lines)?;
    writeln!(
        std::io::stdout(),
        "shard {}/{} done in {:.0} s: trained {} runs ({} nobody held), {:.0} s training, {:.1} s overhead (data, planning), {:.0} s waiting; all {} runs are cached — build the results with the same command and --merge instead of --shard",
        shard.index + 1,
        shard.count,
        t.elapsed().as_secs_f64() + load_s,
        st.trained,
        st.taken_over,
        st.train_s,
        st.overhead_s + load_s,
        st.wait_s,
        st.planned
    )?;
    Ok(())
}
