//! C9 — "p is usually 0.3–0.5."
//!
//! Sweep p ∈ {0, 0.1, …, 0.8} at one setting (the budget's MLP, base subset).
//! The best p has the highest mean test accuracy; p is *tied* with it when the
//! paired CI of (acc(best) − acc(p)) includes 0.
//!
//! The verdict rule is [`Rate::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{test_accs, Lab};
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use crate::error::Result;

/// C9.
pub struct Rate;

/// What C9 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Dropout rates swept.
    pub p: Vec<f32>,
    /// Test accuracy, p × seed.
    pub test_acc: Vec<Vec<f64>>,
}

impl Evidence {
    fn best(&self) -> usize {
        (0..self.p.len())
            .max_by(|&a, &b| {
                Est::of(&self.test_acc[a])
                    .mean
                    .total_cmp(&Est::of(&self.test_acc[b]).mean)
            })
            .unwrap_or(0)
    }
    fn tied(&self) -> Vec<f32> {
        let best = self.best();
        (0..self.p.len())
            .filter(|&i| i == best || !paired(&self.test_acc[best], &self.test_acc[i]).above_zero())
            .map(|i| self.p[i])
            .collect()
    }
}

fn in_band(p: f32) -> bool {
    (0.3 - 1e-6..=0.5 + 1e-6).contains(&p)
}

impl Claim for Rate {
    const ID: &'static str = "C9";
    const CLAIM: &'static str = "The dropout rate p is usually best around 0.3–0.5.";
    const RULE: &'static str = "best p = highest mean test accuracy; tied = paired CI of acc(best) − acc(p) includes 0. holds: best p ∈ [0.3, 0.5]; holds partly: tied set meets [0.3, 0.5]; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ps: Vec<f32> = (0..=8).map(|i| i as f32 / 10.0).collect();
        lab.begin(Self::ID, ps.len() * lab.seeds.len());
        let test_acc = ps
            .iter()
            .map(|&p| {
                lab.per_seed(&format!("p={p}"), 0, |s| lab.base_run(p, s))
                    .map(|o| test_accs(&o))
            })
            .collect::<Result<_>>()?;
        let n = lab.base_size();
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs: lab.epochs_for(n),
            p: ps,
            test_acc,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        if in_band(e.p[e.best()]) {
            Verdict::Holds
        } else if e.tied().into_iter().any(in_band) {
            Verdict::HoldsPartly
        } else {
            Verdict::DoesNotHold
        }
    }

    fn render(e: &Evidence) -> Section {
        let (best, tied) = (e.best(), e.tied());
        let ests: Vec<Est> = e.test_acc.iter().map(|a| Est::of(a)).collect();
        let rows =
            e.p.iter()
                .zip(&ests)
                .map(|(p, m)| {
                    vec![
                        format!("{p:.1}"),
                        m.fmt(100.0, 2),
                        if tied.contains(p) {
                            "tied with best"
                        } else {
                            ""
                        }
                        .into(),
                    ]
                })
                .collect();
        let series = Series {
            name: "test acc".into(),
            points: e
                .p
                .iter()
                .zip(&ests)
                .map(|(&p, m)| (f64::from(p), 100.0 * m.mean, 100.0 * m.ci))
                .collect(),
        };
        let seeds = e.test_acc.first().map_or(0, Vec::len);
        Section {
            method: format!("MLP {} on {} MNIST images, {} epochs, hidden dropout p ∈ {{0, 0.1, …, 0.8}}, {seeds} seeds.", e.mlp, e.n, e.epochs),
            key_number: format!("best p = {:.1} ({} %); tied: {:?}", e.p[best], ests[best].fmt(100.0, 2), tied),
            tables: vec![Table::new("Test accuracy % by p (mean ± 95% CI)", &["p", "test acc", ""], rows)],
            figures: vec![Figure { caption: "Test accuracy against dropout rate".into(), svg: lines(&Axes { title: "Test accuracy vs p", x: "p", y: "test accuracy %", log_x: false, log_y: false }, &[series]) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::stats::around;

    fn evidence(means: [f64; 4]) -> Evidence {
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 1,
            p: vec![0.0, 0.2, 0.4, 0.6],
            test_acc: means.iter().map(|&m| around(m)).collect(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            Rate::verdict(&evidence([0.90, 0.92, 0.95, 0.93])),
            Verdict::Holds
        );
        // Best at 0.6, but 0.4 is tied with it (same seeds' noise cancels only when equal).
        let mut tied = evidence([0.90, 0.92, 0.949, 0.95]);
        tied.test_acc[2] = vec![0.951, 0.948, 0.948];
        assert_eq!(Rate::verdict(&tied), Verdict::HoldsPartly);
        assert_eq!(
            Rate::verdict(&evidence([0.90, 0.92, 0.93, 0.95])),
            Verdict::DoesNotHold
        );
    }
}
