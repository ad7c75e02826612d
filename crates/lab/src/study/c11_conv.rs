//! C11 — "Dropout works best in dense layers, not conv layers."
//!
//! A small CNN (two 3×3 conv blocks with 2×2 max pooling, a dense head):
//! no dropout; element-wise dropout after each conv block; spatial (channel)
//! dropout after each conv block; dropout in the dense head only.
//! Δ = acc(dense head only) − acc(other arm), paired by seed.
//!
//! The verdict rule is [`Conv::RULE`].

use engine::layers::DropoutKind;
use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::{image_run, test_accs, with_p, Lab};
use super::stats::{paired, Est};
use super::Budget;
use crate::error::Result;

/// C11.
pub struct Conv;

/// The arms, in this order.
const ARMS: [&str; 4] = [
    "no dropout",
    "element-wise dropout in conv",
    "spatial dropout in conv",
    "dropout in dense head only",
];
const DENSE: usize = 3;

/// What C11 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The CNN.
    pub arch: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Conv dropout rate.
    pub conv_p: f32,
    /// Test accuracy, arm (see `ARMS`) × seed.
    pub test_acc: Vec<Vec<f64>>,
}

impl Evidence {
    /// Δ against element-wise, spatial, none.
    fn dense_minus(&self) -> [Est; 3] {
        [1, 2, 0].map(|o| paired(&self.test_acc[DENSE], &self.test_acc[o]))
    }
}

impl Claim for Conv {
    const ID: &'static str = "C11";
    const CLAIM: &'static str = "Dropout works best in dense layers, not in conv layers.";
    const RULE: &'static str = "Δ = acc(dense head only) − acc(other), paired. holds: Δ vs both conv variants not significantly < 0, and some Δ (vs a conv variant or no dropout) with CI above 0; holds partly: not significantly worse, no significant win; does not hold: a conv variant significantly better.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (arch, n, epochs, conv_p) = match lab.budget {
            Budget::Tiny => ("c2-p-c2-p-8-10", 200, 1, 0.1),
            Budget::Quick => ("c4-p-c8-p-32-10", 1000, 3, 0.1),
            Budget::Default => ("c8-p-c16-p-64-10", 3000, 6, 0.1),
            Budget::Full => ("c16-p-c32-p-128-10", 10_000, 10, 0.1),
        };
        let arms: [(f32, f32, DropoutKind); 4] = [
            (0.0, 0.0, DropoutKind::Element),
            (0.0, conv_p, DropoutKind::Element),
            (0.0, conv_p, DropoutKind::Spatial),
            (0.5, 0.0, DropoutKind::Element),
        ];
        lab.begin(Self::ID, arms.len() * lab.seeds.len());
        let mut test_acc = Vec::new();
        for (name, &(p, cp, kind)) in ARMS.iter().zip(&arms) {
            let outs = lab.per_seed(name, 0, |s| {
                let mut c = with_p(image_run(lab.primary(), arch, n, epochs, s), p);
                c.model.conv_dropout = cp;
                c.model.conv_dropout_kind = kind;
                c.optim.lr = 0.02;
                c
            })?;
            test_acc.push(test_accs(&outs));
        }
        Ok(Evidence {
            arch: arch.into(),
            n,
            epochs,
            conv_p,
            test_acc,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let vs = e.dense_minus();
        let not_worse = !vs[0].below_zero() && !vs[1].below_zero();
        let wins = vs.iter().any(Est::above_zero);
        match (not_worse, wins) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::HoldsPartly,
            _ => Verdict::DoesNotHold,
        }
    }

    fn render(e: &Evidence) -> Section {
        let vs = e.dense_minus();
        let rows = ARMS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                vec![
                    name.to_string(),
                    Est::of(&e.test_acc[i]).fmt(100.0, 2),
                    if i == DENSE {
                        "—".into()
                    } else {
                        paired(&e.test_acc[DENSE], &e.test_acc[i]).fmt(100.0, 2)
                    },
                ]
            })
            .collect();
        let seeds = e.test_acc.first().map_or(0, Vec::len);
        Section {
            finding: String::new(),
            limitations: String::new(),
            method: format!("CNN {} (3×3 convs, padding 1, 2×2 max pool), {} MNIST images, {} epochs, SGD lr 0.02; conv dropout p = {} (element-wise or whole channels), dense-head dropout p = 0.5; {seeds} seeds.", e.arch, e.n, e.epochs, e.conv_p),
            key_number: format!("dense-only − element-wise conv = {} pts, − spatial conv = {} pts, − none = {} pts", vs[0].fmt(100.0, 2), vs[1].fmt(100.0, 2), vs[2].fmt(100.0, 2)),
            tables: vec![Table::new("Test accuracy % (mean ± 95% CI)", &["setting", "test acc", "dense-only advantage"], rows)],
            figures: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::stats::around;

    /// Arms' mean accuracies: none, element-wise, spatial, dense.
    fn evidence(means: [f64; 4]) -> Evidence {
        Evidence {
            arch: "c".into(),
            n: 1,
            epochs: 1,
            conv_p: 0.1,
            test_acc: means.iter().map(|&m| around(m)).collect(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            Conv::verdict(&evidence([0.90, 0.91, 0.91, 0.93])),
            Verdict::Holds
        );
        let mut tie = evidence([0.90, 0.91, 0.91, 0.91]);
        tie.test_acc[DENSE] = vec![0.912, 0.908, 0.91];
        tie.test_acc[0] = vec![0.911, 0.909, 0.91];
        assert_eq!(Conv::verdict(&tie), Verdict::HoldsPartly);
        assert_eq!(
            Conv::verdict(&evidence([0.90, 0.95, 0.91, 0.93])),
            Verdict::DoesNotHold
        );
    }
}
