//! `dropout-lab tune` (which dropout rate for my data?): a sweep of
//! `--p` (and optionally `--lr-grid`, `--weight-decay-grid`) over seeds on
//! validation data held out of the training file, through `sweep`'s machinery.
//!
//! ```text
//! chosen = argmax over points of the mean final validation accuracy        (lab::sweep::choose)
//! clear  = its 95 % CI meets no other eligible point's;  near = those it meets
//! no clear difference = it meets every other's → keep the setting the runs had
//!                       without the grid (the user's flag, else train's default)
//! ```
//! Besides the table it prints every fixed setting the runs used (the
//! user's flags and train's defaults), so nothing it kept is unsaid.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use lab::stats::Est;
use lab::sweep::{choose, clarity, page, Clarity, PointRuns};

use super::super::distribute::{note, threads};
use super::super::flags::{settings, RunFlags};
use super::{execute, points, summary, sweep_of, Common};

#[derive(Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "Examples:
  dropout-lab tune --data my.csv --arch {in}-128-128-{classes} --epochs 30
  dropout-lab tune --train-size 5000 --epochs 20 --lr-grid 0.02,0.05,0.1 --seeds 5
  dropout-lab tune --p 0:0.6:0.15 --weight-decay-grid 0,1e-4 --out tune-wd

Chooses on validation data only (--val-size; default: a tenth of the training samples),
prints the validation curve with 95 % CIs and every fixed setting of the runs, and writes
<out>/index.html. When the best setting's CI overlaps every other's, it says there is no clear
difference and keeps the setting the runs had without the grid. Shards like a sweep."
)]
pub struct TuneArgs {
    /// Hidden-layer dropout rates to try: a list or a:b:step.
    #[arg(long, default_value = "0:0.7:0.1")]
    p: String,
    /// Also choose the learning rate from these values (list or a:b:step).
    #[arg(long, value_name = "VALUES")]
    lr_grid: Option<String>,
    /// Also choose the weight decay from these values (list or a:b:step).
    #[arg(long, value_name = "VALUES")]
    weight_decay_grid: Option<String>,
    /// Output directory (results and the cache unless --cache).
    #[arg(long, default_value = "tune")]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    run: RunFlags,
}

/// Flags joined by spaces in lines of about 100 columns (indented to follow a label).
fn wrap(flags: &[String]) -> String {
    let mut out = String::new();
    let mut col = 0;
    for f in flags {
        if col > 0 && col + f.len() > 80 {
            out += "\n                    ";
            col = 0;
        } else if col > 0 {
            out.push(' ');
        }
        out += f;
        col += f.len() + 1;
    }
    if out.is_empty() {
        out += "(none)";
    }
    out
}

/// What tune says besides its table: the fixed settings of its runs and
/// its recommendation (or that there is no clear difference, and what it
/// keeps). The point the page marks as chosen.
fn tune_verdict(
    o: &mut impl Write,
    res: &[PointRuns],
    base: &RunFlags,
    seeds: usize,
) -> Result<Option<usize>> {
    let Some(c) = choose(res) else {
        bail!("every setting diverged: lower the learning rate (--lr) and tune again");
    };
    let axes: Vec<&str> = res[c].values.iter().map(|(n, _)| n.as_str()).collect();
    let all = settings(base);
    let csv = all.iter().any(|(n, _, _)| n == "data");
    let flag = |(n, v, _): &(String, String, bool)| format!("--{n} {v}").trim_end().to_string();
    let fixed = |given: bool| {
        all.iter()
            .filter(|(n, _, g)| {
                let skip = axes.contains(&n.as_str())
                    || ["threads", "seed"].contains(&n.as_str())
                    || (csv && n == "dataset");
                *g == given && !skip
            })
            .map(flag)
            .collect::<Vec<_>>()
    };
    let seed0: u64 = all
        .iter()
        .find(|(n, _, _)| n == "seed")
        .and_then(|(_, v, _)| v.parse().ok())
        .unwrap_or(0);
    writeln!(o, "every run, seeds {seed0}–{}:", seed0 + seeds as u64 - 1)?;
    writeln!(o, "  your settings:    {}", wrap(&fixed(true)))?;
    writeln!(o, "  train's defaults: {}", wrap(&fixed(false)))?;
    let est = |i: usize| page::pct(&Est::of(&res[i].val()));
    let rec = format!(
        "{}  (validation {}; test {}, reported only)",
        res[c].label(),
        est(c),
        page::pct(&Est::of(&res[c].test()))
    );
    let chosen = match clarity(res, c) {
        Clarity::Clear => {
            writeln!(o, "recommendation: {rec}")?;
            Some(c)
        }
        Clarity::Near(near) => {
            let near: Vec<String> = near.iter().map(|&i| res[i].label()).collect();
            writeln!(o, "recommendation: {rec}")?;
            writeln!(
                o,
                "  no clear difference from {} (their 95 % CIs overlap)",
                near.join(", ")
            )?;
            Some(c)
        }
        Clarity::NoCi => {
            writeln!(o, "recommendation: {rec}")?;
            writeln!(o, "  one seed: no confidence intervals, so the differences may be noise; tune with --seeds 3 or more")?;
            Some(c)
        }
        Clarity::NoDifference => {
            // Whether some point ran with `n = v` (compared as numbers where they are).
            let tried = |n: &str, v: &str| {
                let same = |x: &str| {
                    x == v
                        || (x.parse::<f64>().ok()).is_some_and(|x| Some(x) == v.parse::<f64>().ok())
                };
                res.iter()
                    .any(|r| r.values.iter().any(|(m, x)| m == n && same(x)))
            };
            let keep: Vec<String> = axes
                .iter()
                .map(|&n| match all.iter().find(|(m, _, _)| m == n) {
                    Some((_, v, mine)) => format!(
                        "{n}={v} ({}{})",
                        if *mine { "yours" } else { "train's default" },
                        if tried(n, v) {
                            ""
                        } else {
                            ", not one of the settings tried"
                        }
                    ),
                    None => format!("{n} unset"),
                })
                .collect();
            writeln!(
                o,
                "no clear difference: the best, {}: {}, overlaps the 95 % CI of every other setting; keeping {}. More seeds (--seeds) or validation data (--val-size) may tell them apart.",
                res[c].label(),
                est(c),
                keep.join(", ")
            )?;
            None
        }
    };
    Ok(chosen)
}

/// `dropout-lab tune`.
pub fn run_tune(a: TuneArgs) -> Result<()> {
    let mut base = a.run.clone();
    for (flag, v) in [
        ("--p", Some(&a.p)),
        ("--lr-grid", a.lr_grid.as_ref()),
        ("--weight-decay-grid", a.weight_decay_grid.as_ref()),
    ] {
        if let Some(v) = v.filter(|v| v.contains('=')) {
            bail!("{flag} {v}: give values only (a list or a:b:step, e.g. 0,0.3,0.5); other options go in flags");
        }
    }
    let cfg = a.run.config();
    if cfg.data.val_size == 0 {
        let splits = lab::data::load(&cfg.data, cfg.seed)
            .context("loading the data to size the validation split")?;
        let n = splits.train.len();
        let val = (n / 10).max(splits.classes * 5).min(n / 2);
        if val == 0 {
            bail!("{n} training samples: too few to hold out validation data");
        }
        note(format_args!(
            "holding out {val} of the {n} training samples for validation (set it with --val-size)"
        ));
        base.data.val_size = Some(val);
    }
    let mut g = format!("dropout={}", a.p);
    if let Some(lr) = &a.lr_grid {
        g += &format!(",lr={lr}");
    }
    if let Some(wd) = &a.weight_decay_grid {
        g += &format!(",weight-decay={wd}");
    }
    let pts = points(&g, &base).map_err(|e| {
        anyhow!(
            "{}",
            e.to_string()
                .replace("--grid", "--p/--lr-grid/--weight-decay-grid")
        )
    })?;
    let pool = super::super::pool(threads(a.run.threads))?;
    let sweep = sweep_of(pts, &a.common);
    let Some((res, info)) = pool.install(|| execute(&sweep, &a.common, &a.out))? else {
        return Ok(());
    };
    let best_at = choose(&res);
    let best = best_at.map_or(0.0, |c| Est::of(&res[c].val()).mean);
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "validation accuracy, mean ± 95 % CI over {} seeds:",
        a.common.seeds
    )?;
    for (i, p) in res.iter().enumerate() {
        let v = Est::of(&p.val());
        let bar = "#".repeat((40.0 * (1.0 - (best - v.mean).clamp(0.0, 0.2) / 0.2)) as usize);
        let mark = if Some(i) == best_at { " <- best" } else { "" };
        writeln!(o, "  {:<28} {}  {bar}{mark}", p.label(), summary(p))?;
    }
    let chosen = tune_verdict(&mut o, &res, &base, a.common.seeds)?;
    page::write(&a.out, &res, chosen, &info, "dropout-lab tune")?;
    writeln!(o, "results: {}", a.out.join("index.html").display())?;
    Ok(())
}
