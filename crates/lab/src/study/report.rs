//! The study's outputs: `index.html` — one self-contained page (inline SVG,
//! no network), a summary table first, then one section per claim (claim,
//! method, tables of mean ± 95 % CI, figures, verdict and its rule), and a
//! footer (command, seeds, git commit, machine, elapsed) — plus
//! `results.json` with every number, and the terminal's summary table. The
//! files are written by [`crate::outfile`] (atomic; links followed).

use std::fmt::Write as _;
use std::path::Path;

use super::{ClaimResult, Verdict};
use crate::error::{LabError, Result};
use crate::html::{esc, RunInfo, STYLE};

fn badge(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::HoldsPartly => "partly",
        Verdict::DoesNotHold => "nothold",
        Verdict::Inconclusive | Verdict::Comparison => "inconclusive",
    }
}

/// The HTML page.
pub fn html(results: &[ClaimResult], info: &RunInfo) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>dropout-lab study</title><style>{STYLE}</style></head><body><h1>dropout-lab study</h1>
<p>Every claim of the dropout lesson, measured on real MNIST and Fashion-MNIST (and 2-D toy data for C6) over {} seeds (some claims use more; each section says). Each verdict is derived from the numbers by the rule shown with it; "does not hold" is a possible outcome.</p>
<h2 id="summary">Summary</h2><table><tr><th>claim</th><th></th><th>verdict</th><th>key number</th></tr>"#,
        info.seeds.len()
    );
    // Claims about learning first, then the implementation checks.
    let ordered: Vec<&ClaimResult> = results
        .iter()
        .filter(|r| !r.check)
        .chain(results.iter().filter(|r| r.check))
        .collect();
    let mut in_checks = false;
    for r in &ordered {
        if r.check && !in_checks {
            in_checks = true;
            h.push_str(r#"<tr><th colspan="4">Implementation checks: the code does what dropout's definition says</th></tr>"#);
        }
        let _ = write!(
            h,
            r##"<tr><td><a href="#{id}">{id}</a></td><td>{claim}</td><td><span class="v {cls}">{v}</span></td><td>{key}</td></tr>"##,
            id = r.id,
            claim = esc(r.claim),
            cls = badge(r.verdict),
            v = r.verdict.text(),
            key = esc(&r.key_number)
        );
    }
    h.push_str("</table>");
    let mut in_checks = false;
    for r in ordered {
        if r.check && !in_checks {
            in_checks = true;
            h.push_str(r#"<h2 id="checks">Implementation checks</h2><p>These test the implementation against dropout's definition, not claims about learning.</p>"#);
        }
        let _ = write!(
            h,
            r#"<section id="{id}"><h2>{id} — {claim}</h2><p><span class="v {cls}">{v}</span></p>"#,
            id = r.id,
            claim = esc(r.claim),
            cls = badge(r.verdict),
            v = r.verdict.text(),
        );
        if !r.finding.is_empty() {
            let _ = write!(
                h,
                r#"<p class="finding"><b>Finding.</b> {}</p>"#,
                esc(&r.finding)
            );
        }
        let _ = write!(h, "<p><b>Method.</b> {}</p>", esc(&r.method));
        for t in &r.tables {
            let _ = write!(h, "<p><b>{}</b></p><table><tr>", esc(&t.title));
            for c in &t.header {
                let _ = write!(h, "<th>{}</th>", esc(c));
            }
            h.push_str("</tr>");
            for row in &t.rows {
                h.push_str("<tr>");
                for c in row {
                    let _ = write!(h, "<td>{}</td>", esc(c));
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
        }
        if !r.figures.is_empty() {
            h.push_str(r#"<div class="grid">"#);
            for f in &r.figures {
                let _ = write!(
                    h,
                    "<figure>{}<figcaption>{}</figcaption></figure>",
                    f.svg,
                    esc(&f.caption)
                );
            }
            h.push_str("</div>");
        }
        if !r.limitations.is_empty() {
            let _ = write!(
                h,
                r#"<p class="limits"><b>Limitations.</b> {}</p>"#,
                esc(&r.limitations)
            );
        }
        let _ = write!(
            h,
            r#"<p><b>Verdict:</b> <span class="v {cls}">{v}</span> — {key}</p><p class="rule"><b>Rule.</b> {rule}</p></section>"#,
            cls = badge(r.verdict),
            v = r.verdict.text(),
            key = esc(&r.key_number),
            rule = esc(r.rule)
        );
    }
    let _ = write!(
        h,
        "<footer>Command: <code>{}</code> · budget {} · seeds {:?} · git commit {} · dropout-lab {} · machine: {} · elapsed {:.0} s ({} training runs now, the rest from the cache)</footer></body></html>",
        esc(&info.command),
        info.budget,
        info.seeds,
        esc(&info.git_commit),
        info.version,
        esc(&info.machine),
        info.elapsed_s,
        info.runs_trained
    );
    h
}

/// Write `index.html` and `results.json` into `dir`.
///
/// # Errors
/// [`LabError::Output`] naming the folder or file that cannot be written.
pub fn write(dir: &Path, results: &[ClaimResult], info: &RunInfo) -> Result<()> {
    use crate::outfile;
    outfile::folder(dir, "index.html and results.json", &[])?;
    outfile::write(&dir.join("index.html"), html(results, info).as_bytes(), &[])?;
    let json = serde_json::json!({"claims": results, "elapsed_s": info.elapsed_s, "run": info});
    outfile::write(
        &dir.join("results.json"),
        serde_json::to_string_pretty(&json)
            .map_err(LabError::json(dir.join("results.json")))?
            .as_bytes(),
        &[],
    )
}

/// The summary table for the terminal.
pub fn summary(results: &[ClaimResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<4} {:<14} key number", "", "verdict");
    for r in results {
        let _ = writeln!(s, "{:<4} {:<14} {}", r.id, r.verdict.text(), r.key_number);
    }
    s
}
