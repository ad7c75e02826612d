//! `dropout-lab study`: pick the budget and claims, run the study with
//! progress bars (or plain lines off a terminal), print the summary table.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use lab::config::Builtin;
use lab::study::{claim_ids, plan_study, report, run_study, Budget, StudyOptions};

use super::distribute::{parse_shard, print_plan, shard_run, threads, Distribute};

use super::progress::StudyBars;
use super::study_eta::StudyEta;
use lab::runner::estimate::Rates;

/// Which built-in data sets a study uses.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StudyData {
    /// MNIST only.
    Mnist,
    /// Fashion-MNIST only.
    Fashion,
    /// Both (MNIST first: the claims that run on one data set use MNIST).
    Both,
}

#[derive(Args)]
#[command(after_help = "Examples:
  dropout-lab study --tiny               # try this first: ~40 s, the whole pipeline on toy budgets (numbers meaningless)
  dropout-lab study --quick              # ~5-10 min: smaller nets, 3 seeds, most tuning sweeps off
  dropout-lab study                      # all 14 claims, MNIST + Fashion-MNIST, 5 seeds, ~40 min before C14 + ~6.5 min for C14 (2 cores) -> report/index.html
  dropout-lab study --plan > plan.jsonl  # the runs it would train, and an estimate of their time here
  dropout-lab study --dataset fashion --claims C3   # one claim, one data set
  dropout-lab study --claims C3,C9 --seeds 5
  dropout-lab study --paper              # Srivastava et al. 2014 Table 2 with the paper's protocol (a night on 2 cores)
  dropout-lab study --family --seeds 3 --out family   # the dropout family compared where each member is used (no verdicts)

Interrupted? Run the same command again: finished training runs are cached in <out>/report-cache.

On a cluster (one shared cache; every shard runs the same study options):
  dropout-lab study --plan --cache /shared/cache > plan.jsonl          # the runs, as JSON lines
  dropout-lab study --shard 1/4 --cache /shared/cache                  # on each of 4 workers (2/4, 3/4, 4/4)
  dropout-lab study --shard --cache /shared/cache                      # I/N from SLURM_ARRAY_TASK_ID/COUNT
  JOB_COMPLETION_INDEX=0 dropout-lab study --shard --shards 4 --cache /shared/cache   # Kubernetes Indexed Job
  dropout-lab study --merge --cache /shared/cache --out report         # the report from the cache alone
  seq 1 4 | parallel dropout-lab study --shard {}/4 --threads 1 --cache c --quiet   # GNU parallel
See examples/slurm and examples/k8s.")]
pub struct StudyArgs {
    /// Small budget: smaller nets, fewer samples, 3 seeds, most tuning sweeps off (5–10 minutes on 2 cores).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Smoke-test budget (~40 s on 2 cores; the numbers mean nothing): the whole pipeline end to end — try it first.
    #[arg(long, conflicts_with_all = ["quick", "full"])]
    tiny: bool,
    /// Large budget: bigger grids (up to all 60k images), 10 seeds, every tuning sweep (hours).
    #[arg(long)]
    full: bool,
    /// Only these claims (comma-separated ids, e.g. C3,C9).
    #[arg(long, value_delimiter = ',')]
    claims: Vec<String>,
    /// Seeds per setting (default: 3 quick, 5 default, 10 full; some claims use more and say so).
    #[arg(long)]
    seeds: Option<usize>,
    /// Data sets: claims C3, C9, C11 and C13 run on each; the others on the first.
    #[arg(long, value_enum, default_value_t = StudyData::Both)]
    dataset: StudyData,
    /// Output directory for index.html, results.json and the cache.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// Threads (results are the same for any count). Default: the scheduler's allocation (SLURM_CPUS_PER_TASK, or the cgroup's CPU limit), else 2.
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    dist: Distribute,
    /// Reproduce Srivastava et al. 2014 Table 2 on full MNIST instead of the claims (validation phase, then the final runs over 3 seeds; long runs resume when the study is run again).
    #[arg(long)]
    paper: bool,
    /// Compare the dropout family instead of the claims: MLP (dropout, Gaussian, Alpha, DropConnect, Concrete) on each data set, CNN (element-wise, spatial, DropBlock), residual LayerNorm MLP (DropPath), RNN (locked vs naive); rates tuned on validation, no verdicts.
    #[arg(long, conflicts_with_all = ["paper", "claims"])]
    family: bool,
    /// Epochs of --paper's validation phase (the authors ran 100,000 steps ≈ 200 epochs; 100 fits a night on 2 cores); the final runs take as many updates as validation chose.
    #[arg(long, default_value_t = 100)]
    paper_epochs: usize,
    /// No progress bars or lines.
    #[arg(long)]
    quiet: bool,
}

/// Run the study.
pub fn run(a: StudyArgs) -> Result<()> {
    let budget = if a.tiny {
        Budget::Tiny
    } else if a.quick {
        Budget::Quick
    } else if a.full {
        Budget::Full
    } else {
        Budget::Default
    };
    let seeds = a.seeds.unwrap_or(match budget {
        Budget::Tiny => 2,
        Budget::Quick => 3,
        Budget::Default => 5,
        Budget::Full => 10,
    });
    if !(1..=30).contains(&seeds) {
        bail!("--seeds {seeds}: use 1 to 30 (confidence intervals need at least 2)");
    }
    let known = claim_ids();
    if let Some(bad) = a
        .claims
        .iter()
        .find(|c| !known.iter().any(|k| k.eq_ignore_ascii_case(c)))
    {
        bail!(
            "--claims: unknown claim `{bad}` (known: {})",
            known.join(", ")
        );
    }
    let threads = threads(a.threads);
    let pool = super::pool(threads)?;
    let opts = StudyOptions {
        budget,
        claims: a.claims.clone(),
        seeds,
        datasets: match a.dataset {
            StudyData::Mnist => vec![Builtin::Mnist],
            StudyData::Fashion => vec![Builtin::Fashion],
            StudyData::Both => Builtin::ALL.to_vec(),
        },
        out: a.out.clone(),
        cache: a.dist.cache.clone(),
        paper_epochs: a.paper.then_some(a.paper_epochs),
        family: a.family,
        merge: a.dist.merge,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    if a.dist.plan {
        return pool.install(|| print_plan(&plan_study(&opts)?));
    }
    if let Some(spec) = &a.dist.shard {
        let shard = parse_shard(spec, a.dist.shards)?;
        return pool.install(|| {
            let t = std::time::Instant::now();
            let lab = opts.lab(Box::new(()))?;
            let load_s = t.elapsed().as_secs_f64();
            opts.with_claims(|c| shard_run(&lab, c, shard, load_s, !a.quiet))
        });
    }
    let claims = if a.paper || a.family {
        1
    } else if a.claims.is_empty() {
        known.len()
    } else {
        a.claims.len()
    };
    let mut bars = StudyBars::new(claims, !a.quiet);
    if !a.quiet {
        // The plan's estimate, for the time left (a second of probing; none when merging).
        let order = opts.with_claims(|c| c.iter().map(|c| c.id().to_string()).collect());
        if let (false, Ok(plan), Ok(rates)) = (
            a.dist.merge,
            pool.install(|| plan_study(&opts)),
            pool.install(Rates::calibrate),
        ) {
            bars = bars.with_eta(StudyEta::new(&plan, &rates, order));
        }
    }
    let bars = Box::new(bars);
    let (results, info) = pool.install(|| run_study(&opts, bars))?;
    println!("{}", report::summary(&results));
    println!(
        "report: {}  ({:.0} s, {} runs trained now)",
        a.out.join("index.html").display(),
        info.elapsed_s,
        info.runs_trained
    );
    Ok(())
}
