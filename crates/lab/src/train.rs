//! The training loop: epochs of shuffled mini-batches, an evaluation of the
//! train / validation / test sets after each, one `metrics.jsonl` line per
//! epoch, and the checkpoint at the end.
//!
//! ```text
//! for epoch e:  η_e = schedule(η, e);  shuffle (seed, e)
//!   for batch b:  forward_backward (dropout key = (seed, site, step));  optimizer step;  step += 1
//!   evaluate (eval mode, no dropout): train acc/loss, val, test;  gap = train acc − test acc
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use engine::layer::Ctx;
use engine::optim::{Optimizer, Schedule};
use engine::rng::Rng;
use engine::Sequential;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::config::RunConfig;
use crate::data::{Dataset, Splits};

/// Loss and accuracy on a data set.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Score {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub acc: f64,
}

/// One epoch's metrics (a line of `metrics.jsonl`).
#[derive(Clone, Debug, Serialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean training loss over the epoch's batches (train mode, with dropout).
    pub train_batch_loss: f64,
    /// Training set in eval mode.
    pub train: Score,
    /// Validation set (absent without `--val-size`).
    pub val: Option<Score>,
    /// Test set.
    pub test: Score,
    /// Generalisation gap: train accuracy − test accuracy.
    pub gap: f64,
    /// Seconds spent in training steps so far (all epochs up to this one).
    pub train_s: f64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
}

/// Build the model and optimizer a config describes, for data with this shape.
pub fn build_model(cfg: &RunConfig, splits: &Splits) -> Result<(Sequential, Optimizer, Schedule)> {
    let spec = cfg
        .model_spec(splits.train.dim(), splits.classes)
        .map_err(anyhow::Error::msg)?;
    let sample = if spec.is_cnn() {
        splits.train.sample_shape.clone()
    } else {
        vec![splits.train.dim()]
    };
    let model = engine::spec::build(&spec, &sample, cfg.seed).context("building the model")?;
    if model.classes() != splits.classes {
        bail!(
            "--arch {} ends with {} outputs, but the data has {} classes (labels 0..{}); end the arch with {}",
            spec.arch,
            model.classes(),
            splits.classes,
            splits.classes - 1,
            splits.classes
        );
    }
    let (kind, schedule) = cfg.optimizer().map_err(anyhow::Error::msg)?;
    let max_norm = (cfg.optim.max_norm > 0.0).then_some(cfg.optim.max_norm);
    let opt = Optimizer::new(kind, cfg.optim.weight_decay, max_norm);
    Ok((model, opt, schedule))
}

/// Evaluate `model` on `data` in batches (eval mode).
pub fn evaluate(model: &mut Sequential, data: &Dataset, batch: usize) -> Result<Score> {
    if data.is_empty() {
        return Ok(Score::default());
    }
    let d = data.dim();
    let (mut loss, mut correct) = (0.0, 0usize);
    for start in (0..data.len()).step_by(batch) {
        let n = batch.min(data.len() - start);
        model
            .input_mut(n)
            .copy_from_slice(&data.x[start * d..(start + n) * d]);
        let out = model.evaluate(&data.y[start..start + n], &Ctx::eval())?;
        loss += out.loss_sum;
        correct += out.correct;
    }
    Ok(Score {
        loss: loss / data.len() as f64,
        acc: correct as f64 / data.len() as f64,
    })
}

/// A finished run's summary.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Run directory.
    pub run_dir: Option<PathBuf>,
    /// Last epoch's metrics.
    pub last: EpochMetrics,
    /// Trainable parameters.
    pub params: usize,
    /// Training samples / second (steps only).
    pub samples_per_s: f64,
    /// Total wall time.
    pub wall_s: f64,
}

/// Options of the loop that are not part of the run config.
pub struct LoopOptions<'a> {
    /// Where to write config, metrics and checkpoint (`None`: nowhere).
    pub run_dir: Option<&'a Path>,
    /// Show progress bars.
    pub progress: bool,
    /// Evaluate every this many epochs (the last epoch always; 0 = last only).
    pub eval_every: usize,
    /// Called after each epoch.
    pub on_epoch: &'a mut dyn FnMut(&EpochMetrics),
}

/// Train per `cfg` on `splits`.
pub fn train(
    cfg: &RunConfig,
    splits: &Splits,
    model: &mut Sequential,
    opt: &mut Optimizer,
    schedule: Schedule,
    lo: LoopOptions<'_>,
) -> Result<Summary> {
    let started = Instant::now();
    let (n, d, bs) = (splits.train.len(), splits.train.dim(), cfg.batch);
    if bs == 0 {
        bail!("--batch must be at least 1");
    }
    let config_json = serde_json::to_string_pretty(cfg)?;
    let mut metrics_file = match lo.run_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating run directory {}", dir.display()))?;
            crate::checkpoint::write_atomic(&dir.join("config.json"), config_json.as_bytes())?;
            Some(
                std::fs::File::create(dir.join("metrics.jsonl"))
                    .with_context(|| format!("creating {}", dir.join("metrics.jsonl").display()))?,
            )
        }
        None => None,
    };
    let mut order: Vec<usize> = (0..n).collect();
    let mut labels: Vec<u32> = Vec::with_capacity(bs);
    let mut step: u32 = 0;
    let mut train_time = 0.0;
    let mut last = None;
    let bar = if lo.progress {
        ProgressBar::new((cfg.epochs * n.div_ceil(bs)) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} steps {msg} ({eta} left)",
        )
        .expect("static")
        .progress_chars("=> "),
    );
    let eval_batch = 1000;
    for epoch in 0..cfg.epochs {
        let lr = schedule.lr(cfg.optim.lr, epoch);
        bar.set_prefix(format!("epoch {}/{}", epoch + 1, cfg.epochs));
        Rng::new(cfg.seed ^ 0x58u64.wrapping_mul(epoch as u64 + 1)).shuffle(&mut order);
        let t0 = Instant::now();
        let mut loss_sum = 0.0;
        for chunk in order.chunks(bs) {
            let input = model.input_mut(chunk.len());
            labels.clear();
            for (r, &i) in chunk.iter().enumerate() {
                input[r * d..(r + 1) * d].copy_from_slice(&splits.train.x[i * d..(i + 1) * d]);
                labels.push(splits.train.y[i]);
            }
            let out = model.forward_backward(&labels, &Ctx::train(cfg.seed, step))?;
            if !out.loss_sum.is_finite() {
                bail!(
                    "the training loss became {} at step {step} (epoch {}): lower --lr",
                    out.loss_sum,
                    epoch + 1
                );
            }
            opt.step(model, lr);
            loss_sum += out.loss_sum;
            step += 1;
            bar.inc(1);
        }
        let epoch_train = t0.elapsed().as_secs_f64();
        train_time += epoch_train;
        let train = evaluate(model, &splits.train, eval_batch)?;
        let val = if splits.val.is_empty() {
            None
        } else {
            Some(evaluate(model, &splits.val, eval_batch)?)
        };
        let test = evaluate(model, &splits.test, eval_batch)?;
        let m = EpochMetrics {
            epoch: epoch + 1,
            lr,
            train_batch_loss: loss_sum / n as f64,
            train,
            val,
            test,
            gap: train.acc - test.acc,
            train_s: train_time,
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        bar.set_message(format!("test acc {:.2}%", 100.0 * test.acc));
        if let Some(f) = metrics_file.as_mut() {
            writeln!(f, "{}", serde_json::to_string(&m)?).context("writing metrics.jsonl")?;
            f.flush()?;
        }
        (lo.on_epoch)(&m);
        last = Some(m);
    }
    bar.finish_and_clear();
    if let Some(dir) = lo.run_dir {
        crate::checkpoint::save(model, &config_json, &dir.join("model.safetensors"))?;
    }
    let last = last.context("--epochs must be at least 1")?;
    Ok(Summary {
        run_dir: lo.run_dir.map(Path::to_path_buf),
        last,
        params: model.num_params(),
        samples_per_s: (n * cfg.epochs) as f64 / train_time.max(1e-9),
        wall_s: started.elapsed().as_secs_f64(),
    })
}
