//! What the runner runs: a [`Job`] asks the [`Runner`] for training runs and
//! turns their results into its output (a claim's result, a sweep's points).
//! The same job code serves three uses:
//!
//! ```text
//! run       job.run(lab)                 runs are served from the cache or trained
//! plan      plan(lab, jobs)              runs are recorded, nothing trained; Planned / Pending end a job's pass
//! merge     require_complete(lab, jobs)  every planned run must be cached, or LabError::Missing lists them
//! shard     shard::run_shard(lab, jobs)  plan, then train this shard's part, wave by wave
//! ```
//!
//! `L` is what the job works with: the runner itself (a sweep) or a context
//! around it (the study's `Lab`, which adds its budget and seeds).

use super::plan::Plan;
use super::Runner;
use crate::error::{LabError, Result};

/// Work that asks the runner for runs and renders a result.
pub trait Job<L: ?Sized = Runner>: Sync {
    /// What the job produces.
    type Output;

    /// A short name, for progress, plans and errors (`C3`, `paper`, `sweep`).
    fn id(&self) -> &str;

    /// Ask for runs through `lab` and build the output. While planning, a
    /// job that has asked for everything it can stops with
    /// [`LabError::Planned`] (or [`LabError::Pending`] at a choice whose
    /// inputs are not trained yet).
    ///
    /// # Errors
    /// Training errors, and the planning stops above.
    fn run(&self, lab: &L) -> Result<Self::Output>;
}

/// Plan `jobs`: every run they ask for given what the cache holds now
/// (see [`mod@super::plan`]); nothing is trained.
///
/// # Errors
/// A job's errors other than stopping at a choice.
pub fn plan<L, J>(lab: &L, jobs: &[&J]) -> Result<Plan>
where
    L: AsRef<Runner> + ?Sized,
    J: Job<L> + ?Sized,
{
    let runner = lab.as_ref();
    runner.set_planning(true);
    let mut res = Ok(());
    for j in jobs {
        runner.record_start(j.id());
        match j.run(lab) {
            Ok(_) | Err(LabError::Planned) => {}
            Err(LabError::Pending) => runner.record_stopped(),
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    runner.set_planning(false);
    let plan = runner.take_plan();
    res.map(|()| plan)
}

/// Merging: fail with [`LabError::Missing`] (listing the runs) unless every
/// run `jobs` plan is in the cache and no job waits.
///
/// # Errors
/// Missing runs, or the jobs' planning errors.
pub fn require_complete<L, J>(lab: &L, jobs: &[&J]) -> Result<()>
where
    L: AsRef<Runner> + ?Sized,
    J: Job<L> + ?Sized,
{
    let plan = plan(lab, jobs)?;
    if plan.done() {
        return Ok(());
    }
    Err(lab.as_ref().missing(&plan))
}
