//! `dropout-lab study --paper`: Srivastava et al. (JMLR 2014), Table 2, on
//! full MNIST — a 3 × 1024 ReLU net, input keep 0.8 (p = 0.2), hidden keep
//! 0.5, SGD with momentum, with and without the max-norm constraint, and the
//! same net without dropout. The paper reports 1.25 % test error for the
//! dropout net and 1.06 % with max-norm. Budget: `epochs` each (the paper
//! trained far longer), lr 0.05 (constant), momentum 0.9, batch 128,
//! max-norm c = 3.5.

use anyhow::Result;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::{ClaimResult, Figure, Table, Verdict};

/// Run the reproduction (one seed: the paper reports single numbers).
pub fn run(lab: &Lab, epochs: usize) -> Result<ClaimResult> {
    let arch = "784-1024-1024-1024-10";
    let arms: [(&str, f32, f32, f32, Option<f64>); 3] = [
        ("no dropout", 0.0, 0.0, 0.0, None),
        ("dropout (input 0.2, hidden 0.5)", 0.5, 0.2, 0.0, Some(1.25)),
        ("dropout + max-norm 3.5", 0.5, 0.2, 3.5, Some(1.06)),
    ];
    lab.begin("paper", arms.len());
    let mut rows = Vec::new();
    let mut series = Vec::new();
    let mut numbers = Vec::new();
    for &(name, p, pin, mn, paper) in &arms {
        let spec = RunSpec {
            input_dropout: pin,
            max_norm: mn,
            eval_every: 1,
            ..RunSpec::mlp(arch, 60_000, epochs, lab.seeds[0]).with_p(p)
        };
        let out = lab.run(&spec)?;
        let err = 100.0 * (1.0 - out.last().test_acc);
        let best = out
            .curve
            .iter()
            .map(|q| 100.0 * (1.0 - q.test_acc))
            .fold(f64::INFINITY, f64::min);
        rows.push(vec![
            name.to_string(),
            format!("{err:.2}"),
            format!("{best:.2}"),
            paper.map_or("—".into(), |v| format!("{v:.2}")),
            format!("{:.0}", out.train_s),
        ]);
        series.push(Series {
            name: name.into(),
            points: out
                .curve
                .iter()
                .map(|q| (q.epoch as f64, 100.0 * (1.0 - q.test_acc), 0.0))
                .collect(),
        });
        numbers.push(serde_json::json!({"setting": name, "test_error_pct": err, "best_test_error_pct": best, "paper_pct": paper, "train_s": out.train_s, "curve": out.curve}));
        lab.tick(name);
    }
    lab.end();
    Ok(ClaimResult {
        id: "paper".into(),
        claim: "Srivastava et al. 2014, Table 2: dropout NN (3 × 1024 ReLU) on MNIST reaches 1.25 % test error, 1.06 % with max-norm.".into(),
        method: format!("{arch}, ReLU, input dropout 0.2, hidden 0.5, SGD momentum 0.9, lr 0.05 (constant), batch 128, {epochs} epochs on all 60,000 training images, one seed; error on the 10,000 test images."),
        verdict: Verdict::Inconclusive,
        rule: "a reproduction, not a test: our error is reported next to the paper's, with the epoch budget stated.".into(),
        key_number: rows.iter().map(|r| format!("{}: {} % (paper {})", r[0], r[1], r[3])).collect::<Vec<_>>().join("; "),
        tables: vec![Table { title: format!("Test error % after {epochs} epochs"), header: vec!["setting".into(), "final".into(), "best epoch".into(), "paper".into(), "training s".into()], rows }],
        figures: vec![Figure { caption: "Test error per epoch".into(), svg: lines(&Axes { title: "MNIST test error", x: "epoch", y: "test error %", log_x: false, log_y: true }, &series) }],
        numbers: serde_json::json!(numbers),
        elapsed_s: 0.0,
    })
}
