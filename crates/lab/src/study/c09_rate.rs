//! C9 — "p is usually 0.3–0.5."
//!
//! Sweep p ∈ {0, 0.1, …, 0.8} at one setting (the budget's MLP, base subset).
//! The best p has the highest mean test accuracy; p is *tied* with it when the
//! paired CI of (acc(best) − acc(p)) includes 0.
//!
//! Rule: holds if the best p is in [0.3, 0.5]; holds partly if not, but the
//! tied set meets [0.3, 0.5]; does not hold otherwise.

use anyhow::Result;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{per_seed, test_accs, ClaimResult, Figure, Table, Verdict};

/// Run C9.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let ps: Vec<f32> = (0..=8).map(|i| i as f32 / 10.0).collect();
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    lab.begin("C9", ps.len() * lab.seeds.len());
    let accs: Vec<Vec<f64>> = ps
        .iter()
        .map(|&p| {
            per_seed(lab, &format!("p={p}"), |s| {
                RunSpec::mlp(lab.mlp(), n, epochs, s).with_p(p)
            })
            .map(|o| test_accs(&o))
        })
        .collect::<Result<_>>()?;
    lab.end();
    let ests: Vec<Est> = accs.iter().map(|a| Est::of(a)).collect();
    let best = (0..ps.len())
        .max_by(|&a, &b| ests[a].mean.total_cmp(&ests[b].mean))
        .unwrap_or(0);
    let tied: Vec<f32> = (0..ps.len())
        .filter(|&i| i == best || !paired(&accs[best], &accs[i]).above_zero())
        .map(|i| ps[i])
        .collect();
    let in_band = |p: f32| (0.3 - 1e-6..=0.5 + 1e-6).contains(&p);
    let verdict = if in_band(ps[best]) {
        Verdict::Holds
    } else if tied.iter().any(|&p| in_band(p)) {
        Verdict::HoldsPartly
    } else {
        Verdict::DoesNotHold
    };
    let rows = ps
        .iter()
        .zip(&ests)
        .map(|(p, e)| {
            vec![
                format!("{p:.1}"),
                e.fmt(100.0, 2),
                if tied.contains(p) {
                    "tied with best".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let series = Series {
        name: "test acc".into(),
        points: ps
            .iter()
            .zip(&ests)
            .map(|(&p, e)| (f64::from(p), 100.0 * e.mean, 100.0 * e.ci))
            .collect(),
    };
    Ok(ClaimResult {
        id: "C9".into(),
        claim: "The dropout rate p is usually best around 0.3–0.5.".into(),
        method: format!("MLP {} on {n} MNIST images, {epochs} epochs, hidden dropout p ∈ {{0, 0.1, …, 0.8}}, {} seeds.", lab.mlp(), lab.seeds.len()),
        verdict,
        rule: "best p = highest mean test accuracy; tied = paired CI of acc(best) − acc(p) includes 0. holds: best p ∈ [0.3, 0.5]; holds partly: tied set meets [0.3, 0.5]; else does not hold.".into(),
        key_number: format!("best p = {:.1} ({} %); tied: {:?}", ps[best], ests[best].fmt(100.0, 2), tied),
        tables: vec![Table { title: "Test accuracy % by p (mean ± 95% CI)".into(), header: vec!["p".into(), "test acc".into(), "".into()], rows }],
        figures: vec![Figure { caption: "Test accuracy against dropout rate".into(), svg: lines(&Axes { title: "Test accuracy vs p", x: "p", y: "test accuracy %", log_x: false, log_y: false }, &[series]) }],
        numbers: serde_json::json!({"p": ps, "test_acc": accs, "best_p": ps[best], "tied": tied}),
        elapsed_s: 0.0,
    })
}
