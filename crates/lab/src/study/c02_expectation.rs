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
//! Rule: (a) holds if the fitted slope is within [−0.6, −0.4] for every seed;
//! (b) holds if the mistaken net's test NLL exceeds the correct one's with a
//! paired CI above 0. holds: both; holds partly: one; else does not hold.

use anyhow::Result;
use dropout::{Dropout, MaskKey, Mode};
use engine::layer::{Ctx, ParamKind};

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{ClaimResult, Figure, Table, Verdict};
use crate::train::evaluate;

/// Run C2.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let p = 0.5f32;
    let n = lab.base_size();
    let ks: Vec<usize> = (0..=10).map(|i| 1usize << i).collect();
    lab.begin("C2", lab.seeds.len());
    let mut errs: Vec<Vec<f64>> = Vec::new();
    let mut slopes = Vec::new();
    let (mut nll_ok, mut nll_bad, mut acc_ok, mut acc_bad, mut act_ratio) =
        (vec![], vec![], vec![], vec![], vec![]);
    for &seed in &lab.seeds {
        let spec = RunSpec::mlp(lab.mlp(), n, lab.epochs_for(n), seed).with_p(p);
        let (_, mut model, splits) = lab.trained(&spec)?;
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
    lab.end();
    let part_a = slopes.iter().all(|s| (-0.6..=-0.4).contains(s));
    let dnll = paired(&nll_bad, &nll_ok);
    let part_b = dnll.above_zero();
    let verdict = match (part_a, part_b) {
        (true, true) => Verdict::Holds,
        (false, false) => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
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
                .map(|&k| (k as f64, errs[0][0] / (k as f64).sqrt(), 0.0))
                .collect(),
        },
    ];
    Ok(ClaimResult {
        id: "C2".into(),
        claim: "Scaling the survivors by 1/(1−p) keeps E[h'] = h, so the test-time network needs no change.".into(),
        method: format!("MLP {} trained with p = {p} on {n} images, {} seeds. (a) first-layer activations of 256 test images averaged over K dropout masks, K = 1 … 1024. (b) the unscaled-dropout mistake, by exact reparametrisation (layers after a dropout site hold W/(1−p)), evaluated without rescaling.", lab.mlp(), lab.seeds.len()),
        verdict,
        rule: "(a) log–log slope of relative error vs K within [−0.6, −0.4] for every seed; (b) test NLL(mistaken) − NLL(inverted dropout) paired CI above 0. holds: both; holds partly: one; else does not hold.".into(),
        key_number: format!("slope {} (theory −0.5); NLL mistaken − correct = {}", Est::of(&slopes).fmt(1.0, 3), dnll.fmt(1.0, 4)),
        tables: vec![Table {
            title: "Evaluation of the same trained weights (mean ± 95% CI)".into(),
            header: vec!["test-time network".into(), "test acc %".into(), "test NLL".into(), "hidden-2 activation magnitude (× correct)".into()],
            rows: vec![
                vec!["inverted dropout (ours), no change".into(), Est::of(&acc_ok).fmt(100.0, 2), Est::of(&nll_ok).fmt(1.0, 4), "1".into()],
                vec!["unscaled training, unscaled test (mistake)".into(), Est::of(&acc_bad).fmt(100.0, 2), Est::of(&nll_bad).fmt(1.0, 4), Est::of(&act_ratio).fmt(1.0, 3)],
            ],
        }],
        figures: vec![Figure { caption: "Relative error of the K-mask average of h' against h".into(), svg: lines(&Axes { title: "‖mean_K h' − h‖ / ‖h‖", x: "K (masks averaged)", y: "relative error", log_x: true, log_y: true }, &series) }],
        numbers: serde_json::json!({"K": ks, "relative_error": errs, "slopes": slopes, "nll_correct": nll_ok, "nll_mistaken": nll_bad, "acc_correct": acc_ok, "acc_mistaken": acc_bad, "activation_ratio": act_ratio}),
        elapsed_s: 0.0,
    })
}
