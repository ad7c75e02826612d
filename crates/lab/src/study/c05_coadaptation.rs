//! C5 — "Dropout breaks co-adaptation, giving redundant, robust units."
//!
//! Nets trained with p = 0 and p = 0.5 (same seeds). Units are removed from
//! the last hidden layer after training by zeroing their outgoing weights —
//! *without* the 1/(1−k) rescaling, which would make random removal at k = p
//! exactly the dropout net's training distribution (a circular test). Unit
//! importance and interactions are measured on 2,000 training images; every
//! accuracy is on the test set (Morcos et al. 2018 ablate the same way).
//!
//! ```text
//! importance of unit j     Δ_j  = loss(j removed) − loss(none)              (cross-entropy, nats)
//! interaction of i, j      I_ij = Δ_ij − Δ_i − Δ_j   (0: independent; ≠ 0: they co-adapt or duplicate)
//! co-adaptation            mean |I_ij| over 200 random pairs
//! targeted ablation        remove the top k of units by Δ_j, k ∈ {0, 5, 10, 20, 30, 50} %
//! random ablation          k ∈ {0, 10, …, 70} % at random (3 draws), no rescaling; also rescaled, for reference
//! R (robust):   drop(targeted 20 %, p=0) − drop(targeted 20 %, p=0.5) > 0   (drop = acc(none) − acc(removed))
//! C (less co-adapted):  mean |I|(p=0) − mean |I|(p=0.5) > 0
//! one-sided paired t, Holm over R and C, α = 0.05; "no difference": R within ±1 point (TOST)
//! ```
//! The verdict rule is [`Coadaptation::RULE`].

use engine::layer::ParamKind;
use engine::rng::Rng;
use engine::Sequential;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use crate::data::Dataset;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};
use crate::train::evaluate;

/// Equivalence margin of R: one accuracy point.
pub const MARGIN: f64 = 0.01;
/// The targeted-ablation fraction of the primary endpoint.
const K_PRIMARY: f64 = 0.2;

/// C5.
pub struct Coadaptation;

/// One arm (p) over seeds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Arm {
    /// Targeted ablation test accuracy, k × seed.
    pub targeted: Vec<Vec<f64>>,
    /// Random ablation without rescaling, k × seed.
    pub random: Vec<Vec<f64>>,
    /// Random ablation with 1/(1−k) rescaling, k × seed.
    pub rescaled: Vec<Vec<f64>>,
    /// Mean |I_ij| per seed.
    pub interaction: Vec<f64>,
}

/// What C5 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Targeted fractions.
    pub k_targeted: Vec<f64>,
    /// Random fractions.
    pub k_random: Vec<f64>,
    /// p = 0.
    pub p0: Arm,
    /// p = 0.5.
    pub p05: Arm,
}

fn drops(curve: &[Vec<f64>], i: usize) -> Vec<f64> {
    curve[0].iter().zip(&curve[i]).map(|(a, b)| a - b).collect()
}

impl Evidence {
    fn primary(&self) -> usize {
        self.k_targeted
            .iter()
            .position(|&k| (k - K_PRIMARY).abs() < 1e-9)
            .unwrap_or(0)
    }
    fn robust(&self) -> Est {
        let i = self.primary();
        paired(&drops(&self.p0.targeted, i), &drops(&self.p05.targeted, i))
    }
    fn less_coadapted(&self) -> Est {
        paired(&self.p0.interaction, &self.p05.interaction)
    }
    fn tests(&self) -> (f64, f64) {
        let q = holm(&[
            self.robust().p_one_sided(true),
            self.less_coadapted().p_one_sided(true),
        ]);
        (q[0], q[1])
    }
}

/// Call `g` on the output layer's weights (rows of the hidden width).
fn on_last_weight(model: &mut Sequential, mut g: impl FnMut(&mut [f32], usize)) {
    let mut count = 0;
    model.visit_params(&mut |_, p| count += usize::from(p.kind == ParamKind::Weight));
    let mut seen = 0;
    model.visit_params(&mut |_, p| {
        if p.kind == ParamKind::Weight {
            seen += 1;
            if seen == count {
                g(p.value, p.row);
            }
        }
    });
}

/// Run `f` with the last hidden layer's units `off` removed (outgoing
/// weights zeroed) and the others' outgoing weights scaled by `scale`.
fn with_units<R>(
    model: &mut Sequential,
    off: &[usize],
    scale: f32,
    f: impl FnOnce(&mut Sequential) -> R,
) -> R {
    let mut saved = Vec::new();
    on_last_weight(model, |w, row| {
        saved = w.to_vec();
        for r in w.chunks_mut(row) {
            r.iter_mut().for_each(|v| *v *= scale);
            off.iter().for_each(|&j| r[j] = 0.0);
        }
    });
    let out = f(model);
    on_last_weight(model, |w, _| w.copy_from_slice(&saved));
    out
}

fn hidden_units(model: &mut Sequential) -> usize {
    let mut h = 0;
    on_last_weight(model, |_, row| h = row);
    h
}

/// Everything measured on one trained net.
fn probe(
    model: &mut Sequential,
    probe_set: &Dataset,
    test: &Dataset,
    e: &Evidence,
    seed: u64,
    arm: &mut Arm,
) -> Result<()> {
    let h = hidden_units(model);
    let loss = |m: &mut Sequential| evaluate(m, probe_set, 500).map(|s| s.loss);
    let base = loss(model)?;
    let mut delta = Vec::with_capacity(h);
    for j in 0..h {
        delta.push(with_units(model, &[j], 1.0, |m| loss(m))? - base);
    }
    let mut rng = Rng::new(seed ^ 0xC5);
    let mut inter = 0.0;
    for _ in 0..200 {
        let i = rng.below(h);
        let j = (i + 1 + rng.below(h - 1)) % h;
        let both = with_units(model, &[i, j], 1.0, |m| loss(m))? - base;
        inter += (both - delta[i] - delta[j]).abs() / 200.0;
    }
    arm.interaction.push(inter);
    let mut order: Vec<usize> = (0..h).collect();
    order.sort_by(|&a, &b| delta[b].total_cmp(&delta[a]));
    let acc = |m: &mut Sequential| evaluate(m, test, 1000).map(|s| s.acc);
    for (i, &k) in e.k_targeted.iter().enumerate() {
        let off = &order[..(k * h as f64).round() as usize];
        arm.targeted[i].push(with_units(model, off, 1.0, |m| acc(m))?);
    }
    for (i, &k) in e.k_random.iter().enumerate() {
        let (mut plain, mut scaled) = (0.0, 0.0);
        for _ in 0..3 {
            let mut units: Vec<usize> = (0..h).collect();
            rng.shuffle(&mut units);
            let off = &units[..(k * h as f64).round() as usize];
            plain += with_units(model, off, 1.0, |m| acc(m))? / 3.0;
            scaled += with_units(model, off, 1.0 / (1.0 - k as f32), |m| acc(m))? / 3.0;
        }
        arm.random[i].push(plain);
        arm.rescaled[i].push(scaled);
    }
    Ok(())
}

impl Claim for Coadaptation {
    const ID: &'static str = "C5";
    const CLAIM: &'static str = "Dropout breaks co-adaptation between units, making them redundant and the net robust to losing some.";
    const RULE: &'static str = "Units of the last hidden layer removed after training without rescaling. R: removing the 20 % most important units (by loss on training images) costs the dropout net less test accuracy than the plain net; C: the mean |pairwise ablation interaction| is smaller for the dropout net. One-sided paired t, Holm over R and C, α = 0.05. holds: R and C; holds partly: one of them; does not hold: neither, with R equivalent to 0 within ±1 point (TOST) or reversed (one-sided p < 0.05 the other way); inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let mut e = Evidence {
            mlp: lab.mlp().into(),
            n: lab.base_size(),
            k_targeted: vec![0.0, 0.05, 0.1, 0.2, 0.3, 0.5],
            k_random: (0..=7).map(|i| f64::from(i) / 10.0).collect(),
            p0: Arm::default(),
            p05: Arm::default(),
        };
        lab.begin(Self::ID, 2 * lab.seeds.len());
        let mut arms = [Arm::default(), Arm::default()];
        let ps = [0.0f32, 0.5];
        let cfgs: Vec<_> = ps
            .iter()
            .flat_map(|&p| lab.seeds.iter().map(move |&s| lab.base_run(p, s)))
            .collect();
        lab.will_load(&cfgs)?;
        for (a, p) in ps.into_iter().enumerate() {
            arms[a].targeted = vec![Vec::new(); e.k_targeted.len()];
            arms[a].random = vec![Vec::new(); e.k_random.len()];
            arms[a].rescaled = vec![Vec::new(); e.k_random.len()];
            for &seed in &lab.seeds {
                let (_, mut model, splits) = lab.trained(&lab.base_run(p, seed))?;
                let probe_set = splits
                    .train
                    .subset(&(0..splits.train.len().min(2_000)).collect::<Vec<_>>());
                probe(&mut model, &probe_set, &splits.test, &e, seed, &mut arms[a])?;
                lab.tick(&format!("p={p} seed {seed}"));
            }
        }
        let [p0, p05] = arms;
        (e.p0, e.p05) = (p0, p05);
        Ok(e)
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (qr, qc) = e.tests();
        let r = e.robust();
        match (qr < 0.05, qc < 0.05) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::HoldsPartly,
            _ if r.equivalent(MARGIN) || r.p_one_sided(false) < 0.05 => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let (qr, qc) = e.tests();
        let (r, c) = (e.robust(), e.less_coadapted());
        let curve = |k: &[f64], a: &[Vec<f64>], name: &str| Series {
            name: name.into(),
            points: k
                .iter()
                .zip(a)
                .map(|(&k, v)| (100.0 * k, 100.0 * Est::of(v).mean, 100.0 * Est::of(v).ci))
                .collect(),
        };
        let rows = |k: &[f64], a: &[Vec<f64>], b: &[Vec<f64>]| -> Vec<Vec<String>> {
            k.iter()
                .enumerate()
                .map(|(i, k)| {
                    vec![
                        format!("{:.0}%", 100.0 * k),
                        Est::of(&a[i]).fmt(100.0, 2),
                        Est::of(&b[i]).fmt(100.0, 2),
                        paired(&b[i], &a[i]).fmt(100.0, 2),
                    ]
                })
                .collect()
        };
        let last = e.k_random.len() - 1;
        let beyond = paired(&e.p05.random[last], &e.p0.random[last]);
        let seeds = e.p0.interaction.len();
        Section {
            finding: format!("On MNIST, removing the 20 % most important last-layer units cost the plain net {} points and the dropout net {} points (difference {} points, Holm p {qr:.3}); the mean |interaction| between two removed units was {} × 10⁻⁴ nats without dropout and {} × 10⁻⁴ with it (Holm p {qc:.3}). Removing {:.0} % of units at random without rescaling — beyond the training rate p = 0.5 — left the dropout net {} points {} the plain net (Morcos et al. 2018 report dropout nets degrade faster past p).",
                Est::of(&drops(&e.p0.targeted, e.primary())).fmt(100.0, 2), Est::of(&drops(&e.p05.targeted, e.primary())).fmt(100.0, 2), r.fmt(100.0, 2), Est::of(&e.p0.interaction).fmt(1e4, 2), Est::of(&e.p05.interaction).fmt(1e4, 2), 100.0 * e.k_random[last], beyond.fmt(100.0, 2), if beyond.mean >= 0.0 { "above" } else { "below" }),
            limitations: "Only the last hidden layer is ablated; importance is one unit at a time (greedy), and interactions are sampled (200 random pairs), so tightly co-adapted groups larger than two are not seen. One width and one p.".into(),
            method: format!("MLP {} on {} images, p = 0 vs 0.5, {seeds} seeds (paired). Units of the last hidden layer removed after training by zeroing their outgoing weights (no rescaling); importance and pairwise interactions from the cross-entropy on 2,000 training images; accuracies on the 10,000 test images. The rescaled random curve is shown for reference only: at k = p it is the dropout net's own training distribution.", e.mlp, e.n),
            key_number: format!("targeted 20 %: plain − dropout accuracy drop = {} pts (p {qr:.3}); |interaction| plain − dropout = {} × 10⁻⁴ nats (p {qc:.3})", r.fmt(100.0, 2), c.fmt(1e4, 2)),
            tables: vec![
                Table::new("Targeted ablation: test accuracy % (mean ± 95% CI)", &["units removed", "p = 0", "p = 0.5", "p = 0.5 − p = 0"], rows(&e.k_targeted, &e.p0.targeted, &e.p05.targeted)),
                Table::new("Random ablation without rescaling: test accuracy %", &["units removed", "p = 0", "p = 0.5", "p = 0.5 − p = 0"], rows(&e.k_random, &e.p0.random, &e.p05.random)),
            ],
            figures: vec![
                Figure { caption: "Targeted ablation (most important units first), no rescaling".into(), svg: lines(&Axes { title: "Targeted ablation", x: "% of units removed", y: "test accuracy %", log_x: false, log_y: false }, &[curve(&e.k_targeted, &e.p0.targeted, "p = 0"), curve(&e.k_targeted, &e.p05.targeted, "p = 0.5")]) },
                Figure { caption: "Random ablation, without (solid) and with 1/(1−k) rescaling".into(), svg: lines(&Axes { title: "Random ablation", x: "% of units removed", y: "test accuracy %", log_x: false, log_y: false }, &[curve(&e.k_random, &e.p0.random, "p = 0"), curve(&e.k_random, &e.p05.random, "p = 0.5"), curve(&e.k_random, &e.p0.rescaled, "p = 0, rescaled"), curve(&e.k_random, &e.p05.rescaled, "p = 0.5, rescaled")]) },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{five, five_shuffled};

    /// Targeted accuracy at 20 % and interactions, per arm.
    fn evidence(acc20: [f64; 2], inter: [f64; 2], spread: f64) -> Evidence {
        let v = |m: f64| five(m, spread);
        let w = |m: f64| five_shuffled(m, spread);
        let arm = |a: f64, i: f64, f: &dyn Fn(f64) -> Vec<f64>| Arm {
            targeted: vec![v(0.95), v(0.94), v(0.93), f(a)],
            random: vec![v(0.95)],
            rescaled: vec![v(0.95)],
            interaction: f(i),
        };
        Evidence {
            mlp: "m".into(),
            n: 1,
            k_targeted: vec![0.0, 0.05, 0.1, 0.2],
            k_random: vec![0.0],
            p0: arm(acc20[0], inter[0], &v),
            p05: arm(acc20[1], inter[1], &w),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |e: Evidence| Coadaptation::verdict(&e);
        assert_eq!(v(evidence([0.6, 0.8], [0.05, 0.01], 0.001)), Verdict::Holds);
        assert_eq!(
            v(evidence([0.6, 0.8], [0.05, 0.05], 0.001)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            v(evidence([0.7, 0.7], [0.05, 0.05], 0.001)),
            Verdict::DoesNotHold
        );
        assert_eq!(
            v(evidence([0.8, 0.6], [0.05, 0.05], 0.001)),
            Verdict::DoesNotHold
        );
        assert_eq!(
            v(evidence([0.7, 0.7], [0.05, 0.05], 0.03)),
            Verdict::Inconclusive
        );
    }
}
