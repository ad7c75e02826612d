//! `dropout-lab sweep` (a user's grid of train options over seeds) and
//! `dropout-lab tune` (which dropout rate for my data?), both on the study's
//! cache machinery, so both plan, shard and merge.
//!
//! A grid point's run is the user's train flags with the point's values
//! set over them: each axis value is parsed once, by the same flag
//! definitions as `train` ([`RunFlags`]), into a typed override — so any
//! train option that takes a value can be an axis; `a:b:step` is a range
//! for an option that takes one number (its value type says which), any
//! other value with colons one literal value.
//!
//! `tune` is in `sweep/tune.rs`.

use std::any::TypeId;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::error::{ContextKind, ErrorKind};
use clap::Args;
use lab::html::RunInfo;
use lab::runner::{plan, require_complete, Job, Runner};
use lab::stats::Est;
use lab::sweep::{grid, page, Point, PointRuns, Sweep};

use super::distribute::{parse_shard, print_plan, shard_run, threads, Distribute};
use super::flags::{self, RunFlags};
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
    run: RunFlags,
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
    flags::command().get_arguments().any(|a| {
        a.get_long() == Some(name)
            && a.get_action().takes_values()
            && numbers.iter().any(|t| a.get_value_parser().type_id() == *t)
    })
}

/// The value `value` of grid axis `name`, parsed once into the one flag it
/// sets; the error says what is wrong and names the nearest option or value.
fn override_of(name: &str, value: &str) -> Result<RunFlags, String> {
    let cmd = flags::command();
    let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(name)) else {
        let near = cmd
            .get_arguments()
            .filter_map(|a| a.get_long())
            .map(|l| (strsim::jaro(name, l), l))
            .filter(|(s, _)| *s > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        return Err(match near {
            Some((_, l)) => format!("`{name}` is not a train option; did you mean `{l}`?"),
            None => format!("`{name}` is not a train option (see `dropout-lab train --help`)"),
        });
    };
    if !arg.get_action().takes_values() {
        return Err(format!(
            "--{name} is a switch and takes no value: give it outside the grid to turn it on for every point"
        ));
    }
    RunFlags::parse([format!("--{name}"), value.to_string()]).map_err(|e| {
        let ctx = |k| e.get(k).map(ToString::to_string);
        match e.kind() {
            ErrorKind::InvalidValue => format!(
                "--{name} {value}: not one of {}{}",
                ctx(ContextKind::ValidValue).unwrap_or_default(),
                ctx(ContextKind::SuggestedValue)
                    .map(|t| format!("; did you mean `{t}`?"))
                    .unwrap_or_default()
            ),
            _ => match std::error::Error::source(&e) {
                Some(why) => format!("--{name} {value}: {why}"),
                None => format!("--{name} {value}: {}", e.kind()),
            },
        }
    })
}

/// The points of `grid_text` on top of the user's flags `base`: each axis
/// value parsed once into a typed override, a point's config the base with
/// its overrides set (a grid value wins over the same flag given outside).
fn points(grid_text: &str, base: &RunFlags) -> Result<Vec<Point>> {
    let axes = grid::parse(grid_text, &takes_a_number).map_err(|e| anyhow!("--grid: {e}"))?;
    let mut over = std::collections::HashMap::new();
    for a in &axes {
        for v in &a.values {
            let f = override_of(&a.name, v).map_err(|e| anyhow!("--grid: {e}"))?;
            over.insert((a.name.clone(), v.clone()), f);
        }
    }
    let base = base.config();
    grid::points(&axes)
        .into_iter()
        .map(|values| {
            let mut config = base.clone();
            for nv in &values {
                over[nv].apply(&mut config);
            }
            let label = lab::sweep::label(&values);
            config
                .validate()
                .map_err(|e| anyhow!("--grid point {label}: {}", super::message(&e.into())))?;
            Ok(Point { values, config })
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

fn sweep_of(points: Vec<Point>, c: &Common) -> Sweep {
    Sweep {
        points,
        seeds: c.seeds,
        eval_every: c.eval_every,
    }
}

/// `dropout-lab sweep`.
pub fn run_sweep(a: SweepArgs) -> Result<()> {
    let pts = points(&a.grid, &a.run)?;
    let pool = super::pool(threads(a.run.threads))?;
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
