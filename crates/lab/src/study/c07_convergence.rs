//! C7 — "Dropout slows convergence."
//!
//! p ∈ {0, 0.2, 0.5, 0.8}, the budget's MLP on the base subset, evaluated
//! every epoch: training loss (eval mode) and test accuracy curves, and the
//! first epoch at which the training loss falls below a threshold
//! (0.1; a run that never gets there counts as epochs + 1).
//!
//! The verdict rule is [`Convergence::RULE`].

use serde::Serialize;

use super::cache::Point;
use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use crate::error::Result;

const THRESHOLD: f64 = 0.1;

/// C7.
pub struct Convergence;

/// What C7 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Dropout rates.
    pub p: Vec<f32>,
    /// Curves (every epoch), p × seed; no timings, so the evidence is reproducible.
    pub curves: Vec<Vec<Vec<Point>>>,
}

impl Evidence {
    /// Epochs to the threshold, p × seed.
    fn to_threshold(&self) -> Vec<Vec<f64>> {
        self.curves
            .iter()
            .map(|outs| {
                outs.iter()
                    .map(|o| {
                        o.iter()
                            .find(|q| q.train_loss <= THRESHOLD)
                            .map_or(self.epochs as f64 + 1.0, |q| q.epoch as f64)
                    })
                    .collect()
            })
            .collect()
    }
    fn means(&self) -> Vec<f64> {
        self.to_threshold()
            .iter()
            .map(|t| Est::of(t).mean)
            .collect()
    }
    fn monotone(&self) -> bool {
        self.means().windows(2).all(|w| w[1] >= w[0])
    }
    /// (p = 0.5) − (p = 0), paired.
    fn slower(&self) -> Est {
        let t = self.to_threshold();
        let at = |p: f32| self.p.iter().position(|&x| x == p).unwrap_or(0);
        paired(&t[at(0.5)], &t[at(0.0)])
    }
}

impl Claim for Convergence {
    const ID: &'static str = "C7";
    const CLAIM: &'static str = "Dropout slows convergence.";
    const RULE: &'static str = "holds: mean epochs-to-loss-0.1 non-decreasing in p AND paired (p=0.5 − p=0) CI above 0; holds partly: one of the two; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ps = vec![0.0f32, 0.2, 0.5, 0.8];
        lab.begin(Self::ID, ps.len() * lab.seeds.len());
        let curves = ps
            .iter()
            .map(|&p| {
                let outs = lab.per_seed(&format!("p={p}"), 1, |s| lab.base_run(p, s))?;
                Ok(outs.into_iter().map(|o| o.curve).collect())
            })
            .collect::<Result<_>>()?;
        let n = lab.base_size();
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs: lab.epochs_for(n),
            p: ps,
            curves,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::of_parts(e.monotone(), e.slower().above_zero())
    }

    fn render(e: &Evidence) -> Section {
        let curve = |outs: &[Vec<Point>], f: &dyn Fn(&Point) -> f64| -> Vec<(f64, f64, f64)> {
            (0..e.epochs)
                .map(|i| {
                    let v: Vec<f64> = outs.iter().filter_map(|o| o.get(i)).map(f).collect();
                    let m = Est::of(&v);
                    ((i + 1) as f64, m.mean, m.ci)
                })
                .collect()
        };
        let series = |f: &dyn Fn(&Point) -> f64| -> Vec<Series> {
            e.p.iter()
                .zip(&e.curves)
                .map(|(p, outs)| Series {
                    name: format!("p = {p}"),
                    points: curve(outs, f),
                })
                .collect()
        };
        let t = e.to_threshold();
        let rows =
            e.p.iter()
                .zip(&e.curves)
                .zip(&t)
                .map(|((p, outs), t)| {
                    let fin: Vec<f64> = outs
                        .iter()
                        .map(|o| o.last().map_or(0.0, |q| q.test_acc))
                        .collect();
                    vec![
                        p.to_string(),
                        Est::of(t).fmt(1.0, 1),
                        Est::of(&fin).fmt(100.0, 2),
                    ]
                })
                .collect();
        let seeds = e.curves.first().map_or(0, Vec::len);
        Section {
            finding: String::new(),
            limitations: String::new(),
            method: format!(
                "MLP {} on {} MNIST images, {} epochs, p ∈ {{0, 0.2, 0.5, 0.8}}, {seeds} seeds; training loss measured in eval mode after every epoch; epochs until it first falls below {THRESHOLD} (never = epochs + 1).",
                e.mlp, e.n, e.epochs
            ),
            key_number: format!("epochs to train loss {THRESHOLD}: {} (p=0.5 − p=0 = {})", e.means().iter().zip(&e.p).map(|(m, p)| format!("p={p}: {m:.1}")).collect::<Vec<_>>().join(", "), e.slower().fmt(1.0, 1)),
            tables: vec![Table::new("Convergence (mean ± 95% CI)", &["p", "epochs to loss 0.1", "final test acc %"], rows)],
            figures: vec![
                Figure { caption: "Training loss (eval mode) per epoch".into(), svg: lines(&Axes { title: "Training loss", x: "epoch", y: "cross-entropy", log_x: false, log_y: true }, &series(&|q| q.train_loss)) },
                Figure { caption: "Test accuracy per epoch".into(), svg: lines(&Axes { title: "Test accuracy", x: "epoch", y: "accuracy %", log_x: false, log_y: false }, &series(&|q| 100.0 * q.test_acc)) },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs whose train loss first reaches the threshold at `epochs_to[p][seed]`.
    fn evidence(epochs_to: [[usize; 3]; 3]) -> Evidence {
        let run = |k: usize| -> Vec<Point> {
            (1..=10)
                .map(|epoch| Point {
                    epoch,
                    train_loss: if epoch >= k { 0.05 } else { 1.0 },
                    ..Default::default()
                })
                .collect()
        };
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 10,
            p: vec![0.0, 0.5, 0.8],
            curves: epochs_to
                .iter()
                .map(|s| s.iter().map(|&k| run(k)).collect())
                .collect(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            Convergence::verdict(&evidence([[2, 2, 3], [4, 5, 5], [9, 11, 11]])),
            Verdict::Holds
        );
        // Slower at 0.5, but p = 0.8 converges fastest: not monotone.
        assert_eq!(
            Convergence::verdict(&evidence([[2, 2, 3], [4, 5, 5], [1, 1, 1]])),
            Verdict::HoldsPartly
        );
        // Monotone in the mean, but the p=0.5 − p=0 difference is noise.
        assert_eq!(
            Convergence::verdict(&evidence([[2, 3, 4], [5, 2, 3], [6, 6, 6]])),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Convergence::verdict(&evidence([[5, 5, 6], [2, 2, 3], [1, 1, 1]])),
            Verdict::DoesNotHold
        );
    }
}
