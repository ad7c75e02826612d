//! C8 — "Dropout can hurt small models or low-noise data."
//!
//! Hidden width w ∈ {16, 32, 64, 256, 1024} (two hidden layers) × p ∈ {0, 0.5}
//! on clean data. Δacc(w) = test acc(p=0.5) − test acc(p=0), paired by seed;
//! dropout "hurts" at w when the CI of Δacc lies below 0.
//!
//! The verdict rule is [`SmallModels::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{image_run, test_accs, with_p, Lab};
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use super::Budget;
use crate::error::Result;

/// C8.
pub struct SmallModels;

/// What C8 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Hidden widths, ascending.
    pub widths: Vec<usize>,
    /// Test accuracy at p = 0, width × seed.
    pub acc_p0: Vec<Vec<f64>>,
    /// Test accuracy at p = 0.5, width × seed.
    pub acc_p05: Vec<Vec<f64>>,
}

impl Evidence {
    fn deltas(&self) -> Vec<Est> {
        self.acc_p05
            .iter()
            .zip(&self.acc_p0)
            .map(|(a, b)| paired(a, b))
            .collect()
    }
    fn hurts(&self) -> Vec<bool> {
        self.deltas().iter().map(Est::below_zero).collect()
    }
}

impl Claim for SmallModels {
    const ID: &'static str = "C8";
    const CLAIM: &'static str = "Dropout can hurt small models or low-noise data.";
    const RULE: &'static str = "hurts at w: CI of Δacc (p=0.5 − p=0) below 0. holds: hurts at the smallest w and only below some width; holds partly: hurts somewhere; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let widths: Vec<usize> = match lab.budget {
            Budget::Tiny => vec![4, 16],
            Budget::Quick => vec![16, 64, 256],
            _ => vec![16, 32, 64, 256, 1024],
        };
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        lab.begin(Self::ID, widths.len() * 2 * lab.seeds.len());
        let (mut acc_p0, mut acc_p05) = (Vec::new(), Vec::new());
        for &w in &widths {
            let arch = format!("784-{w}-{w}-10");
            let base = |s: u64| image_run(lab.primary(), &arch, n, epochs, s);
            acc_p0.push(test_accs(&lab.per_seed(&format!("w={w} p=0"), 0, base)?));
            acc_p05.push(test_accs(&lab.per_seed(
                &format!("w={w} p=0.5"),
                0,
                |s| with_p(base(s), 0.5),
            )?));
        }
        Ok(Evidence {
            n,
            epochs,
            widths,
            acc_p0,
            acc_p05,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let hurts = e.hurts();
        let first_ok = hurts.iter().position(|h| !h).unwrap_or(hurts.len());
        let threshold = hurts[first_ok..].iter().all(|h| !h);
        if hurts.first() == Some(&true) && threshold {
            Verdict::Holds
        } else if hurts.iter().any(|&h| h) {
            Verdict::HoldsPartly
        } else {
            Verdict::DoesNotHold
        }
    }

    fn render(e: &Evidence) -> Section {
        let (deltas, hurts) = (e.deltas(), e.hurts());
        let first_ok = hurts.iter().position(|h| !h).unwrap_or(hurts.len());
        let below = if first_ok == 0 {
            "none".to_string()
        } else {
            format!("w ≤ {}", e.widths[first_ok - 1])
        };
        let rows = e
            .widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                vec![
                    w.to_string(),
                    Est::of(&e.acc_p0[i]).fmt(100.0, 2),
                    Est::of(&e.acc_p05[i]).fmt(100.0, 2),
                    deltas[i].fmt(100.0, 2),
                    if hurts[i] { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        let series = Series {
            name: "Δacc".into(),
            points: e
                .widths
                .iter()
                .zip(&deltas)
                .map(|(&w, d)| (w as f64, 100.0 * d.mean, 100.0 * d.ci))
                .collect(),
        };
        let seeds = e.acc_p0.first().map_or(0, Vec::len);
        Section {
            finding: String::new(),
            limitations: String::new(),
            method: format!("MLPs 784-w-w-10, w ∈ {:?}, on {} clean MNIST images, {} epochs, p = 0 vs 0.5, {seeds} seeds, paired.", e.widths, e.n, e.epochs),
            key_number: format!("dropout lowers test accuracy at {below}; Δacc at w={}: {} pts", e.widths[0], deltas[0].fmt(100.0, 2)),
            tables: vec![Table::new("Test accuracy % by width (mean ± 95% CI)", &["width", "p=0", "p=0.5", "Δacc", "hurts"], rows)],
            figures: vec![Figure { caption: "Δ test accuracy (p=0.5 − p=0) against hidden width".into(), svg: lines(&Axes { title: "Dropout gain by width", x: "hidden width", y: "Δ test acc (pts)", log_x: true, log_y: false }, &[series]) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hurt[i]`: whether dropout costs clearly at width i.
    fn evidence(hurt: [bool; 3]) -> Evidence {
        let p0 = vec![0.9, 0.91, 0.92];
        let p05 = |h: bool| {
            if h {
                vec![0.8, 0.805, 0.81]
            } else {
                vec![0.91, 0.9, 0.92]
            }
        };
        Evidence {
            n: 1,
            epochs: 1,
            widths: vec![16, 64, 256],
            acc_p0: vec![p0; 3],
            acc_p05: hurt.map(p05).to_vec(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            SmallModels::verdict(&evidence([true, true, false])),
            Verdict::Holds
        );
        assert_eq!(
            SmallModels::verdict(&evidence([true, false, true])),
            Verdict::HoldsPartly
        );
        assert_eq!(
            SmallModels::verdict(&evidence([false, true, false])),
            Verdict::HoldsPartly
        );
        assert_eq!(
            SmallModels::verdict(&evidence([false, false, false])),
            Verdict::DoesNotHold
        );
    }
}
