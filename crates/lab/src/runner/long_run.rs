//! Study runs that survive an interruption: a long run (the paper's
//! reproduction trains for hours) trains in a run directory beside its cache
//! entry, with the `train --resume` machinery — checkpoints every k epochs,
//! `metrics.jsonl` — and a study started again continues it from its last
//! checkpoint, to the same weights an uninterrupted run reaches.
//!
//! ```text
//! <cache>/runs/<key>.run/   config.json, metrics.jsonl, checkpoint.safetensors, model.safetensors
//! no directory              → start it
//! config.json, no model     → resume (from the checkpoint, or the start if none was written)
//! model.safetensors         → trained before the study stopped: load it, nothing to train
//! curve                     = the evaluated epochs of metrics.jsonl
//! ```
//! The directory is removed once the cache entry is written.

use std::path::{Path, PathBuf};

use engine::Sequential;

use super::cache::Point;
use crate::config::RunConfig;
use crate::data::Splits;
use crate::error::{LabError, Result};
use crate::rundir;
use crate::train::{build_model, fit, LoopOptions};

/// The run directory of cache entry `key` under `cache`.
pub fn dir(cache: &Path, key: &str) -> PathBuf {
    cache.join(format!("{key}.run"))
}

/// Train (or continue, or load) `cfg` in `dir`; the model, its evaluated
/// curve and the training seconds.
///
/// # Errors
/// Training and I/O errors; a run directory that does not fit `cfg`.
pub fn train_in(
    dir: &Path,
    cfg: &RunConfig,
    splits: &Splits,
    eval_every: usize,
    checkpoint_every: usize,
) -> Result<(Sequential, Vec<Point>, f64)> {
    std::fs::create_dir_all(dir).map_err(LabError::io(dir))?;
    let model = if dir.join(rundir::MODEL).exists() {
        let (mut model, _, _) = build_model(cfg, splits)?;
        crate::checkpoint::load(&mut model, &dir.join(rundir::MODEL))?;
        model
    } else {
        let resume = dir.join(rundir::CONFIG).exists();
        let lo = LoopOptions {
            run_dir: Some(dir),
            eval_every,
            observer: &mut (),
            checkpoint_every,
            resume,
        };
        fit(cfg, splits, lo)?.0
    };
    let (curve, train_s) = read_curve(&dir.join(rundir::METRICS))?;
    Ok((model, curve, train_s))
}

/// The evaluated epochs of a `metrics.jsonl`, and the last line's training seconds.
fn read_curve(path: &Path) -> Result<(Vec<Point>, f64)> {
    let text = std::fs::read_to_string(path).map_err(LabError::io(path))?;
    let (mut curve, mut train_s) = (Vec::new(), 0.0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(LabError::json(path))?;
        let f = |a: &str, b: &str| v[a][b].as_f64().unwrap_or(f64::NAN);
        train_s = v["train_s"].as_f64().unwrap_or(train_s);
        if v.get("train").is_some_and(|t| !t.is_null()) {
            curve.push(Point {
                epoch: v["epoch"].as_u64().unwrap_or(0) as usize,
                batch_loss: v["train_batch_loss"].as_f64().unwrap_or(f64::NAN),
                train_loss: f("train", "loss"),
                train_acc: f("train", "acc"),
                test_loss: f("test", "loss"),
                test_acc: f("test", "acc"),
                val_acc: v["val"]["acc"].as_f64(),
            });
        }
    }
    Ok((curve, train_s))
}
