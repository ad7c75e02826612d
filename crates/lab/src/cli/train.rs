//! `dropout-lab train`: the run configuration as flags ([`RunFlags`] over
//! the library's defaults), validated before any data is loaded; a run directory with
//! `config.json`, `metrics.jsonl` and `model.safetensors`; a summary as text
//! or one JSON object.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lab::config::RunConfig;
use lab::data::{default_val_size, load_raw, prepare, Splits};
use lab::rundir::{self, ensemble};
use lab::train::{build_model, train, LoopOptions};

use super::flags::RunFlags;
use super::progress::TrainProgress;
use super::train_print::{print_data, print_summary};
use super::train_setup::setup;

#[derive(Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "Examples:
  dropout-lab train                               # MNIST, 5,000 of the training images held out for validation
  dropout-lab train --epochs 50 --keep best --early-stop 5 --out runs/best   # keep the best epoch by validation loss
  dropout-lab train --config run.toml --lr 0.1    # settings from a file (config.json's keys), flags override
  dropout-lab train --dropout 0 --input-dropout 0 --epochs 30 --out runs/nodrop
  dropout-lab train --resume runs/nodrop          # continue a killed run, bit for bit
  dropout-lab train --out runs/nodrop --force     # replace that run
  dropout-lab train --out runs/job --auto-resume  # a requeued job: start, resume, or nothing to do
  dropout-lab train --arch c32-p-c64-p-128-10 --conv-dropout 0.1 --conv-dropout-kind spatial --epochs 5
  dropout-lab train --arch {in}-256-r512-r512-{classes} --norm ln --drop-path 0.1 --optimizer adam --lr 1e-3
  dropout-lab train --concrete-dropout --dropout 0 --input-dropout 0 --optimizer adam --lr 1e-3
  dropout-lab train --train-size 1000 --label-noise 0.2 --norm bn --optimizer adam --lr 1e-3
  dropout-lab train --data data/sklearn-breast-cancer/breast_cancer.csv --arch {in}-32-{classes}
  dropout-lab train --ensemble 5 --val-size 5000 --epochs 10 --out runs/ens   # 5 nets for eval --ensemble"
)]
pub struct TrainArgs {
    #[command(flatten)]
    run: RunFlags,
    /// Start from the settings in FILE: TOML (*.toml) or JSON, with the keys of a run's
    /// config.json (any subset; a relative data.path is read from FILE's folder). Flags given
    /// beside it override it.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Evaluate train/val/test every this many epochs (and always after the last; 0 = last only).
    /// Default 1; a resumed run keeps the value it was started with.
    #[arg(long, value_name = "K")]
    eval_every: Option<usize>,
    /// Run directory, new or empty (default: a new runs/run-<unix time>).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Replace the run already in --out (its config, metrics and models are deleted first).
    #[arg(long, requires = "out", conflicts_with = "auto_resume")]
    force: bool,
    /// Continue the killed run (or ensemble) in DIR from its last checkpoint, with DIR's own
    /// settings (give no other run flags; --threads may differ). The result is bit-identical to
    /// an uninterrupted run. A finished run is left as it is (exit 0).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// For schedulers that requeue a job: start the run in --out if the folder is missing or
    /// empty, resume it if it holds this very run unfinished, do nothing (exit 0) if it has
    /// finished, and refuse if it holds another run. The same command can run any number of times.
    #[arg(long, requires = "out")]
    auto_resume: bool,
    /// Save the training state every K epochs, so a killed run loses at most K epochs (0 = never).
    /// Default 1; a resumed run keeps the value it was started with.
    #[arg(long, value_name = "K")]
    checkpoint_every: Option<usize>,
    /// Train K nets that differ only in their seed (seed, seed + 1, …; one data split) into
    /// OUT/member-1 … OUT/member-K, a deep ensemble for `eval --ensemble`.
    #[arg(long, value_name = "K", conflicts_with = "resume", value_parser = clap::value_parser!(u32).range(1..=100))]
    ensemble: Option<u32>,
    /// Print the final summary as one JSON object (one per line with --ensemble).
    #[arg(long)]
    json: bool,
    /// No progress: no bars, no epoch lines, no plain progress lines in a log (errors and the summary still print).
    #[arg(long)]
    quiet: bool,
}

/// A resumed run's (or ensemble's) stored configuration; any other run
/// flag is an error rather than silently ignored. Its `threads` stay the
/// stored ones (results are the same on any count), so the model file's
/// embedded config — and its bytes — are those of an uninterrupted run; the
/// pool takes `--threads`.
fn resumed_config(dir: &Path, stored: RunConfig, flags: &RunFlags) -> Result<RunConfig> {
    if flags.given().iter().any(|id| id != "threads") {
        bail!(
            "--resume continues the run with the settings stored in {}; drop the other run flags (only --threads may change)",
            dir.display()
        );
    }
    Ok(stored)
}

/// Whether `a` and `b` are the same run (threads aside; data by content).
fn same_run(a: &RunConfig, b: &RunConfig) -> bool {
    let data = |c: &RunConfig| c.data.path.as_deref().map(lab::data::content::id);
    a.same_run(b) && data(a) == data(b)
}

/// What to do with a run directory: start, resume, or nothing (finished).
#[derive(Clone, Copy, PartialEq)]
enum Step {
    Start,
    Resume,
    Done,
}

/// The state of run directory `dir` for `cfg`, or an error when it holds another run.
fn step_for(dir: &Path, cfg: &RunConfig) -> Result<Step> {
    if !dir.join(rundir::CONFIG).exists() {
        let empty = std::fs::read_dir(dir).map_or(true, |mut d| {
            d.all(|e| {
                e.is_ok_and(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n == rundir::LOCK || rundir::is_temp(&n)
                })
            })
        });
        if empty {
            return Ok(Step::Start);
        }
        bail!("{} holds files but no config.json: it is not a run of dropout-lab train; choose another --out", dir.display());
    }
    let stored = rundir::read_config(dir)?;
    if !same_run(&stored, cfg) {
        bail!(
            "{} holds another run (its config.json differs from these flags); choose another --out, or replace it with --force",
            dir.display()
        );
    }
    Ok(if dir.join(rundir::MODEL).exists() {
        Step::Done
    } else {
        Step::Resume
    })
}

/// Train and save the run (or the ensemble).
pub fn run(a: TrainArgs) -> Result<()> {
    let stored = match &a.resume {
        Some(dir) => Some(match ensemble::read(dir)? {
            Some((cfg, k)) => (cfg, k),
            None => (rundir::read_config(dir)?, 1),
        }),
        None => None,
    };
    let (mut cfg, k, val_given) = match (&a.resume, stored) {
        (Some(dir), Some((cfg, k))) => (resumed_config(dir, cfg, &a.run)?, k, true),
        _ => {
            let s = setup(a.config.as_deref(), &a.run)?;
            (s.cfg, a.ensemble.unwrap_or(1), s.val_given)
        }
    };
    // Checked before any data is read; `train`'s validation set is sized from the data.
    let mut probe = cfg.clone();
    if !val_given {
        probe.data.val_size = 1;
    }
    probe.validate()?;
    if a.resume.is_none() {
        // Stored absolute, so `eval` finds the data from any directory.
        if let Some(p) = &cfg.data.path {
            if let Ok(abs) = std::path::absolute(p) {
                cfg.data.path = Some(abs);
            }
        }
    }
    // Threads, data and model are checked before any directory is made, so
    // a bad setting leaves nothing behind.
    let pool = super::pool(if a.resume.is_some() {
        a.run.threads.unwrap_or(RunConfig::default().threads)
    } else {
        cfg.threads
    })?;
    let raw = load_raw(&cfg.data, cfg.seed).context("loading data")?;
    if !val_given {
        let (total, val) = (raw.train.len(), default_val_size(raw.train.len()));
        if let Some(n) = cfg
            .data
            .train_size
            .filter(|&n| n.saturating_add(val) > total)
        {
            bail!("--train-size {n} leaves no room for train's default validation set of {val} (the training file has {total} samples): give --val-size 0 to train on up to all {total}, or a --train-size of at most {}", total - val);
        }
        cfg.data.val_size = val;
        cfg.validate()?;
    }
    let splits = prepare(&raw, &cfg.data, cfg.seed).context("preparing data")?;
    drop(raw);
    build_model(&cfg, &splits)?;
    let out = match (&a.resume, &a.out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(out)) => out.clone(),
        (None, None) => rundir::create_unique(Path::new("runs"))?,
    };
    let _lock = rundir::lock(&out)?;
    let resuming = a.resume.is_some()
        || (a.auto_resume
            && if k > 1 {
                ensemble_resumes(&out, &cfg, k)?
            } else {
                match step_for(&out, &cfg)? {
                    Step::Start => false,
                    Step::Resume | Step::Done => true,
                }
            });
    if !resuming {
        rundir::prepare_new(&out, a.force)?;
    }
    let plan = Plan {
        pool: &pool,
        splits: &splits,
        a: &a,
        resuming,
    };
    if k <= 1 {
        return plan.one(&cfg, &out, false);
    }
    if !resuming {
        ensemble::write(&out, &cfg, k)?;
    }
    let mut dirs = Vec::new();
    for m in 1..=k {
        let member = ensemble::member_config(&cfg, m);
        let dir = ensemble::member_dir(&out, m);
        if !a.json && !a.quiet {
            note!(
                "ensemble member {m} of {k} (seed {}) -> {}",
                member.seed,
                dir.display()
            );
        }
        // The members share the data split (data_seed), so they share `splits`.
        plan.one(&member, &dir, true)?;
        dirs.push(dir.display().to_string());
    }
    if !a.json {
        out!(
            "evaluate the ensemble: dropout-lab eval --run {} --ensemble {}",
            dirs[0],
            dirs[1..].join(",")
        );
    }
    Ok(())
}

/// `--auto-resume` with `--ensemble K`: whether `out` holds this ensemble
/// (resume it) or nothing yet (start it); another ensemble or run is refused.
fn ensemble_resumes(out: &Path, cfg: &RunConfig, k: u32) -> Result<bool> {
    match ensemble::read(out)? {
        Some((stored, n)) if n == k && same_run(&stored, cfg) => Ok(true),
        Some(_) => bail!(
            "{} holds another ensemble (its ensemble.json differs from these flags); choose another --out, or replace it with --force",
            out.display()
        ),
        None => match step_for(out, cfg) {
            Ok(Step::Start) => Ok(false),
            _ => bail!(
                "{} holds something other than an ensemble; choose another --out",
                out.display()
            ),
        },
    }
}

/// How the runs of one `train` command are trained.
struct Plan<'a> {
    pool: &'a rayon::ThreadPool,
    splits: &'a Splits,
    a: &'a TrainArgs,
    resuming: bool,
}

impl Plan<'_> {
    /// Start, resume or skip (finished) the run of `cfg` in `dir`; an
    /// ensemble's member takes its own lock (the command holds the top one).
    fn one(&self, cfg: &RunConfig, dir: &Path, member: bool) -> Result<()> {
        let _lock = if member {
            Some(rundir::lock(dir)?)
        } else {
            None
        };
        let step = if self.resuming {
            step_for(dir, cfg)?
        } else {
            Step::Start
        };
        match step {
            Step::Done => {
                note!(
                    "{} has finished (model.safetensors is there); nothing to do — evaluate it with `dropout-lab eval --run {}`",
                    dir.display(),
                    dir.display()
                );
                Ok(())
            }
            Step::Start => {
                rundir::prepare_new(dir, false)?;
                train_one(cfg, self.splits, self.pool, dir, self.a, false)
            }
            Step::Resume => train_one(cfg, self.splits, self.pool, dir, self.a, true),
        }
    }
}

/// Train one run of `cfg` into the prepared directory `out`.
fn train_one(
    cfg: &RunConfig,
    splits: &Splits,
    pool: &rayon::ThreadPool,
    out: &Path,
    a: &TrainArgs,
    resume: bool,
) -> Result<()> {
    let (mut model, mut opt, schedule) = build_model(cfg, splits)?;
    if !a.json && !a.quiet {
        print_data(splits);
        note!(
            "model ({} parameters):\n{}",
            model.num_params(),
            model.describe()
        );
    }
    // A resumed run keeps the schedules it was started with (in its checkpoint).
    let ck = out.join(rundir::CHECKPOINT);
    let stored = if resume && ck.exists() {
        lab::checkpoint::read_meta(&ck)?
    } else {
        Default::default()
    };
    if resume && !ck.exists() && !a.quiet {
        note!(
            "{}: no checkpoint was written before the run stopped; it starts again from epoch 1",
            out.display()
        );
    }
    let schedule_of = |given: Option<usize>, key: &str| {
        given
            .or_else(|| stored.get(key).and_then(|v| v.parse().ok()))
            .unwrap_or(1)
    };
    let (eval_every, checkpoint_every) = (
        schedule_of(a.eval_every, "eval_every"),
        schedule_of(a.checkpoint_every, "checkpoint_every"),
    );
    let mut progress = TrainProgress::new(!a.json && !a.quiet, !a.json && !a.quiet, !a.quiet);
    let summary = pool.install(|| {
        train(
            cfg,
            splits,
            &mut model,
            &mut opt,
            schedule,
            LoopOptions {
                run_dir: Some(out),
                eval_every,
                observer: &mut progress,
                checkpoint_every,
                resume,
            },
        )
    });
    progress.finish();
    let summary = summary?;
    if a.json {
        out!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[test]
    fn an_empty_train_command_line_is_the_library_default() {
        let cli = crate::cli::Cli::try_parse_from(["dropout-lab", "train"]).unwrap();
        let crate::cli::Command::Train(a) = cli.command else {
            panic!("train parses as train")
        };
        assert_eq!(a.run.config(), lab::config::RunConfig::default());
        assert!(a.run.given().is_empty());
    }
}
