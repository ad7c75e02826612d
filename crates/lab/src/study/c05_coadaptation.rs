//! C5 — "Dropout breaks co-adaptation, giving redundant, robust units."
//!
//! Nets trained with p = 0 and p = 0.5 (same seeds). Robustness: at test time
//! a random k % of the hidden units of both layers is removed (survivors
//! rescaled by 1/(1−k), i.e. dropout at rate k on the trained weights),
//! k = 0 … 70 %, three random ablations averaged per net. Co-adaptation: the
//! mean |Pearson correlation| between pairs of second-hidden-layer units over
//! 2,000 test images (eval mode).
//!
//! Rule: holds if the accuracy lost at k = 50 % is smaller for the dropout net
//! (paired CI of the difference above 0) and its mean |correlation| is lower
//! (paired CI below 0); holds partly if one of the two; else does not hold.

use anyhow::Result;
use engine::layer::Ctx;
use engine::Sequential;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{ClaimResult, Figure, Table, Verdict};

/// Test accuracy of `weights` in a net whose hidden dropout rate is `k`, with MC masks.
fn ablated(lab: &Lab, spec: &RunSpec, model: &mut Sequential, k: f32, draws: u32) -> Result<f64> {
    let mut net = engine::spec::build(
        &spec
            .with_p(k)
            .config()
            .model_spec(784, 10)
            .map_err(anyhow::Error::msg)?,
        &[784],
        0,
    )?;
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
                &Ctx::mc_sample(0xC5 + spec.seed, d),
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

/// Run C5.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let ks: Vec<f32> = (0..=7).map(|i| i as f32 / 10.0).collect();
    let n = lab.base_size();
    lab.begin("C5", 2 * lab.seeds.len());
    let mut acc: [Vec<Vec<f64>>; 2] = [vec![Vec::new(); ks.len()], vec![Vec::new(); ks.len()]];
    let mut corr: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for (arm, p) in [0.0f32, 0.5].into_iter().enumerate() {
        for &seed in &lab.seeds {
            let spec = RunSpec::mlp(lab.mlp(), n, lab.epochs_for(n), seed).with_p(p);
            let (_, mut model, _) = lab.trained(&spec)?;
            for (i, &k) in ks.iter().enumerate() {
                let draws = if k == 0.0 { 1 } else { 3 };
                acc[arm][i].push(ablated(lab, &spec, &mut model, k, draws)?);
            }
            corr[arm].push(mean_abs_corr(lab, &mut model));
            lab.tick(&format!("p={p} seed {seed}"));
        }
    }
    lab.end();
    let i50 = 5;
    let loss = |arm: usize| -> Vec<f64> {
        acc[arm][0]
            .iter()
            .zip(&acc[arm][i50])
            .map(|(a, b)| a - b)
            .collect()
    };
    let robust = paired(&loss(0), &loss(1));
    let dcorr = paired(&corr[1], &corr[0]);
    let verdict = match (robust.above_zero(), dcorr.below_zero()) {
        (true, true) => Verdict::Holds,
        (false, false) => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
    let series: Vec<Series> = (0..2)
        .map(|arm| Series {
            name: format!("trained with p = {}", [0.0, 0.5][arm]),
            points: ks
                .iter()
                .enumerate()
                .map(|(i, &k)| {
                    let e = Est::of(&acc[arm][i]);
                    (100.0 * f64::from(k), 100.0 * e.mean, 100.0 * e.ci)
                })
                .collect(),
        })
        .collect();
    let rows = ks
        .iter()
        .enumerate()
        .map(|(i, k)| {
            vec![
                format!("{:.0}%", k * 100.0),
                Est::of(&acc[0][i]).fmt(100.0, 2),
                Est::of(&acc[1][i]).fmt(100.0, 2),
            ]
        })
        .collect();
    Ok(ClaimResult {
        id: "C5".into(),
        claim: "Dropout breaks co-adaptation between units, making them redundant and the net robust to losing some.".into(),
        method: format!("MLP {} on {n} images, p = 0 vs 0.5, {} seeds; at test time k % of both hidden layers' units removed at random (3 draws), survivors rescaled; mean |correlation| of second-layer units on 2,000 test images.", lab.mlp(), lab.seeds.len()),
        verdict,
        rule: "holds: accuracy lost at k = 50% smaller for the dropout net (paired CI of loss(p=0) − loss(p=0.5) above 0) AND mean |corr| lower (paired CI of corr(p=0.5) − corr(p=0) below 0); holds partly: one; else does not hold.".into(),
        key_number: format!("accuracy lost at 50% ablation: p=0 {} pts, p=0.5 {} pts; mean |corr| {:.3} → {:.3}", Est::of(&loss(0)).fmt(100.0, 1), Est::of(&loss(1)).fmt(100.0, 1), Est::of(&corr[0]).mean, Est::of(&corr[1]).mean),
        tables: vec![
            Table { title: "Test accuracy % after removing k% of hidden units (mean ± 95% CI)".into(), header: vec!["k".into(), "trained p=0".into(), "trained p=0.5".into()], rows },
            Table { title: "Co-adaptation".into(), header: vec!["net".into(), "mean |corr| (hidden 2)".into()], rows: vec![vec!["p = 0".into(), Est::of(&corr[0]).fmt(1.0, 4)], vec!["p = 0.5".into(), Est::of(&corr[1]).fmt(1.0, 4)], vec!["difference".into(), dcorr.fmt(1.0, 4)]] },
        ],
        figures: vec![Figure { caption: "Test accuracy as hidden units are removed at test time".into(), svg: lines(&Axes { title: "Robustness to unit loss", x: "units removed (%)", y: "test accuracy %", log_x: false, log_y: false }, &series) }],
        numbers: serde_json::json!({"k": ks, "acc_p0": acc[0], "acc_p05": acc[1], "corr_p0": corr[0], "corr_p05": corr[1], "loss_difference": robust, "corr_difference": dcorr}),
        elapsed_s: 0.0,
    })
}
