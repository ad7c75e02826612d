//! One shard of a study spread over N workers sharing one run cache (a
//! Slurm array task, a Kubernetes Indexed Job pod, a GNU parallel job).
//!
//! ```text
//! loop:
//!   plan ← the study's plan given the cache now                    (see super::plan)
//!   done if every planned run is cached and no claim waits
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
//! by the others, and that all shards finish together.

use std::time::{Duration, Instant};

use super::lab::Outcome;
use super::plan::{assign, Planned};
use super::{DynClaim, Lab};
use crate::error::Result;

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

/// Train shard `s` of the work `claims` (a study's claims, or a sweep) in
/// `lab`'s cache until every run of it is cached.
///
/// # Errors
/// A run's training errors (other than divergence, which is a result), cache I/O.
pub fn run_shard(
    lab: &Lab,
    claims: &[&dyn DynClaim],
    s: Shard,
    poll: Duration,
    progress: &dyn ShardProgress,
) -> Result<ShardStats> {
    let t0 = Instant::now();
    let mut st = ShardStats::default();
    let mut told = None;
    // Waiting polls the cache every 0.1 s at first, backing off to `poll`.
    let mut nap = Duration::from_millis(100);
    loop {
        let plan = lab.plan(claims)?;
        if plan.done() {
            st.planned = plan.runs.len();
            break;
        }
        let Some(d) = plan.missing().iter().map(|r| r.depth).min() else {
            // Claims wait, yet every run is cached: cannot happen (a claim
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
            if lab.train_planned(run)? == Outcome::Trained {
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

/// The shard this process is, from the scheduler's environment:
/// `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT` (Slurm arrays starting
/// at `SLURM_ARRAY_TASK_MIN`), or Kubernetes' `JOB_COMPLETION_INDEX` with
/// `count` given. `None` when neither is set.
pub fn from_env(get: impl Fn(&str) -> Option<String>, count: Option<usize>) -> Option<Shard> {
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<usize>().ok());
    if let (Some(id), Some(n)) = (num("SLURM_ARRAY_TASK_ID"), num("SLURM_ARRAY_TASK_COUNT")) {
        let min = num("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
        return Some(Shard {
            index: id.checked_sub(min)?,
            count: count.unwrap_or(n),
        });
    }
    let index = num("JOB_COMPLETION_INDEX")?;
    Some(Shard {
        index,
        count: count?,
    })
}

/// Threads the scheduler gave this process: `SLURM_CPUS_PER_TASK`, else the
/// cgroup's CPU quota (`cpu.max`, as Kubernetes sets from a pod's CPU
/// limit), else `None` (use the default).
pub fn threads_from_env(
    get: impl Fn(&str) -> Option<String>,
    cpu_max: Option<String>,
) -> Option<usize> {
    if let Some(n) = get("SLURM_CPUS_PER_TASK").and_then(|v| v.trim().parse().ok()) {
        return Some(n).filter(|&n: &usize| n > 0);
    }
    let text = cpu_max?;
    let mut it = text.split_whitespace();
    let (quota, period) = (it.next()?, it.next()?);
    let (q, p) = (quota.parse::<f64>().ok()?, period.parse::<f64>().ok()?);
    (p > 0.0).then(|| ((q / p).ceil() as usize).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_from_slurm_and_kubernetes() {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(
            from_env(env(&slurm), None),
            Some(Shard { index: 2, count: 4 })
        );
        let k8s = [("JOB_COMPLETION_INDEX", "5")];
        assert_eq!(
            from_env(env(&k8s), Some(8)),
            Some(Shard { index: 5, count: 8 })
        );
        assert_eq!(from_env(env(&k8s), None), None, "the count must be given");
        assert_eq!(from_env(env(&[]), Some(2)), None);
    }

    #[test]
    fn threads_from_slurm_or_the_cgroup() {
        let slurm = [("SLURM_CPUS_PER_TASK", "8")];
        assert_eq!(threads_from_env(env(&slurm), None), Some(8));
        assert_eq!(
            threads_from_env(env(&[]), Some("150000 100000\n".into())),
            Some(2)
        );
        assert_eq!(threads_from_env(env(&[]), Some("max 100000".into())), None);
        assert_eq!(threads_from_env(env(&[]), None), None);
    }
}
