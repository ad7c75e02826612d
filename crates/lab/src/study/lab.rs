//! The study's context: the run service ([`Runner`]) with the study's
//! compute budget and seeds. Claims measure through it; it dereferences to
//! the runner, so `lab.run(&cfg, every)` asks the runner for a run.
//! A study run is a plain [`RunConfig`]: [`image_run`](super::runs::image_run)
//! gives the study's standard one, and a claim changes what it varies
//! (`RunConfig { epochs: 5, ..image_run(…) }`).
//!
//! Claims that matter most off MNIST run on every data set of the study
//! ([`Runner::datasets`]); the others on the first ([`Runner::primary`]).

use std::ops::Deref;

use super::Budget;
use crate::config::RunConfig;
use crate::error::Result;
use crate::runner::cache::RunOut;
use crate::runner::Runner;

/// The study's shared state.
pub struct Lab {
    runner: Runner,
    /// Compute budget.
    pub budget: Budget,
    /// Seeds to average over.
    pub seeds: Vec<u64>,
}

impl Deref for Lab {
    type Target = Runner;
    fn deref(&self) -> &Runner {
        &self.runner
    }
}

impl AsRef<Runner> for Lab {
    fn as_ref(&self) -> &Runner {
        &self.runner
    }
}

impl Lab {
    /// The study's context around `runner`: `budget`, seeds `0..seeds`.
    pub fn new(runner: Runner, budget: Budget, seeds: usize) -> Self {
        Self {
            runner,
            budget,
            seeds: (0..seeds as u64).collect(),
        }
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
}
