//! The rules that make a figure readable, apart from drawing it:
//!
//! ```text
//! range       = [min − 8 %, max + 8 %] of the data (log axes: ÷ 1.2, × 1.2; one value v:
//!               v ± max(10 % of |v|, 0.5))
//! proportion  = the label names one (accuracy, error %, risk, fraction, share, confidence,
//!               coverage, "% of …"), and is not a difference (Δ …, pts):
//!               the range is clipped to [0, 100] when the label has a '%', else [0, 1]
//! ticks       = labels with d decimals, d = the first digit of the tick spacing
//!               (spacing ≈ span / 8; on a log axis the smallest gap, lo · ((hi/lo)^(1/8) − 1)),
//!               so neighbouring labels differ
//! log ticks   = 1·10^k, 2·10^k, 5·10^k inside the range (only 1·10^k when that gives more
//!               than 8; 1…9·10^k when it gives fewer than 3), so a range within one decade
//!               still has labelled ticks
//! legend      = below the plot, outside the data: items laid out left to right,
//!               wrapping at the figure's width
//! ```

/// The range of an axis holding `vals` (see the module docs).
pub fn range(vals: impl Iterator<Item = f64>, log: bool, bound: Option<f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, bound.unwrap_or(1.0));
    }
    let (mut lo, mut hi) = if log {
        (lo / 1.2, hi * 1.2)
    } else {
        // One value: a unit-sized window around it, so its ticks read as numbers.
        let pad = if hi - lo < 1e-12 {
            (lo.abs() * 0.1).max(0.5)
        } else {
            (hi - lo) * 0.08
        };
        (lo - pad, hi + pad)
    };
    if let Some(b) = bound {
        lo = lo.clamp(if log { f64::MIN_POSITIVE } else { 0.0 }, b);
        hi = hi.clamp(lo, b);
        if hi - lo < 1e-9 {
            // All the data sits on a bound: show a little of the inside.
            (lo, hi) = if hi >= b {
                (b * 0.9, b)
            } else {
                (lo, lo + b * 0.1)
            };
        }
    }
    (lo, hi)
}

/// The bound of a proportion axis by its label: `Some(100)` for one in
/// percent, `Some(1)` for a fraction, `None` when it is not a proportion.
pub fn proportion(label: &str) -> Option<f64> {
    let l = label.to_lowercase();
    if l.contains('Δ') || l.contains("pts") || l.contains("delta") {
        return None;
    }
    let names = [
        "accuracy",
        "error %",
        "risk",
        "fraction",
        "share",
        "confidence",
        "coverage",
        "% of",
    ];
    names
        .iter()
        .any(|n| l.contains(n))
        .then_some(if l.contains('%') { 100.0 } else { 1.0 })
}

/// Decimals that tell ticks of an axis over `[lo, hi]` apart.
pub fn decimals(lo: f64, hi: f64, log: bool) -> usize {
    let step = if log && lo > 0.0 && hi > lo {
        lo * ((hi / lo).powf(1.0 / 8.0) - 1.0)
    } else {
        (hi - lo) / 8.0
    };
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// The ticks of a log axis over `[lo, hi]` (see the module docs).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let with = |ms: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| ms.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let ticks = with(&[1.0, 2.0, 5.0]);
    if ticks.len() > 8 {
        with(&[1.0])
    } else if ticks.len() < 3 {
        with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    } else {
        ticks
    }
}

/// A log axis's tick label: its own significant digit (`m·10^k` with k < 0
/// gets −k decimals), so 0.002 and 200 both read as written.
pub fn log_tick(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return tick(v, 0);
    }
    let d = (-v.log10().floor()).clamp(0.0, 12.0) as usize;
    tick(v, d)
}

/// A tick label with `d` decimals (no "-0").
pub fn tick(v: f64, d: usize) -> String {
    let s = format!("{v:.d$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// Width in pixels of a legend item with label `name` (a line sample and the text).
fn item_width(name: &str) -> u32 {
    28 + 7 * name.chars().count() as u32 + 16
}

/// Where each legend item goes in a strip `width` pixels wide: (row, x), and the rows used.
pub fn legend_layout(names: &[String], width: u32) -> (Vec<(u32, u32)>, u32) {
    let (mut row, mut x, mut out) = (0u32, 8u32, Vec::new());
    for n in names {
        let w = item_width(n);
        if x > 8 && x + w > width {
            row += 1;
            x = 8;
        }
        out.push((row, x));
        x += w;
    }
    (out, if names.is_empty() { 0 } else { row + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportion_axes_stay_within_their_bounds() {
        assert_eq!(proportion("test accuracy %"), Some(100.0));
        assert_eq!(proportion("accuracy"), Some(1.0));
        assert_eq!(proportion("risk (error %)"), Some(100.0));
        assert_eq!(proportion("Δ test acc (pts)"), None);
        assert_eq!(proportion("cross-entropy"), None);
        // Error bars past 100 % and below 0 are cut at the bounds.
        let (lo, hi) = range([-100.0, 50.0, 150.0].into_iter(), false, Some(100.0));
        assert!(lo >= 0.0 && hi <= 100.0, "{lo} {hi}");
        let (lo, hi) = range([97.0, 99.5, 101.0].into_iter(), false, Some(100.0));
        assert!(lo > 90.0 && hi == 100.0, "{lo} {hi}");
        let (lo, hi) = range([1.0, 1.0].into_iter(), false, Some(1.0));
        assert!(lo < hi && hi == 1.0);
        // A single value gets a window whose ticks differ.
        let (lo, hi) = range([6.0, 6.0].into_iter(), false, None);
        assert!(
            (lo, hi) == (5.4, 6.6) && decimals(lo, hi, false) == 1,
            "{lo} {hi}"
        );
        // Without a bound the range pads the data on both sides.
        let (lo, hi) = range([-100.0, 150.0].into_iter(), false, None);
        assert!(lo < -100.0 && hi > 150.0);
    }

    #[test]
    fn neighbouring_tick_labels_differ() {
        for &(lo, hi, log) in &[
            (6.0, 6.4, false),
            (6.0, 6.4, true),
            (0.0, 1.0, false),
            (94.7, 99.3, false),
            (1.0, 60_000.0, true),
            (0.001, 0.0014, false),
        ] {
            let d = decimals(lo, hi, log);
            let ticks: Vec<f64> = if log {
                let r = (hi / lo).powf(1.0 / 8.0);
                (0..=8).map(|i| lo * r.powi(i)).collect()
            } else {
                (0..=8)
                    .map(|i| lo + (hi - lo) * f64::from(i) / 8.0)
                    .collect()
            };
            let labels: Vec<String> = ticks.iter().map(|&t| tick(t, d)).collect();
            for w in labels.windows(2) {
                assert_ne!(w[0], w[1], "{lo}..{hi} (log {log}): {labels:?}");
            }
        }
        assert_eq!(tick(-0.0001, 2), "0.00");
    }

    #[test]
    fn a_log_axis_within_one_decade_still_has_ticks() {
        assert_eq!(log_ticks(167.0, 480.0), [200.0, 300.0, 400.0]);
        assert_eq!(
            log_ticks(1.0, 60_000.0),
            [1.0, 10.0, 100.0, 1000.0, 10_000.0]
        );
        assert_eq!(log_ticks(0.8, 12.0), [1.0, 2.0, 5.0, 10.0]);
        assert!(log_ticks(0.0, 1.0).is_empty());
        let labels: Vec<String> = log_ticks(0.0008, 1.2).into_iter().map(log_tick).collect();
        assert_eq!(labels, ["0.001", "0.01", "0.1", "1"]);
    }

    #[test]
    fn the_legend_wraps_inside_the_figure() {
        let names: Vec<String> = (0..6).map(|i| format!("series number {i}")).collect();
        let (at, rows) = legend_layout(&names, 560);
        assert!(rows >= 2, "{at:?}");
        for ((_, x), n) in at.iter().zip(&names) {
            assert!(x + item_width(n) <= 560, "{at:?}");
        }
        assert_eq!(legend_layout(&[], 560).1, 0);
    }
}
