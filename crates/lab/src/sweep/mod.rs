//! `dropout-lab sweep` and `tune`: a user's own grid of `train` settings,
//! over seeds, on any data the loader reads — planned, sharded and merged
//! like a study (it is a [`Job`] of the same [`Runner`] and cache).
//!
//! ```text
//! runs     = points × seeds          seed of run s = base seed + s
//! per point: mean and 95 % CI (t, n − 1 df) over seeds of the final validation,
//!            test and training accuracy, and of the test accuracy at each evaluated epoch
//! tune     : chosen = argmax over points of the mean final validation accuracy
//!            (ties: the first in grid order; points with a diverged run are not eligible)
//!            clear when its 95 % CI [m − ci, m + ci] meets no other eligible point's;
//!            no clear difference when it meets every other's (then tune keeps the default)
//! plan     : each run is asked for ([`Runner::ask`]) and recorded, nothing per epoch is
//!            made; a plan of more than [`crate::runner::plan::BUDGET`] bytes is refused first
//! ```
//! The test set is reported, never used to choose.

pub mod grid;
pub mod page;

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::runner::cache::{key, RunOut};
use crate::runner::plan;
use crate::runner::{Job, Runner};
use crate::stats::Est;

/// One point of the grid: its values and its run (seed = the base seed).
#[derive(Clone, Debug)]
pub struct Point {
    /// (option, value) per axis.
    pub values: Vec<(String, String)>,
    /// The run of the first seed.
    pub config: RunConfig,
}

/// A sweep: every point over `seeds` seeds, evaluated every `eval_every` epochs.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The points, in grid order.
    pub points: Vec<Point>,
    /// Seeds per point.
    pub seeds: usize,
    /// Evaluation interval (0 = last epoch only).
    pub eval_every: usize,
}

/// One finished run of a sweep.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    /// Its seed.
    pub seed: u64,
    /// Its cache key.
    pub key: String,
    /// Its curve and metrics; `None` when training diverged.
    pub out: Option<RunOut>,
}

/// A point's runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PointRuns {
    /// (option, value) per axis.
    pub values: Vec<(String, String)>,
    /// One per seed.
    pub runs: Vec<Run>,
}

impl PointRuns {
    fn finals(&self, f: impl Fn(&RunOut) -> Option<f64>) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|r| r.out.as_ref().and_then(&f))
            .collect()
    }

    /// Final validation accuracies (runs with a validation split).
    pub fn val(&self) -> Vec<f64> {
        self.finals(|o| o.last().val_acc)
    }

    /// Final test accuracies.
    pub fn test(&self) -> Vec<f64> {
        self.finals(|o| Some(o.last().test_acc))
    }

    /// Final training accuracies (eval mode).
    pub fn train(&self) -> Vec<f64> {
        self.finals(|o| Some(o.last().train_acc))
    }

    /// Runs that diverged.
    pub fn diverged(&self) -> usize {
        self.runs.iter().filter(|r| r.out.is_none()).count()
    }

    /// Mean and CI of the test accuracy at each evaluated epoch (runs that finished).
    pub fn curve(&self) -> Vec<(usize, Est)> {
        let Some(first) = self.runs.iter().find_map(|r| r.out.as_ref()) else {
            return vec![];
        };
        first
            .curve
            .iter()
            .map(|p| {
                let accs = self.finals(|o| {
                    o.curve
                        .iter()
                        .find(|q| q.epoch == p.epoch)
                        .map(|q| q.test_acc)
                });
                (p.epoch, Est::of(&accs))
            })
            .collect()
    }

    /// `name=value …`.
    pub fn label(&self) -> String {
        label(&self.values)
    }
}

impl Sweep {
    /// Runs in all: points × seeds.
    pub fn runs(&self) -> usize {
        self.points.len().saturating_mul(self.seeds)
    }

    /// Refuse, before any work, a sweep whose plan would hold more than
    /// [`plan::BUDGET`] bytes (see [`plan::bytes_per_run`]).
    ///
    /// # Errors
    /// [`plan::TooBig`] with the numbers.
    pub fn check_plan_size(&self) -> std::result::Result<(), plan::TooBig> {
        let per_run = self
            .points
            .iter()
            .map(|p| plan::bytes_per_run(&p.config))
            .max()
            .unwrap_or(0);
        plan::check_size(self.runs(), per_run)
    }

    /// The run of `point` with seed index `s`.
    pub fn config(&self, point: &Point, s: usize) -> RunConfig {
        RunConfig {
            seed: point.config.seed + s as u64,
            ..point.config.clone()
        }
    }

    /// Train (or fetch) every run.
    ///
    /// # Errors
    /// Training errors other than divergence.
    pub fn measure(&self, lab: &Runner) -> Result<Vec<PointRuns>> {
        lab.begin("sweep", self.points.len() * self.seeds);
        self.points
            .iter()
            .map(|p| {
                let runs = (0..self.seeds)
                    .map(|s| {
                        let cfg = self.config(p, s);
                        let out = match lab.run(&cfg, self.eval_every) {
                            Ok(o) => Some(o),
                            Err(e @ LabError::Diverged { .. }) => {
                                lab.warn(&format!("{}, seed {}: {e}", label(&p.values), cfg.seed));
                                None
                            }
                            Err(e) => return Err(e),
                        };
                        lab.tick(&label(&p.values));
                        Ok(Run {
                            seed: cfg.seed,
                            key: key(&cfg),
                            out,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(PointRuns {
                    values: p.values.clone(),
                    runs,
                })
            })
            .collect()
    }
}

/// `name=value …` of a point's values.
pub fn label(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sweep is a job of the run service, so plan, shards and merge treat it
/// like a study; its output is every point's runs.
impl Job for Sweep {
    type Output = Vec<PointRuns>;

    fn id(&self) -> &str {
        "sweep"
    }

    fn run(&self, runner: &Runner) -> Result<Vec<PointRuns>> {
        if runner.planning() {
            // Each run is recorded; no placeholder curve (one point per
            // epoch) and no results are made.
            runner.expect_runs(self.runs());
            for p in &self.points {
                for s in 0..self.seeds {
                    runner.ask(&self.config(p, s), self.eval_every);
                }
            }
            return Err(LabError::Planned);
        }
        self.measure(runner)
    }
}

/// The point `tune` recommends: the best mean final validation accuracy
/// among points with no diverged run (ties: the first). `None` when no point
/// has validation accuracies.
pub fn choose(points: &[PointRuns]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, p) in points.iter().enumerate() {
        let val = p.val();
        if p.diverged() > 0 || val.is_empty() {
            continue;
        }
        let m = Est::of(&val).mean;
        if best.is_none_or(|(_, b)| m > b) {
            best = Some((i, m));
        }
    }
    best.map(|(i, _)| i)
}

/// How clearly tune's choice beats the other eligible points, by the 95 %
/// CIs of their mean final validation accuracies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clarity {
    /// Its CI meets no other's (or there is no other).
    Clear,
    /// Its CI meets these points' (indices), not every other's.
    Near(Vec<usize>),
    /// Its CI meets every other point's: no clear difference.
    NoDifference,
    /// Fewer than two seeds: there are no CIs to compare.
    NoCi,
}

/// How clearly point `chosen` (see [`choose`]) beats the others.
pub fn clarity(points: &[PointRuns], chosen: usize) -> Clarity {
    let best = Est::of(&points[chosen].val());
    if best.n < 2 {
        return Clarity::NoCi;
    }
    let others: Vec<usize> = (0..points.len())
        .filter(|&i| i != chosen && points[i].diverged() == 0 && !points[i].val().is_empty())
        .collect();
    let near: Vec<usize> = others
        .iter()
        .copied()
        .filter(|&i| {
            let o = Est::of(&points[i].val());
            o.n < 2 || (best.mean - o.mean).abs() <= best.ci + o.ci
        })
        .collect();
    if near.is_empty() {
        Clarity::Clear
    } else if near.len() == others.len() {
        Clarity::NoDifference
    } else {
        Clarity::Near(near)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::cache::Point as P;

    fn point(v: &str, vals: &[f64], diverged: bool) -> PointRuns {
        let mut runs: Vec<Run> = vals
            .iter()
            .enumerate()
            .map(|(s, &a)| Run {
                seed: s as u64,
                key: String::new(),
                out: Some(RunOut {
                    epochs: 1,
                    curve: vec![P {
                        epoch: 1,
                        val_acc: Some(a),
                        test_acc: a - 0.01,
                        ..P::default()
                    }],
                    train_s: 0.0,
                    memorised: None,
                    learned_p: vec![],
                }),
            })
            .collect();
        if diverged {
            runs.push(Run {
                seed: 9,
                key: String::new(),
                out: None,
            });
        }
        PointRuns {
            values: vec![("dropout".into(), v.into())],
            runs,
        }
    }

    #[test]
    fn tune_chooses_on_validation_and_skips_diverged_points() {
        let pts = vec![
            point("0", &[0.90, 0.91], false),
            point("0.3", &[0.93, 0.93], false),
            point("0.5", &[0.93, 0.93], false),
            point("0.7", &[0.99, 0.99], true),
        ];
        assert_eq!(
            choose(&pts),
            Some(1),
            "best mean, first of ties, diverged not eligible"
        );
        assert_eq!(pts[3].diverged(), 1);
        assert_eq!(pts[1].curve()[0].1.mean, 0.92);
        assert_eq!(pts[1].label(), "dropout=0.3");
        let no_val = vec![PointRuns {
            values: vec![],
            runs: vec![],
        }];
        assert_eq!(choose(&no_val), None);
    }

    /// The breast-cancer case of the issue: every CI overlaps the best's.
    #[test]
    fn overlapping_cis_are_no_clear_difference() {
        let pts = vec![
            point("0", &[0.93, 0.99, 1.0], false),
            point("0.3", &[0.95, 0.97, 0.99], false),
            point("0.6", &[0.94, 0.98, 0.97], false),
        ];
        assert_eq!(choose(&pts), Some(0));
        assert_eq!(clarity(&pts, 0), Clarity::NoDifference);
        let pts = vec![
            point("0", &[0.80, 0.81, 0.80], false),
            point("0.3", &[0.95, 0.96, 0.95], false),
            point("0.6", &[0.94, 0.96, 0.95], false),
            point("0.9", &[0.99, 0.99], true),
        ];
        assert_eq!(clarity(&pts, 1), Clarity::Near(vec![2]), "0.9 diverged");
        let pts = vec![
            point("0", &[0.80, 0.81, 0.80], false),
            point("0.3", &[0.95, 0.96, 0.95], false),
        ];
        assert_eq!(clarity(&pts, 1), Clarity::Clear);
        let one = vec![point("0", &[0.8], false), point("0.3", &[0.9], false)];
        assert_eq!(clarity(&one, 1), Clarity::NoCi);
    }
}
