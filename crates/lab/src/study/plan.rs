//! A study's plan: every run it will train, known before any is trained.
//!
//! Planning runs each claim's `measure` against a [`Lab`](super::Lab) that
//! records instead of training: a cached run serves its result, any other
//! is recorded and answered with a placeholder (zeros). Where a claim
//! *chooses* from results (tuning, the paper's ε0), it marks where its
//! inputs start ([`Lab::mark`](super::Lab::mark)) and calls
//! [`Lab::choice`](super::Lab::choice) before choosing: if one of the runs
//! asked for since the mark is not cached, the choice would be made on
//! placeholders, so planning stops that claim there
//! ([`LabError::Pending`](crate::error::LabError)); otherwise the runs asked
//! for next are one wave later than the latest input. Where a claim loads trained nets it declares them
//! first ([`Lab::will_load`](super::Lab::will_load)), and planning stops it
//! there: what it does with the nets plans no run.
//!
//! ```text
//! depth(run)  = 0 before any choice; after a choice, max(depth now, 1 + the deepest of its inputs)
//!               (the minimum over the claims that ask for the run)
//! wave d      = the runs of depth d; complete once every run of depth < d is cached
//! cost(run)   ≈ epochs · n_train · (params + floats per sample)     (a relative estimate)
//! ```
//! So the plan grows wave by wave: `study --plan` lists what is known now,
//! and a shard trains wave d only after waves < d are in the cache.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use super::cache::{key, Point, RunOut};
use crate::config::RunConfig;
use crate::train::evaluated;

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

/// The current claim of a plan pass.
#[derive(Default)]
struct Current {
    id: String,
    depth: usize,
    /// Its requests so far, in order: (cached, key).
    asked: Vec<(bool, String)>,
}

/// A point in a claim's requests: a choice depends on the requests after it.
#[derive(Clone, Copy, Debug)]
pub struct Mark(usize);

/// Records the runs of a plan pass.
#[derive(Default)]
pub struct Recorder {
    runs: Mutex<BTreeMap<String, Planned>>,
    current: Mutex<Current>,
    pending: Mutex<Vec<String>>,
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

impl Recorder {
    /// A claim's pass begins.
    pub fn begin(&self, id: &str) {
        *self.current.lock().expect("plan lock") = Current {
            id: id.into(),
            ..Current::default()
        };
    }

    /// The current claim stopped at a choice it cannot make yet.
    pub fn stopped(&self) {
        let id = self.current.lock().expect("plan lock").id.clone();
        self.pending.lock().expect("plan lock").push(id);
    }

    /// Record a request of `cfg`.
    pub fn record(&self, cfg: &RunConfig, r: Request, cached: bool) {
        let mut cur = self.current.lock().expect("plan lock");
        let k = key(cfg);
        cur.asked.push((cached, k.clone()));
        let mut runs = self.runs.lock().expect("plan lock");
        let e = runs.entry(k.clone()).or_insert_with(|| Planned {
            key: k,
            claims: vec![],
            depth: cur.depth,
            cached,
            cost: cost(cfg),
            eval_every: r.eval_every,
            model: false,
            checkpoint_every: None,
            config: cfg.clone(),
        });
        if !e.claims.contains(&cur.id) {
            e.claims.push(cur.id.clone());
        }
        e.depth = e.depth.min(cur.depth);
        e.cached &= cached;
        e.eval_every = gcd(e.eval_every, r.eval_every);
        e.model |= r.model;
        e.checkpoint_every = e.checkpoint_every.or(r.checkpoint_every);
    }

    /// The current claim's requests so far.
    pub fn mark(&self) -> Mark {
        Mark(self.current.lock().expect("plan lock").asked.len())
    }

    /// A choice from the requests since `m`: `false` (stop the claim) when
    /// one is not cached; otherwise what is asked for next is one wave
    /// later than the latest of them.
    pub fn choice(&self, m: Mark) -> bool {
        let mut cur = self.current.lock().expect("plan lock");
        let inputs = &cur.asked[m.0.min(cur.asked.len())..];
        if inputs.iter().any(|(cached, _)| !cached) {
            return false;
        }
        let runs = self.runs.lock().expect("plan lock");
        let after = inputs
            .iter()
            .filter_map(|(_, k)| runs.get(k).map(|r| r.depth + 1))
            .max()
            .unwrap_or(0);
        cur.depth = cur.depth.max(after);
        true
    }

    /// The plan recorded so far; the recorder starts over.
    pub fn take(&self) -> Plan {
        Plan {
            runs: std::mem::take(&mut *self.runs.lock().expect("plan lock"))
                .into_values()
                .collect(),
            pending: std::mem::take(&mut *self.pending.lock().expect("plan lock")),
        }
    }
}

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
    let size = engine::footprint::size(&cfg.model.spec(784, 10), &[1, 28, 28])
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
