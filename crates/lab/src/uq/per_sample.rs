//! `eval --per-sample FILE`: one line per test sample and arm, for the user's
//! own tools. CSV (`.csv`) or JSON lines (any other extension):
//! ```text
//! arm, index, label, pred, confidence, entropy, mi, vr, correct, p0 … p(K−1)
//! ```
//! (`p` is the arm's mean distribution p̄; JSON lines carry it as an array `p`.)
//! The file is written by [`crate::outfile`]: atomically, through links, in
//! place into a FIFO or terminal, never into the runs being evaluated.

use std::io::Write;
use std::path::Path;

use super::report::Arm;
use crate::error::Result;
use crate::outfile::{self, Protected};

/// Write every arm's per-sample values for labels `y` to `path`, refusing a
/// path inside the `protect`ed inputs.
///
/// # Errors
/// [`crate::LabError::Output`] if the file cannot be written.
pub fn write(path: &Path, arms: &[Arm], y: &[u32], protect: &[Protected]) -> Result<()> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut out = Vec::new();
    let k = arms.first().map_or(0, |a| a.test.k);
    if csv {
        let ps: Vec<String> = (0..k).map(|j| format!("p{j}")).collect();
        writeln!(
            out,
            "arm,index,label,pred,confidence,entropy,mi,vr,correct,{}",
            ps.join(",")
        )
        .expect("writing to memory");
    }
    for a in arms {
        let p = &a.test;
        for (i, &label) in y.iter().enumerate().take(p.len()) {
            let (pred, conf) = p.top(i);
            let (h, mi, vr) = (p.entropy(i), p.mutual_information(i), p.variation_ratio(i));
            let correct = pred == label as usize;
            if csv {
                let probs: Vec<String> = p.row(i).iter().map(|v| format!("{v:.6e}")).collect();
                writeln!(
                    out,
                    "\"{}\",{i},{label},{pred},{conf:.6},{h:.6},{mi:.6},{vr:.6},{},{}",
                    a.name.replace('"', "\"\""),
                    u8::from(correct),
                    probs.join(",")
                )
            } else {
                let line = serde_json::json!({"arm": a.name, "index": i, "label": label, "pred": pred,
                    "confidence": conf, "entropy": h, "mi": mi, "vr": vr, "correct": correct, "p": p.row(i)});
                writeln!(out, "{line}")
            }
            .expect("writing to memory");
        }
    }
    outfile::write(path, &out, protect)
}
