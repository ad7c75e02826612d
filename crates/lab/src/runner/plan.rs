//! A study's plan: every run it will train, known before any is trained.
//!
//! Planning runs each claim's `measure` against a [`Runner`](super::Runner) that
//! records instead of training: a cached run serves its result, any other
//! is recorded and answered with a placeholder (zeros). Where a claim
//! *chooses* from results (tuning, the paper's ε0), it marks where its
//! inputs start ([`Runner::mark`](super::Runner::mark)) and calls
//! [`Runner::choice`](super::Runner::choice) before choosing: if one of the runs
//! asked for since the mark is not cached, the choice would be made on
//! placeholders, so planning stops that claim there
//! ([`LabError::Pending`](crate::error::LabError)); otherwise the runs asked
//! for next are one wave later than the latest input. Where a claim loads trained nets it declares them
//! first ([`Runner::will_load`](super::Runner::will_load)), and planning stops it
//! there: what it does with the nets plans no run.
//!
//! ```text
//! depth(run)  = 0 before any choice; after a choice, max(depth now, 1 + the deepest of its inputs)
//!               (the minimum over the claims that ask for the run)
//! wave d      = the runs of depth d; complete once every run of depth < d is cached
//! cost(run)   ≈ epochs · n_train · (params + floats per sample)     (a relative estimate)
//! memory      ≤ runs · (RUN_BYTES + the config's text: arch, data path, label column name)
//!               ≤ BUDGET (1 GiB), checked before planning a sweep
//! ```
//! So the plan grows wave by wave: `study --plan` lists what is known now,
//! and a shard trains wave d only after waves < d are in the cache. A plan
//! holds nothing per epoch: a sweep records its runs without placeholders
//! ([`Runner::ask`](super::Runner::ask)), and a placeholder is only made for a
//! claim that reads it (its epochs are the study's own).

use serde::Serialize;

use super::cache::{Point, RunOut};
use crate::config::RunConfig;
use crate::train::evaluated;

/// Most bytes a plan may hold.
pub const BUDGET: usize = 1 << 30;

/// What the plan holds per run besides its configuration's text: the
/// [`Planned`] record, its key, claim and index entry, and the request
/// (see `plan/recorder.rs`; measured in `tests/grid_and_plan.rs`).
pub const RUN_BYTES: usize = std::mem::size_of::<Planned>() + 128;

/// The bytes a plan holds for a run of `cfg` (an upper bound; see [`RUN_BYTES`]).
pub fn bytes_per_run(cfg: &RunConfig) -> usize {
    let label = match &cfg.data.label_column {
        crate::data::csv::LabelColumn::Name(n) => n.len(),
        _ => 0,
    };
    let path = cfg.data.path.as_ref().map_or(0, |p| p.as_os_str().len());
    RUN_BYTES + cfg.model.arch.len() + path + label
}

/// A plan too large to hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{runs} runs of about {per_run} bytes each would make a plan of {} MiB, over the {} MiB a plan may hold; use fewer grid points or seeds, or split the grid into several sweeps",
    (*runs as u128 * *per_run as u128) >> 20,
    BUDGET >> 20
)]
pub struct TooBig {
    /// Runs planned.
    pub runs: usize,
    /// Bytes per run.
    pub per_run: usize,
}

/// Refuse `runs` runs of `per_run` bytes each beyond [`BUDGET`].
///
/// # Errors
/// [`TooBig`].
pub fn check_size(runs: usize, per_run: usize) -> Result<(), TooBig> {
    if runs.saturating_mul(per_run) > BUDGET {
        return Err(TooBig { runs, per_run });
    }
    Ok(())
}

/// One planned run.
#[derive(Clone, Debug, Serialize)]
pub struct Planned {
    /// Its cache key.
    pub key: String,
    /// The claims that ask for it.
    pub claims: Vec<String>,
    /// Choices passed before it was asked for (its wave).
    pub depth: usize,
    /// Whether the cache already serves it.
    pub cached: bool,
    /// Relative cost estimate (see the module docs).
    pub cost: f64,
    /// Evaluate every this many epochs (0 = last only): what every request needs.
    pub eval_every: usize,
    /// Whether its trained net is stored with it.
    pub model: bool,
    /// Trained resumably with a checkpoint every this many epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
    /// The run (its thread count is not in the key: any count gives the same bits).
    pub config: RunConfig,
}

/// What a plan pass found.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The runs known so far, by key.
    pub runs: Vec<Planned>,
    /// Claims that stopped at a choice whose runs are not all cached.
    pub pending: Vec<String>,
}

impl Plan {
    /// Every run is cached and no claim waits: the plan is complete and done.
    pub fn done(&self) -> bool {
        self.pending.is_empty() && self.runs.iter().all(|r| r.cached)
    }

    /// The runs not cached yet.
    pub fn missing(&self) -> Vec<&Planned> {
        self.runs.iter().filter(|r| !r.cached).collect()
    }
}

/// What a request asks of a run.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Evaluation interval (0 = last epoch only).
    pub eval_every: usize,
    /// The trained net is needed.
    pub model: bool,
    /// Trained resumably, checkpointing every this many epochs.
    pub checkpoint_every: Option<usize>,
}

mod recorder;
pub use recorder::{Mark, Recorder};

/// Greatest common divisor, 0 being "the last epoch only" (every schedule divides it).
pub fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The relative cost of a run (see the module docs).
pub fn cost(cfg: &RunConfig) -> f64 {
    let n = cfg
        .data
        .train_size
        .unwrap_or(60_000)
        .saturating_sub(cfg.data.val_size);
    let size = engine::spec::size(&cfg.model.spec(784, 10), &[1, 28, 28])
        .map(|s| s.params.saturating_add(s.floats_per_sample))
        .unwrap_or(1);
    cfg.epochs as f64 * n.max(1) as f64 * size as f64
}

/// What a planned run that is not cached yet answers: zeros at every epoch
/// the request evaluates.
pub fn placeholder(cfg: &RunConfig, eval_every: usize) -> RunOut {
    RunOut {
        epochs: cfg.epochs,
        curve: (1..=cfg.epochs)
            .filter(|&e| evaluated(e, cfg.epochs, eval_every))
            .map(|epoch| Point {
                epoch,
                val_acc: (cfg.data.val_size > 0).then_some(0.0),
                ..Point::default()
            })
            .collect(),
        train_s: 0.0,
        memorised: (cfg.data.label_noise > 0.0).then_some(0.0),
        learned_p: Vec::new(),
    }
}

/// Assign `runs` to `n` shards: longest first to the least-loaded shard
/// (ties: the lower key, the lower shard), so the split depends only on the
/// set of runs. Returns each run's shard, in the order of `runs`.
pub fn assign(runs: &[&Planned], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| {
        runs[b]
            .cost
            .total_cmp(&runs[a].cost)
            .then_with(|| runs[a].key.cmp(&runs[b].key))
    });
    let mut load = vec![0.0f64; n.max(1)];
    let mut shard = vec![0; runs.len()];
    for i in order {
        let (s, _) = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(&b.0)))
            .expect("at least one shard");
        shard[i] = s;
        load[s] += runs[i].cost;
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::cache::key;

    fn run(key: &str, cost: f64) -> Planned {
        Planned {
            key: key.into(),
            claims: vec![],
            depth: 0,
            cached: false,
            cost,
            eval_every: 0,
            model: false,
            checkpoint_every: None,
            config: RunConfig::default(),
        }
    }

    #[test]
    fn assignment_balances_cost_and_ignores_input_order() {
        let a = [run("a", 5.0), run("b", 4.0), run("c", 3.0), run("d", 2.0)];
        let refs: Vec<&Planned> = a.iter().collect();
        let s = assign(&refs, 2);
        let load = |k| {
            (0..4)
                .filter(|&i| s[i] == k)
                .map(|i| a[i].cost)
                .sum::<f64>()
        };
        assert_eq!((load(0), load(1)), (7.0, 7.0));
        let rev: Vec<&Planned> = a.iter().rev().collect();
        let s2 = assign(&rev, 2);
        for i in 0..4 {
            assert_eq!(s[i], s2[3 - i], "the split depends on the set only");
        }
        assert!(assign(&refs, 5).iter().all(|&x| x < 4), "one run per shard");
    }

    #[test]
    fn requests_merge_and_choices_wait_for_the_cache() {
        let r = Recorder::default();
        r.begin("C1");
        let cfg = RunConfig::default();
        let ask = |every, model| Request {
            eval_every: every,
            model,
            checkpoint_every: None,
        };
        let m = r.mark();
        r.record(&cfg, ask(2, false), true);
        assert!(r.choice(m), "everything asked for is cached");
        let m = r.mark();
        let other = RunConfig {
            seed: 9,
            ..cfg.clone()
        };
        r.record(&other, ask(3, false), false);
        r.record(&other, ask(0, true), false);
        assert!(!r.choice(m), "a choice on a placeholder waits");
        let m = r.mark();
        assert!(r.choice(m), "a choice that uses none of them does not");
        r.stopped();
        let plan = r.take();
        assert_eq!(plan.pending, vec!["C1".to_string()]);
        let o = plan.runs.iter().find(|p| p.key == key(&other)).unwrap();
        assert_eq!((o.depth, o.eval_every, o.model), (1, 3, true));
        assert!(!plan.done());
        assert_eq!(plan.missing().len(), 1);
        assert!(r.take().runs.is_empty(), "the recorder starts over");
    }

    #[test]
    fn plans_beyond_the_budget_are_refused_with_the_numbers() {
        let cfg = RunConfig::default();
        let per = bytes_per_run(&cfg);
        assert!(per < 1000, "{per} bytes per run");
        assert!(
            check_size(1_000_000, per).is_ok(),
            "the grid and seed caps fit"
        );
        let e = check_size(1_000_000, 4096).unwrap_err().to_string();
        assert!(e.contains("1000000 runs") && e.contains("3906 MiB"), "{e}");
        assert!(check_size(usize::MAX, 2).is_err(), "no overflow");
    }

    #[test]
    fn placeholders_have_the_asked_epochs() {
        let mut cfg = RunConfig {
            epochs: 4,
            ..RunConfig::default()
        };
        cfg.data.val_size = 10;
        let p = placeholder(&cfg, 2);
        assert_eq!(p.curve.iter().map(|p| p.epoch).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(p.last().val_acc, Some(0.0));
    }
}
