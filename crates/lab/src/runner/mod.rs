//! The run service: a [`Runner`] serves the training runs that jobs (the
//! study's claims, `--paper`, `--family`, a sweep, `tune`) ask for. It holds
//! the built-in data sets loaded once, the run cache and where progress is
//! reported; a run is a plain [`RunConfig`].
//!
//! ```text
//! job ──ask(cfg)──▶ Runner ──key(cfg)──▶ cache entry? ──yes──▶ RunOut
//!                     │                      └─no──▶ lock ─▶ train ─▶ store ─▶ RunOut
//!                     └── planning: the request is recorded, nothing trained (plan, shards, merge)
//! ```
//!
//! How a request is served (cache, lock, train, store) is in `serve.rs`; the
//! planning side (record instead of train, choices, cache-only merging, a
//! shard's training of a planned run) in `planning.rs`; what a job is in
//! `job.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use engine::Sequential;

pub mod cache;
pub mod entry;
pub mod estimate;
pub mod job;
pub mod key;
pub mod long_run;
mod memorised;
pub mod plan;
mod planning;
mod serve;
pub mod shard;

use self::cache::{key, Point, RunOut};
pub use self::job::{plan, require_complete, Job};
use self::plan::{Recorder, Request};
use crate::config::{Builtin, DataConfig, RunConfig};
use crate::data::{load_raw, prepare, Dataset, Raw, Splits};
use crate::error::{LabError, Result};
use crate::train::{fit, EpochMetrics, LoopOptions, TrainObserver};

/// Where the runner reports progress (the binary draws bars or prints lines).
pub trait Progress: Send + Sync {
    /// A job starts; it will tick `units` times.
    fn job_start(&self, _id: &str, _units: usize) {}
    /// One unit of the current job is done.
    fn tick(&self, _what: &str) {}
    /// A job is done: its outcome in a few words (a claim's verdict) and its seconds.
    fn job_end(&self, _id: &str, _outcome: &str, _secs: f64) {}
    /// Something the user should know that does not stop the work (one line).
    fn warn(&self, _msg: &str) {}
}

/// Reports nothing.
impl Progress for () {}

/// The run service's state.
pub struct Runner {
    raws: Vec<(Builtin, Raw)>,
    /// The built-in data sets runs may use, the primary first.
    pub datasets: Vec<Builtin>,
    cache: PathBuf,
    progress: Box<dyn Progress>,
    trained: AtomicUsize,
    /// Planning: runs are recorded, not trained (see [`mod@plan`]).
    planning: AtomicBool,
    recorder: Recorder,
    /// Serve from the cache only; a missing run is an error.
    cache_only: bool,
}

impl AsRef<Runner> for Runner {
    fn as_ref(&self) -> &Runner {
        self
    }
}

/// Whether a run whose lock another process holds is waited for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Locking {
    Wait,
    Skip,
}

/// What [`Runner::train_planned`] did with a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was in the cache already (or diverged before).
    Cached,
    /// Another live process holds its lock (it is training it).
    Busy,
    /// Trained now (or found to diverge now).
    Trained,
}

/// How [`Runner::run_with`] trains a run: (splits, evaluate every, cache key)
/// → (model, evaluated curve, training seconds).
type Trainer<'a> = dyn Fn(&Splits, usize, &str) -> Result<(Sequential, Vec<Point>, f64)> + 'a;

/// Collects the evaluated epochs of a run.
struct Curve(Vec<Point>);

impl TrainObserver for Curve {
    fn epoch_end(&mut self, m: &EpochMetrics) {
        if let Some(e) = m.eval {
            self.0.push(Point {
                epoch: m.epoch,
                batch_loss: m.train_batch_loss,
                train_loss: e.train.loss,
                train_acc: e.train.acc,
                test_loss: e.test.loss,
                test_acc: e.test.acc,
                val_acc: e.val.map(|v| v.acc),
            });
        }
    }
}

impl Runner {
    /// The data sets `datasets` (at least one) from the binary, a run cache under `cache`.
    ///
    /// # Errors
    /// When a data set cannot be loaded.
    pub fn new(cache: &Path, datasets: Vec<Builtin>, progress: Box<dyn Progress>) -> Result<Self> {
        let datasets = if datasets.is_empty() {
            vec![Builtin::Mnist]
        } else {
            datasets
        };
        let raws = datasets
            .iter()
            .map(|&ds| {
                let cfg = DataConfig {
                    dataset: ds,
                    ..DataConfig::default()
                };
                Ok((ds, load_raw(&cfg, 0)?))
            })
            .collect::<Result<Vec<_>>>()?;
        // Made when the first run is stored: a plan writes nothing.
        let cache = cache.join("runs");
        Ok(Self {
            raws,
            datasets,
            cache,
            progress,
            trained: AtomicUsize::new(0),
            planning: AtomicBool::new(false),
            recorder: Recorder::default(),
            cache_only: false,
        })
    }

    /// Start a job's progress of `units` ticks.
    pub fn begin(&self, id: &str, units: usize) {
        if !self.planning() {
            self.progress.job_start(id, units);
        }
    }

    /// One unit done.
    pub fn tick(&self, what: &str) {
        if !self.planning() {
            self.progress.tick(what);
        }
    }

    /// Report a finished job: its outcome in a few words and its seconds.
    pub fn finished(&self, id: &str, outcome: &str, secs: f64) {
        self.progress.job_end(id, outcome, secs);
    }

    /// Tell the user something that does not stop the study (one line).
    pub fn warn(&self, msg: &str) {
        if !self.planning() {
            self.progress.warn(msg);
        }
    }

    /// Runs trained (not served from the cache) so far.
    pub fn runs_trained(&self) -> usize {
        self.trained.load(Ordering::Relaxed)
    }

    /// The data of a run (subset, noise) — deterministic in its seed.
    ///
    /// # Errors
    /// Data settings the data cannot satisfy.
    pub fn splits(&self, cfg: &RunConfig) -> Result<Splits> {
        if cfg.data.path.is_some() {
            return Ok(crate::data::load(&cfg.data, cfg.seed)?);
        }
        Ok(prepare(self.raw(cfg.data.dataset)?, &cfg.data, cfg.seed)?)
    }

    fn raw(&self, ds: Builtin) -> Result<&Raw> {
        self.raws
            .iter()
            .find(|(d, _)| *d == ds)
            .map(|(_, r)| r)
            .ok_or_else(|| {
                LabError::Data(crate::data::DataError::Option {
                    field: "dataset",
                    value: ds.name().into(),
                    reason: format!(
                        "not loaded: this study runs on {}",
                        self.datasets
                            .iter()
                            .map(|d| d.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            })
    }

    /// The primary data set: the first of [`Runner::datasets`].
    pub fn primary(&self) -> Builtin {
        self.datasets[0]
    }

    /// The full test set of the primary data set.
    pub fn test(&self) -> &Dataset {
        &self.raws[0].1.test
    }

    /// Train (or fetch from the cache) and return the metrics.
    ///
    /// # Errors
    /// Training errors.
    pub fn run(&self, cfg: &RunConfig, eval_every: usize) -> Result<RunOut> {
        Ok(self.run_inner(cfg, eval_every, false)?.0)
    }

    /// Train (or fetch) and also return the trained model and its data.
    ///
    /// # Errors
    /// Training errors.
    pub fn trained(&self, cfg: &RunConfig) -> Result<(RunOut, Sequential, Splits)> {
        let (out, model) = self.run_inner(cfg, 0, true)?;
        let splits = self.splits(cfg)?;
        Ok((out, model.expect("asked for the model"), splits))
    }

    fn run_inner(
        &self,
        cfg: &RunConfig,
        eval_every: usize,
        want_model: bool,
    ) -> Result<(RunOut, Option<Sequential>)> {
        let req = Request {
            eval_every,
            model: want_model,
            checkpoint_every: None,
        };
        let got = self.run_with(cfg, req, Locking::Wait, &|splits, every, _| {
            self.fit_curve(cfg, splits, every)
        })?;
        Ok(got.expect("waited for the lock"))
    }

    /// Train `cfg` in memory, recording its curve.
    fn fit_curve(
        &self,
        cfg: &RunConfig,
        splits: &Splits,
        every: usize,
    ) -> Result<(Sequential, Vec<Point>, f64)> {
        let mut curve = Curve(Vec::new());
        // The study's runs use the caller's thread pool.
        let (model, summary) = fit(cfg, splits, LoopOptions::in_memory(every, &mut curve))?;
        Ok((model, curve.0, summary.last.train_s))
    }

    /// Train (or fetch) a long run that checkpoints every `checkpoint_every`
    /// epochs in a run directory beside its cache entry, so a study that is
    /// stopped continues it where it stopped (see [`long_run`]).
    ///
    /// # Errors
    /// Training and I/O errors.
    pub fn run_resumable(
        &self,
        cfg: &RunConfig,
        eval_every: usize,
        checkpoint_every: usize,
    ) -> Result<RunOut> {
        let got = self.resumable(cfg, eval_every, checkpoint_every, Locking::Wait)?;
        Ok(got.expect("waited for the lock"))
    }

    fn resumable(
        &self,
        cfg: &RunConfig,
        eval_every: usize,
        checkpoint_every: usize,
        locking: Locking,
    ) -> Result<Option<RunOut>> {
        let dir = long_run::dir(&self.cache, &key(cfg));
        let req = Request {
            eval_every,
            model: false,
            checkpoint_every: Some(checkpoint_every),
        };
        let res = self.run_with(cfg, req, locking, &|splits, every, _| {
            long_run::train_in(&dir, cfg, splits, every, checkpoint_every)
        });
        // The entry is written, or the run diverged (resuming it would diverge
        // again): either way its directory has served its purpose.
        let got = match res {
            Err(e @ LabError::Diverged { .. }) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            r => r?,
        };
        if got.is_some() && dir.exists() && !self.planning() {
            std::fs::remove_dir_all(&dir).map_err(LabError::io(&dir))?;
        }
        Ok(got.map(|(out, _)| out))
    }

    /// The run directory a resumable run of `cfg` trains in.
    pub fn run_dir(&self, cfg: &RunConfig) -> std::path::PathBuf {
        long_run::dir(&self.cache, &key(cfg))
    }
}
