//! The lab's planning side (see [`mod@super::plan`]): a lab that records
//! the runs claims ask for instead of training them, the points where claims
//! choose from results, a cache-only lab for merging, and training one
//! planned run for a shard.
//!
//! ```text
//! plan(claims)       each claim's measure against the recorder; Pending / Planned end a claim's pass
//! choice(mark)       Pending while a run asked for since `mark` is not cached
//! train_planned(r)   cached → Cached; lock held elsewhere → Busy; else train → Trained
//! ```

use std::path::Path;
use std::sync::atomic::Ordering;

use super::cache::key;
use super::entry;
use super::plan::{Mark, Plan, Planned, Request};
use super::{Locking, Outcome, Runner};
use crate::config::RunConfig;
use crate::error::{LabError, Result};

impl Runner {
    /// This runner, serving runs from its cache only: a run not in it is an
    /// error ([`LabError::Missing`]) instead of being trained.
    pub fn cache_only(self) -> Self {
        Self {
            cache_only: true,
            ..self
        }
    }

    /// The cache directory of the runs.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Whether this runner is planning rather than training.
    pub fn planning(&self) -> bool {
        self.planning.load(Ordering::Relaxed)
    }

    /// A claim that trains nothing through the cache (its runs are cheap and
    /// made on the spot) calls this first: planning, it stops the claim.
    ///
    /// # Errors
    /// [`LabError::Planned`] while planning.
    pub fn plans_no_runs(&self) -> Result<()> {
        if self.planning() {
            return Err(LabError::Planned);
        }
        Ok(())
    }

    /// Where the inputs of a choice start: the runs a claim asks for after
    /// this are what its next [`Runner::choice`] chooses from.
    pub fn mark(&self) -> Mark {
        self.recorder.mark()
    }

    /// A claim is about to choose from the results it asked for since `m`.
    /// Planning, when one of them is not cached yet: [`LabError::Pending`].
    ///
    /// # Errors
    /// See above.
    pub fn choice(&self, m: Mark) -> Result<()> {
        if self.planning() && !self.recorder.choice(m) {
            return Err(LabError::Pending);
        }
        Ok(())
    }

    /// Planning: room in the plan for `n` more runs (see [`Runner::ask`]).
    pub fn expect_runs(&self, n: usize) {
        if self.planning() {
            self.recorder.reserve(n);
        }
    }

    /// Planning only: record a request of `cfg`, evaluated every
    /// `eval_every` epochs, as [`Runner::run`] would — without making its
    /// answer (a placeholder holds a point per epoch), for a caller that does
    /// not read it (a sweep).
    pub fn ask(&self, cfg: &RunConfig, eval_every: usize) {
        let req = Request {
            eval_every,
            model: false,
            checkpoint_every: None,
        };
        let paths = entry::Paths::new(&self.cache, &key(cfg));
        let serves = |o: &super::cache::RunOut| {
            o.serve(eval_every)
                .is_some_and(|o| cfg.data.label_noise == 0.0 || o.memorised.is_some())
        };
        let cached = entry::read_diverged(&paths, cfg).is_some()
            || matches!(entry::read(&paths, cfg, false), Ok(Some(o)) if serves(&o));
        self.recorder.record(cfg, req, cached);
    }

    /// A claim declares the trained nets it loads next with [`Runner::trained`].
    /// Planning, they are recorded and the claim stops ([`LabError::Planned`]):
    /// what it does with them plans no run. Otherwise nothing happens.
    ///
    /// # Errors
    /// See above.
    pub fn will_load(&self, cfgs: &[RunConfig]) -> Result<()> {
        if !self.planning() {
            return Ok(());
        }
        for cfg in cfgs {
            let req = Request {
                eval_every: 0,
                model: true,
                checkpoint_every: None,
            };
            let paths = entry::Paths::new(&self.cache, &key(cfg));
            let cached = entry::read_diverged(&paths, cfg).is_some()
                || matches!(entry::read(&paths, cfg, true), Ok(Some(o)) if o.serve(0).is_some());
            self.recorder.record(cfg, req, cached);
        }
        Err(LabError::Planned)
    }

    /// Train the planned run `p` unless it is cached or another process
    /// holds its lock (never waits).
    ///
    /// # Errors
    /// Training errors other than divergence (which is recorded as its result).
    pub fn train_planned(&self, p: &Planned) -> Result<Outcome> {
        let before = self.runs_trained();
        let req = Request {
            eval_every: p.eval_every,
            model: p.model,
            checkpoint_every: p.checkpoint_every,
        };
        let res = match p.checkpoint_every {
            Some(ce) => self
                .resumable(&p.config, p.eval_every, ce, Locking::Skip)
                .map(|o| o.is_some()),
            None => self
                .run_with(&p.config, req, Locking::Skip, &|splits, every, _| {
                    self.fit_curve(&p.config, splits, every)
                })
                .map(|o| o.is_some()),
        };
        let fresh = self.runs_trained() > before;
        match res {
            Ok(false) => Ok(Outcome::Busy),
            Ok(true) | Err(LabError::Diverged { .. }) if fresh => Ok(Outcome::Trained),
            Ok(true) | Err(LabError::Diverged { .. }) => Ok(Outcome::Cached),
            Err(e) => Err(e),
        }
    }
}

impl Runner {
    /// Planning: a job's pass begins.
    pub(super) fn record_start(&self, id: &str) {
        self.recorder.begin(id);
    }

    /// Planning: the current job stopped at a choice.
    pub(super) fn record_stopped(&self) {
        self.recorder.stopped();
    }

    /// Turn planning on or off.
    pub(super) fn set_planning(&self, on: bool) {
        self.planning.store(on, Ordering::Relaxed);
    }

    /// The plan recorded so far (the recorder starts again empty).
    pub(super) fn take_plan(&self) -> Plan {
        self.recorder.take()
    }

    /// The error of a merge whose plan still misses runs.
    pub(super) fn missing(&self, plan: &Plan) -> LabError {
        let mut keys: Vec<String> = plan.missing().iter().map(|r| r.key.clone()).collect();
        keys.extend(
            plan.pending
                .iter()
                .map(|c| format!("(and the runs {c} plans once these are in)")),
        );
        LabError::Missing {
            cache: self.cache.clone(),
            keys,
        }
    }
}
