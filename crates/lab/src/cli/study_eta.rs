//! The study's time left, from its plan's estimates
//! ([`lab::runner::estimate`]) corrected by how fast the claims so far went:
//!
//! ```text
//! est(c)    = Σ over c's runs not cached of seconds(run) / (claims asking for the run)
//! speed     = elapsed in finished claims / Σ est(finished claims)   (1 until 10 estimated seconds are done)
//! left      = speed · ( Σ est(claims not started) + est(current) · (1 − its done / its total) )
//! ```
//! Claims that choose from results plan more runs once their inputs are
//! cached, so while any is pending the figure is a lower bound ("at least").

use std::collections::HashMap;
use std::time::Instant;

use lab::runner::estimate::Rates;
use lab::runner::plan::Plan;

/// Estimated seconds per claim and the progress through them.
pub struct StudyEta {
    est: HashMap<String, f64>,
    order: Vec<String>,
    pending: bool,
    finished: Vec<String>,
    finished_s: f64,
    claim_started: Instant,
}

impl StudyEta {
    /// The estimates of `plan` for claims run in `order`.
    pub fn new(plan: &Plan, rates: &Rates, order: Vec<String>) -> Self {
        let mut est: HashMap<String, f64> = HashMap::new();
        for r in plan.missing() {
            let share = rates.seconds(&r.config, r.eval_every) / r.claims.len().max(1) as f64;
            for c in &r.claims {
                *est.entry(c.clone()).or_default() += share;
            }
        }
        Self {
            est,
            order,
            pending: !plan.pending.is_empty(),
            finished: Vec::new(),
            finished_s: 0.0,
            claim_started: Instant::now(),
        }
    }

    /// A claim starts.
    pub fn start(&mut self) {
        self.claim_started = Instant::now();
    }

    /// Claim `id` finished (its time counts toward the speed).
    pub fn end(&mut self, id: &str) {
        self.finished.push(id.to_string());
        self.finished_s += self.claim_started.elapsed().as_secs_f64();
    }

    /// The seconds left while claim `current` is `frac` done, and whether
    /// that is a lower bound (claims still to plan runs).
    pub fn left(&self, current: &str, frac: f64) -> (f64, bool) {
        let est = |c: &str| self.est.get(c).copied().unwrap_or(0.0);
        let done_est: f64 = self.finished.iter().map(|c| est(c)).sum();
        let speed = if done_est >= 10.0 {
            self.finished_s / done_est
        } else {
            1.0
        };
        let rest: f64 = self
            .order
            .iter()
            .filter(|c| *c != current && !self.finished.contains(c))
            .map(|c| est(c))
            .sum();
        let left = speed * (rest + est(current) * (1.0 - frac.clamp(0.0, 1.0)));
        (left, self.pending)
    }
}
