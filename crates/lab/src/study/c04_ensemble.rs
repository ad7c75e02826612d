//! C4 — "Dropout trains an implicit ensemble of subnetworks; weight scaling
//! approximates their average."
//!
//! One dropout-trained net per seed (p = 0.5 in the hidden layers). On the
//! test set, T masks (subnetworks) t = 1 … 100, each with softmax output p_t:
//!
//! ```text
//! single-mask accuracy   mean over t of acc(p_t)              (one subnetwork)
//! disagreement           mean over t of P[argmax p_t ≠ argmax p_{t+1}]
//! arithmetic average     p̄_T = (1/T) Σ p_t
//! geometric average      p̃_T ∝ exp((1/T) Σ ln p_t)            (Warde-Farley et al. 2013: weight
//!                                                             scaling is exact for it with one softmax layer)
//! which one det matches  KL(p̄_T ‖ p_det) vs KL(p̃_T ‖ p_det), mean over test points
//! E (ensemble):          acc(p̄_100) − single-mask acc > 0       one-sided paired t
//! W (weight scaling):    acc(det) − acc(p̄_100) within ±0.5 points (TOST)
//! W fails:               |acc(det) − acc(p̄_100)| > 0.5 points and two-sided p < 0.05
//! (Holm over E's and W-fails' tests, α = 0.05)
//! ```
//! Beside it, an explicit ensemble at equal compute: K = 5 nets without
//! dropout on the same data, each trained for 1/K of the dropout net's
//! epochs, averaged arithmetically — its members' accuracy, disagreement
//! and gain show what the same numbers look like for a real ensemble.
//!
//! The verdict rule is [`Ensemble::RULE`].

use engine::layer::Ctx;
use engine::loss::softmax;
use engine::Sequential;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use crate::data::Dataset;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};
use crate::uq::metrics::mean_kl;

/// Equivalence margin of W: half a point.
pub const MARGIN: f64 = 0.005;
/// Members of the explicit ensemble.
const K: usize = 5;

/// C4.
pub struct Ensemble;

/// What C4 measured; vectors are per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs of the dropout net (each ensemble member: epochs / K, rounded up).
    pub epochs: usize,
    /// Mask counts T reported.
    pub t: Vec<usize>,
    /// Deterministic (weight-scaled) test accuracy.
    pub det_acc: Vec<f64>,
    /// Arithmetic MC average accuracy, T × seed.
    pub arith_acc: Vec<Vec<f64>>,
    /// Geometric MC average accuracy, T × seed.
    pub geo_acc: Vec<Vec<f64>>,
    /// Mean accuracy of a single mask.
    pub single_acc: Vec<f64>,
    /// Disagreement of consecutive masks.
    pub disagreement: Vec<f64>,
    /// KL(arithmetic average of all masks ‖ det).
    pub kl_arith: Vec<f64>,
    /// KL(geometric average of all masks ‖ det).
    pub kl_geo: Vec<f64>,
    /// Explicit ensemble accuracy.
    pub ens_acc: Vec<f64>,
    /// Mean accuracy of its members.
    pub member_acc: Vec<f64>,
    /// Disagreement of consecutive members.
    pub member_disagreement: Vec<f64>,
}

impl Evidence {
    fn gain(&self) -> Est {
        paired(
            self.arith_acc.last().map_or(&[][..], |v| v),
            &self.single_acc,
        )
    }
    fn scaling(&self) -> Est {
        paired(&self.det_acc, self.arith_acc.last().map_or(&[][..], |v| v))
    }
    /// Holm-adjusted (E, W fails) p-values.
    fn tests(&self) -> (f64, f64) {
        let w = self.scaling();
        let q = holm(&[self.gain().p_one_sided(true), w.p_value()]);
        (q[0], q[1])
    }
}

/// Softmax outputs of `model` on `data` (rows of k), under `ctx`.
fn probs(model: &mut Sequential, data: &Dataset, ctx: &Ctx) -> Vec<f64> {
    let d = data.dim();
    let mut all = Vec::new();
    let mut p = Vec::new();
    for start in (0..data.len()).step_by(2000) {
        let b = 2000.min(data.len() - start);
        model
            .input_mut(b)
            .copy_from_slice(&data.x[start * d..(start + b) * d]);
        softmax(model.forward(ctx), &mut p);
        all.extend_from_slice(&p);
    }
    all
}

fn argmax(p: &[f64], k: usize) -> Vec<usize> {
    p.chunks(k)
        .map(|r| (0..k).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap_or(0))
        .collect()
}

fn acc(pred: &[usize], y: &[u32]) -> f64 {
    pred.iter()
        .zip(y)
        .filter(|(p, y)| **p == **y as usize)
        .count() as f64
        / y.len().max(1) as f64
}

fn differ(a: &[usize], b: &[usize]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len().max(1) as f64
}

/// Normalise each row of exp(log-sum / t) (the geometric mean).
fn geometric(log_sum: &[f64], t: usize, k: usize) -> Vec<f64> {
    let mut g = Vec::with_capacity(log_sum.len());
    for r in log_sum.chunks(k) {
        let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max) / t as f64;
        let e: Vec<f64> = r.iter().map(|v| (v / t as f64 - m).exp()).collect();
        let z: f64 = e.iter().sum();
        g.extend(e.iter().map(|v| v / z));
    }
    g
}

impl Claim for Ensemble {
    const ID: &'static str = "C4";
    const CLAIM: &'static str = "Dropout trains an implicit ensemble of exponentially many subnetworks; weight scaling approximates their average.";
    const RULE: &'static str = "E (ensemble): the average of 100 masks beats a single mask (one-sided paired t of acc(MC_100) − single-mask acc); W (weight scaling approximates it): acc(det) − acc(MC_100) within ±0.5 points (TOST, α = 0.05); W fails: that difference beyond ±0.5 points with two-sided p < 0.05. Holm over E's and W-fails' tests. holds: E and W; holds partly: E or W; does not hold: neither E nor W, and W fails; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ts = [1usize, 2, 5, 10, 20, 50, 100];
        let t_max = ts[ts.len() - 1];
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        lab.begin(Self::ID, lab.seeds.len() * (1 + K));
        let test = lab.test();
        let k = 10;
        let mut e = Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs,
            t: ts.to_vec(),
            det_acc: vec![],
            arith_acc: vec![vec![]; ts.len()],
            geo_acc: vec![vec![]; ts.len()],
            single_acc: vec![],
            disagreement: vec![],
            kl_arith: vec![],
            kl_geo: vec![],
            ens_acc: vec![],
            member_acc: vec![],
            member_disagreement: vec![],
        };
        // The explicit ensemble: same data (data seed), K inits, epochs / K each.
        let member_cfg = |seed: u64, j: usize| {
            let mut cfg = lab.base_run(0.0, 1_000 + 10 * seed + j as u64);
            cfg.data.data_seed = Some(seed);
            cfg.epochs = epochs.div_ceil(K);
            cfg
        };
        let all: Vec<_> = lab
            .seeds
            .iter()
            .flat_map(|&s| {
                std::iter::once(lab.base_run(0.5, s)).chain((0..K).map(move |j| member_cfg(s, j)))
            })
            .collect();
        lab.will_load(&all)?;
        for &seed in &lab.seeds {
            let (_, mut model, _) = lab.trained(&lab.base_run(0.5, seed))?;
            let det = probs(&mut model, test, &Ctx::eval());
            e.det_acc.push(acc(&argmax(&det, k), &test.y));
            let (mut sum, mut log_sum) = (vec![0.0; det.len()], vec![0.0; det.len()]);
            let (mut single, mut dis, mut prev) = (0.0, 0.0, Vec::new());
            let mut next = 0;
            for t in 1..=t_max {
                let p = probs(&mut model, test, &Ctx::mc_sample(seed ^ 0xC4, t as u32));
                let pred = argmax(&p, k);
                single += acc(&pred, &test.y) / t_max as f64;
                if t > 1 {
                    dis += differ(&pred, &prev) / (t_max - 1) as f64;
                }
                prev = pred;
                for i in 0..p.len() {
                    sum[i] += p[i];
                    log_sum[i] += p[i].max(1e-300).ln();
                }
                if t == ts[next] {
                    let mean: Vec<f64> = sum.iter().map(|s| s / t as f64).collect();
                    e.arith_acc[next].push(acc(&argmax(&mean, k), &test.y));
                    e.geo_acc[next].push(acc(&argmax(&log_sum, k), &test.y));
                    if t == t_max {
                        e.kl_arith.push(mean_kl(&mean, &det, k));
                        e.kl_geo.push(mean_kl(&geometric(&log_sum, t, k), &det, k));
                    }
                    next += 1;
                }
            }
            e.single_acc.push(single);
            e.disagreement.push(dis);
            lab.tick(&format!("seed {seed}: dropout net"));
            let mut ens = vec![0.0; det.len()];
            let (mut member, mut mdis, mut prev) = (0.0, 0.0, Vec::new());
            for j in 0..K {
                let (_, mut m, _) = lab.trained(&member_cfg(seed, j))?;
                let p = probs(&mut m, test, &Ctx::eval());
                let pred = argmax(&p, k);
                member += acc(&pred, &test.y) / K as f64;
                if j > 0 {
                    mdis += differ(&pred, &prev) / (K - 1) as f64;
                }
                prev = pred;
                ens.iter_mut().zip(&p).for_each(|(s, v)| *s += v / K as f64);
                lab.tick(&format!("seed {seed}: ensemble member {}", j + 1));
            }
            e.ens_acc.push(acc(&argmax(&ens, k), &test.y));
            e.member_acc.push(member);
            e.member_disagreement.push(mdis);
        }
        Ok(e)
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (qe, qw) = e.tests();
        let ens = qe < 0.05;
        let w = e.scaling();
        let scales = w.equivalent(MARGIN);
        let fails = qw < 0.05 && w.mean.abs() > MARGIN;
        match (ens, scales) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::HoldsPartly,
            _ if fails => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let det = Est::of(&e.det_acc);
        let rows =
            e.t.iter()
                .enumerate()
                .map(|(i, t)| {
                    vec![
                        t.to_string(),
                        Est::of(&e.arith_acc[i]).fmt(100.0, 2),
                        Est::of(&e.geo_acc[i]).fmt(100.0, 2),
                        paired(&e.arith_acc[i], &e.det_acc).fmt(100.0, 2),
                    ]
                })
                .collect();
        let (g, w) = (e.gain(), e.scaling());
        let (qe, qw) = e.tests();
        let pct = |v: &[f64]| Est::of(v).fmt(100.0, 2);
        let implicit = vec![
            "dropout net (implicit)".into(),
            pct(&e.single_acc),
            pct(&e.disagreement),
            pct(e.arith_acc.last().map_or(&[][..], |v| v)),
            g.fmt(100.0, 2),
        ];
        let explicit = vec![
            format!(
                "{K} plain nets, {} epochs each (explicit)",
                e.epochs.div_ceil(K)
            ),
            pct(&e.member_acc),
            pct(&e.member_disagreement),
            pct(&e.ens_acc),
            paired(&e.ens_acc, &e.member_acc).fmt(100.0, 2),
        ];
        let t_max = *e.t.last().unwrap_or(&1) as f64;
        let series = |name: &str, v: &[Vec<f64>]| Series {
            name: name.into(),
            points: e
                .t
                .iter()
                .zip(v)
                .map(|(&t, a)| (t as f64, 100.0 * Est::of(a).mean, 100.0 * Est::of(a).ci))
                .collect(),
        };
        Section {
            finding: {
                let closer_geo = Est::of(&e.kl_geo).mean <= Est::of(&e.kl_arith).mean;
                format!(
                    "On MNIST, one subnetwork (a single mask) scored {} % and two masks disagreed on {} % of test images; averaging 100 masks changed accuracy by {} points (Holm p {qe:.3}){}. Five plain nets trained at the same total compute disagreed on {} % and their average gained {} points over a member. Weight scaling scored {} % against {} % for the 100-mask average (difference {} points, {}); it sits closer to the {} average (KL {:.4} geometric vs {:.4} arithmetic){}.",
                    pct(&e.single_acc), pct(&e.disagreement), g.fmt(100.0, 2),
                    if qe < 0.05 { ", as an ensemble's average gains over its members" } else { ", not shown to beat a single subnetwork" },
                    pct(&e.member_disagreement), paired(&e.ens_acc, &e.member_acc).fmt(100.0, 2), det.fmt(100.0, 2), pct(e.arith_acc.last().map_or(&[][..], |v| v)), w.fmt(100.0, 2),
                    if w.equivalent(MARGIN) { "equivalent within ±0.5 points" } else { "not shown equivalent within ±0.5 points" },
                    if closer_geo { "geometric" } else { "arithmetic" }, Est::of(&e.kl_geo).mean, Est::of(&e.kl_arith).mean,
                    if closer_geo { ", as Warde-Farley et al. (2013) predict" } else { ", against Warde-Farley et al.'s (2013) prediction" },
                )
            },
            limitations: "The explicit ensemble matches the dropout net's training compute, not its inference cost (100 masks), and its members have no dropout; one p (0.5), one width.".into(),
            method: format!("MLP {} with p = 0.5 on {} images, {} epochs, {} seeds; on the 10,000 test images, T ∈ {:?} masks, arithmetic and geometric averages, against the deterministic weight-scaled net. Explicit ensemble: {K} nets without dropout on the same images (same data seed, different inits), {} epochs each, probabilities averaged.", e.mlp, e.n, e.epochs, e.det_acc.len(), e.t, e.epochs.div_ceil(K)),
            key_number: format!("MC_100 − single mask = {} pts (p {qe:.3}); det − MC_100 = {} pts (p {qw:.3})", g.fmt(100.0, 2), w.fmt(100.0, 2)),
            tables: vec![
                Table::new("MC averages vs weight scaling (accuracy %, mean ± 95% CI)", &["T", "arithmetic MC", "geometric MC", "arithmetic − deterministic"], rows),
                Table::new("Implicit vs explicit ensemble (%, mean ± 95% CI)", &["ensemble", "member accuracy", "member disagreement", "ensemble accuracy", "gain over a member"], vec![implicit, explicit]),
            ],
            figures: vec![Figure { caption: "Test accuracy of T-mask averages; the flat line is the weight-scaled net".into(), svg: lines(&Axes { title: "MC dropout accuracy", x: "T (masks)", y: "test accuracy %", log_x: true, log_y: false }, &[
                series("arithmetic", &e.arith_acc), series("geometric", &e.geo_acc),
                Series { name: "weight scaling".into(), points: vec![(1.0, 100.0 * det.mean, 0.0), (t_max, 100.0 * det.mean, 0.0)] },
            ]) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{five, five_shuffled};

    fn evidence(single: f64, det: f64, spread: f64) -> Evidence {
        let v = |m: f64| five(m, spread);
        let w = |m: f64| five_shuffled(m, spread);
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 1,
            t: vec![1, 100],
            det_acc: w(det),
            arith_acc: vec![v(0.9), v(0.95)],
            geo_acc: vec![v(0.9), v(0.95)],
            single_acc: w(single),
            disagreement: v(0.05),
            kl_arith: v(0.01),
            kl_geo: v(0.005),
            ens_acc: v(0.95),
            member_acc: v(0.94),
            member_disagreement: v(0.03),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            Ensemble::verdict(&evidence(0.90, 0.95, 0.001)),
            Verdict::Holds
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.90, 0.97, 0.001)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.95, 0.95, 0.001)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.95, 0.97, 0.001)),
            Verdict::DoesNotHold
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.95, 0.95, 0.03)),
            Verdict::Inconclusive
        );
    }
}
