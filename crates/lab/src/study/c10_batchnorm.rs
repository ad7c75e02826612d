//! C10 — "Dropout clashes with BatchNorm" (Li et al., CVPR 2019: the
//! "variance shift").
//!
//! Per net (MLPs of several widths with BatchNorm in each hidden block, and a
//! small CNN with BatchNorm after each conv and in the dense block), four
//! arms that differ in one thing at a time — the same dropout (p = 0.5, in
//! the last hidden dense block only) placed before or after that block's BN:
//!
//! ```text
//! (0) BN, no dropout
//! (1) dropout before BN:  Dense → dropout → BN → ReLU      (BN learns statistics under dropout)
//! (2) dropout after BN:   Dense → BN → ReLU → dropout      (no BN after it)
//! (3) = (1) with its BN statistics recomputed without dropout (bn_probe::recalibrate; no weight changes)
//! A  placement hurts:    acc(2) − acc(1) > 0
//! S  variance shift:     shift(1) − shift(0) > 0   (shift = running var / actual test-time var at that BN)
//! R  causal recovery:    acc(3) − acc(1) > 0
//! one-sided paired t over seeds, Holm over every test of every net, α = 0.05;
//! "placement makes no difference": acc(2) − acc(1) within ±0.5 points (TOST)
//! ```
//! Li et al. report the shift shrinks as width grows; the MLP widths show it.
//! The verdict rule is [`BatchNormClash::RULE`].

use engine::spec::{DropPlace, Norm};
use serde::Serialize;

use super::bn_probe::{recalibrate, variance_shift};
use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{image_run, with_p};
use super::Budget;
use crate::config::RunConfig;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};
use crate::train::evaluate;

/// Equivalence margin for "placement makes no difference": half a point.
pub const MARGIN: f64 = 0.005;

/// The arms, in order.
pub const ARMS: [&str; 4] = [
    "BN, no dropout",
    "dropout before BN",
    "dropout after BN",
    "dropout before BN, statistics recomputed",
];

/// C10.
pub struct BatchNormClash;

/// One net's arms.
#[derive(Clone, Debug, Serialize)]
pub struct Net {
    /// The architecture.
    pub arch: String,
    /// Hidden width for the MLPs (None for the CNN).
    pub width: Option<usize>,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Test accuracy, arm × seed.
    pub acc: Vec<Vec<f64>>,
    /// Variance shift at the last BN, arm × seed.
    pub shift: Vec<Vec<f64>>,
}

impl Net {
    /// (A, S, R) effects.
    fn effects(&self) -> [Est; 3] {
        [
            paired(&self.acc[2], &self.acc[1]),
            paired(&self.shift[1], &self.shift[0]),
            paired(&self.acc[3], &self.acc[1]),
        ]
    }
}

/// What C10 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The nets: MLPs by width, then the CNN.
    pub nets: Vec<Net>,
}

impl Evidence {
    /// Holm-adjusted one-sided p of (A, S, R) per net.
    fn tests(&self) -> Vec<[f64; 3]> {
        let raw: Vec<f64> = self
            .nets
            .iter()
            .flat_map(|n| n.effects().map(|e| e.p_one_sided(true)))
            .collect();
        holm(&raw).chunks(3).map(|c| [c[0], c[1], c[2]]).collect()
    }
}

/// Train arms 0–2 of one net and derive arm 3; ticks once per seed and arm.
/// Arm `k` (see [`ARMS`]) of the net `base` with `seed`.
fn arm(base: &RunConfig, k: usize, seed: u64) -> RunConfig {
    let mut c = with_p(base.clone(), if k == 0 { 0.0 } else { 0.5 });
    c.seed = seed;
    c.model.norm = Norm::Batch;
    c.model.dropout_last_only = true;
    c.model.dropout_where = if k == 1 {
        DropPlace::BeforeNorm
    } else {
        DropPlace::AfterAct
    };
    c
}

fn net(lab: &Lab, base: &RunConfig, width: Option<usize>) -> Result<Net> {
    let arm = |k: usize, seed: u64| arm(base, k, seed);
    let mut acc = vec![Vec::new(); 4];
    let mut shift = vec![Vec::new(); 4];
    for &seed in &lab.seeds {
        for k in 0..3 {
            let (out, mut model, splits) = lab.trained(&arm(k, seed))?;
            acc[k].push(out.last().test_acc);
            shift[k].push(variance_shift(&mut model, &splits.test, 2_000));
            if k == 1 {
                recalibrate(&mut model, &splits.train, 5_000);
                acc[3].push(evaluate(&mut model, &splits.test, 500)?.acc);
                shift[3].push(variance_shift(&mut model, &splits.test, 2_000));
            }
            lab.tick(&format!("{} {}", base.model.arch, ARMS[k]));
        }
    }
    Ok(Net {
        arch: base.model.arch.clone(),
        width,
        n: base.data.train_size.unwrap_or(60_000),
        epochs: base.epochs,
        acc,
        shift,
    })
}

impl Claim for BatchNormClash {
    const ID: &'static str = "C10";
    const CLAIM: &'static str = "Dropout clashes with BatchNorm (variance shift).";
    const RULE: &'static str = "Per net, the same dropout (p = 0.5, last hidden block) before vs after BatchNorm: A = acc(after) − acc(before) > 0; S = variance shift(before) − shift(no dropout) > 0; R = acc(before, BN statistics recomputed without dropout) − acc(before) > 0 (the causal test). One-sided paired t, Holm over all tests of all nets, α = 0.05. holds: A, S and R on every net; holds partly: A or S on some net; does not hold: neither anywhere and acc(after) − acc(before) equivalent to 0 within ±0.5 points (TOST) on every net; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        let widths: &[usize] = match lab.budget {
            Budget::Tiny => &[16],
            Budget::Quick => &[64, 256],
            Budget::Default => &[64, 256, 512],
            Budget::Full => &[64, 256, 1024, 2048],
        };
        let (cnn_arch, cn, updates) = match lab.budget {
            Budget::Tiny => ("c2-p-c2-p-8-10", 200, 4),
            Budget::Quick => ("c4-p-c8-p-32-10", 1000, 150),
            Budget::Default => ("c8-p-c16-p-64-10", 3000, 600),
            Budget::Full => ("c16-p-c32-p-128-10", 10_000, 2_000),
        };
        lab.begin(Self::ID, (widths.len() + 1) * 3 * lab.seeds.len());
        let mut bases: Vec<_> = widths
            .iter()
            .map(|&w| {
                let mlp = image_run(lab.primary(), &format!("784-{w}-{w}-10"), n, epochs, 0);
                (mlp, Some(w))
            })
            .collect();
        let mut cnn = image_run(
            lab.primary(),
            cnn_arch,
            cn,
            Lab::epochs_for_updates(cn, updates),
            0,
        );
        cnn.optim.lr = 0.02;
        bases.push((cnn, None));
        let all: Vec<_> = bases
            .iter()
            .flat_map(|(b, _)| {
                (0..3).flat_map(move |k| lab.seeds.iter().map(move |&s| arm(b, k, s)))
            })
            .collect();
        lab.will_load(&all)?;
        let mut nets = Vec::new();
        for (base, w) in &bases {
            nets.push(net(lab, base, *w)?);
        }
        Ok(Evidence { nets })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let q = e.tests();
        if q.is_empty() {
            return Verdict::Inconclusive;
        }
        if q.iter().all(|t| t.iter().all(|&p| p < 0.05)) {
            Verdict::Holds
        } else if q.iter().any(|t| t[0] < 0.05 || t[1] < 0.05) {
            Verdict::HoldsPartly
        } else if e.nets.iter().all(|n| n.effects()[0].equivalent(MARGIN)) {
            Verdict::DoesNotHold
        } else {
            Verdict::Inconclusive
        }
    }

    fn render(e: &Evidence) -> Section {
        let q = e.tests();
        let mut rows = Vec::new();
        for (net, q) in e.nets.iter().zip(&q) {
            for (k, name) in ARMS.iter().enumerate() {
                rows.push(vec![
                    net.arch.clone(),
                    name.to_string(),
                    Est::of(&net.acc[k]).fmt(100.0, 2),
                    Est::of(&net.shift[k]).fmt(1.0, 3),
                ]);
            }
            let [a, s, r] = net.effects();
            rows.push(vec![
                net.arch.clone(),
                "effects (Holm p)".into(),
                format!(
                    "A {} ({:.3}); R {} ({:.3})",
                    a.fmt(100.0, 2),
                    q[0],
                    r.fmt(100.0, 2),
                    q[2]
                ),
                format!("S {} ({:.3})", s.fmt(1.0, 3), q[1]),
            ]);
        }
        let mlps: Vec<&Net> = e.nets.iter().filter(|n| n.width.is_some()).collect();
        let series = |k: usize, name: &str| Series {
            name: name.into(),
            points: mlps
                .iter()
                .map(|n| {
                    (
                        n.width.unwrap_or(1) as f64,
                        Est::of(&n.shift[k]).mean,
                        Est::of(&n.shift[k]).ci,
                    )
                })
                .collect(),
        };
        let finding = e.nets.iter().map(|n| {
            let [a, s, r] = n.effects();
            format!("{}: moving dropout after BN changed accuracy by {:+.2} points, the shift rose by {:+.3} with dropout before BN, and recomputing BN's statistics changed accuracy by {:+.2} points", n.arch, 100.0 * a.mean, s.mean, 100.0 * r.mean)
        }).collect::<Vec<_>>().join("; ");
        let seeds = e.nets.first().map_or(0, |n| n.acc[0].len());
        Section {
            finding: format!("On MNIST — {finding}."),
            limitations: "One dropout rate (0.5) and one site (the last hidden block); the learning rate is the same for every arm; the CNN is small and trained for few updates on the 2-core budget.".into(),
            method: format!("MLPs 784-w-w-10 (w ∈ {:?}, BatchNorm in each hidden block, {} images, {} epochs, SGD lr 0.05) and the CNN {} (BatchNorm after each conv and in the dense block, {} images, {} epochs, SGD lr 0.02); {seeds} seeds. Dropout p = 0.5 in the last hidden dense block only, before or after its BN (nothing else differs). Variance shift = mean over units of BN's running variance / the variance of the same BN input on 2,000 test images without dropout, at the last BN. Recomputed statistics: each BN's running mean and variance set to its input's moments on 5,000 training images passed without dropout, BN by BN.", mlps.iter().filter_map(|n| n.width).collect::<Vec<_>>(), mlps.first().map_or(0, |n| n.n), mlps.first().map_or(0, |n| n.epochs), e.nets.last().map_or("", |n| &n.arch), e.nets.last().map_or(0, |n| n.n), e.nets.last().map_or(0, |n| n.epochs)),
            key_number: e.nets.iter().zip(&q).map(|(n, q)| {
                let [a, s, r] = n.effects();
                format!("{}: A {:+.2} pts (p {:.3}), S {:+.3} (p {:.3}), R {:+.2} pts (p {:.3})", n.arch, 100.0 * a.mean, q[0], s.mean, q[1], 100.0 * r.mean, q[2])
            }).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new("Test accuracy % and variance shift at the last BN (mean ± 95% CI)", &["net", "arm", "test acc %", "variance shift"], rows)],
            figures: vec![Figure {
                caption: "Variance shift at the last BN against MLP width (1 = none)".into(),
                svg: lines(&Axes { title: "Variance shift vs width", x: "hidden width", y: "running var / test var", log_x: true, log_y: false }, &[series(0, ARMS[0]), series(1, ARMS[1]), series(2, ARMS[2])]),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{five, five_shuffled};

    /// A net where placing dropout before BN costs `a`, shifts the variance by `s`
    /// and recomputing BN statistics recovers `r` (5 seeds, small spread).
    fn net(a: f64, s: f64, r: f64, spread: f64) -> Net {
        let v = |m: f64| five(m, spread);
        let w = |m: f64| five_shuffled(m, spread);
        Net {
            arch: "a".into(),
            width: Some(8),
            n: 1,
            epochs: 1,
            acc: vec![v(0.9), v(0.9 - a), w(0.9), w(0.9 - a + r)],
            shift: vec![v(1.0), w(1.0 + s), v(1.0), v(1.0)],
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |nets: Vec<Net>| BatchNormClash::verdict(&Evidence { nets });
        assert_eq!(v(vec![net(0.05, 0.5, 0.05, 0.001); 2]), Verdict::Holds);
        // Clash and shift, but recomputing the statistics does not help.
        assert_eq!(v(vec![net(0.05, 0.5, 0.0, 0.001); 2]), Verdict::HoldsPartly);
        assert_eq!(v(vec![net(0.0, 0.0, 0.0, 0.001); 2]), Verdict::DoesNotHold);
        assert_eq!(v(vec![net(0.0, 0.0, 0.0, 0.05); 2]), Verdict::Inconclusive);
    }
}
