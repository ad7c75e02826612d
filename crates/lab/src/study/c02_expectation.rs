//! C2 — "Scaling survivors by 1/(1−p) keeps E[h'] = h, so the test-time
//! network needs no change."
//!
//! (a) On a trained p = 0.5 net, the first hidden layer's activations h for
//! 256 test images (eval mode) are passed through K independent dropout masks
//! and averaged; the relative error ‖mean_K h' − h‖ / ‖h‖ should fall like
//! 1/√K (slope −1/2 on a log–log plot).
//! (b) The mistake the scaling prevents: dropout *without* the 1/(1−p) factor
//! in training, and no weight scaling at test time. A net trained that way is
//! exactly our net with each layer after a dropout site holding W/(1−p)
//! (its input was (1−p) times smaller in training); evaluated without
//! rescaling, those layers see activations 1/(1−p) too large.
//!
//! The verdict rule is [`Expectation::RULE`].

use dropout::{Dropout, MaskKey, Mode};
use engine::layer::{Ctx, ParamKind};
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{paired, Est};
use crate::train::evaluate;

/// C2.
pub struct Expectation;

/// What C2 measured, per seed where a vector.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Dropout rate.
    pub p: f32,
    /// Masks averaged, K.
    pub k: Vec<usize>,
    /// Relative error ‖mean_K h' − h‖ / ‖h‖, seed × K.
    pub relative_error: Vec<Vec<f64>>,
    /// Fitted log–log slope per seed.
    pub slopes: Vec<f64>,
    /// Test NLL of inverted dropout.
    pub nll_correct: Vec<f64>,
    /// Test NLL of the unscaled mistake.
    pub nll_mistaken: Vec<f64>,
    /// Test accuracy of inverted dropout.
    pub acc_correct: Vec<f64>,
    /// Test accuracy of the mistake.
    pub acc_mistaken: Vec<f64>,
    /// Hidden-2 activation magnitude, mistaken / correct.
    pub activation_ratio: Vec<f64>,
}

impl Evidence {
    fn slope_ok(&self) -> bool {
        !self.slopes.is_empty() && self.slopes.iter().all(|s| (-0.6..=-0.4).contains(s))
    }
    fn nll_difference(&self) -> Est {
        paired(&self.nll_mistaken, &self.nll_correct)
    }
}

impl Claim for Expectation {
    const ID: &'static str = "C2";
    const CLAIM: &'static str = "Scaling the survivors by 1/(1−p) keeps E[h'] = h, so the test-time network needs no change.";
    const RULE: &'static str = "(a) log–log slope of relative error vs K within [−0.6, −0.4] for every seed; (b) test NLL(mistaken) − NLL(inverted dropout) paired CI above 0. holds: both; holds partly: one; else does not hold.";
    const CHECK: bool = true;
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let p = 0.5f32;
        let n = lab.base_size();
        let ks: Vec<usize> = (0..=10).map(|i| 1usize << i).collect();
        lab.begin(Self::ID, lab.seeds.len());
        let mut errs: Vec<Vec<f64>> = Vec::new();
        let mut slopes = Vec::new();
        let (mut nll_ok, mut nll_bad, mut acc_ok, mut acc_bad, mut act_ratio) =
            (vec![], vec![], vec![], vec![], vec![]);
        let cfgs: Vec<_> = lab.seeds.iter().map(|&s| lab.base_run(p, s)).collect();
        lab.will_load(&cfgs)?;
        for cfg in &cfgs {
            let seed = cfg.seed;
            let (_, mut model, splits) = lab.trained(cfg)?;
            // (a) h = first hidden layer's eval-mode output on 256 test images.
            let m = 256;
            model.input_mut(m).copy_from_slice(&lab.test().x[..m * 784]);
            model.forward(&Ctx::eval());
            let h = model.layers()[0].output().data.clone();
            let norm_h = h.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
            let d = Dropout::new(p)?;
            let mut sum = vec![0.0f64; h.len()];
            let mut y = vec![0.0f32; h.len()];
            let mut e = Vec::new();
            for k in 1..=*ks.last().unwrap_or(&1) {
                d.forward(
                    MaskKey::new(seed ^ 0xC2, 0, k as u32),
                    Mode::Train,
                    &h,
                    &mut y,
                )?;
                sum.iter_mut()
                    .zip(&y)
                    .for_each(|(s, &v)| *s += f64::from(v));
                if ks.contains(&k) {
                    let err = sum
                        .iter()
                        .zip(&h)
                        .map(|(s, &v)| (s / k as f64 - f64::from(v)).powi(2))
                        .sum::<f64>()
                        .sqrt()
                        / norm_h;
                    e.push(err);
                }
            }
            // Least-squares slope of log err against log K.
            let (lx, ly): (Vec<f64>, Vec<f64>) = ks
                .iter()
                .zip(&e)
                .map(|(&k, &v)| ((k as f64).ln(), v.ln()))
                .unzip();
            let (mx, my) = (
                lx.iter().sum::<f64>() / lx.len() as f64,
                ly.iter().sum::<f64>() / ly.len() as f64,
            );
            let slope = lx
                .iter()
                .zip(&ly)
                .map(|(x, y)| (x - mx) * (y - my))
                .sum::<f64>()
                / lx.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
            slopes.push(slope);
            errs.push(e);
            // (b) correct vs mistaken evaluation.
            let ok = evaluate(&mut model, &splits.test, 1000)?;
            model.input_mut(m).copy_from_slice(&lab.test().x[..m * 784]);
            model.forward(&Ctx::eval());
            let pre_ok = model.layers()[1]
                .output()
                .data
                .iter()
                .map(|v| f64::from(v.abs()))
                .sum::<f64>();
            let mut idx = 0;
            model.visit_params(&mut |_, prm| {
                if prm.kind == ParamKind::Weight {
                    if idx > 0 {
                        prm.value.iter_mut().for_each(|w| *w /= 1.0 - p);
                    }
                    idx += 1;
                }
            });
            let bad = evaluate(&mut model, &splits.test, 1000)?;
            model.input_mut(m).copy_from_slice(&lab.test().x[..m * 784]);
            model.forward(&Ctx::eval());
            let pre_bad = model.layers()[1]
                .output()
                .data
                .iter()
                .map(|v| f64::from(v.abs()))
                .sum::<f64>();
            nll_ok.push(ok.loss);
            nll_bad.push(bad.loss);
            acc_ok.push(ok.acc);
            acc_bad.push(bad.acc);
            act_ratio.push(pre_bad / pre_ok);
            lab.tick(&format!("seed {seed}"));
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            p,
            k: ks,
            relative_error: errs,
            slopes,
            nll_correct: nll_ok,
            nll_mistaken: nll_bad,
            acc_correct: acc_ok,
            acc_mistaken: acc_bad,
            activation_ratio: act_ratio,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::of_parts(e.slope_ok(), e.nll_difference().above_zero())
    }

    fn render(e: &Evidence) -> Section {
        let ks = &e.k;
        let errs = &e.relative_error;
        let series = vec![
            Series {
                name: "measured".into(),
                points: ks
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| {
                        let v: Vec<f64> = errs.iter().map(|e| e[i]).collect();
                        let est = Est::of(&v);
                        (k as f64, est.mean, est.ci)
                    })
                    .collect(),
            },
            Series {
                name: "∝ 1/√K".into(),
                points: ks
                    .iter()
                    .map(|&k| {
                        (
                            k as f64,
                            errs.first().map_or(f64::NAN, |e| e[0]) / (k as f64).sqrt(),
                            0.0,
                        )
                    })
                    .collect(),
            },
        ];
        Section {
            finding: format!("Averaging K dropout masks approaches the plain activation at rate K^{} (theory K^−0.5, unbiased masks); forgetting to rescale (training without 1/(1−p), testing unchanged) inflates the next layer's activations {}× and raises the test NLL by {} nats at {} % vs {} % accuracy.", Est::of(&e.slopes).fmt(1.0, 3), Est::of(&e.activation_ratio).fmt(1.0, 2), e.nll_difference().fmt(1.0, 3), Est::of(&e.acc_mistaken).fmt(100.0, 2), Est::of(&e.acc_correct).fmt(100.0, 2)),
            limitations: String::new(),
        method: format!("MLP {} trained with p = {} on {} images, {} seeds. (a) first-layer activations of 256 test images averaged over K dropout masks, K = 1 … 1024. (b) the unscaled-dropout mistake, by exact reparametrisation (layers after a dropout site hold W/(1−p)), evaluated without rescaling.", e.mlp, e.p, e.n, e.slopes.len()),
        key_number: format!("slope {} (theory −0.5); NLL mistaken − correct = {}", Est::of(&e.slopes).fmt(1.0, 3), e.nll_difference().fmt(1.0, 4)),
        tables: vec![Table::new(
            "Evaluation of the same trained weights (mean ± 95% CI)",
            &["test-time network", "test acc %", "test NLL", "hidden-2 activation magnitude (× correct)"],
            vec![
                vec!["inverted dropout (ours), no change".into(), Est::of(&e.acc_correct).fmt(100.0, 2), Est::of(&e.nll_correct).fmt(1.0, 4), "1".into()],
                vec!["unscaled training, unscaled test (mistake)".into(), Est::of(&e.acc_mistaken).fmt(100.0, 2), Est::of(&e.nll_mistaken).fmt(1.0, 4), Est::of(&e.activation_ratio).fmt(1.0, 3)],
            ],
        )],
        figures: vec![Figure { caption: "Relative error of the K-mask average of h' against h".into(), svg: lines(&Axes { title: "‖mean_K h' − h‖ / ‖h‖", x: "K (masks averaged)", y: "relative error", log_x: true, log_y: true }, &series) }],
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(slope: f64, extra_nll: [f64; 3]) -> Evidence {
        Evidence {
            mlp: "784-8-8-10".into(),
            n: 10,
            p: 0.5,
            k: vec![1, 2],
            relative_error: vec![vec![1.0, 0.7]; 3],
            slopes: vec![slope, -0.5, -0.5],
            nll_correct: vec![0.3; 3],
            nll_mistaken: extra_nll.iter().map(|d| 0.3 + d).collect(),
            acc_correct: vec![0.9; 3],
            acc_mistaken: vec![0.8; 3],
            activation_ratio: vec![2.0; 3],
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let worse = [0.2, 0.25, 0.3];
        let tied = [0.2, -0.2, 0.0];
        assert_eq!(Expectation::verdict(&evidence(-0.5, worse)), Verdict::Holds);
        assert_eq!(
            Expectation::verdict(&evidence(-0.7, worse)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Expectation::verdict(&evidence(-0.5, tied)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Expectation::verdict(&evidence(-0.3, tied)),
            Verdict::DoesNotHold
        );
    }
}
