//! `eval --report DIR`: `DIR/index.html` (self-contained, inline SVG, the
//! study's style) and `DIR/report.json`.
//!
//! ```text
//! metric table      every arm: Acc, NLL, Brier, ECE, aECE, AURC, E-AURC, Risk@80Cov, Entropy, MI, VR, µs/example
//! OOD table         every arm × score: AUROC, AUPR, FPR95
//! reliability       per arm: accuracy vs mean confidence of the 15 equal-width bins (non-empty), diagonal = calibrated
//! risk–coverage     per arm: error rate on the most confident fraction c of the test set, c = 1 % … 100 %
//! histograms        per arm with an OOD set: share of samples per bin of entropy (and of MI), test vs OOD
//! ```
//! DIR must be a folder (made if missing) outside the runs evaluated; the
//! files are written by [`crate::outfile`].

use std::fmt::Write as _;
use std::path::Path;

use super::metrics::{confidences, reliability};
use super::ood::Score;
use super::report::{Arm, Report};
use super::selective::curve;
use crate::error::{LabError, Result};
use crate::html::plot::{lines, Axes, Series};
use crate::html::{esc, STYLE};
use crate::outfile::{self, Protected};

/// Frequency polygon of `v` over `bins` equal bins of [0, hi]: (bin centre, share).
fn histogram(v: &[f64], hi: f64, bins: usize) -> Points {
    let mut c = vec![0usize; bins];
    for &x in v {
        c[((x / hi * bins as f64) as usize).min(bins - 1)] += 1;
    }
    c.iter()
        .enumerate()
        .map(|(b, &n)| {
            let share = n as f64 / v.len().max(1) as f64;
            ((b as f64 + 0.5) * hi / bins as f64, share, 0.0)
        })
        .collect()
}

/// Points of a series: (x, y, error bar).
type Points = Vec<(f64, f64, f64)>;

fn figures(arms: &[Arm], y: &[u32]) -> Vec<(String, String)> {
    let series = |f: &dyn Fn(&Arm) -> Points| -> Vec<Series> {
        arms.iter()
            .map(|a| Series {
                name: a.name.clone(),
                points: f(a),
            })
            .collect()
    };
    let mut rel = series(&|a| {
        reliability(&a.test, y)
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| (b.conf, b.acc, 0.0))
            .collect()
    });
    rel.push(Series {
        name: "calibrated".into(),
        points: vec![(0.0, 0.0, 0.0), (1.0, 1.0, 0.0)],
    });
    let rc = series(&|a| {
        curve(&confidences(&a.test, y), 100)
            .into_iter()
            .map(|(c, r)| (100.0 * c, 100.0 * r, 0.0))
            .collect()
    });
    let mut out = vec![
        (
            "Reliability: accuracy against mean confidence in 15 confidence bins; below the diagonal = overconfident".to_string(),
            lines(&Axes { title: "reliability diagram", x: "confidence", y: "accuracy", log_x: false, log_y: false }, &rel),
        ),
        (
            "Risk–coverage: error rate on the most confident c % of the test set (lower is better)".to_string(),
            lines(&Axes { title: "risk–coverage", x: "coverage %", y: "risk (error %)", log_x: false, log_y: false }, &rc),
        ),
    ];
    let k = arms.first().map_or(2, |a| a.test.k) as f64;
    for a in arms {
        let Some(o) = &a.ood else { continue };
        for s in [Score::Entropy, Score::Mi] {
            if s == Score::Mi && a.test.members < 2 {
                continue;
            }
            let (id, od) = (s.all(&a.test), s.all(o));
            let hi = id
                .iter()
                .chain(&od)
                .copied()
                .fold(1e-9, f64::max)
                .min(k.ln());
            let hs = vec![
                Series {
                    name: "test (in-distribution)".into(),
                    points: histogram(&id, hi, 30),
                },
                Series {
                    name: "OOD".into(),
                    points: histogram(&od, hi, 30),
                },
            ];
            out.push((
                format!(
                    "{}: {} of test vs OOD samples (share per bin)",
                    a.name,
                    s.name()
                ),
                lines(
                    &Axes {
                        title: &format!("{} — {}", a.name, s.name()),
                        x: "nats",
                        y: "share of samples",
                        log_x: false,
                        log_y: false,
                    },
                    &hs,
                ),
            ));
        }
    }
    out
}

/// The page.
pub fn html(report: &Report, arms: &[Arm], y: &[u32], title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>"#,
        t = esc(title)
    );
    for n in &report.notes {
        let _ = write!(h, r#"<p class="finding">{}</p>"#, esc(n));
    }
    h.push_str("<h2>Test set</h2><table><tr><th>arm</th><th>Acc %</th><th>NLL</th><th>Brier</th><th>ECE</th><th>aECE</th><th>AURC</th><th>E-AURC</th><th>Risk@80Cov %</th><th>Entropy</th><th>MI</th><th>VR</th><th>µs / example</th></tr>");
    for r in &report.rows {
        let m = &r.metrics;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.2}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.1}</td></tr>",
            esc(&r.name), 100.0 * m.acc, m.nll, m.brier, m.ece, m.aece, m.aurc, m.eaurc, 100.0 * m.risk80, m.entropy, m.mi, m.vr, r.us_per_example
        );
    }
    h.push_str("</table>");
    if let Some(t) = report.temperature {
        let _ = write!(
            h,
            "<p>Fitted temperature T = {t:.3} (on the run's validation split).</p>"
        );
    }
    if let Some(kl) = report.kl_mc_to_det {
        let _ = write!(
            h,
            "<p>KL(MC ‖ deterministic) = {kl:.4} nats per test sample.</p>"
        );
    }
    if let Some(src) = &report.ood_source {
        let _ = write!(h, "<h2>Out-of-distribution detection: test set vs {}</h2><table><tr><th>arm</th><th>score</th><th>AUROC</th><th>AUPR</th><th>FPR95</th></tr>", esc(src));
        for r in &report.rows {
            for (s, d) in &r.ood {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                    esc(&r.name),
                    s.name(),
                    d.auroc,
                    d.aupr,
                    d.fpr95
                );
            }
        }
        h.push_str("</table>");
    }
    h.push_str(r#"<h2>Figures</h2><div class="grid">"#);
    for (cap, svg) in figures(arms, y) {
        let _ = write!(
            h,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(&cap)
        );
    }
    h.push_str("</div><footer>Metric names follow torch-uncertainty (Acc, NLL, Brier, ECE and aECE with 15 bins, AURC, Risk@80Cov, AUROC, AUPR, FPR95). Written by <code>dropout-lab eval --report</code>.</footer></body></html>");
    h
}

/// What the report folder gets, for messages.
pub const HOLDS: &str = "index.html and report.json";

/// Write `index.html` and `report.json` into folder `dir`, refusing a folder
/// inside the `protect`ed inputs.
///
/// # Errors
/// [`LabError::Output`] when they cannot be written; [`LabError::Json`].
pub fn write(
    dir: &Path,
    report: &Report,
    arms: &[Arm],
    y: &[u32],
    title: &str,
    protect: &[Protected],
) -> Result<()> {
    outfile::folder(dir, HOLDS, protect)?;
    outfile::write(
        &dir.join("index.html"),
        html(report, arms, y, title).as_bytes(),
        protect,
    )?;
    let json =
        serde_json::to_vec_pretty(report).map_err(LabError::json(dir.join("report.json")))?;
    outfile::write(&dir.join("report.json"), &json, protect)
}
