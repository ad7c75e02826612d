//! The study's shared state: the built-in data sets loaded once, the compute
//! budget and seeds, the run cache, and where progress is reported. A study
//! run is a plain [`RunConfig`]: [`image_run`] gives the study's standard one,
//! and a claim changes what it varies (`RunConfig { epochs: 5, ..image_run(…) }`).
//!
//! Claims that matter most off MNIST run on every data set of the study
//! ([`Lab::datasets`]); the others on the first ([`Lab::primary`]).
//!
//! How a request is served (cache, lock, train, store) is in `lab/serve.rs`;
//! the planning side (record instead of train, choices, cache-only merging,
//! a shard's training of a planned run) in `lab/planning.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use engine::Sequential;

mod planning;
mod serve;

use super::cache::{key, Point, RunOut};
use super::claim::ClaimResult;
use super::long_run;
use super::plan::{Recorder, Request};
use super::runs::memorised;
pub use super::runs::{gaps, image_run, test_accs, updates_run, val_accs, with_p};
use super::Budget;
use crate::config::{Builtin, DataConfig, RunConfig};
use crate::data::{load_raw, prepare, Dataset, Raw, Splits};
use crate::error::{LabError, Result};
use crate::train::{fit, EpochMetrics, LoopOptions, TrainObserver};

/// Where the study reports progress (the binary draws bars or prints lines).
pub trait StudyProgress: Send + Sync {
    /// A claim starts; it will tick `units` times.
    fn claim_start(&self, _id: &str, _units: usize) {}
    /// One unit of the current claim is done.
    fn tick(&self, _what: &str) {}
    /// A claim is done.
    fn claim_end(&self, _result: &ClaimResult) {}
    /// Something the user should know that does not stop the study (one line).
    fn warn(&self, _msg: &str) {}
}

/// Reports nothing.
impl StudyProgress for () {}

/// The study's shared state.
pub struct Lab {
    raws: Vec<(Builtin, Raw)>,
    /// The data sets of the study, the primary first.
    pub datasets: Vec<Builtin>,
    cache: PathBuf,
    /// Compute budget.
    pub budget: Budget,
    /// Seeds to average over.
    pub seeds: Vec<u64>,
    progress: Box<dyn StudyProgress>,
    trained: AtomicUsize,
    /// Planning: runs are recorded, not trained (see [`super::plan`]).
    planning: AtomicBool,
    recorder: Recorder,
    /// Serve from the cache only; a missing run is an error.
    cache_only: bool,
}

/// Whether a run whose lock another process holds is waited for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Locking {
    Wait,
    Skip,
}

/// What [`Lab::train_planned`] did with a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was in the cache already (or diverged before).
    Cached,
    /// Another live process holds its lock (it is training it).
    Busy,
    /// Trained now (or found to diverge now).
    Trained,
}

/// How [`Lab::run_with`] trains a run: (splits, evaluate every, cache key)
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

impl Lab {
    /// The data sets `datasets` (at least one) from the binary, a run cache under `cache`.
    ///
    /// # Errors
    /// When a data set cannot be loaded.
    pub fn new(
        cache: &Path,
        budget: Budget,
        seeds: usize,
        datasets: Vec<Builtin>,
        progress: Box<dyn StudyProgress>,
    ) -> Result<Self> {
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
            budget,
            seeds: (0..seeds as u64).collect(),
            progress,
            trained: AtomicUsize::new(0),
            planning: AtomicBool::new(false),
            recorder: Recorder::default(),
            cache_only: false,
        })
    }

    /// Start a claim's progress of `units` ticks.
    pub fn begin(&self, id: &str, units: usize) {
        if !self.planning() {
            self.progress.claim_start(id, units);
        }
    }

    /// One unit done.
    pub fn tick(&self, what: &str) {
        if !self.planning() {
            self.progress.tick(what);
        }
    }

    /// Report a finished claim.
    pub fn finished(&self, r: &ClaimResult) {
        self.progress.claim_end(r);
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

    /// The primary data set: claims that run on one data set use it.
    pub fn primary(&self) -> Builtin {
        self.datasets[0]
    }

    /// The full test set of the primary data set.
    pub fn test(&self) -> &Dataset {
        &self.raws[0].1.test
    }

    /// Train `make(seed)` for every seed (cached, evaluated every
    /// `eval_every` epochs, 0 = last only), ticking once per seed.
    ///
    /// # Errors
    /// Training errors.
    pub fn per_seed(
        &self,
        what: &str,
        eval_every: usize,
        make: impl Fn(u64) -> RunConfig,
    ) -> Result<Vec<RunOut>> {
        self.seeds
            .iter()
            .map(|&s| {
                let out = self.run(&make(s), eval_every);
                self.tick(what);
                out
            })
            .collect()
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
    /// stopped continues it where it stopped (see [`super::long_run`]).
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
