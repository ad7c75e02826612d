//! C4 — "Dropout trains an implicit ensemble of subnetworks."
//!
//! One dropout-trained net per seed (p = 0.5 in the hidden layers): its
//! Monte-Carlo average over T masks, T ∈ {1, 2, 5, 10, 20, 50, 100}, against
//! the deterministic weight-scaled net: test accuracy and the mean
//! KL(p̄_T ‖ p_det) (Srivastava et al. 2014, fig. 11: about 50 samples match
//! weight scaling).
//!
//! Rule: holds if the KL at T = 100 is below the KL at T = 1 in every seed
//! and acc(MC, T = 50) − acc(deterministic) has a CI that is not below 0;
//! holds partly if only one of the two; does not hold otherwise.

use anyhow::Result;
use engine::layer::Ctx;
use engine::loss::softmax;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{ClaimResult, Figure, Table, Verdict};

/// Run C4.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let ts = [1usize, 2, 5, 10, 20, 50, 100];
    let n = lab.base_size();
    lab.begin("C4", lab.seeds.len());
    let test = lab.test();
    let (m, k) = (test.len(), 10);
    let mut det_acc = Vec::new();
    let mut mc_acc: Vec<Vec<f64>> = vec![Vec::new(); ts.len()];
    let mut kl: Vec<Vec<f64>> = vec![Vec::new(); ts.len()];
    for &seed in &lab.seeds {
        let spec = RunSpec::mlp(lab.mlp(), n, lab.epochs_for(n), seed).with_p(0.5);
        let (_, mut model, _) = lab.trained(&spec)?;
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
    lab.end();
    let i50 = ts.iter().position(|&t| t == 50).unwrap_or(0);
    let last = ts.len() - 1;
    let kl_falls = (0..lab.seeds.len()).all(|s| kl[last][s] < kl[0][s]);
    let d50 = paired(&mc_acc[i50], &det_acc);
    let verdict = match (kl_falls, !d50.below_zero()) {
        (true, true) => Verdict::Holds,
        (false, false) => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
    let det = Est::of(&det_acc);
    let rows = ts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vec![
                t.to_string(),
                Est::of(&mc_acc[i]).fmt(100.0, 2),
                paired(&mc_acc[i], &det_acc).fmt(100.0, 2),
                Est::of(&kl[i]).fmt(1.0, 4),
            ]
        })
        .collect();
    Ok(ClaimResult {
        id: "C4".into(),
        claim: "Dropout trains an implicit ensemble of exponentially many subnetworks; weight scaling approximates their average.".into(),
        method: format!("MLP {} with p = 0.5 on {n} images, {} seeds; MC dropout over T masks on the 10,000 test images vs the deterministic net (accuracy {} %).", lab.mlp(), lab.seeds.len(), det.fmt(100.0, 2)),
        verdict,
        rule: "holds: KL(MC_100 ‖ det) < KL(MC_1 ‖ det) for every seed AND acc(MC_50) − acc(det) with CI not below 0; holds partly: one; else does not hold.".into(),
        key_number: format!("acc MC(T=50) − deterministic = {} pts; KL {:.4} (T=1) → {:.4} (T=100)", d50.fmt(100.0, 2), Est::of(&kl[0]).mean, Est::of(&kl[last]).mean),
        tables: vec![Table { title: "MC dropout vs weight scaling (mean ± 95% CI)".into(), header: vec!["T".into(), "MC test acc %".into(), "MC − deterministic (pts)".into(), "KL(MC ‖ det)".into()], rows }],
        figures: vec![
            Figure { caption: "Test accuracy of the T-sample MC average; the flat line is the deterministic net".into(), svg: lines(&Axes { title: "MC dropout accuracy", x: "T (masks)", y: "test accuracy %", log_x: true, log_y: false }, &[
                Series { name: "MC average".into(), points: ts.iter().enumerate().map(|(i, &t)| { let e = Est::of(&mc_acc[i]); (t as f64, 100.0 * e.mean, 100.0 * e.ci) }).collect() },
                Series { name: "weight scaling".into(), points: vec![(1.0, 100.0 * det.mean, 0.0), (100.0, 100.0 * det.mean, 0.0)] },
            ]) },
            Figure { caption: "Mean KL divergence of the MC average from the deterministic prediction".into(), svg: lines(&Axes { title: "KL(MC_T ‖ deterministic)", x: "T (masks)", y: "KL (nats)", log_x: true, log_y: false }, &[Series { name: "KL".into(), points: ts.iter().enumerate().map(|(i, &t)| { let e = Est::of(&kl[i]); (t as f64, e.mean, e.ci) }).collect() }]) },
        ],
        numbers: serde_json::json!({"T": ts, "deterministic_acc": det_acc, "mc_acc": mc_acc, "kl": kl}),
        elapsed_s: 0.0,
    })
}
