//! C11 — "Dropout works best in dense layers, not conv layers."
//!
//! Per data set, a CNN with a real dense head (two 3×3 conv blocks with 2×2
//! max pooling, then a wide dense hidden layer), trained long with cosine
//! learning-rate decay, in five arms by where dropout sits: none; the dense
//! head only; element-wise after each conv block; spatial (whole channels)
//! after each conv block; conv (element-wise) and dense together. Each
//! site's rate is tuned on validation accuracy (1,000 held-out training
//! images) from its grid; the test accuracy of the chosen rate is the
//! endpoint.
//!
//! ```text
//! primary:   D_k = acc(dense) − acc(k) for k ∈ {element-wise conv, spatial conv}, paired by seed
//!            one-sided t in both directions, Holm over the four tests, α = 0.05
//! tied:      TOST, margin 0.5 points
//! separate:  acc(spatial) − acc(element-wise), and acc(all) − acc(dense) (reported, not in the verdict)
//! ```
//! The verdict rule is [`Conv::RULE`].

use engine::layers::DropoutKind;
use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{image_run, test_accs, with_p};
use super::tune::{prefetch, tune, Tuned};
use super::Budget;
use crate::config::{Builtin, LrSchedule, RunConfig};
use crate::error::Result;
use crate::stats::{holm, paired, Est};

/// Equivalence margin: half a point.
pub const MARGIN: f64 = 0.005;

/// Validation images held out from the training file.
const VAL_SIZE: usize = 1_000;

/// C11.
pub struct Conv;

/// The arms, in this order.
pub const ARMS: [&str; 5] = [
    "no dropout",
    "dense head only",
    "element-wise in conv",
    "spatial in conv",
    "conv (element-wise) + dense",
];

/// C11 on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct DataEvidence {
    /// The data set.
    pub dataset: String,
    /// Rate tuning per arm (`None` for no dropout).
    pub tuned: Vec<Option<Tuned>>,
    /// Test accuracy of the chosen rate, arm × seed.
    pub test_acc: Vec<Vec<f64>>,
}

impl DataEvidence {
    /// D against element-wise and spatial conv.
    fn dense_minus(&self) -> [Est; 2] {
        [2, 3].map(|k| paired(&self.test_acc[1], &self.test_acc[k]))
    }

    /// Holm-adjusted one-sided p: [dense > element, dense > spatial, element > dense, spatial > dense].
    fn tests(&self) -> [f64; 4] {
        let [a, b] = self.dense_minus();
        let q = holm(&[
            a.p_one_sided(true),
            b.p_one_sided(true),
            a.p_one_sided(false),
            b.p_one_sided(false),
        ]);
        [q[0], q[1], q[2], q[3]]
    }

    fn verdict(&self) -> Verdict {
        let q = self.tests();
        let d = self.dense_minus();
        let beats = q[0] < 0.05 && q[1] < 0.05;
        let beaten = q[2] < 0.05 || q[3] < 0.05;
        let at_least_tied = (0..2).all(|k| q[k] < 0.05 || d[k].equivalent(MARGIN));
        if beaten {
            Verdict::DoesNotHold
        } else if beats {
            Verdict::Holds
        } else if at_least_tied || q[0] < 0.05 || q[1] < 0.05 {
            Verdict::HoldsPartly
        } else {
            Verdict::Inconclusive
        }
    }
}

/// What C11 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The CNN.
    pub arch: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Per data set.
    pub data: Vec<DataEvidence>,
}

/// Arm `k` at rate `p` (for arm 4, p is the dense rate and the conv rate is p/5).
fn arm(
    ds: Builtin,
    (arch, n, epochs): (&str, usize, usize),
    k: usize,
    p: f32,
    seed: u64,
) -> RunConfig {
    let dense = if matches!(k, 1 | 4) { p } else { 0.0 };
    let mut c = with_p(image_run(ds, arch, n, epochs, seed), dense);
    c.model.conv_dropout = match k {
        2 | 3 => p,
        4 => p / 5.0,
        _ => 0.0,
    };
    c.model.conv_dropout_kind = if k == 3 {
        DropoutKind::Spatial
    } else {
        DropoutKind::Element
    };
    c.data.val_size = VAL_SIZE;
    c.optim.lr = 0.05;
    c.optim.schedule = LrSchedule::Cosine;
    c
}

impl Claim for Conv {
    const ID: &'static str = "C11";
    const CLAIM: &'static str = "Dropout works best in dense layers, not in conv layers.";
    const RULE: &'static str = "Per data set, each site's rate chosen on validation; D = test acc(dense head only) − test acc(conv arm) for element-wise and spatial conv dropout, paired; one-sided t both ways, Holm over the four tests, α = 0.05. holds: dense beats both conv arms; does not hold: a conv arm beats dense; holds partly: dense beats one and the other is tied (TOST ±0.5 points) or not beaten, or both are tied; inconclusive: otherwise. Across data sets: the same verdict on each → that verdict; support on one → holds partly; else inconclusive.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (arch, n, epochs) = match lab.budget {
            Budget::Tiny => ("c2-p-c2-p-16-10", 200, 2),
            Budget::Quick => ("c4-p-c8-p-128-10", 1_000, 12),
            Budget::Default => ("c8-p-c16-p-256-10", 1_000, 50),
            Budget::Full => ("c16-p-c32-p-512-10", 5_000, 60),
        };
        // Rate grids per arm: dense rates; conv rates (arm 4 uses dense p, conv p/5).
        let (dense, conv): (Vec<f32>, Vec<f32>) = match lab.budget {
            Budget::Full => (vec![0.3, 0.5], vec![0.05, 0.1, 0.2]),
            _ => (vec![0.5], vec![0.1]),
        };
        let grids = [vec![0.0], dense.clone(), conv.clone(), conv, dense];
        let units: usize = grids.iter().map(Vec::len).sum::<usize>() * lab.seeds.len();
        lab.begin(Self::ID, units * lab.datasets.len());
        for &ds in &lab.datasets {
            for (k, grid) in grids.iter().enumerate() {
                prefetch(lab, grid, 0, |p, s| arm(ds, (arch, n, epochs), k, p, s))?;
            }
        }
        let mut data = Vec::new();
        for &ds in &lab.datasets {
            let (mut tuned, mut test_acc) = (Vec::new(), Vec::new());
            for (k, grid) in grids.iter().enumerate() {
                let what = format!("{} {}", ds.name(), ARMS[k]);
                let t = tune(lab, &what, grid, 0, |p, s| {
                    arm(ds, (arch, n, epochs), k, p, s)
                })?;
                let outs =
                    lab.per_seed(&what, 0, |s| arm(ds, (arch, n, epochs), k, t.chosen, s))?;
                test_acc.push(test_accs(&outs));
                tuned.push((k > 0).then_some(t));
            }
            data.push(DataEvidence {
                dataset: ds.name().into(),
                tuned,
                test_acc,
            });
        }
        Ok(Evidence {
            arch: arch.into(),
            n,
            epochs,
            data,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::combine(&e.data.iter().map(DataEvidence::verdict).collect::<Vec<_>>())
    }

    fn render(e: &Evidence) -> Section {
        let mut rows = Vec::new();
        let mut finding = Vec::new();
        let mut keys = Vec::new();
        for d in &e.data {
            for (k, name) in ARMS.iter().enumerate() {
                rows.push(vec![
                    d.dataset.clone(),
                    name.to_string(),
                    d.tuned[k].as_ref().map_or("—".into(), Tuned::describe),
                    Est::of(&d.test_acc[k]).fmt(100.0, 2),
                    if k == 1 {
                        "—".into()
                    } else {
                        paired(&d.test_acc[1], &d.test_acc[k]).fmt(100.0, 2)
                    },
                ]);
            }
            let [a, b] = d.dense_minus();
            let q = d.tests();
            let sp = paired(&d.test_acc[3], &d.test_acc[2]);
            let all = paired(&d.test_acc[4], &d.test_acc[1]);
            let none = paired(&d.test_acc[1], &d.test_acc[0]);
            finding.push(format!(
                "On {}, dropout in the dense head changed test accuracy by {} points against no dropout; against element-wise conv dropout by {} (Holm p {:.3} for dense better, {:.3} for conv better) and against spatial conv dropout by {} ({:.3}, {:.3}). Spatial minus element-wise: {} points ({}); adding conv dropout to the dense head: {} points.",
                d.dataset, none.fmt(100.0, 2), a.fmt(100.0, 2), q[0], q[2], b.fmt(100.0, 2), q[1], q[3],
                sp.fmt(100.0, 2), if sp.equivalent(MARGIN) { "tied within ±0.5" } else { "not shown tied" }, all.fmt(100.0, 2)
            ));
            keys.push(format!(
                "{}: dense − element conv {} pts, dense − spatial conv {} pts",
                d.dataset,
                a.fmt(100.0, 2),
                b.fmt(100.0, 2)
            ));
        }
        let seeds = e
            .data
            .first()
            .and_then(|d| d.test_acc.first())
            .map_or(0, Vec::len);
        Section {
            finding: finding.join(" "),
            limitations: "A small CNN on 2 cores: the conv layers have few channels, so conv dropout removes a large share of a thin representation; at the default budget each site has one rate (dense 0.5, conv 0.1) — `--full` tunes them. One learning rate (0.05, cosine decay) for every arm.".into(),
            method: format!("CNN {} (3×3 convs with padding 1, 2×2 max pool, a dense hidden layer), {} training images plus {VAL_SIZE} validation images of each data set, {} epochs with cosine decay from lr 0.05 (SGD, momentum 0.9, batch 128); {seeds} seeds, paired. Conv dropout sits after each conv block's activation, element-wise or whole channels (spatial); the 'conv + dense' arm uses the dense rate and a fifth of it in the convs. Each arm's rate is chosen on validation accuracy; the test accuracy of that rate is reported.", e.arch, e.n, e.epochs),
            key_number: keys.join("; "),
            tables: vec![Table::new("Test accuracy % (mean ± 95% CI) by dropout site; rates tried (validation acc %, * = chosen)", &["data", "arm", "rates (val acc)", "test acc", "dense head − this arm"], rows)],
            figures: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arms' mean accuracies: none, dense, element-wise, spatial, all.
    fn data(means: [f64; 5], spread: f64) -> DataEvidence {
        let v = |m: f64, k: usize| {
            let j = [0.0, 1.0, -1.0, 2.0, -2.0];
            (0..5).map(|i| m + spread * j[(i + k) % 5]).collect()
        };
        DataEvidence {
            dataset: "D".into(),
            tuned: vec![None; 5],
            test_acc: means.iter().enumerate().map(|(k, &m)| v(m, k)).collect(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |d: DataEvidence| {
            Conv::verdict(&Evidence {
                arch: "c".into(),
                n: 1,
                epochs: 1,
                data: vec![d],
            })
        };
        assert_eq!(
            v(data([0.90, 0.93, 0.91, 0.91, 0.92], 0.001)),
            Verdict::Holds
        );
        assert_eq!(
            v(data([0.90, 0.93, 0.93, 0.91, 0.92], 0.001)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            v(data([0.90, 0.91, 0.95, 0.91, 0.92], 0.001)),
            Verdict::DoesNotHold
        );
        assert_eq!(
            v(data([0.90, 0.91, 0.91, 0.91, 0.92], 0.02)),
            Verdict::Inconclusive
        );
    }
}
