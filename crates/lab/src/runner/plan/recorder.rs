//! The record of a plan pass: every run asked for, once, with what its
//! requests need, and each claim's requests in order (for its choices).
//!
//! ```text
//! runs    = one vector of records; a caller that knows how many runs it asks
//!           for reserves them first (`reserve`: no growth slack), sorted in place by take()
//! index   : h(key) → position, 64-bit hash; a key whose hash another has is in
//!           `spill` (searched in full) — so lookups are exact, never by hash alone
//! asked   = the current claim's requests as (cached, position): 8 bytes each
//! bytes per run ≤ size_of::<Planned>() + index (≤ 2.3 × 17) + asked (8) + key (16)
//!                 + claim (24 + its id) + the config's text      (reserved; growth adds slack)
//! ```

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use super::{cost, gcd, Plan, Planned, Request};
use crate::config::RunConfig;
use crate::runner::cache::key;

/// The current claim of a plan pass.
#[derive(Default)]
struct Current {
    id: String,
    depth: usize,
    /// Its requests so far, in order: (cached, position in the runs).
    asked: Vec<(bool, u32)>,
}

/// A point in a claim's requests: a choice depends on the requests after it.
#[derive(Clone, Copy, Debug)]
pub struct Mark(usize);

/// The runs of a pass, by position, found by key.
#[derive(Default)]
struct Runs {
    list: Vec<Planned>,
    index: HashMap<u64, u32>,
    spill: Vec<u32>,
}

fn hash(k: &str) -> u64 {
    let mut h = DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

impl Runs {
    fn get(&self, i: u32) -> &Planned {
        &self.list[i as usize]
    }

    fn get_mut(&mut self, i: u32) -> &mut Planned {
        &mut self.list[i as usize]
    }

    fn find(&self, k: &str) -> Option<u32> {
        let i = *self.index.get(&hash(k))?;
        if self.get(i).key == k {
            return Some(i);
        }
        self.spill.iter().copied().find(|&j| self.get(j).key == k)
    }

    fn push(&mut self, p: Planned) -> u32 {
        let i =
            u32::try_from(self.list.len()).expect("fewer than 2³² runs (sweeps check their size)");
        let h = hash(&p.key);
        self.list.push(p);
        match self.index.entry(h) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.spill.push(i),
        }
        i
    }

    /// The records sorted by key (in place).
    fn into_sorted(self) -> Vec<Planned> {
        let mut list = self.list;
        drop((self.index, self.spill));
        list.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        list
    }
}

/// Records the runs of a plan pass.
#[derive(Default)]
pub struct Recorder {
    runs: Mutex<Runs>,
    current: Mutex<Current>,
    pending: Mutex<Vec<String>>,
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

    /// Room for `n` more runs and requests: a caller that knows how many
    /// it asks for (a sweep) makes the plan grow without slack.
    pub fn reserve(&self, n: usize) {
        self.current
            .lock()
            .expect("plan lock")
            .asked
            .reserve_exact(n);
        let mut runs = self.runs.lock().expect("plan lock");
        runs.list.reserve_exact(n);
        runs.index.reserve(n);
    }

    /// Record a request of `cfg`.
    pub fn record(&self, cfg: &RunConfig, r: Request, cached: bool) {
        let mut cur = self.current.lock().expect("plan lock");
        let k = key(cfg);
        let mut runs = self.runs.lock().expect("plan lock");
        let i = match runs.find(&k) {
            Some(i) => i,
            None => runs.push(Planned {
                key: k,
                claims: vec![cur.id.clone()],
                depth: cur.depth,
                cached,
                cost: cost(cfg),
                eval_every: r.eval_every,
                model: false,
                checkpoint_every: None,
                config: cfg.clone(),
            }),
        };
        cur.asked.push((cached, i));
        let e = runs.get_mut(i);
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
            .map(|&(_, i)| runs.get(i).depth + 1)
            .max()
            .unwrap_or(0);
        cur.depth = cur.depth.max(after);
        true
    }

    /// The plan recorded so far, sorted by key; the recorder starts over.
    pub fn take(&self) -> Plan {
        let runs = std::mem::take(&mut *self.runs.lock().expect("plan lock"));
        Plan {
            runs: runs.into_sorted(),
            pending: std::mem::take(&mut *self.pending.lock().expect("plan lock")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(key: &str) -> Planned {
        Planned {
            key: key.into(),
            claims: vec![],
            depth: 0,
            cached: false,
            cost: 0.0,
            eval_every: 0,
            model: false,
            checkpoint_every: None,
            config: RunConfig::default(),
        }
    }

    /// Keys whose hashes collide are still told apart (forced here by
    /// putting a second key at the first one's hash).
    #[test]
    fn lookups_are_by_key_not_by_hash() {
        let mut r = Runs::default();
        let a = r.push(planned("a"));
        let b = r.push(planned("b"));
        // Simulate a collision: "c" is filed under "a"'s hash.
        r.list.push(planned("c"));
        r.spill.push(2);
        r.index.insert(hash("c"), a);
        assert_eq!(
            (r.find("a"), r.find("b"), r.find("c")),
            (Some(a), Some(b), Some(2))
        );
        assert_eq!(r.find("d"), None);
        for i in (0..5000).rev() {
            r.push(planned(&format!("k{i:05}")));
        }
        assert_eq!(
            r.find("k04100").map(|i| r.get(i).key.clone()).as_deref(),
            Some("k04100")
        );
        let sorted = r.into_sorted();
        assert_eq!(sorted.len(), 5003);
        assert!(sorted.windows(2).all(|w| w[0].key < w[1].key));
    }
}
