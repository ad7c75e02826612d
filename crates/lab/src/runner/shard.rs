//! One shard of a study or sweep spread over N workers sharing one run cache (a
//! Slurm array task, a Kubernetes Indexed Job pod, a GNU parallel job).
//!
//! ```text
//! loop:
//!   plan ← the jobs' plan given the cache now                      (see super::plan)
//!   done if every planned run is cached and no job waits
//!   d    ← the lowest depth among runs not cached                  (wave d is complete)
//!   mine ← assign(wave d, N)[I]       (longest first to the least-loaded shard; sorted keys)
//!   train mine, then any other run of wave d nobody holds          (skip cached / locked)
//!   nothing trainable → sleep (0.1 s, doubling up to `poll`), then plan again
//!                       (others are training the rest of wave d)
//! ```
//! Each run trains under its entry's lock and its result is written
//! atomically, so a shard started twice, or killed and started again, never
//! trains a run another holds nor leaves a half-written entry; taking the
//! runs nobody holds after its own means a killed shard's work is picked up
//! by the others, and that all shards finish together. Which shard a
//! process is (flags, a scheduler's variables): `shard/env.rs`.

use std::time::{Duration, Instant};

use super::job::{plan, Job};
use super::plan::{assign, Planned};
use super::{Outcome, Runner};
use crate::error::Result;

mod env;
pub use env::{from_env, threads_from_env, ShardError, MAX_SHARDS};

/// Which part of the work this process does: shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    /// Shards in all (≥ 1).
    pub count: usize,
}

/// What a shard did.
#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    /// Runs it trained.
    pub trained: usize,
    /// Of those, runs assigned to another shard that nobody held.
    pub taken_over: usize,
    /// Seconds spent training.
    pub train_s: f64,
    /// Seconds spent planning and loading data (the shard's overhead).
    pub overhead_s: f64,
    /// Seconds spent waiting for other shards.
    pub wait_s: f64,
    /// Planned runs in the finished study.
    pub planned: usize,
}

/// Where a shard reports (the binary prints lines).
pub trait ShardProgress {
    /// A run is done by this shard.
    fn trained(&self, _run: &Planned, _own: bool, _secs: f64) {}
    /// Waiting for runs that others hold.
    fn waiting(&self, _wave: usize, _held: usize) {}
}

impl ShardProgress for () {}

/// Train shard `s` of the work `jobs` (a study's claims, or a sweep) in
/// `lab`'s cache until every run of it is cached.
///
/// # Errors
/// A run's training errors (other than divergence, which is a result), cache I/O.
pub fn run_shard<L, J>(
    lab: &L,
    jobs: &[&J],
    s: Shard,
    poll: Duration,
    progress: &dyn ShardProgress,
) -> Result<ShardStats>
where
    L: AsRef<Runner> + ?Sized,
    J: Job<L> + ?Sized,
{
    let runner = lab.as_ref();
    let t0 = Instant::now();
    let mut st = ShardStats::default();
    let mut told = None;
    // Waiting polls the cache every 0.1 s at first, backing off to `poll`.
    let mut nap = Duration::from_millis(100);
    loop {
        let plan = plan(lab, jobs)?;
        if plan.done() {
            st.planned = plan.runs.len();
            break;
        }
        let Some(d) = plan.missing().iter().map(|r| r.depth).min() else {
            // Jobs wait, yet every run is cached: cannot happen (a job
            // waits only on a run it asked for); plan again.
            std::thread::sleep(poll);
            continue;
        };
        let wave: Vec<&Planned> = plan.runs.iter().filter(|r| r.depth == d).collect();
        let owner = assign(&wave, s.count);
        let (mine, others): (Vec<_>, Vec<_>) = wave
            .iter()
            .zip(&owner)
            .filter(|(r, _)| !r.cached)
            .partition(|(_, &o)| o == s.index);
        let mut any = false;
        for (run, own) in mine
            .iter()
            .map(|(r, _)| (*r, true))
            .chain(others.iter().map(|(r, _)| (*r, false)))
        {
            let t = Instant::now();
            if runner.train_planned(run)? == Outcome::Trained {
                let secs = t.elapsed().as_secs_f64();
                st.trained += 1;
                st.taken_over += usize::from(!own);
                st.train_s += secs;
                progress.trained(run, own, secs);
                any = true;
            }
        }
        if any {
            nap = Duration::from_millis(100);
        } else {
            if told != Some(d) {
                progress.waiting(d, plan.missing().len());
                told = Some(d);
            }
            let w = Instant::now();
            std::thread::sleep(nap);
            nap = (nap * 2).min(poll);
            st.wait_s += w.elapsed().as_secs_f64();
        }
    }
    st.overhead_s = (t0.elapsed().as_secs_f64() - st.train_s - st.wait_s).max(0.0);
    Ok(st)
}
