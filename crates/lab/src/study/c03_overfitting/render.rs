//! C3's report section: per data set a table of the grid (accuracy, gain
//! with its Holm p and the effect the seeds can detect, gap, memorisation),
//! the regression of the gain on size and noise, one panel per data set,
//! and the finding in words.

use super::{DataEvidence, Evidence, VAL_SIZE};
use crate::html::plot::{lines, Axes, Series};
use crate::stats::Est;
use crate::study::claim::{Figure, Section, Table};

/// The finding on one data set, in words.
fn finding(d: &DataEvidence, e: &Evidence) -> String {
    let gains: Vec<f64> = d.cells.iter().map(|c| 100.0 * c.gain().mean).collect();
    let lo = gains.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = gains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = format!(
        "On {}, dropout (p = 0.5) raised test accuracy significantly in {} of the {} cells (the gain ranged from {lo:+.1} to {hi:+.1} points)",
        d.dataset,
        d.n_helped(),
        d.cells.len()
    );
    let by_size: Vec<String> = e
        .sizes
        .iter()
        .map(|&n| {
            let g: Vec<f64> = d
                .cells
                .iter()
                .filter(|c| c.train_size == n)
                .map(|c| 100.0 * c.gain().mean)
                .collect();
            format!("{:+.1}", g.iter().sum::<f64>() / g.len().max(1) as f64)
        })
        .collect();
    s += &format!(
        ". Averaged over the noise levels, the gain was {} points at n = {}",
        by_size.join(", "),
        e.sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some((_, noise)) = d.slopes() {
        s += &format!(
            " and it grew by {:+.1} points per 10 % more label noise",
            10.0 * noise.value
        );
    }
    if let Some(&top) = e.noises.last().filter(|&&n| n > 0.0) {
        let mem = |f: fn(&super::Cell) -> &Vec<f64>| {
            d.cells
                .iter()
                .filter(|c| c.noise == top)
                .map(|c| format!("{:.0}", 100.0 * Est::of(f(c)).mean))
                .collect::<Vec<_>>()
                .join("/")
        };
        s += &format!(
            ". At {:.0} % noise the plain net reproduced {} % of the flipped training labels and the dropout net {} % (n = {})",
            top * 100.0,
            mem(|c| &c.mem_p0),
            mem(|c| &c.mem_p05),
            e.sizes.iter().map(usize::to_string).collect::<Vec<_>>().join("/")
        );
        // Said only when the numbers show it: the cell where the dropout net
        // memorises most (≥ 90 %) gains less than the one where it memorises least.
        let top_cells: Vec<_> = d.cells.iter().filter(|c| c.noise == top).collect();
        let by_mem = |a: &&&super::Cell, b: &&&super::Cell| {
            Est::of(&a.mem_p05)
                .mean
                .total_cmp(&Est::of(&b.mem_p05).mean)
        };
        if let (Some(most), Some(least)) = (
            top_cells.iter().max_by(by_mem),
            top_cells.iter().min_by(by_mem),
        ) {
            if Est::of(&most.mem_p05).mean >= 0.9 && most.gain().mean < least.gain().mean {
                s += ": where the dropout net memorises too, it gains less";
            }
        }
    }
    s + "."
}

/// C3's report section.
pub fn render(e: &Evidence) -> Section {
    let mut tables = Vec::new();
    let mut figures = Vec::new();
    let mut regress = Vec::new();
    for d in &e.data {
        let q = d.helped();
        let rows = d
            .cells
            .iter()
            .zip(&q)
            .map(|(c, q)| {
                let mem = |m: &[f64]| {
                    if m.is_empty() {
                        "—".into()
                    } else {
                        Est::of(m).fmt(100.0, 1)
                    }
                };
                vec![
                    c.train_size.to_string(),
                    format!("{:.0}%", c.noise * 100.0),
                    Est::of(&c.acc_p0).fmt(100.0, 2),
                    Est::of(&c.acc_p05).fmt(100.0, 2),
                    c.gain().fmt(100.0, 2),
                    format!("{q:.3}"),
                    format!("{:.2}", 100.0 * c.gain().detectable()),
                    Est::of(&c.gap_p0).fmt(100.0, 1),
                    Est::of(&c.gap_p05).fmt(100.0, 1),
                    mem(&c.mem_p0),
                    mem(&c.mem_p05),
                ]
            })
            .collect();
        tables.push(Table::new(
            format!("{}: test accuracy, gap and memorisation (%, mean ± 95% CI over seeds); lr p=0: {}, lr p=0.5: {}", d.dataset, d.lr_p0.chosen, d.lr_p05.chosen),
            &["train size", "noise", "acc p=0", "acc p=0.5", "Δacc", "Holm p (Δacc > 0)", "detectable Δ (80 % power)", "gap p=0", "gap p=0.5", "memorised p=0", "memorised p=0.5"],
            rows,
        ));
        if let (Some((size, noise)), Some((qs, qn))) = (d.slopes(), d.slope_tests()) {
            regress.push(vec![
                d.dataset.clone(),
                format!("{:+.2} ± {:.2}", 100.0 * size.value, 100.0 * size.ci()),
                format!("{qs:.3}"),
                format!("{:+.2} ± {:.2}", 10.0 * noise.value, 10.0 * noise.ci()),
                format!("{qn:.3}"),
                d.verdict().text().into(),
            ]);
        }
        let series = e
            .noises
            .iter()
            .map(|&noise| Series {
                name: format!("noise {:.0}%", noise * 100.0),
                points: d
                    .cells
                    .iter()
                    .filter(|c| c.noise == noise)
                    .map(|c| {
                        (
                            c.train_size as f64,
                            100.0 * c.gain().mean,
                            100.0 * c.gain().ci,
                        )
                    })
                    .collect(),
            })
            .collect::<Vec<_>>();
        figures.push(Figure {
            caption: format!("{}: Δ test accuracy (p=0.5 − p=0, mean ± 95% CI) against training-set size, at {} updates", d.dataset, e.updates),
            svg: lines(&Axes { title: &d.dataset, x: "training images", y: "Δ test acc (pts)", log_x: true, log_y: false }, &series),
        });
    }
    tables.push(Table::new(
        "Regression of Δacc on size and noise (points; 95% CI; Holm-adjusted one-sided p)",
        &[
            "data",
            "per tenfold more data",
            "p (< 0)",
            "per 10 % more noise",
            "p (> 0)",
            "verdict",
        ],
        regress,
    ));
    let tuning = e
        .data
        .iter()
        .map(|d| {
            format!(
                "{}: p=0 {}; p=0.5 {}",
                d.dataset,
                d.lr_p0.describe(),
                d.lr_p05.describe()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let seeds = e
        .data
        .first()
        .and_then(|d| d.cells.first())
        .map_or(0, |c| c.acc_p0.len());
    Section {
        finding: e.data.iter().map(|d| finding(d, e)).collect::<Vec<_>>().join(" "),
        method: format!(
            "MLP {} (ReLU, He-normal init, hidden dropout p = 0 vs 0.5, no input dropout) trained with SGD (momentum 0.9 in the heavy-ball form v ← μv + g, constant learning rate, batch 128, reshuffled each epoch, last partial batch kept) for {} updates in every cell (epochs = {} / ⌈n/128⌉, rounded), on stratified subsets of n ∈ {:?} training images with {{0, 20, 40}} % symmetric label noise (a flipped label is drawn uniformly from the other nine classes), pixels scaled to [0, 1], no standardisation, {seeds} seeds (paired: the same subset, flips, init and batch order in both arms). {} clean validation images are held out from the training file; each arm's learning rate was chosen from {:?} on validation accuracy at the reference cell (middle size, 20 % noise) — {tuning}. The endpoint is the test accuracy on the full clean 10,000-image test set after the last update (no early stopping). Gap = train accuracy against the labels as given − test accuracy; memorised = share of the flipped training labels the final net predicts.",
            e.mlp, e.updates, e.updates, e.sizes, VAL_SIZE, e.data.first().map(|d| d.lr_p0.grid.clone()).unwrap_or_default()
        ),
        limitations: "One learning rate per arm, tuned at one reference cell rather than per cell; p fixed at 0.5 (C9 tunes it); one width. The endpoint is the accuracy after a fixed number of updates: an implementation that stops early on validation, counts epochs instead of updates, standardises pixels or uses Adam trains the plain net to a different point and will see a different (usually smaller) gain, because without early stopping the plain net has time to memorise the noisy labels. The OLS treats seeds of different cells as independent, though a seed's subsets are nested draws from the same file.".into(),
        key_number: e.data.iter().map(|d| {
            let (s, n) = d.slopes().map_or((0.0, 0.0), |(s, n)| (s.value, n.value));
            format!("{}: helped in {}/{} cells, slope {:+.1} pts/decade of n, {:+.1} pts/10 % noise", d.dataset, d.n_helped(), d.cells.len(), 100.0 * s, 10.0 * n)
        }).collect::<Vec<_>>().join("; "),
        tables,
        figures,
    }
}
