//! The training loop: epochs of shuffled mini-batches, an evaluation of the
//! train / validation / test sets every `eval_every` epochs and always after
//! the last, one `metrics.jsonl` line per epoch, and the checkpoint at the end.
//!
//! ```text
//! for epoch e:  η_e = schedule(η, e) (per-step schedules: η_t at every step);  μ from the momentum ramp if set;  shuffle (seed, e)
//!   for batch b:  forward_backward (dropout key = (seed, site, step));  [clip the global norm];  optimizer step;  step += 1
//!   (a language model: `epoch_iters` batches of random windows, batch t a function of (seed, t), data::text)
//!   if e evaluated: eval mode, no dropout: train acc/loss, val, test;  gap = train acc − test acc
//!                   selection on the validation loss (keep = best, early_stop: train/select.rs)
//! end: the kept weights (last, or best) → model.safetensors
//! ```
//! Evaluation does not change the model, so `eval_every` changes what is
//! recorded, never the trained weights — except through selection, which
//! sees only the evaluated epochs. Progress goes to a [`TrainObserver`];
//! the loop itself prints nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::layer::Ctx;
use engine::optim::{Optimizer, Schedule};
use engine::rng::Rng;
use engine::Sequential;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainState};
use crate::config::RunConfig;
use crate::data::Splits;
use crate::error::{LabError, Result};
use crate::rundir::{self, MetricsLog};

mod build;
mod evaluate;
mod select;
pub use self::build::{build_model, MAX_BATCH_BYTES};
pub use self::evaluate::{eval_batch, evaluate, Evaluation, Score};
use self::select::Selector;

/// One epoch's metrics (a line of `metrics.jsonl`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean training loss over the epoch's batches (train mode, with dropout).
    pub train_batch_loss: f64,
    /// The evaluation, on evaluated epochs (always the last).
    #[serde(flatten)]
    pub eval: Option<Evaluation>,
    /// Seconds spent in training steps so far (all epochs up to this one).
    pub train_s: f64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
}

/// What the loop reports while it runs (a progress bar, a log, nothing).
pub trait TrainObserver {
    /// An epoch of `steps` steps begins (1-based `epoch` of `epochs`).
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// A training step finished.
    fn step(&mut self) {}
    /// An epoch finished (and was evaluated if `m.eval` is set).
    fn epoch_end(&mut self, _m: &EpochMetrics) {}
}

/// Reports nothing.
impl TrainObserver for () {}

/// Whether epoch `e` (1-based) of `epochs` is evaluated: every `every`-th, and the last.
pub fn evaluated(e: usize, epochs: usize, every: usize) -> bool {
    e == epochs || (every > 0 && e.is_multiple_of(every))
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
    /// Rates learned by Concrete dropout layers, in layer order (empty without).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learned_p: Vec<f32>,
    /// With `keep = best`: the epoch whose weights the run kept (lowest validation loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<EpochMetrics>,
    /// Whether early stopping ended the run before its last epoch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    /// A language model's run: losses are per character (nats), accuracy is next-character accuracy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub language_model: bool,
}

impl Summary {
    /// The evaluation of the model the run kept: the best epoch's with
    /// `keep = best`, else the last epoch's (always evaluated).
    pub fn eval(&self) -> Evaluation {
        self.kept
            .as_ref()
            .unwrap_or(&self.last)
            .eval
            .unwrap_or_default()
    }
}

/// Build the model [`build_model`] describes and [`train`] it.
///
/// # Errors
/// Those of [`build_model`] and [`train`].
pub fn fit(cfg: &RunConfig, splits: &Splits, lo: LoopOptions<'_>) -> Result<(Sequential, Summary)> {
    let (mut model, mut opt, schedule) = build_model(cfg, splits)?;
    let summary = train(cfg, splits, &mut model, &mut opt, schedule, lo)?;
    Ok((model, summary))
}

/// Options of the loop that are not part of the run config: they change
/// what is recorded and shown, never the trained weights.
pub struct LoopOptions<'a> {
    /// Where to write config, metrics and checkpoint (`None`: nowhere).
    pub run_dir: Option<&'a Path>,
    /// Evaluate every this many epochs (the last epoch always; 0 = last only).
    pub eval_every: usize,
    /// Told about steps and epochs.
    pub observer: &'a mut dyn TrainObserver,
    /// Write a training checkpoint every this many epochs (0 = never).
    pub checkpoint_every: usize,
    /// Continue the run in `run_dir` from its checkpoint (or from the start
    /// if it was killed before its first one) instead of starting it.
    pub resume: bool,
}

impl<'a> LoopOptions<'a> {
    /// No run directory, no checkpoints: evaluate every `eval_every` epochs
    /// and tell `observer`.
    pub fn in_memory(eval_every: usize, observer: &'a mut dyn TrainObserver) -> Self {
        Self {
            run_dir: None,
            eval_every,
            observer,
            checkpoint_every: 0,
            resume: false,
        }
    }
}

/// Train per `cfg` on `splits`.
///
/// # Errors
/// [`LabError::Diverged`] when the loss stops being finite; I/O errors of the
/// run directory; engine errors for batches the model cannot take.
pub fn train(
    cfg: &RunConfig,
    splits: &Splits,
    model: &mut Sequential,
    opt: &mut Optimizer,
    schedule: Schedule,
    lo: LoopOptions<'_>,
) -> Result<Summary> {
    cfg.validate()?;
    let started = Instant::now();
    // A language model trains on random windows of its text and is evaluated
    // on windows cut at its context; a classifier on the sets themselves.
    let windows = match splits.text {
        Some(_) => splits.windows(model.sample_shape().first().copied().unwrap_or(1))?,
        None => None,
    };
    let (ev_train, ev_val, ev_test) = match &windows {
        Some(w) => (&w.train, &w.val, &w.test),
        None => (&splits.train, &splits.val, &splits.test),
    };
    let per_epoch = cfg.steps_per_epoch(splits.text.is_some(), splits.train.len());
    let bs = cfg.batch;
    let d = model.sample_shape().iter().product::<usize>();
    // Samples per epoch.
    let n = match windows {
        Some(_) => per_epoch * bs,
        None => splits.train.len(),
    };
    // The step counter keys the dropout masks: it must not wrap.
    let steps = (per_epoch as u64).saturating_mul(cfg.epochs as u64);
    if steps > u64::from(u32::MAX) {
        return Err(crate::config::ConfigError::Invalid {
            field: "epochs",
            value: cfg.epochs.to_string(),
            reason: "too many steps: epochs × batches per epoch must stay below 2^32",
        }
        .into());
    }
    let config_json = cfg.to_json();
    let fingerprint = ev_test.fingerprint();
    // What a checkpoint trains on: every split, so a resume on changed data is refused.
    let data_fingerprint = if lo.run_dir.is_some() {
        let text = splits.text.as_ref().map_or(String::new(), |t| {
            let ids: Vec<u8> = t.train.iter().flat_map(|v| v.to_le_bytes()).collect();
            crate::fnv::hex(&ids)
        });
        crate::fnv::hex(
            format!(
                "{}{}{}{text}",
                ev_train.fingerprint(),
                ev_val.fingerprint(),
                fingerprint
            )
            .as_bytes(),
        )
    } else {
        String::new()
    };
    let mut start = TrainState {
        epoch: 0,
        step: 0,
        train_s: 0.0,
    };
    let mut select = Selector::new(cfg);
    let mut replayed = None;
    let mut log = match lo.run_dir {
        Some(dir) if lo.resume => {
            start = crate::resume::resume_state(dir, cfg, &data_fingerprint, model, opt)?;
            if u64::from(start.step) != start.epoch as u64 * per_epoch as u64 {
                return Err(LabError::Checkpoint {
                    path: dir.join(rundir::CHECKPOINT),
                    msg: format!("says step {} after epoch {}, which this data and batch size cannot give; the file was edited — train again with --force", start.step, start.epoch),
                });
            }
            let log = MetricsLog::resume(dir, start.epoch)?;
            replayed = select.replay(dir)?;
            Some(log)
        }
        Some(dir) => {
            rundir::write_atomic(&dir.join(rundir::CONFIG), config_json.as_bytes())?;
            if let Some(t) = &splits.text {
                let vocab = serde_json::json!({
                    "chars": t.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                    "unknown": t.vocab.len() - 1,
                });
                rundir::write_atomic(&dir.join(rundir::VOCAB), vocab.to_string().as_bytes())?;
            }
            Some(MetricsLog::create(dir)?)
        }
        None => None,
    };
    // A classifier's data order (a language model draws random windows instead).
    let mut order: Vec<usize> = match windows {
        Some(_) => Vec::new(),
        None => (0..n).collect(),
    };
    // The data order of epoch e shuffles epoch e−1's: replay the epochs done.
    for epoch in 0..start.epoch {
        shuffle(cfg.seed, epoch, &mut order);
    }
    let mut labels: Vec<u32> = Vec::with_capacity(bs);
    let mut step: u32 = start.step;
    let mut train_time = start.train_s;
    let mut last = replayed;
    let eval_batch = eval_batch(model, bs);
    // A run killed between its stopping epoch's checkpoint and its model
    // has already stopped: it trains no further epoch.
    let end = if select.stop() {
        start.epoch
    } else {
        cfg.epochs
    };
    for epoch in start.epoch..end {
        let lr = schedule.lr_at(cfg.optim.lr, epoch, u64::from(step));
        lo.observer.epoch_start(epoch + 1, cfg.epochs, per_epoch);
        shuffle(cfg.seed, epoch, &mut order);
        let t0 = Instant::now();
        let mut loss_sum = 0.0;
        for b in 0..per_epoch {
            match &splits.text {
                Some(t) => {
                    let input = model.input_mut(bs);
                    crate::data::text::batch(&t.train, d, cfg.seed, step, bs, input, &mut labels);
                }
                None => {
                    let chunk = &order[b * bs..((b + 1) * bs).min(n)];
                    let input = model.input_mut(chunk.len());
                    labels.clear();
                    for (r, &i) in chunk.iter().enumerate() {
                        input[r * d..(r + 1) * d]
                            .copy_from_slice(&splits.train.x[i * d..(i + 1) * d]);
                        labels.push(splits.train.y[i]);
                    }
                }
            }
            if !cfg.model.dropout_schedule.is_constant() {
                model.set_dropout_factor(
                    cfg.model
                        .dropout_schedule
                        .factor(u64::from(step), per_epoch as u64),
                );
            }
            let out = model.forward_backward(&labels, &Ctx::train(cfg.seed, step))?;
            if !out.loss_sum.is_finite() {
                return Err(LabError::Diverged {
                    loss: out.loss_sum,
                    step,
                    epoch: epoch + 1,
                });
            }
            if let Some(ramp) = cfg.optim.momentum_ramp {
                opt.set_momentum(ramp.at(epoch, u64::from(step)));
            }
            if cfg.optim.clip_grad > 0.0 {
                engine::clip::clip_grad_norm(model, cfg.optim.clip_grad);
            }
            opt.step(model, schedule.lr_at(cfg.optim.lr, epoch, u64::from(step)));
            // Per sample: a language model's loss summed over its window's positions, averaged.
            loss_sum += out.loss_sum / (labels.len() / bs.max(1)).max(1) as f64;
            step += 1;
            lo.observer.step();
        }
        train_time += t0.elapsed().as_secs_f64();
        let eval = if evaluated(epoch + 1, cfg.epochs, lo.eval_every) {
            let train = evaluate(model, ev_train, eval_batch)?;
            let val = if ev_val.is_empty() {
                None
            } else {
                Some(evaluate(model, ev_val, eval_batch)?)
            };
            let test = evaluate(model, ev_test, eval_batch)?;
            Some(Evaluation {
                train,
                val,
                test,
                gap: train.acc - test.acc,
            })
        } else {
            None
        };
        let m = EpochMetrics {
            epoch: epoch + 1,
            lr,
            train_batch_loss: loss_sum / n as f64,
            eval,
            train_s: train_time,
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        if select.observe(&m) && select.keeps_best() {
            match lo.run_dir {
                Some(dir) => {
                    checkpoint::save(model, &config_json, &fingerprint, &dir.join(rundir::BEST))?
                }
                None => select.remember(model),
            }
        }
        if let (Some(log), Some(dir)) = (log.as_mut(), lo.run_dir) {
            let line =
                serde_json::to_string(&m).map_err(LabError::json(dir.join(rundir::METRICS)))?;
            log.append(&line)?;
            let done = epoch + 1;
            if lo.checkpoint_every > 0 && done % lo.checkpoint_every == 0 && done < cfg.epochs {
                let state = TrainState {
                    epoch: done,
                    step,
                    train_s: train_time,
                };
                checkpoint::save_state(
                    model,
                    opt,
                    state,
                    &config_json,
                    &data_fingerprint,
                    &[
                        ("eval_every", lo.eval_every.to_string()),
                        ("checkpoint_every", lo.checkpoint_every.to_string()),
                    ],
                    &dir.join(rundir::CHECKPOINT),
                )?;
            }
        }
        lo.observer.epoch_end(&m);
        last = Some(m);
        if select.stop() {
            break;
        }
    }
    // A schedule's last factor must not follow the net into MC evaluation.
    model.set_dropout_factor(1.0);
    let kept = select
        .keeps_best()
        .then(|| select.best().cloned())
        .flatten();
    if kept.is_some() && !select.restore(model) {
        if let Some(dir) = lo.run_dir {
            checkpoint::load(model, &dir.join(rundir::BEST))?;
        }
    }
    if let Some(dir) = lo.run_dir {
        checkpoint::save(model, &config_json, &fingerprint, &dir.join(rundir::MODEL))?;
        // The finished model supersedes the training state and the best weights.
        for name in [rundir::CHECKPOINT, rundir::BEST] {
            let p = dir.join(name);
            if p.exists() {
                std::fs::remove_file(&p).map_err(LabError::io(&p))?;
            }
        }
    }
    let last = last.ok_or(crate::config::ConfigError::Invalid {
        field: "epochs",
        value: "0".into(),
        reason: "must be at least 1",
    })?;
    let stopped_early = last.epoch < cfg.epochs;
    Ok(Summary {
        run_dir: lo.run_dir.map(Path::to_path_buf),
        samples_per_s: (n * last.epoch) as f64 / train_time.max(1e-9),
        last,
        params: model.num_params(),
        wall_s: started.elapsed().as_secs_f64(),
        learned_p: model.learned_rates(),
        kept,
        stopped_early,
        language_model: splits.text.is_some(),
    })
}

/// The data order of `epoch` (0-based): a seeded shuffle of the previous one.
fn shuffle(seed: u64, epoch: usize, order: &mut [usize]) {
    Rng::new(seed ^ 0x58u64.wrapping_mul(epoch as u64 + 1)).shuffle(order);
}
