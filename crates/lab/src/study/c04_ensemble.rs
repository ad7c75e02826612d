//! C4 — "Dropout trains an implicit ensemble of subnetworks."
//!
//! One dropout-trained net per seed (p = 0.5 in the hidden layers): its
//! Monte-Carlo average over T masks, T ∈ {1, 2, 5, 10, 20, 50, 100}, against
//! the deterministic weight-scaled net: test accuracy and the mean
//! KL(p̄_T ‖ p_det) (Srivastava et al. 2014, fig. 11: about 50 samples match
//! weight scaling).
//!
//! The verdict rule is [`Ensemble::RULE`].

use engine::layer::Ctx;
use engine::loss::softmax;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use crate::error::Result;

/// C4.
pub struct Ensemble;

/// What C4 measured; vectors are per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// MC sample counts T.
    pub t: Vec<usize>,
    /// Deterministic test accuracy.
    pub deterministic_acc: Vec<f64>,
    /// MC test accuracy, T × seed.
    pub mc_acc: Vec<Vec<f64>>,
    /// Mean KL(MC_T ‖ det), T × seed.
    pub kl: Vec<Vec<f64>>,
}

impl Evidence {
    fn at(&self, t: usize) -> usize {
        self.t.iter().position(|&x| x == t).unwrap_or(0)
    }
    fn kl_falls(&self) -> bool {
        let (first, last) = (&self.kl[0], &self.kl[self.kl.len() - 1]);
        first.iter().zip(last).all(|(a, b)| b < a)
    }
    fn d50(&self) -> Est {
        paired(&self.mc_acc[self.at(50)], &self.deterministic_acc)
    }
}

impl Claim for Ensemble {
    const ID: &'static str = "C4";
    const CLAIM: &'static str = "Dropout trains an implicit ensemble of exponentially many subnetworks; weight scaling approximates their average.";
    const RULE: &'static str = "holds: KL(MC_100 ‖ det) < KL(MC_1 ‖ det) for every seed AND acc(MC_50) − acc(det) with CI not below 0; holds partly: one; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ts = [1usize, 2, 5, 10, 20, 50, 100];
        let n = lab.base_size();
        lab.begin(Self::ID, lab.seeds.len());
        let test = lab.test();
        let (m, k) = (test.len(), 10);
        let mut det_acc = Vec::new();
        let mut mc_acc: Vec<Vec<f64>> = vec![Vec::new(); ts.len()];
        let mut kl: Vec<Vec<f64>> = vec![Vec::new(); ts.len()];
        for &seed in &lab.seeds {
            let (_, mut model, _) = lab.trained(&lab.base_run(0.5, seed))?;
            let mut det = Vec::with_capacity(m * k);
            let mut sum = vec![0.0f64; m * k];
            let mut probs = Vec::new();
            for start in (0..m).step_by(2000) {
                let b = 2000.min(m - start);
                model
                    .input_mut(b)
                    .copy_from_slice(&test.x[start * 784..(start + b) * 784]);
                softmax(model.forward(&Ctx::eval()), &mut probs);
                det.extend_from_slice(&probs);
            }
            let acc_of = |pr: &[f64]| {
                (0..m)
                    .filter(|&i| {
                        let r = &pr[i * k..(i + 1) * k];
                        (0..k).max_by(|&a, &b| r[a].total_cmp(&r[b])) == Some(test.y[i] as usize)
                    })
                    .count() as f64
                    / m as f64
            };
            det_acc.push(acc_of(&det));
            let mut next = 0;
            for t in 1..=*ts.last().unwrap_or(&1) {
                for start in (0..m).step_by(2000) {
                    let b = 2000.min(m - start);
                    model
                        .input_mut(b)
                        .copy_from_slice(&test.x[start * 784..(start + b) * 784]);
                    softmax(
                        model.forward(&Ctx::mc_sample(seed ^ 0xC4, t as u32)),
                        &mut probs,
                    );
                    sum[start * k..(start + b) * k]
                        .iter_mut()
                        .zip(&probs)
                        .for_each(|(s, &v)| *s += v);
                }
                if t == ts[next] {
                    let mean: Vec<f64> = sum.iter().map(|s| s / t as f64).collect();
                    mc_acc[next].push(acc_of(&mean));
                    let d = (0..m * k)
                        .filter(|&i| mean[i] > 0.0)
                        .map(|i| mean[i] * (mean[i] / det[i].max(1e-300)).ln())
                        .sum::<f64>()
                        / m as f64;
                    kl[next].push(d);
                    next += 1;
                }
            }
            lab.tick(&format!("seed {seed}"));
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            t: ts.to_vec(),
            deterministic_acc: det_acc,
            mc_acc,
            kl,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::of_parts(e.kl_falls(), !e.d50().below_zero())
    }

    fn render(e: &Evidence) -> Section {
        let det = Est::of(&e.deterministic_acc);
        let last = e.t.len() - 1;
        let rows =
            e.t.iter()
                .enumerate()
                .map(|(i, t)| {
                    vec![
                        t.to_string(),
                        Est::of(&e.mc_acc[i]).fmt(100.0, 2),
                        paired(&e.mc_acc[i], &e.deterministic_acc).fmt(100.0, 2),
                        Est::of(&e.kl[i]).fmt(1.0, 4),
                    ]
                })
                .collect();
        let t_max = e.t[last] as f64;
        Section {
            finding: String::new(),
            limitations: String::new(),
        method: format!("MLP {} with p = 0.5 on {} images, {} seeds; MC dropout over T masks on the 10,000 test images vs the deterministic net (accuracy {} %).", e.mlp, e.n, e.deterministic_acc.len(), det.fmt(100.0, 2)),
        key_number: format!("acc MC(T=50) − deterministic = {} pts; KL {:.4} (T=1) → {:.4} (T=100)", e.d50().fmt(100.0, 2), Est::of(&e.kl[0]).mean, Est::of(&e.kl[last]).mean),
        tables: vec![Table::new("MC dropout vs weight scaling (mean ± 95% CI)", &["T", "MC test acc %", "MC − deterministic (pts)", "KL(MC ‖ det)"], rows)],
        figures: vec![
            Figure { caption: "Test accuracy of the T-sample MC average; the flat line is the deterministic net".into(), svg: lines(&Axes { title: "MC dropout accuracy", x: "T (masks)", y: "test accuracy %", log_x: true, log_y: false }, &[
                Series { name: "MC average".into(), points: e.t.iter().enumerate().map(|(i, &t)| { let m = Est::of(&e.mc_acc[i]); (t as f64, 100.0 * m.mean, 100.0 * m.ci) }).collect() },
                Series { name: "weight scaling".into(), points: vec![(1.0, 100.0 * det.mean, 0.0), (t_max, 100.0 * det.mean, 0.0)] },
            ]) },
            Figure { caption: "Mean KL divergence of the MC average from the deterministic prediction".into(), svg: lines(&Axes { title: "KL(MC_T ‖ deterministic)", x: "T (masks)", y: "KL (nats)", log_x: true, log_y: false }, &[Series { name: "KL".into(), points: e.t.iter().enumerate().map(|(i, &t)| { let k = Est::of(&e.kl[i]); (t as f64, k.mean, k.ci) }).collect() }]) },
        ],
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(kl_last: f64, mc50: [f64; 3]) -> Evidence {
        Evidence {
            mlp: "m".into(),
            n: 1,
            t: vec![1, 50, 100],
            deterministic_acc: vec![0.9, 0.91, 0.92],
            mc_acc: vec![vec![0.8; 3], mc50.to_vec(), vec![0.9; 3]],
            kl: vec![vec![0.2; 3], vec![0.1; 3], vec![kl_last; 3]],
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let tied = [0.9, 0.91, 0.92];
        let worse = [0.8, 0.805, 0.81];
        assert_eq!(Ensemble::verdict(&evidence(0.05, tied)), Verdict::Holds);
        assert_eq!(
            Ensemble::verdict(&evidence(0.3, tied)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.05, worse)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Ensemble::verdict(&evidence(0.3, worse)),
            Verdict::DoesNotHold
        );
    }
}
