//! `dropout-lab eval`: reload a run directory (its `config.json`, any format
//! this version reads, and its checkpoint), evaluate on its test set, and
//! optionally compare MC dropout with the deterministic net.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lab::checkpoint;
use lab::config::RunConfig;
use lab::data::load;
use lab::mc::{mc_evaluate, McReport};
use lab::rundir;
use lab::train::{build_model, eval_batch, evaluate, Score};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  dropout-lab eval --run runs/mnist\n  dropout-lab eval --run runs/mnist --mc 100 --json"
)]
pub struct EvalArgs {
    /// Run directory written by `dropout-lab train`.
    #[arg(long)]
    run: PathBuf,
    /// MC-dropout samples (0 = deterministic only).
    #[arg(long, default_value_t = 0)]
    mc: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Evaluate a saved run.
pub fn run(a: EvalArgs) -> Result<()> {
    let cfg = rundir::read_config(&a.run)?;
    let model_path = a.run.join(rundir::MODEL);
    if !model_path.exists() {
        let hint = if a.run.join(rundir::CHECKPOINT).exists() {
            format!(
                "the run has not finished; continue it with `dropout-lab train --resume {}`",
                a.run.display()
            )
        } else {
            "give the --out of a finished `dropout-lab train`".to_string()
        };
        bail!("{}: no model.safetensors; {hint}", a.run.display());
    }
    let pool = super::pool(a.threads)?;
    let splits = load(&cfg.data, cfg.seed).context("loading the run's data")?;
    let (mut model, _, _) = build_model(&cfg, &splits)?;
    let meta = checkpoint::load(&mut model, &model_path)?;
    check_same_run(&cfg, &meta, &splits.test.fingerprint(), &model_path)?;
    let (score, mc) = pool.install(|| -> Result<(Score, Option<McReport>)> {
        let batch = eval_batch(&model, 1);
        let score = evaluate(&mut model, &splits.test, batch)?;
        let mc = if a.mc > 0 {
            Some(mc_evaluate(
                &mut model,
                &splits.test,
                a.mc,
                cfg.seed ^ 0x3c,
            )?)
        } else {
            None
        };
        Ok((score, mc))
    })?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"run": a.run, "test": score, "mc": mc})
        );
        return Ok(());
    }
    println!("run        {}", a.run.display());
    println!(
        "test       acc {:.2}%  loss {:.4}  ({} samples)",
        100.0 * score.acc,
        score.loss,
        splits.test.len()
    );
    if let Some(r) = mc {
        print_mc(&r);
    }
    Ok(())
}

fn print_mc(r: &McReport) {
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>9}",
        "", "acc %", "NLL", "ECE", "entropy"
    );
    for (name, c) in [
        ("deterministic".to_string(), r.deterministic),
        (format!("MC dropout (T={})", r.samples), r.mc),
    ] {
        println!(
            "{:<22} {:>8.2} {:>8.4} {:>8.4} {:>9.4}",
            name,
            100.0 * c.acc,
            c.nll,
            c.ece,
            c.entropy
        );
    }
    println!(
        "mutual information     {:.4} nats (mean over test samples)",
        r.mutual_information
    );
    println!("KL(MC ‖ deterministic) {:.4} nats", r.kl_mc_to_det);
}

/// The checkpoint was written by this run: its embedded configuration is
/// `config.json`'s (threads aside), and the test split rebuilt from the
/// configuration is the one the run was scored on (so editing the seed or
/// the data file cannot move training rows into the test set unnoticed).
/// Checkpoints written before these were stored carry neither and pass.
fn check_same_run(
    cfg: &RunConfig,
    meta: &std::collections::HashMap<String, String>,
    fingerprint: &str,
    path: &Path,
) -> Result<()> {
    if let Some(text) = meta.get("config") {
        let same = RunConfig::from_json(text).is_ok_and(|c| cfg.same_run(&c));
        if !same {
            bail!(
                "{}: was trained under a different configuration than config.json beside it (was config.json edited?); restore config.json or train again",
                path.display()
            );
        }
    }
    match meta.get("test_fingerprint") {
        Some(f) if !f.is_empty() && f != fingerprint => bail!(
            "{}: the test set rebuilt from config.json is not the one this run was scored on (the data file changed?); evaluating it would mix training and test rows",
            path.display()
        ),
        _ => Ok(()),
    }
}
