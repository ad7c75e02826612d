//! A sweep's results on disk: `runs.csv` (one row per run), `results.json`
//! (every run's curve, the per-point summaries, the recommendation) and
//! `index.html` (the table and the figures, inline SVG).
//!
//! ```text
//! figure 1: final accuracy (mean ± 95 % CI over seeds) against the first numeric axis,
//!           one line per combination of the other axes (validation and test)
//! figure 2: test accuracy against epoch for each point (mean ± 95 % CI)
//! one seed: no CI — `"ci": null` in results.json, "n/a (1 seed)" in text, no error bar
//! ```
//! The files are written by [`crate::outfile`] (atomic; links followed).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::PointRuns;
use crate::error::{LabError, Result};
use crate::html::plot::{lines, Axes, Series};
use crate::html::{esc, RunInfo};
use crate::outfile;
use crate::stats::Est;

/// An [`Est`] as in `results.json`: `ci` is null for one value.
#[derive(Serialize)]
struct EstJson {
    mean: f64,
    ci: Option<f64>,
    n: usize,
}

impl From<Est> for EstJson {
    fn from(e: Est) -> Self {
        Self {
            mean: e.mean,
            ci: e.ci_opt(),
            n: e.n,
        }
    }
}

/// One point's summary, as in `results.json`.
#[derive(Serialize)]
struct Summary<'a> {
    values: &'a [(String, String)],
    /// `null` without a validation split (no value, not a mean of 0).
    val_acc: Option<EstJson>,
    test_acc: EstJson,
    train_acc: EstJson,
    diverged: usize,
}

/// `mean ± ci %` of accuracies (fractions), 2 decimals; one value has no CI:
/// `mean % ± n/a (1 seed)`.
pub fn pct(e: &Est) -> String {
    match e.ci_opt() {
        Some(_) => format!("{} %", e.fmt(100.0, 2)),
        None => format!("{:.2} % ± n/a ({} seed)", 100.0 * e.mean, e.n),
    }
}

/// [`pct`] without the unit (a table column in %).
fn cell(e: &Est) -> String {
    match e.ci_opt() {
        Some(_) => e.fmt(100.0, 2),
        None => format!("{:.2} ± n/a ({} seed)", 100.0 * e.mean, e.n),
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    run: &'a RunInfo,
    chosen: Option<&'a [(String, String)]>,
    points: Vec<Summary<'a>>,
    runs: &'a [PointRuns],
}

/// The CSV of every run.
pub fn csv(points: &[PointRuns]) -> String {
    let names: Vec<&str> = points
        .first()
        .map(|p| p.values.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    let mut s = names.join(",");
    s += if names.is_empty() { "" } else { "," };
    s += "seed,key,diverged,epochs,val_acc,test_acc,train_acc,test_loss,train_s\n";
    for p in points {
        for r in &p.runs {
            for (_, v) in &p.values {
                let _ = write!(s, "{v},");
            }
            match &r.out {
                Some(o) => {
                    let l = o.last();
                    let val = l.val_acc.map(|v| v.to_string()).unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "{},{},false,{},{val},{},{},{},{:.3}",
                        r.seed, r.key, o.epochs, l.test_acc, l.train_acc, l.test_loss, o.train_s
                    );
                }
                None => {
                    let _ = writeln!(s, "{},{},true,,,,,,", r.seed, r.key);
                }
            }
        }
    }
    s
}

/// Figure 1's series: final accuracy (`f`) against the first numeric axis.
fn by_axis(points: &[PointRuns], f: fn(&PointRuns) -> Vec<f64>) -> Option<(String, Vec<Series>)> {
    let first = points.first()?;
    let axis = (0..first.values.len()).find(|&i| {
        points
            .iter()
            .all(|p| p.values[i].1.parse::<f64>().is_ok_and(f64::is_finite))
    })?;
    let mut series: Vec<Series> = Vec::new();
    for p in points {
        let rest: Vec<String> = p
            .values
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, (n, v))| format!("{n}={v}"))
            .collect();
        let name = if rest.is_empty() {
            "all".to_string()
        } else {
            rest.join(" ")
        };
        let e = Est::of(&f(p));
        if e.n == 0 {
            continue;
        }
        let x: f64 = p.values[axis].1.parse().ok()?;
        let pt = (x, 100.0 * e.mean, 100.0 * e.ci);
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(pt),
            None => series.push(Series {
                name,
                points: vec![pt],
            }),
        }
    }
    Some((first.values[axis].0.clone(), series))
}

/// The HTML page.
pub fn html(points: &[PointRuns], chosen: Option<usize>, info: &RunInfo, title: &str) -> String {
    let mut h = format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}tr.chosen{{background:#e8f4e8;font-weight:bold}}</style></head><body><h1>{t}</h1>", t = esc(title));
    if let Some(c) = chosen {
        let _ = write!(
            h,
            "<p><b>Recommended: {}</b> — the highest mean final validation accuracy over {} seeds ({}). Chosen on validation data only; the test column is for reporting.</p>",
            esc(&points[c].label()),
            points[c].runs.len(),
            pct(&Est::of(&points[c].val()))
        );
    }
    h += "<table><tr>";
    if let Some(p) = points.first() {
        for (n, _) in &p.values {
            let _ = write!(h, "<th>{}</th>", esc(n));
        }
    }
    h +=
        "<th>validation acc. %</th><th>test acc. %</th><th>train acc. %</th><th>diverged</th></tr>";
    for (i, p) in points.iter().enumerate() {
        let class = if Some(i) == chosen {
            " class=\"chosen\""
        } else {
            ""
        };
        let _ = write!(h, "<tr{class}>");
        for (_, v) in &p.values {
            let _ = write!(h, "<td>{}</td>", esc(v));
        }
        let fmt = |xs: Vec<f64>| {
            if xs.is_empty() {
                "–".to_string()
            } else {
                cell(&Est::of(&xs))
            }
        };
        let _ = write!(
            h,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt(p.val()),
            fmt(p.test()),
            fmt(p.train()),
            p.diverged()
        );
    }
    h += "</table><p>mean ± 95 % CI over seeds (t distribution; a single seed has none).</p>";
    for (what, f) in [
        ("validation", PointRuns::val as fn(&PointRuns) -> Vec<f64>),
        ("test", PointRuns::test),
    ] {
        if let Some((x, s)) = by_axis(points, f) {
            if s.iter().any(|s| !s.points.is_empty()) {
                let ax = Axes {
                    title: &format!("final {what} accuracy"),
                    x: &x,
                    y: "accuracy %",
                    log_x: false,
                    log_y: false,
                };
                let _ = write!(h, "<figure>{}<figcaption>Final {what} accuracy against {}, mean ± 95 % CI over seeds.</figcaption></figure>", lines(&ax, &s), esc(&x));
            }
        }
    }
    let curves: Vec<Series> = points
        .iter()
        .map(|p| Series {
            name: p.label(),
            points: p
                .curve()
                .into_iter()
                .map(|(e, est)| (e as f64, 100.0 * est.mean, 100.0 * est.ci))
                .collect(),
        })
        .filter(|s| s.points.len() > 1)
        .collect();
    if !curves.is_empty() {
        let ax = Axes {
            title: "test accuracy during training",
            x: "epoch",
            y: "accuracy %",
            log_x: false,
            log_y: false,
        };
        let _ = write!(h, "<figure>{}<figcaption>Test accuracy at each evaluated epoch, mean ± 95 % CI over seeds.</figcaption></figure>", lines(&ax, &curves));
    }
    let _ = write!(
        h,
        "<footer><p>{} — dropout-lab {}, commit {}, {}; {:.0} s, {} runs trained by this command.</p></footer></body></html>",
        esc(&info.command),
        esc(&info.version),
        esc(&info.git_commit),
        esc(&info.machine),
        info.elapsed_s,
        info.runs_trained
    );
    h
}

/// Write `runs.csv`, `results.json` and `index.html` into `dir`.
///
/// # Errors
/// [`LabError::Output`] naming the folder or file that cannot be written.
pub fn write(
    dir: &Path,
    points: &[PointRuns],
    chosen: Option<usize>,
    info: &RunInfo,
    title: &str,
) -> Result<()> {
    outfile::folder(dir, "runs.csv, results.json and index.html", &[])?;
    outfile::write(&dir.join("runs.csv"), csv(points).as_bytes(), &[])?;
    let doc = Doc {
        run: info,
        chosen: chosen.map(|c| points[c].values.as_slice()),
        points: points
            .iter()
            .map(|p| Summary {
                values: &p.values,
                val_acc: (!p.val().is_empty()).then(|| Est::of(&p.val()).into()),
                test_acc: Est::of(&p.test()).into(),
                train_acc: Est::of(&p.train()).into(),
                diverged: p.diverged(),
            })
            .collect(),
        runs: points,
    };
    let path = dir.join("results.json");
    let json = serde_json::to_string_pretty(&doc).map_err(LabError::json(&path))?;
    outfile::write(&path, json.as_bytes(), &[])?;
    outfile::write(
        &dir.join("index.html"),
        html(points, chosen, info, title).as_bytes(),
        &[],
    )
}
