//! C13 — "In architectures that already normalise (BatchNorm CNNs,
//! LayerNorm nets), dropout offers little benefit or may hurt."
//!
//! Per data set and training-set size, three nets with and without hidden
//! dropout (p = 0.5 after the activation of each dense hidden block, so it
//! never feeds a BatchNorm — that clash is C10's question):
//! a CNN with BatchNorm after every conv and dense layer, an MLP with
//! LayerNorm in every hidden block, and the same MLP without normalisation
//! as the reference. Every run takes the same number of updates; each arm's
//! learning rate is tuned on validation accuracy (1,000 held-out training
//! images) at the smallest size.
//!
//! ```text
//! primary endpoint (declared before any number):
//!   Δacc(net, n) = test acc(p=0.5) − test acc(p=0), paired by seed, normalised nets only
//! little or harmful in a cell:  the 95 % CI of Δacc ends below +MARGIN (0.5 points)
//! clear benefit in a cell:      one-sided paired t of Δacc > MARGIN, Holm over the normalised cells, α = 0.05
//! secondary (reported):         Δacc of the unnormalised MLP; Δacc(LayerNorm MLP) − Δacc(plain MLP)
//! ```
//! The verdict rule is [`Normalised::RULE`].

use engine::spec::Norm;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{test_accs, updates_run};
use super::tune::{prefetch, tune, Tuned};
use super::Budget;
use crate::config::{Builtin, RunConfig};
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};

/// "Little": the CI of Δacc ends below this; "clear benefit": Δacc above it (0.5 points).
pub const MARGIN: f64 = 0.005;

/// Validation images held out from the training file in every C13 run.
const VAL_SIZE: usize = 1_000;

/// C13.
pub struct Normalised;

/// One net on one data set: per size, per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Net {
    /// "BatchNorm CNN", "LayerNorm MLP" or "plain MLP (reference)".
    pub name: String,
    /// Architecture.
    pub arch: String,
    /// Whether the net normalises (the claim is about these).
    pub normalised: bool,
    /// Learning-rate tuning, p = 0.
    pub lr_p0: Tuned,
    /// Learning-rate tuning, p = 0.5.
    pub lr_p05: Tuned,
    /// Test accuracy at p = 0, size × seed.
    pub acc_p0: Vec<Vec<f64>>,
    /// Test accuracy at p = 0.5, size × seed.
    pub acc_p05: Vec<Vec<f64>>,
}

impl Net {
    fn gain(&self, i: usize) -> Est {
        paired(&self.acc_p05[i], &self.acc_p0[i])
    }
}

/// C13 on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct DataEvidence {
    /// The data set.
    pub dataset: String,
    /// The nets.
    pub nets: Vec<Net>,
}

impl DataEvidence {
    /// (net, size index, Δacc) of the normalised nets' cells.
    fn cells(&self) -> Vec<(&Net, usize, Est)> {
        self.nets
            .iter()
            .filter(|n| n.normalised)
            .flat_map(|n| (0..n.acc_p0.len()).map(move |i| (n, i, n.gain(i))))
            .collect()
    }

    /// Holm-adjusted one-sided p of Δacc > MARGIN, per normalised cell.
    fn benefit_q(&self) -> Vec<f64> {
        let raw: Vec<f64> = self
            .cells()
            .iter()
            .map(|(_, _, g)| {
                Est {
                    mean: g.mean - MARGIN,
                    ..*g
                }
                .p_one_sided(true)
            })
            .collect();
        holm(&raw)
    }

    fn counts(&self) -> (usize, usize, usize) {
        let cells = self.cells();
        let little = cells
            .iter()
            .filter(|(_, _, g)| g.n >= 2 && g.hi() < MARGIN)
            .count();
        let benefit = self.benefit_q().iter().filter(|&&q| q < 0.05).count();
        (little, benefit, cells.len())
    }

    fn verdict(&self) -> Verdict {
        match self.counts() {
            (little, _, all) if all > 0 && little == all => Verdict::Holds,
            (little, _, _) if little > 0 => Verdict::HoldsPartly,
            (_, benefit, _) if benefit > 0 => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }
}

/// What C13 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Training-set sizes.
    pub sizes: Vec<usize>,
    /// Updates of every run.
    pub updates: usize,
    /// Per data set.
    pub data: Vec<DataEvidence>,
}

/// The nets of the budget: (name, arch, norm).
fn nets(budget: Budget) -> [(&'static str, &'static str, Norm); 3] {
    let (cnn, mlp) = match budget {
        Budget::Tiny => ("c4-p-16-10", "784-16-16-10"),
        Budget::Quick => ("c4-p-c8-p-64-10", "784-128-128-10"),
        Budget::Default => ("c8-p-c16-p-64-10", "784-256-256-10"),
        Budget::Full => ("c16-p-c32-p-128-10", "784-512-512-10"),
    };
    [
        ("BatchNorm CNN", cnn, Norm::Batch),
        ("LayerNorm MLP", mlp, Norm::Layer),
        ("plain MLP (reference)", mlp, Norm::None),
    ]
}

fn run(
    ds: Builtin,
    (arch, norm): (&str, Norm),
    n: usize,
    updates: usize,
    p: f32,
    lr: f32,
    seed: u64,
) -> RunConfig {
    let mut c = updates_run(ds, arch, (n, VAL_SIZE), updates, (p, lr), seed);
    c.model.norm = norm;
    c
}

impl Claim for Normalised {
    const ID: &'static str = "C13";
    const CLAIM: &'static str = "In architectures that already normalise (BatchNorm CNNs, LayerNorm nets), dropout offers little benefit or may hurt.";
    const RULE: &'static str = "Per data set, over the normalised nets' cells (net × training-set size), Δacc = test acc(p=0.5) − test acc(p=0) after equal updates, each arm at its validation-tuned learning rate. Little or harmful in a cell: the 95 % CI of Δacc ends below +0.5 points. Clear benefit: one-sided paired t of Δacc > 0.5 points, Holm over the cells, α = 0.05. holds: little or harmful in every cell; holds partly: in some cells; does not hold: in none, with a clear benefit in at least one; inconclusive: otherwise. Across data sets: the same verdict on each → that verdict; support on one → holds partly; else inconclusive.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (sizes, updates, lrs): (Vec<usize>, usize, Vec<f32>) = match lab.budget {
            Budget::Tiny => (vec![200, 400], 20, vec![0.05]),
            Budget::Quick => (vec![1_000, 4_000], 200, vec![0.05]),
            Budget::Default => (vec![1_000, 8_000], 500, vec![0.02, 0.1]),
            Budget::Full => (vec![1_000, 8_000, 59_000], 3_000, vec![0.01, 0.03, 0.1]),
        };
        let nets_of = nets(lab.budget);
        let seeds = lab.seeds.len();
        let per_net = (2 * lrs.len() + 2 * sizes.len()) * seeds;
        lab.begin(Self::ID, per_net * nets_of.len() * lab.datasets.len());
        for &ds in &lab.datasets {
            for &(_, arch, norm) in &nets_of {
                for p in [0.0, 0.5] {
                    prefetch(lab, &lrs, 0, |lr, s| {
                        run(ds, (arch, norm), sizes[0], updates, p, lr, s)
                    })?;
                }
            }
        }
        let mut data = Vec::new();
        for &ds in &lab.datasets {
            let mut nets = Vec::new();
            for &(name, arch, norm) in &nets_of {
                let tuned = |p: f32| {
                    tune(
                        lab,
                        &format!("{} {name} p={p} lr", ds.name()),
                        &lrs,
                        0,
                        |lr, s| run(ds, (arch, norm), sizes[0], updates, p, lr, s),
                    )
                };
                let (lr_p0, lr_p05) = (tuned(0.0)?, tuned(0.5)?);
                let (mut acc_p0, mut acc_p05) = (Vec::new(), Vec::new());
                for &n in &sizes {
                    for (p, lr, into) in [
                        (0.0, lr_p0.chosen, &mut acc_p0),
                        (0.5, lr_p05.chosen, &mut acc_p05),
                    ] {
                        let what = format!("{} {name} n={n} p={p}", ds.name());
                        let outs = lab
                            .per_seed(&what, 0, |s| run(ds, (arch, norm), n, updates, p, lr, s))?;
                        into.push(test_accs(&outs));
                    }
                }
                nets.push(Net {
                    name: name.into(),
                    arch: arch.into(),
                    normalised: norm != Norm::None,
                    lr_p0,
                    lr_p05,
                    acc_p0,
                    acc_p05,
                });
            }
            data.push(DataEvidence {
                dataset: ds.name().into(),
                nets,
            });
        }
        Ok(Evidence {
            sizes,
            updates,
            data,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::combine(&e.data.iter().map(DataEvidence::verdict).collect::<Vec<_>>())
    }

    fn render(e: &Evidence) -> Section {
        let mut rows = Vec::new();
        let mut figures = Vec::new();
        let mut finding = Vec::new();
        for d in &e.data {
            let q = d.benefit_q();
            let mut k = 0;
            let mut series = Vec::new();
            for net in &d.nets {
                for (i, n) in e.sizes.iter().enumerate() {
                    let g = net.gain(i);
                    let q = if net.normalised {
                        k += 1;
                        format!("{:.3}", q[k - 1])
                    } else {
                        "—".into()
                    };
                    rows.push(vec![
                        d.dataset.clone(),
                        format!("{} {}", net.name, net.arch),
                        n.to_string(),
                        format!("{} / {}", net.lr_p0.chosen, net.lr_p05.chosen),
                        Est::of(&net.acc_p0[i]).fmt(100.0, 2),
                        Est::of(&net.acc_p05[i]).fmt(100.0, 2),
                        g.fmt(100.0, 2),
                        if !net.normalised {
                            "—".into()
                        } else if g.hi() < MARGIN {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        q,
                    ]);
                }
                series.push(Series {
                    name: net.name.clone(),
                    points: e
                        .sizes
                        .iter()
                        .enumerate()
                        .map(|(i, &n)| (n as f64, 100.0 * net.gain(i).mean, 100.0 * net.gain(i).ci))
                        .collect(),
                });
            }
            let (little, benefit, all) = d.counts();
            let ln_vs_plain = match (d.nets.get(1), d.nets.get(2)) {
                (Some(ln), Some(plain)) => e
                    .sizes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        format!(
                            "{:+.1} at {n}",
                            100.0 * (ln.gain(i).mean - plain.gain(i).mean)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            finding.push(format!(
                "On {}, dropout's gain in the normalised nets was below +0.5 points (CI) in {little} of {all} cells and above it (Holm) in {benefit}; {}. With LayerNorm the gain differed from the plain MLP's by {ln_vs_plain} points.",
                d.dataset,
                d.cells().iter().map(|(net, i, g)| format!("{} at {}: {:+.2} points", net.name, e.sizes[*i], 100.0 * g.mean)).collect::<Vec<_>>().join(", ")
            ));
            figures.push(Figure {
                caption: format!(
                    "{}: Δ test accuracy (p=0.5 − p=0, mean ± 95% CI) against training-set size",
                    d.dataset
                ),
                svg: lines(
                    &Axes {
                        title: &d.dataset,
                        x: "training images",
                        y: "Δ test acc (pts)",
                        log_x: true,
                        log_y: false,
                    },
                    &series,
                ),
            });
        }
        let seeds = e
            .data
            .first()
            .and_then(|d| d.nets.first())
            .and_then(|n| n.acc_p0.first())
            .map_or(0, Vec::len);
        Section {
            finding: finding.join(" "),
            method: format!("Per data set and training-set size n ∈ {:?}: a CNN with BatchNorm after every conv and the dense hidden layer, an MLP with LayerNorm in every hidden block (Dense → LayerNorm → ReLU → dropout), and the same MLP without normalisation as the reference; hidden dropout p = 0 vs 0.5 in the dense hidden blocks, after the activation (never feeding a BatchNorm), no conv or input dropout. SGD (momentum 0.9, batch 128), {} updates per run, each arm's learning rate tuned on 1,000 validation images at n = {}; {seeds} seeds, paired. Endpoint: accuracy on the full test set after the last update.", e.sizes, e.updates, e.sizes.first().unwrap_or(&0)),
            limitations: "The engine has no residual connections, so the LayerNorm net is a plain MLP rather than a Transformer-style residual block; one p (0.5) and one dropout placement. Every run takes the same few hundred updates (the 2-core budget): on the larger set that is a few epochs, where dropout nets are still behind (C7), so part of a negative gain is slower convergence — the unnormalised reference MLP, trained the same way, shows how much; compare the normalised nets' gains with its gain rather than with zero. A learning rate chosen at the edge of its grid means the grid was too narrow for that arm.".into(),
            key_number: e.data.iter().map(|d| { let (l, b, a) = d.counts(); format!("{}: little/harmful in {l}/{a} cells, clear benefit in {b}", d.dataset) }).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new("Test accuracy % (mean ± 95% CI) with and without dropout", &["data", "net", "train size", "lr p=0 / p=0.5", "acc p=0", "acc p=0.5", "Δacc", "little (CI < +0.5)", "Holm p (Δ > 0.5)"], rows)],
            figures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(normalised: bool, gain: [f64; 2], spread: f64) -> Net {
        let base = vec![0.9, 0.91, 0.89, 0.9, 0.9];
        let jitter = [0.0, spread, -spread, 2.0 * spread, -2.0 * spread];
        let arm = |g: f64| base.iter().zip(jitter).map(|(b, j)| b + g + j).collect();
        let t = Tuned::choose(vec![0.05], vec![vec![0.9]]);
        Net {
            name: "n".into(),
            arch: "a".into(),
            normalised,
            lr_p0: t.clone(),
            lr_p05: t,
            acc_p0: vec![base.clone(), base.clone()],
            acc_p05: vec![arm(gain[0]), arm(gain[1])],
        }
    }

    fn verdict(nets: Vec<Net>) -> Verdict {
        Normalised::verdict(&Evidence {
            sizes: vec![100, 1000],
            updates: 1,
            data: vec![DataEvidence {
                dataset: "D".into(),
                nets,
            }],
        })
    }

    #[test]
    fn every_verdict_of_the_rule() {
        // The reference net's large gain does not count.
        let plain = net(false, [0.05, 0.05], 0.001);
        assert_eq!(
            verdict(vec![net(true, [0.0, -0.01], 0.001), plain.clone()]),
            Verdict::Holds
        );
        assert_eq!(
            verdict(vec![net(true, [0.03, 0.0], 0.001), plain.clone()]),
            Verdict::HoldsPartly
        );
        assert_eq!(
            verdict(vec![net(true, [0.03, 0.02], 0.001), plain.clone()]),
            Verdict::DoesNotHold
        );
        assert_eq!(
            verdict(vec![net(true, [0.005, 0.005], 0.02), plain]),
            Verdict::Inconclusive
        );
    }
}
