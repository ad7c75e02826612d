//! C14 — "MC dropout gives useful uncertainty" (Gal & Ghahramani 2016).
//!
//! Per seed, one dropout net (the budget's MLP, hidden p = 0.5, the base
//! subset plus 1,000 validation images — C12's p = 0.5, λ = 0 run) predicts
//! four ways ([`crate::uq`]):
//!
//! ```text
//! det        weight scaling
//! TS         det with its logits / T, T fitted on the 1,000 validation images (Guo et al. 2017)
//! MC         T_mc passes with fresh masks, averaged (T_mc = 50; quick 20, full 100)
//! ensemble   K = 5 such dropout nets (this one and 4 more seeds, the same data), deterministic, averaged
//! endpoints  on the MNIST test set: NLL; AURC (selective prediction, confidence = max p̄);
//!            OOD: AUROC of the predictive entropy, MNIST test (in) vs Fashion-MNIST test (out)
//! primary    Δ = MC − det per endpoint, paired over seeds; "better" = lower NLL, lower AURC, higher AUROC
//! tests      one-sided paired t for "better" and for "worse", Holm over the three endpoints each
//! ```
//! ECE and the MI-based AUROC are reported, not tested (ECE is not a proper
//! score; MI exists only for MC and the ensemble). MC vs TS and MC vs the
//! ensemble are reported as paired differences (secondary; the ensemble costs
//! K trainings, MC costs T_mc forward passes). The verdict rule is
//! [`Uncertainty::RULE`].

use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::Lab;
use super::Budget;
use crate::config::Builtin;
use crate::data::idx;
use crate::error::Result;
use crate::stats::{holm, paired, Est};
use crate::uq::metrics::score;
use crate::uq::ood::{detect, Score};
use crate::uq::sample::{self, McSites, Sampling};
use crate::uq::{temperature, Predictions};

/// Validation images (C12's).
const VAL_SIZE: usize = 1_000;
/// Equivalence margins of "no useful difference": NLL, AURC, AUROC.
pub const MARGINS: [f64; 3] = [0.01, 0.002, 0.01];

/// C14.
pub struct Uncertainty;

/// One way of predicting, per seed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ArmScores {
    /// Name.
    pub name: String,
    /// Test accuracy.
    pub acc: Vec<f64>,
    /// Test NLL.
    pub nll: Vec<f64>,
    /// Test ECE (15 bins).
    pub ece: Vec<f64>,
    /// Test AURC.
    pub aurc: Vec<f64>,
    /// OOD AUROC of the entropy.
    pub auroc: Vec<f64>,
    /// OOD AUROC of the mutual information (MC and ensemble).
    pub auroc_mi: Vec<f64>,
}

impl ArmScores {
    fn push(&mut self, test: &Predictions, ood: &Predictions, y: &[u32]) {
        let m = score(test, y);
        self.acc.push(m.acc);
        self.nll.push(m.nll);
        self.ece.push(m.ece);
        self.aurc.push(m.aurc);
        let auroc = |s: Score| detect(&s.all(test), &s.all(ood)).auroc;
        self.auroc.push(auroc(Score::Entropy));
        if test.members > 1 {
            self.auroc_mi.push(auroc(Score::Mi));
        }
    }

    /// The three endpoints, signed so that larger = better.
    fn endpoints(&self) -> [Vec<f64>; 3] {
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect();
        [neg(&self.nll), neg(&self.aurc), self.auroc.clone()]
    }
}

/// What C14 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// MC samples.
    pub t: usize,
    /// Ensemble members.
    pub k: usize,
    /// det, TS, MC, ensemble.
    pub arms: Vec<ArmScores>,
}

impl Evidence {
    /// MC − det per endpoint, signed larger = better.
    fn deltas(&self) -> Vec<Est> {
        let (det, mc) = (self.arms[0].endpoints(), self.arms[2].endpoints());
        (0..3).map(|i| paired(&mc[i], &det[i])).collect()
    }

    /// Holm-adjusted one-sided p for "better" and for "worse", per endpoint.
    fn tests(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.deltas();
        let better = holm(&d.iter().map(|e| e.p_one_sided(true)).collect::<Vec<_>>());
        let worse = holm(&d.iter().map(|e| e.p_one_sided(false)).collect::<Vec<_>>());
        (better, worse)
    }
}

/// An endpoint difference back in raw units (`sign` −1 for NLL and AURC, whose endpoints are negated).
fn raw(e: Est, sign: f64) -> Est {
    Est {
        mean: sign * e.mean,
        ..e
    }
}

impl Claim for Uncertainty {
    const ID: &'static str = "C14";
    const CLAIM: &'static str = "MC dropout gives useful uncertainty: better calibrated probabilities, better selective prediction and better out-of-distribution detection than the deterministic net.";
    const RULE: &'static str = "Endpoints (MNIST test; OOD = Fashion-MNIST test): NLL, AURC, AUROC of the predictive entropy; Δ = MC (T passes) − deterministic, paired over seeds. Better / worse: one-sided paired t, Holm over the three endpoints, α = 0.05. holds: MC better on all three; holds partly: better on one or two; does not hold: better on none, and worse on at least one or all three Δ equivalent to 0 (TOST, margins 0.01 nats, 0.002, 0.01); inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (t, k) = match lab.budget {
            Budget::Tiny => (5, 2),
            Budget::Quick => (20, 5),
            Budget::Default => (50, 5),
            Budget::Full => (100, 5),
        };
        lab.begin(Self::ID, lab.seeds.len() * k);
        let (_, fashion, _) = idx::load_dir(Err(Builtin::Fashion))?;
        let (test, y) = (lab.test(), &lab.test().y);
        let mut arms: Vec<ArmScores> = [
            "deterministic",
            "temperature scaled",
            "MC dropout",
            "ensemble",
        ]
        .iter()
        .map(|n| ArmScores {
            name: (*n).into(),
            ..ArmScores::default()
        })
        .collect();
        arms[2].name = format!("MC dropout (T = {t})");
        arms[3].name = format!("ensemble of {k}");
        let net = |seed: u64, data_seed: u64| {
            let mut m = lab.base_run(0.5, seed);
            m.data.val_size = VAL_SIZE;
            m.data.data_seed = (seed != data_seed).then_some(data_seed);
            m
        };
        let member = |seed: u64, j: usize| net(2_000 + 10 * seed + j as u64, seed);
        let all: Vec<_> = lab
            .seeds
            .iter()
            .flat_map(|&s| std::iter::once(net(s, s)).chain((1..k).map(move |j| member(s, j))))
            .collect();
        lab.will_load(&all)?;
        let mut n = 0;
        for &seed in &lab.seeds {
            let cfg = net(seed, seed);
            n = cfg.data.train_size.unwrap_or(60_000);
            let (_, mut model, splits) = lab.trained(&cfg)?;
            let (det, _) = sample::deterministic(&mut model, test);
            let (det_ood, _) = sample::deterministic(&mut model, &fashion);
            arms[0].push(&det, &det_ood, y);
            let temp =
                temperature::fit(&sample::logits(&mut model, &splits.val), &splits.val.y, 10);
            let (ts, ts_ood) = (
                sample::scaled(&mut model, test, temp),
                sample::scaled(&mut model, &fashion, temp),
            );
            arms[1].push(&ts, &ts_ood, y);
            let s = Sampling {
                t,
                seed: seed ^ 0xC14,
                consistent: false,
                sites: McSites::All,
                per_pass: false,
            };
            let (mc, mc_ood) = (
                sample::mc(&mut model, test, &s),
                sample::mc(&mut model, &fashion, &s),
            );
            arms[2].push(&mc, &mc_ood, y);
            lab.tick(&format!("seed {seed}: dropout net, det / TS / MC"));
            let (mut members, mut members_ood) = (vec![det], vec![det_ood]);
            for j in 1..k {
                let (_, mut net, _) = lab.trained(&member(seed, j))?;
                members.push(sample::deterministic(&mut net, test).0);
                members_ood.push(sample::deterministic(&mut net, &fashion).0);
                lab.tick(&format!("seed {seed}: ensemble member {}", j + 1));
            }
            arms[3].push(
                &sample::ensemble(&members),
                &sample::ensemble(&members_ood),
                y,
            );
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            t,
            k,
            arms,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (better, worse) = e.tests();
        let wins = better.iter().filter(|&&q| q < 0.05).count();
        let losses = worse.iter().filter(|&&q| q < 0.05).count();
        let flat = e.deltas().iter().zip(MARGINS).all(|(d, m)| d.equivalent(m));
        match wins {
            3 => Verdict::Holds,
            1 | 2 => Verdict::HoldsPartly,
            _ if losses > 0 || flat => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let rows = e
            .arms
            .iter()
            .map(|a| {
                vec![
                    a.name.clone(),
                    Est::of(&a.acc).fmt(100.0, 2),
                    Est::of(&a.nll).fmt(1.0, 4),
                    Est::of(&a.ece).fmt(1.0, 4),
                    Est::of(&a.aurc).fmt(1.0, 5),
                    Est::of(&a.auroc).fmt(1.0, 4),
                    if a.auroc_mi.is_empty() {
                        "—".into()
                    } else {
                        Est::of(&a.auroc_mi).fmt(1.0, 4)
                    },
                ]
            })
            .collect();
        let names = ["NLL", "AURC", "OOD AUROC (entropy)"];
        let (better, worse) = e.tests();
        let d = e.deltas();
        let diff = |a: usize, b: usize| -> Vec<Vec<String>> {
            let (x, y) = (e.arms[a].endpoints(), e.arms[b].endpoints());
            (0..3)
                .map(|i| {
                    let sign = if i < 2 { -1.0 } else { 1.0 };
                    vec![
                        format!("{} − {}", e.arms[a].name, e.arms[b].name),
                        names[i].into(),
                        raw(paired(&x[i], &y[i]), sign).fmt(1.0, 5),
                    ]
                })
                .collect()
        };
        let mut secondary = diff(2, 1);
        secondary.extend(diff(2, 3));
        let primary = (0..3)
            .map(|i| {
                let sign = if i < 2 { -1.0 } else { 1.0 };
                vec![
                    names[i].into(),
                    raw(d[i], sign).fmt(1.0, 5),
                    format!("{:.3}", better[i]),
                    format!("{:.3}", worse[i]),
                ]
            })
            .collect();
        let word = |i: usize| {
            if better[i] < 0.05 {
                "better"
            } else if worse[i] < 0.05 {
                "worse"
            } else {
                "not significantly different"
            }
        };
        let seeds = e.arms[0].acc.len();
        Section {
            finding: format!(
                "Against the deterministic net, MC dropout (T = {}) was {} in NLL, {} in AURC and {} in telling MNIST from Fashion-MNIST by entropy (Holm, {seeds} seeds). Temperature scaling and the {}-net ensemble are the baselines: see the secondary table for MC's difference to each.",
                e.t, word(0), word(1), word(2), e.k
            ),
            limitations: format!("One architecture ({}, {} training images), one dropout rate (0.5, hidden layers only, so there is no input-dropout site to sample); the ensemble costs {} trainings and MC {} forward passes per prediction, so neither comparison is at equal compute; OOD is one pair of data sets (MNIST → Fashion-MNIST).", e.mlp, e.n, e.k, e.t),
            method: format!("Per seed one dropout net (MLP {}, hidden p = 0.5, {} training + {VAL_SIZE} validation MNIST images, the study's SGD schedule); deterministic, temperature-scaled (T fitted on the validation images), MC dropout with T = {} fresh masks, and an ensemble of {} such nets (the same data, other seeds). Metrics on the 10,000 MNIST test images; OOD: the 10,000 Fashion-MNIST test images. Metric definitions as `dropout-lab eval` (torch-uncertainty names).", e.mlp, e.n, e.t, e.k),
            key_number: format!("MC − det: NLL {}, AURC {}, AUROC {}", raw(d[0], -1.0).fmt(1.0, 4), raw(d[1], -1.0).fmt(1.0, 5), d[2].fmt(1.0, 4)),
            tables: vec![
                Table::new("Each arm (mean ± 95% CI over seeds)", &["arm", "acc %", "NLL", "ECE", "AURC", "OOD AUROC (entropy)", "OOD AUROC (MI)"], rows),
                Table::new("Primary: MC − deterministic (raw units; NLL and AURC lower is better, AUROC higher)", &["endpoint", "Δ (mean ± 95% CI)", "Holm p (better)", "Holm p (worse)"], primary),
                Table::new("Secondary: MC against the baselines (raw units)", &["difference", "endpoint", "mean ± 95% CI"], secondary),
            ],
            figures: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(nll: [f64; 5], aurc: [f64; 5], auroc: [f64; 5]) -> ArmScores {
        ArmScores {
            nll: nll.to_vec(),
            aurc: aurc.to_vec(),
            auroc: auroc.to_vec(),
            acc: vec![0.9; 5],
            ..ArmScores::default()
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let det = arm(
            [0.10, 0.11, 0.12, 0.10, 0.11],
            [0.010, 0.011, 0.012, 0.010, 0.011],
            [0.90, 0.91, 0.92, 0.90, 0.91],
        );
        let v = |mc: ArmScores| {
            Uncertainty::verdict(&Evidence {
                mlp: "m".into(),
                n: 1,
                t: 2,
                k: 2,
                arms: vec![det.clone(), det.clone(), mc, det.clone()],
            })
        };
        let better = arm(
            [0.08, 0.09, 0.10, 0.08, 0.09],
            [0.008, 0.009, 0.010, 0.008, 0.009],
            [0.95, 0.96, 0.97, 0.95, 0.96],
        );
        assert_eq!(v(better), Verdict::Holds);
        let one = arm(
            [0.08, 0.09, 0.10, 0.08, 0.09],
            [0.010, 0.0112, 0.0118, 0.0101, 0.011],
            [0.90, 0.912, 0.918, 0.901, 0.91],
        );
        assert_eq!(v(one), Verdict::HoldsPartly);
        let worse = arm(
            [0.15, 0.16, 0.17, 0.15, 0.16],
            [0.010, 0.0112, 0.0118, 0.0101, 0.011],
            [0.90, 0.912, 0.918, 0.901, 0.91],
        );
        assert_eq!(v(worse), Verdict::DoesNotHold);
        // No difference worth having on any endpoint (TOST): does not hold either.
        let flat = arm(
            [0.1001, 0.1099, 0.1201, 0.0999, 0.1100],
            [0.01001, 0.01099, 0.01201, 0.00999, 0.01100],
            [0.9001, 0.9099, 0.9201, 0.8999, 0.9100],
        );
        assert_eq!(v(flat), Verdict::DoesNotHold);
        let noisy = arm(
            [0.05, 0.20, 0.02, 0.25, 0.11],
            [0.002, 0.02, 0.004, 0.018, 0.011],
            [0.80, 0.99, 0.82, 0.98, 0.91],
        );
        assert_eq!(v(noisy), Verdict::Inconclusive);
    }
}
