//! `dropout-lab train`: the run configuration as flags (flattened from
//! [`RunConfig`]), validated before any data is loaded; a run directory with
//! `config.json`, `metrics.jsonl` and `model.safetensors`; a summary as text
//! or one JSON object.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lab::config::RunConfig;
use lab::data::{load, Splits};
use lab::rundir;
use lab::train::{build_model, train, LoopOptions, Summary};

use super::progress::TrainProgress;

#[derive(Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "Examples:
  dropout-lab train
  dropout-lab train --dropout 0 --input-dropout 0 --epochs 30 --out runs/nodrop
  dropout-lab train --resume runs/nodrop          # continue a killed run, bit for bit
  dropout-lab train --out runs/nodrop --force     # replace that run
  dropout-lab train --arch c32-p-c64-p-128-10 --conv-dropout 0.1 --conv-dropout-kind spatial --epochs 5
  dropout-lab train --arch {in}-256-r512-r512-{classes} --norm ln --drop-path 0.1 --optimizer adam --lr 1e-3
  dropout-lab train --concrete-dropout --dropout 0 --input-dropout 0 --optimizer adam --lr 1e-3
  dropout-lab train --train-size 1000 --label-noise 0.2 --norm bn --optimizer adam --lr 1e-3
  dropout-lab train --data data/sklearn-breast-cancer/breast_cancer.csv --arch {in}-32-{classes}
  dropout-lab train --ensemble 5 --val-size 5000 --epochs 10 --out runs/ens   # 5 nets for eval --ensemble"
)]
pub struct TrainArgs {
    #[command(flatten)]
    run: RunConfig,
    /// Evaluate train/val/test every this many epochs (and always after the last; 0 = last only).
    #[arg(long, default_value_t = 1)]
    eval_every: usize,
    /// Run directory, new or empty (default: a new runs/run-<unix time>).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Replace the run already in --out (its config, metrics and models are deleted first).
    #[arg(long, requires = "out")]
    force: bool,
    /// Continue the killed run in DIR from its last checkpoint, with DIR/config.json's settings
    /// (give no other run flags; --threads may differ). The result is bit-identical to an
    /// uninterrupted run.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Save the training state every K epochs, so a killed run loses at most K epochs (0 = never).
    #[arg(long, value_name = "K", default_value_t = 1)]
    checkpoint_every: usize,
    /// Train K nets that differ only in their seed (seed, seed + 1, …; one data split) into
    /// OUT/member-1 … OUT/member-K, a deep ensemble for `eval --ensemble`.
    #[arg(long, value_name = "K", conflicts_with = "resume", value_parser = clap::value_parser!(u32).range(1..=100))]
    ensemble: Option<u32>,
    /// Print the final summary as one JSON object (one per line with --ensemble).
    #[arg(long)]
    json: bool,
}

/// The configuration of a resumed run: its own `config.json`; any other run
/// flag is an error rather than silently ignored.
fn resumed_config(dir: &Path, flags: &RunConfig) -> Result<RunConfig> {
    let mut cfg = rundir::read_config(dir)?;
    let defaults = RunConfig {
        threads: flags.threads,
        ..RunConfig::default()
    };
    if *flags != defaults {
        bail!(
            "--resume continues the run with the settings in {}; drop the other run flags (only --threads may change)",
            dir.join(rundir::CONFIG).display()
        );
    }
    cfg.threads = flags.threads;
    Ok(cfg)
}

/// Train and save the run.
pub fn run(a: TrainArgs) -> Result<()> {
    let mut cfg = match &a.resume {
        Some(dir) => {
            let cfg = resumed_config(dir, &a.run)?;
            rundir::check_unfinished(dir)?;
            cfg
        }
        None => a.run.clone(),
    };
    cfg.validate()?;
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
    let pool = super::pool(cfg.threads)?;
    let splits = load(&cfg.data, cfg.seed).context("loading data")?;
    build_model(&cfg, &splits)?;
    let out = match (&a.resume, &a.out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(out)) => {
            rundir::prepare_new(out, a.force)?;
            out.clone()
        }
        (None, None) => rundir::create_unique(Path::new("runs"))?,
    };
    let Some(k) = a.ensemble.filter(|&k| k > 1) else {
        return train_one(&cfg, &splits, &pool, &out, &a);
    };
    let mut dirs = Vec::new();
    for m in 0..u64::from(k) {
        let member = RunConfig {
            seed: cfg.seed + m,
            data: lab::config::DataConfig {
                data_seed: Some(cfg.data.data_seed.unwrap_or(cfg.seed)),
                ..cfg.data.clone()
            },
            ..cfg.clone()
        };
        let dir = out.join(format!("member-{}", m + 1));
        if !a.json {
            eprintln!(
                "ensemble member {} of {k} (seed {}) -> {}",
                m + 1,
                member.seed,
                dir.display()
            );
        }
        rundir::prepare_new(&dir, false)?;
        // The members share the data split (data_seed), so they share `splits`.
        train_one(&member, &splits, &pool, &dir, &a)?;
        dirs.push(dir.display().to_string());
    }
    if !a.json {
        println!(
            "evaluate the ensemble: dropout-lab eval --run {} --ensemble {}",
            dirs[0],
            dirs[1..].join(",")
        );
    }
    Ok(())
}

/// Train one run of `cfg` into the prepared directory `out`.
fn train_one(
    cfg: &RunConfig,
    splits: &Splits,
    pool: &rayon::ThreadPool,
    out: &Path,
    a: &TrainArgs,
) -> Result<()> {
    let (mut model, mut opt, schedule) = build_model(cfg, splits)?;
    if !a.json {
        eprintln!(
            "data: {} — {} train, {} val, {} test, {} classes, sample shape {:?}",
            splits.source,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            splits.classes,
            splits.train.sample_shape
        );
        eprintln!(
            "model ({} parameters):\n{}",
            model.num_params(),
            model.describe()
        );
    }
    let mut progress = TrainProgress::new(!a.json, !a.json);
    let summary = pool.install(|| {
        train(
            cfg,
            splits,
            &mut model,
            &mut opt,
            schedule,
            LoopOptions {
                run_dir: Some(out),
                eval_every: a.eval_every,
                observer: &mut progress,
                checkpoint_every: a.checkpoint_every,
                resume: a.resume.is_some(),
            },
        )
    });
    progress.finish();
    let summary = summary?;
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(s: &Summary) {
    let e = s.eval();
    if let Some(dir) = &s.run_dir {
        println!("run           {}", dir.display());
    }
    println!("epochs        {}", s.last.epoch);
    println!(
        "train acc     {:.2}%  (loss {:.4})",
        100.0 * e.train.acc,
        e.train.loss
    );
    if let Some(v) = e.val {
        println!("val acc       {:.2}%  (loss {:.4})", 100.0 * v.acc, v.loss);
    }
    println!(
        "test acc      {:.2}%  (loss {:.4}, error {:.2}%)",
        100.0 * e.test.acc,
        e.test.loss,
        100.0 * (1.0 - e.test.acc)
    );
    println!(
        "gap           {:+.2} points (train − test accuracy)",
        100.0 * e.gap
    );
    if !s.learned_p.is_empty() {
        let ps: Vec<String> = s.learned_p.iter().map(|p| format!("{p:.4}")).collect();
        println!(
            "learned p     {} (Concrete dropout, layer order)",
            ps.join(", ")
        );
    }
    println!("throughput    {:.0} samples/s", s.samples_per_s);
    println!("wall time     {:.1} s", s.wall_s);
}
