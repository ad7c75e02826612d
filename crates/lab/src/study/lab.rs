//! The study's shared state: the built-in data sets loaded once, the compute
//! budget and seeds, the run cache, and where progress is reported. A study
//! run is a plain [`RunConfig`]: [`image_run`] gives the study's standard one,
//! and a claim changes what it varies (`RunConfig { epochs: 5, ..image_run(…) }`).
//!
//! Claims that matter most off MNIST run on every data set of the study
//! ([`Lab::datasets`]); the others on the first ([`Lab::primary`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::Sequential;

use super::cache::{key, Point, RunOut};
use super::claim::ClaimResult;
use super::entry;
use super::long_run;
use super::runs::memorised;
pub use super::runs::{gaps, image_run, test_accs, updates_run, val_accs, with_p};
use super::Budget;
use crate::config::{Builtin, DataConfig, RunConfig};
use crate::data::{load_raw, prepare, Dataset, Raw, Splits};
use crate::error::{LabError, Result};
use crate::train::{build_model, fit, EpochMetrics, LoopOptions, TrainObserver};

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
    /// When the cache directory cannot be made.
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
        let cache = cache.join("runs");
        std::fs::create_dir_all(&cache).map_err(LabError::io(&cache))?;
        Ok(Self {
            raws,
            datasets,
            cache,
            budget,
            seeds: (0..seeds as u64).collect(),
            progress,
            trained: AtomicUsize::new(0),
        })
    }

    /// Start a claim's progress of `units` ticks.
    pub fn begin(&self, id: &str, units: usize) {
        self.progress.claim_start(id, units);
    }

    /// One unit done.
    pub fn tick(&self, what: &str) {
        self.progress.tick(what);
    }

    /// Report a finished claim.
    pub fn finished(&self, r: &ClaimResult) {
        self.progress.claim_end(r);
    }

    /// Tell the user something that does not stop the study (one line).
    pub fn warn(&self, msg: &str) {
        self.progress.warn(msg);
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
        self.run_with(cfg, eval_every, want_model, &|splits, every, _| {
            let mut curve = Curve(Vec::new());
            // The study's runs use the caller's thread pool.
            let (model, summary) = fit(cfg, splits, LoopOptions::in_memory(every, &mut curve))?;
            Ok((model, curve.0, summary.last.train_s))
        })
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
        let dir = long_run::dir(&self.cache, &key(cfg));
        let res = self.run_with(cfg, eval_every, false, &|splits, every, _| {
            long_run::train_in(&dir, cfg, splits, every, checkpoint_every)
        });
        // The entry is written, or the run diverged (resuming it would diverge
        // again): either way its directory has served its purpose.
        let (out, _) = match res {
            Err(e @ LabError::Diverged { .. }) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            r => r?,
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(LabError::io(&dir))?;
        }
        Ok(out)
    }

    /// The run directory a resumable run of `cfg` trains in.
    pub fn run_dir(&self, cfg: &RunConfig) -> std::path::PathBuf {
        long_run::dir(&self.cache, &key(cfg))
    }

    /// Serve `cfg` from the cache, or train it with `train(splits, every, key)`
    /// (the model, its evaluated curve, training seconds) under the entry's
    /// lock and store it.
    fn run_with(
        &self,
        cfg: &RunConfig,
        eval_every: usize,
        want_model: bool,
        train: &Trainer<'_>,
    ) -> Result<(RunOut, Option<Sequential>)> {
        let key = key(cfg);
        let paths = entry::Paths::new(&self.cache, &key);
        if let Some(hit) = self.cached(&paths, cfg, eval_every, want_model, false)? {
            return Ok(hit);
        }
        // Another study on the same cache may be training this very run.
        let _lock = entry::lock(&paths, || {
            self.progress
                .warn(&format!("run {key}: another study is training it; waiting"))
        })?;
        if let Some(hit) = self.cached(&paths, cfg, eval_every, want_model, true)? {
            return Ok(hit);
        }
        // A run trained again — for a finer curve, or for its weights — also
        // evaluates every epoch its stored entry had, so one request never
        // undoes what another stored.
        let every = match entry::read(&paths, cfg, false) {
            Ok(Some(old)) => gcd(eval_every, old.schedule()),
            _ => eval_every,
        };
        let splits = self.splits(cfg)?;
        let (mut model, curve, train_s) = train(&splits, every, &key)?;
        let memorised = memorised(&mut model, cfg, &splits, self.raw(cfg.data.dataset)?)?;
        let out = RunOut {
            epochs: cfg.epochs,
            curve,
            train_s,
            memorised,
            learned_p: model.learned_rates(),
        };
        // A run retrained for a finer curve keeps its model stored if it had
        // one (the same bits: training is deterministic).
        let keep_model = want_model || paths.model().exists();
        entry::write(&paths, cfg, &out, keep_model.then_some(&mut model))?;
        self.trained.fetch_add(1, Ordering::Relaxed);
        let asked = out.serve(eval_every).unwrap_or(out);
        Ok((asked, want_model.then_some(model)))
    }

    /// The cached result of `cfg`, if an entry serves the request and checks
    /// out (see [`entry`]); a broken one is reported (when `warn`) and ignored.
    fn cached(
        &self,
        paths: &entry::Paths,
        cfg: &RunConfig,
        eval_every: usize,
        want_model: bool,
        warn: bool,
    ) -> Result<Option<(RunOut, Option<Sequential>)>> {
        let say = |why: String| {
            if warn {
                self.progress.warn(&format!(
                    "cached run {}: {why}; training it again",
                    key(cfg)
                ));
            }
        };
        let out = match entry::read(paths, cfg, want_model) {
            Ok(Some(out)) => out,
            Ok(None) => return Ok(None),
            Err(why) => {
                say(why);
                return Ok(None);
            }
        };
        let Some(out) = out.serve(eval_every) else {
            return Ok(None);
        };
        if cfg.data.label_noise > 0.0 && out.memorised.is_none() {
            return Ok(None);
        }
        if !want_model {
            return Ok(Some((out, None)));
        }
        let (mut model, _, _) = build_model(cfg, &self.splits(cfg)?)?;
        match crate::checkpoint::load(&mut model, &paths.model()) {
            Ok(_) => Ok(Some((out, Some(model)))),
            Err(e) => {
                say(e.to_string());
                Ok(None)
            }
        }
    }
}

/// Greatest common divisor, 0 being "the last epoch only" (every schedule divides it).
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
