//! `dropout-lab sweep` (a user's grid of train options over seeds) and
//! `dropout-lab tune` (which dropout rate for my data?), both on the study's
//! cache machinery, so both plan, shard and merge.
//!
//! A grid point's run is the user's train flags with the point's values
//! appended (the last value of an option wins), parsed by the same clap
//! definition as `train` — so any train option can be an axis; `a:b:step`
//! is a range for an option that takes one number (clap's value type says
//! which), any other value with colons one literal value.
//!
//! `tune` is in `sweep/tune.rs`.

use std::any::TypeId;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, Parser};
use lab::config::RunConfig;
use lab::html::RunInfo;
use lab::runner::{plan, require_complete, Job, Runner};
use lab::stats::Est;
use lab::sweep::{grid, page, Point, PointRuns, Sweep};

use super::distribute::{parse_shard, print_plan, shard_run, threads, Distribute};
use super::progress::StudyBars;

mod tune;
pub use tune::{run_tune, TuneArgs};

/// What both commands share.
#[derive(Args)]
pub struct Common {
    /// Seeds per grid point (runs use --seed, --seed + 1, …).
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    /// Evaluate every K epochs (the curves; 0 = the last epoch only).
    #[arg(long, value_name = "K", default_value_t = 1)]
    eval_every: usize,
    #[command(flatten)]
    dist: Distribute,
    /// No progress bar or lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "Examples:
  dropout-lab sweep --grid 'dropout=0:0.8:0.1,lr=0.01,0.05' --seeds 5 --epochs 10 --val-size 5000
  dropout-lab sweep --grid 'optimizer=sgd,adam,weight-decay=0,1e-4' --train-size 2000 --out wd
  dropout-lab sweep --grid 'dropout=0,0.3,0.5' --data data/sklearn-breast-cancer/breast_cancer.csv --arch {in}-64-{classes} --epochs 50

Any train option (without its dashes) can be an axis; a:b:step is a range of an option that takes one
number (1e-5:5e-5:1e-5 too); other values with colons (schedule=step:5:0.5) are one value. Results: <out>/runs.csv,
<out>/results.json and <out>/index.html. Spread it over workers like a study: --plan, --shard I/N,
--merge, --cache DIR (see `dropout-lab study --help`)."
)]
pub struct SweepArgs {
    /// The grid: name=values,… (values: a list, or a:b:step for a number), e.g. 'dropout=0:0.8:0.1,lr=0.01,0.05'.
    #[arg(long)]
    grid: String,
    /// Output directory (runs.csv, results.json, index.html; the cache unless --cache).
    #[arg(long, default_value = "sweep")]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    run: RunConfig,
}

/// A run configuration from flags alone (a grid point's).
#[derive(Parser)]
#[command(
    no_binary_name = true,
    args_override_self = true,
    allow_negative_numbers = true
)]
struct RunFlags {
    #[command(flatten)]
    run: RunConfig,
}

/// The train flags the user gave on the command line of subcommand `sub`
/// (`A` its arguments), as text to parse again with a point's values.
fn given_train_flags<A: Args>(sub: &'static str) -> Result<Vec<OsString>> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let at = args
        .iter()
        .position(|a| a == sub)
        .ok_or_else(|| anyhow!("`{sub}` not on the command line"))?;
    let cmd = A::augment_args(clap::Command::new(sub));
    let m = cmd.try_get_matches_from(&args[at..])?;
    let mut out = Vec::new();
    for a in RunFlags::command().get_arguments() {
        let id = a.get_id().as_str();
        if m.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(long) = a.get_long() else { continue };
        if a.get_action().takes_values() {
            for v in m.get_raw(id).into_iter().flatten() {
                out.push(format!("--{long}").into());
                out.push(v.to_os_string());
            }
        } else {
            out.push(format!("--{long}").into());
        }
    }
    Ok(out)
}

/// Whether train option `--name` takes one number (a range can be its values).
fn takes_a_number(name: &str) -> bool {
    let numbers = [
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
        TypeId::of::<usize>(),
        TypeId::of::<u64>(),
        TypeId::of::<u32>(),
        TypeId::of::<i64>(),
        TypeId::of::<i32>(),
    ];
    RunFlags::command().get_arguments().any(|a| {
        a.get_long() == Some(name)
            && a.get_action().takes_values()
            && numbers.iter().any(|t| a.get_value_parser().type_id() == *t)
    })
}

/// The points of `grid` on top of the user's flags `base`.
fn points(grid_text: &str, base: &[OsString]) -> Result<Vec<Point>> {
    let axes = grid::parse(grid_text, &takes_a_number).map_err(|e| anyhow!("--grid: {e}"))?;
    grid::points(&axes)
        .into_iter()
        .map(|values| {
            let mut argv = base.to_vec();
            for (n, v) in &values {
                argv.push(format!("--{n}").into());
                argv.push(v.into());
            }
            let label = lab::sweep::label(&values);
            let flags = RunFlags::try_parse_from(&argv).map_err(|e| {
                // clap's first line and its tip, without the usage of the inner parser.
                let text = e.render().to_string();
                let mut lines = text
                    .lines()
                    .filter(|l| l.starts_with("error:") || l.trim_start().starts_with("tip:"));
                let first = lines
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_string();
                let tips: Vec<&str> = lines.map(str::trim).collect();
                anyhow!(
                    "--grid point {label}: {first}{}{}",
                    if tips.is_empty() { "" } else { "; " },
                    tips.join("; ")
                )
            })?;
            flags
                .run
                .validate()
                .map_err(|e| anyhow!("--grid point {label}: {}", super::message(&e.into())))?;
            Ok(Point {
                values,
                config: flags.run,
            })
        })
        .collect()
}

/// Run `sweep` as the options say (serially, planned, as a shard or merged);
/// the points' runs when there are results to write.
fn execute(sweep: &Sweep, c: &Common, out: &Path) -> Result<Option<(Vec<PointRuns>, RunInfo)>> {
    if !(1..=100).contains(&c.seeds) {
        bail!(
            "--seeds {}: use 1 to 100 (confidence intervals need at least 2)",
            c.seeds
        );
    }
    sweep.check_plan_size()?;
    let cache = c.dist.cache.clone().unwrap_or_else(|| out.join("cache"));
    // The built-in data sets the points train on (a grid may sweep --dataset).
    let mut datasets = Vec::new();
    for p in &sweep.points {
        let ds = p.config.data.dataset;
        if p.config.data.path.is_none() && !datasets.contains(&ds) {
            datasets.push(ds);
        }
    }
    let t = std::time::Instant::now();
    let progress: Box<dyn lab::runner::Progress> = if c.dist.shard.is_some() || c.dist.plan {
        Box::new(())
    } else {
        Box::new(StudyBars::new(1, !c.quiet))
    };
    let runner = Runner::new(&cache, datasets, progress)?;
    let runner = if c.dist.merge {
        runner.cache_only()
    } else {
        runner
    };
    let jobs = [sweep];
    if c.dist.plan {
        print_plan(&plan(&runner, &jobs)?)?;
        return Ok(None);
    }
    if let Some(spec) = &c.dist.shard {
        let shard = parse_shard(spec, c.dist.shards)?;
        shard_run(&runner, &jobs, shard, t.elapsed().as_secs_f64(), !c.quiet)?;
        return Ok(None);
    }
    if c.dist.merge {
        require_complete(&runner, &jobs)?;
    }
    let points = sweep.run(&runner)?;
    let mut info = RunInfo::collect(
        std::env::args().collect::<Vec<_>>().join(" "),
        "sweep",
        (0..c.seeds as u64).collect(),
    );
    info.elapsed_s = t.elapsed().as_secs_f64();
    info.runs_trained = runner.runs_trained();
    Ok(Some((points, info)))
}

/// Threads: `--threads` when given, else the scheduler's allocation, else 2.
fn pool_threads(given_flags: &[OsString], flag: usize) -> usize {
    threads(given_flags.iter().any(|a| a == "--threads").then_some(flag))
}

fn sweep_of(points: Vec<Point>, c: &Common) -> Sweep {
    Sweep {
        points,
        seeds: c.seeds,
        eval_every: c.eval_every,
    }
}

/// `dropout-lab sweep`.
pub fn run_sweep(a: SweepArgs) -> Result<()> {
    let base = given_train_flags::<SweepArgs>("sweep")?;
    let pts = points(&a.grid, &base)?;
    let pool = super::pool(pool_threads(&base, a.run.threads))?;
    let sweep = sweep_of(pts, &a.common);
    let Some((res, info)) = pool.install(|| execute(&sweep, &a.common, &a.out))? else {
        return Ok(());
    };
    page::write(&a.out, &res, None, &info, "dropout-lab sweep")?;
    let mut o = std::io::stdout().lock();
    for p in &res {
        writeln!(o, "{:<40} {}", p.label(), summary(p))?;
    }
    writeln!(
        o,
        "results: {}  ({} runs; {} trained now, {:.0} s)",
        a.out.join("index.html").display(),
        res.iter().map(|p| p.runs.len()).sum::<usize>(),
        info.runs_trained,
        info.elapsed_s
    )?;
    Ok(())
}

fn summary(p: &PointRuns) -> String {
    let f = |xs: Vec<f64>| {
        if xs.is_empty() {
            "–".to_string()
        } else {
            page::pct(&Est::of(&xs))
        }
    };
    let div = match p.diverged() {
        0 => String::new(),
        n => format!("  ({n} diverged)"),
    };
    format!("val {}  test {}{div}", f(p.val()), f(p.test()))
}
