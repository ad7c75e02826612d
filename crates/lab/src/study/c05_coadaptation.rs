//! C5 — "Dropout breaks co-adaptation, giving redundant, robust units."
//!
//! Nets trained with p = 0 and p = 0.5 (same seeds). Robustness: at test time
//! a random k % of the hidden units of both layers is removed (survivors
//! rescaled by 1/(1−k), i.e. dropout at rate k on the trained weights),
//! k = 0 … 70 %, three random ablations averaged per net. Co-adaptation: the
//! mean |Pearson correlation| between pairs of second-hidden-layer units over
//! 2,000 test images (eval mode).
//!
//! The verdict rule is [`Coadaptation::RULE`].

use engine::layer::Ctx;
use engine::Sequential;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{with_p, Lab};
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use crate::config::RunConfig;
use crate::error::Result;

/// C5.
pub struct Coadaptation;

/// What C5 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Fractions of hidden units removed.
    pub k: Vec<f32>,
    /// Test accuracy of the p = 0 nets, k × seed.
    pub acc_p0: Vec<Vec<f64>>,
    /// Test accuracy of the p = 0.5 nets, k × seed.
    pub acc_p05: Vec<Vec<f64>>,
    /// Mean |corr| of hidden-2 units, p = 0, per seed.
    pub corr_p0: Vec<f64>,
    /// The same, p = 0.5.
    pub corr_p05: Vec<f64>,
}

impl Evidence {
    /// Accuracy lost at k = 50 % per seed.
    fn loss(acc: &[Vec<f64>], k: &[f32]) -> Vec<f64> {
        let i50 = k.iter().position(|&x| (x - 0.5).abs() < 1e-6).unwrap_or(0);
        acc[0].iter().zip(&acc[i50]).map(|(a, b)| a - b).collect()
    }
    fn robust(&self) -> Est {
        paired(
            &Self::loss(&self.acc_p0, &self.k),
            &Self::loss(&self.acc_p05, &self.k),
        )
    }
    fn dcorr(&self) -> Est {
        paired(&self.corr_p05, &self.corr_p0)
    }
}

/// Test accuracy of `weights` in a net whose hidden dropout rate is `k`, with MC masks.
fn ablated(lab: &Lab, cfg: &RunConfig, model: &mut Sequential, k: f32, draws: u32) -> Result<f64> {
    let mut net = engine::spec::build(&with_p(cfg.clone(), k).model.spec(784, 10), &[784], 0)?;
    let mut w = Vec::new();
    model.visit_params(&mut |_, p| w.push(p.value.to_vec()));
    let mut i = 0;
    net.visit_params(&mut |_, p| {
        p.value.copy_from_slice(&w[i]);
        i += 1;
    });
    let test = lab.test();
    let mut correct = 0usize;
    for d in 0..draws {
        for start in (0..test.len()).step_by(2000) {
            let b = 2000.min(test.len() - start);
            net.input_mut(b)
                .copy_from_slice(&test.x[start * 784..(start + b) * 784]);
            let out = net.evaluate(
                &test.y[start..start + b],
                &Ctx::mc_sample(0xC5 + cfg.seed, d),
            )?;
            correct += out.correct;
        }
    }
    Ok(correct as f64 / (test.len() as f64 * f64::from(draws)))
}

/// Mean |correlation| between units of the second hidden layer.
fn mean_abs_corr(lab: &Lab, model: &mut Sequential) -> f64 {
    let m = 2000;
    model.input_mut(m).copy_from_slice(&lab.test().x[..m * 784]);
    model.forward(&Ctx::eval());
    let h = model.layers()[1].output();
    let c = h.cols();
    let cols: Vec<Vec<f64>> = (0..c)
        .map(|j| {
            let v: Vec<f64> = (0..m).map(|r| f64::from(h.data[r * c + j])).collect();
            let mean = v.iter().sum::<f64>() / m as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / m as f64).sqrt();
            if sd < 1e-9 {
                Vec::new()
            } else {
                v.iter().map(|x| (x - mean) / sd).collect()
            }
        })
        .collect();
    let live: Vec<&Vec<f64>> = cols.iter().filter(|v| !v.is_empty()).collect();
    let (mut sum, mut pairs) = (0.0, 0usize);
    for a in 0..live.len() {
        for b in a + 1..live.len() {
            sum += (live[a].iter().zip(live[b]).map(|(x, y)| x * y).sum::<f64>() / m as f64).abs();
            pairs += 1;
        }
    }
    sum / pairs.max(1) as f64
}

impl Claim for Coadaptation {
    const ID: &'static str = "C5";
    const CLAIM: &'static str = "Dropout breaks co-adaptation between units, making them redundant and the net robust to losing some.";
    const RULE: &'static str = "holds: accuracy lost at k = 50% smaller for the dropout net (paired CI of loss(p=0) − loss(p=0.5) above 0) AND mean |corr| lower (paired CI of corr(p=0.5) − corr(p=0) below 0); holds partly: one; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ks: Vec<f32> = (0..=7).map(|i| i as f32 / 10.0).collect();
        let n = lab.base_size();
        lab.begin(Self::ID, 2 * lab.seeds.len());
        let mut acc: [Vec<Vec<f64>>; 2] = [vec![Vec::new(); ks.len()], vec![Vec::new(); ks.len()]];
        let mut corr: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for (arm, p) in [0.0f32, 0.5].into_iter().enumerate() {
            for &seed in &lab.seeds {
                let cfg = lab.base_run(p, seed);
                let (_, mut model, _) = lab.trained(&cfg)?;
                for (i, &k) in ks.iter().enumerate() {
                    let draws = if k == 0.0 { 1 } else { 3 };
                    acc[arm][i].push(ablated(lab, &cfg, &mut model, k, draws)?);
                }
                corr[arm].push(mean_abs_corr(lab, &mut model));
                lab.tick(&format!("p={p} seed {seed}"));
            }
        }
        let [acc_p0, acc_p05] = acc;
        let [corr_p0, corr_p05] = corr;
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            k: ks,
            acc_p0,
            acc_p05,
            corr_p0,
            corr_p05,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::of_parts(e.robust().above_zero(), e.dcorr().below_zero())
    }

    fn render(e: &Evidence) -> Section {
        let arms = [(0.0, &e.acc_p0), (0.5, &e.acc_p05)];
        let series: Vec<Series> = arms
            .iter()
            .map(|(p, acc)| Series {
                name: format!("trained with p = {p}"),
                points: e
                    .k
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| {
                        let m = Est::of(&acc[i]);
                        (100.0 * f64::from(k), 100.0 * m.mean, 100.0 * m.ci)
                    })
                    .collect(),
            })
            .collect();
        let rows =
            e.k.iter()
                .enumerate()
                .map(|(i, k)| {
                    vec![
                        format!("{:.0}%", k * 100.0),
                        Est::of(&e.acc_p0[i]).fmt(100.0, 2),
                        Est::of(&e.acc_p05[i]).fmt(100.0, 2),
                    ]
                })
                .collect();
        let (l0, l1) = (
            Evidence::loss(&e.acc_p0, &e.k),
            Evidence::loss(&e.acc_p05, &e.k),
        );
        Section {
            finding: String::new(),
            limitations: String::new(),
        method: format!("MLP {} on {} images, p = 0 vs 0.5, {} seeds; at test time k % of both hidden layers' units removed at random (3 draws), survivors rescaled; mean |correlation| of second-layer units on 2,000 test images.", e.mlp, e.n, e.corr_p0.len()),
        key_number: format!("accuracy lost at 50% ablation: p=0 {} pts, p=0.5 {} pts; mean |corr| {:.3} → {:.3}", Est::of(&l0).fmt(100.0, 1), Est::of(&l1).fmt(100.0, 1), Est::of(&e.corr_p0).mean, Est::of(&e.corr_p05).mean),
        tables: vec![
            Table::new("Test accuracy % after removing k% of hidden units (mean ± 95% CI)", &["k", "trained p=0", "trained p=0.5"], rows),
            Table::new("Co-adaptation", &["net", "mean |corr| (hidden 2)"], vec![vec!["p = 0".into(), Est::of(&e.corr_p0).fmt(1.0, 4)], vec!["p = 0.5".into(), Est::of(&e.corr_p05).fmt(1.0, 4)], vec!["difference".into(), e.dcorr().fmt(1.0, 4)]]),
        ],
        figures: vec![Figure { caption: "Test accuracy as hidden units are removed at test time".into(), svg: lines(&Axes { title: "Robustness to unit loss", x: "units removed (%)", y: "test accuracy %", log_x: false, log_y: false }, &series) }],
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accuracies at k = 0 and 0.5; `lost` = accuracy lost by each arm; `corr` of each arm.
    fn evidence(lost: [f64; 2], corr: [f64; 2]) -> Evidence {
        let acc = |l: f64| {
            vec![
                vec![0.9, 0.91, 0.92],
                vec![0.9 - l, 0.91 - l * 1.1, 0.92 - l * 0.9],
            ]
        };
        let c = |v: f64| vec![v, v + 0.01, v - 0.01];
        Evidence {
            mlp: "m".into(),
            n: 1,
            k: vec![0.0, 0.5],
            acc_p0: acc(lost[0]),
            acc_p05: acc(lost[1]),
            corr_p0: c(corr[0]),
            corr_p05: c(corr[1]),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(
            Coadaptation::verdict(&evidence([0.2, 0.03], [0.3, 0.2])),
            Verdict::Holds
        );
        assert_eq!(
            Coadaptation::verdict(&evidence([0.2, 0.03], [0.2, 0.3])),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Coadaptation::verdict(&evidence([0.03, 0.03], [0.3, 0.2])),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Coadaptation::verdict(&evidence([0.03, 0.2], [0.2, 0.3])),
            Verdict::DoesNotHold
        );
    }
}
