//! The pages' kit: what every HTML page of the lab shares — the study's
//! report, a sweep's and `tune`'s page, `eval --report` — each one
//! self-contained (inline SVG, no network).
//!
//! ```text
//! esc(s)       & < > " → entities (text and attribute values)
//! STYLE        the one style sheet
//! RunInfo      the footer's facts: command, seeds, git commit, machine, elapsed, version
//! plot         figures (line charts with CI bars, decision surfaces) as SVG strings
//! ```

use serde::Serialize;

pub mod axis;
pub mod plot;

/// Facts about the run printed in the footer and saved in results.json.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// The command line.
    pub command: String,
    /// Budget name.
    pub budget: String,
    /// Seeds used.
    pub seeds: Vec<u64>,
    /// `git rev-parse --short HEAD`, if available.
    pub git_commit: String,
    /// CPU model and cores.
    pub machine: String,
    /// Wall time of the whole study.
    pub elapsed_s: f64,
    /// Training runs done now (the rest came from the cache).
    pub runs_trained: usize,
    /// Version of dropout-lab.
    pub version: String,
}

impl RunInfo {
    /// Collect machine and repository facts.
    pub fn collect(command: String, budget: &str, seeds: Vec<u64>) -> Self {
        let git_commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            command,
            budget: budget.into(),
            seeds,
            git_commit,
            machine: format!("{cpu}, {cores} cores, {}", std::env::consts::OS),
            elapsed_s: 0.0,
            runs_trained: 0,
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// `s` escaped for HTML text and attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The pages' style sheet (the study's and `eval --report`'s).
pub const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}
.v{font-weight:600;padding:.1em .5em;border-radius:.3em;white-space:nowrap}.holds{background:#d7f2d7}.partly{background:#fff1c2}.nothold{background:#f7d4d4}.inconclusive{background:#e4e4e4}
section{border-top:2px solid #ddd;margin-top:2em;padding-top:.5em}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:.8em}figure{margin:0}figure svg,figure img{width:100%;height:auto}figcaption{font-size:.85em;color:#555}
.finding{background:#f4f9f4;border-left:4px solid #7a7;padding:.4em .8em}.limits{font-size:.92em;color:#444}
.rule{background:#f7f7fb;border-left:4px solid #99c;padding:.4em .8em;font-size:.92em}footer{margin-top:3em;font-size:.85em;color:#555;border-top:1px solid #ddd;padding-top:.5em}
"#;
