//! Serving a run: from the cache when an entry serves the request, else
//! trained under the entry's lock and stored (or, planning, recorded and
//! answered with a placeholder).
//!
//! ```text
//! diverged record → its error;  planning → record, placeholder;  cache hit → it;
//! cache-only → Missing;  lock (wait, or skip when busy) → re-check → train → store
//! ```

use std::sync::atomic::Ordering;

use engine::Sequential;

use super::cache::{key, RunOut};
use super::entry;
use super::memorised::memorised;
use super::plan::{gcd, placeholder, Request};
use super::{Locking, Runner, Trainer};
use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::lock;
use crate::train::build_model;

impl Runner {
    /// Serve `cfg` from the cache, or train it with `train(splits, every, key)`
    /// (the model, its evaluated curve, training seconds) under the entry's
    /// lock and store it. `None`: the lock is held elsewhere and `locking`
    /// says not to wait. Planning, the request is recorded and a run not in
    /// the cache is answered with a placeholder (see [`mod@super::plan`]).
    pub(super) fn run_with(
        &self,
        cfg: &RunConfig,
        req: Request,
        locking: Locking,
        train: &Trainer<'_>,
    ) -> Result<Option<(RunOut, Option<Sequential>)>> {
        let (eval_every, want_model) = (req.eval_every, req.model);
        let key = key(cfg);
        let paths = entry::Paths::new(&self.cache, &key);
        if let Some(e) = entry::read_diverged(&paths, cfg) {
            if self.planning() {
                self.recorder.record(cfg, req, true);
            }
            return Err(e);
        }
        if self.planning() {
            let hit = self.cached(&paths, cfg, eval_every, false, false)?;
            let cached = hit.is_some()
                && (!want_model || matches!(entry::read(&paths, cfg, true), Ok(Some(_))));
            self.recorder.record(cfg, req, cached);
            if want_model {
                return Err(LabError::Planned);
            }
            let out = hit.map_or_else(|| placeholder(cfg, eval_every), |h| h.0);
            return Ok(Some((out, None)));
        }
        if let Some(hit) = self.cached(&paths, cfg, eval_every, want_model, false)? {
            return Ok(Some(hit));
        }
        if self.cache_only {
            return Err(LabError::Missing {
                cache: self.cache.clone(),
                keys: vec![key],
            });
        }
        std::fs::create_dir_all(&self.cache).map_err(LabError::io(&self.cache))?;
        // Another study on the same cache may be training this very run.
        let _lock = match locking {
            Locking::Wait => lock::lock(paths.lock(), |why| {
                self.progress
                    .warn(&format!("run {key}: another process is training it: {why}"))
            })?,
            Locking::Skip => match lock::try_lock(paths.lock())? {
                Ok(l) => l,
                Err(_) => return Ok(None),
            },
        };
        if let Some(e) = entry::read_diverged(&paths, cfg) {
            return Err(e);
        }
        if let Some(hit) = self.cached(&paths, cfg, eval_every, want_model, true)? {
            return Ok(Some(hit));
        }
        // A run trained again — for a finer curve, or for its weights — also
        // evaluates every epoch its stored entry had, so one request never
        // undoes what another stored.
        let every = match entry::read(&paths, cfg, false) {
            Ok(Some(old)) => gcd(eval_every, old.schedule()),
            _ => eval_every,
        };
        let splits = self.splits(cfg)?;
        let (mut model, curve, train_s) = match train(&splits, every, &key) {
            Err(e @ LabError::Diverged { .. }) => {
                entry::write_diverged(&paths, cfg, &e)?;
                self.trained.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
            r => r?,
        };
        let memorised = match cfg.data.path {
            // A user's file (a sweep): read again for the noise-free labels.
            Some(_) if cfg.data.label_noise > 0.0 => {
                let raw = crate::data::load_raw(&cfg.data, cfg.seed)?;
                memorised(&mut model, cfg, &splits, &raw)?
            }
            Some(_) => None,
            None => memorised(&mut model, cfg, &splits, self.raw(cfg.data.dataset)?)?,
        };
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
        Ok(Some((asked, want_model.then_some(model))))
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
