//! `dropout-lab train`: the run configuration as flags (flattened from
//! [`RunConfig`]), validated before any data is loaded; a run directory with
//! `config.json`, `metrics.jsonl` and `model.safetensors`; a summary as text
//! or one JSON object.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lab::config::RunConfig;
use lab::data::load;
use lab::train::{build_model, train, LoopOptions, Summary};

use super::progress::TrainProgress;

#[derive(Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "Examples:
  dropout-lab train
  dropout-lab train --dropout 0 --input-dropout 0 --epochs 30 --out runs/nodrop
  dropout-lab train --arch c32-p-c64-p-128-10 --conv-dropout 0.1 --conv-dropout-kind spatial --epochs 5
  dropout-lab train --train-size 1000 --label-noise 0.2 --norm bn --optimizer adam --lr 1e-3
  dropout-lab train --data data/sklearn-breast-cancer/breast_cancer.csv --arch {in}-32-{classes}"
)]
pub struct TrainArgs {
    #[command(flatten)]
    run: RunConfig,
    /// Evaluate train/val/test every this many epochs (and always after the last; 0 = last only).
    #[arg(long, default_value_t = 1)]
    eval_every: usize,
    /// Run directory (default: runs/<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the final summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Train and save the run.
pub fn run(a: TrainArgs) -> Result<()> {
    let cfg = a.run;
    cfg.validate()?;
    let pool = super::pool(cfg.threads)?;
    let splits = load(&cfg.data, cfg.seed).context("loading data")?;
    let (mut model, mut opt, schedule) = build_model(&cfg, &splits)?;
    let out = a.out.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/run-{t}"))
    });
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
            &cfg,
            &splits,
            &mut model,
            &mut opt,
            schedule,
            LoopOptions {
                run_dir: Some(&out),
                eval_every: a.eval_every,
                observer: &mut progress,
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
    println!("throughput    {:.0} samples/s", s.samples_per_s);
    println!("wall time     {:.1} s", s.wall_s);
}
