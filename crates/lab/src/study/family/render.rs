//! The report section of `study --family`: per setting a table of the arms
//! (rates tried with their validation accuracy, test accuracy with its CI,
//! the paired difference to no dropout) and the validation-vs-rate curves;
//! Concrete dropout's learned rates against the training-set size.

use super::Evidence;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{paired, Est};
use crate::study::claim::{Figure, Section, Table};
use crate::study::tune::Tuned;

/// The section of this evidence.
pub(super) fn render(e: &Evidence) -> Section {
    let (mut rows, mut figures, mut best) = (Vec::new(), Vec::new(), Vec::new());
    for st in &e.settings {
        let none = &st.arms[0].test_acc;
        for a in &st.arms {
            rows.push(vec![
                st.name.clone(),
                a.arm.clone(),
                a.tuned.as_ref().map_or("—".into(), Tuned::describe),
                if a.test_acc.is_empty() {
                    "diverged".into()
                } else {
                    Est::of(&a.test_acc).fmt(100.0, 2)
                },
                if std::ptr::eq(a, &st.arms[0]) || a.test_acc.is_empty() || none.is_empty() {
                    "—".into()
                } else {
                    paired(&a.test_acc, none).fmt(100.0, 2)
                },
            ]);
        }
        if let Some(top) = st
            .arms
            .iter()
            .filter(|a| !a.test_acc.is_empty())
            .max_by(|a, b| {
                Est::of(&a.test_acc)
                    .mean
                    .total_cmp(&Est::of(&b.test_acc).mean)
            })
        {
            best.push(format!(
                "{}: {} ({:.2} %)",
                st.name,
                top.arm,
                100.0 * Est::of(&top.test_acc).mean
            ));
        }
        let series: Vec<Series> = st
            .arms
            .iter()
            .filter_map(|a| {
                let t = a.tuned.as_ref()?;
                Some(Series {
                    name: a.arm.clone(),
                    points: t
                        .grid
                        .iter()
                        .zip(&t.val_acc)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(&p, v)| {
                            let est = Est::of(v);
                            (f64::from(p), 100.0 * est.mean, 100.0 * est.ci)
                        })
                        .collect(),
                })
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !series.is_empty() {
            figures.push(Figure {
                caption: format!(
                    "{}: validation accuracy (mean ± 95% CI over seeds) against the rate",
                    st.name
                ),
                svg: lines(
                    &Axes {
                        title: &st.name,
                        x: "rate",
                        y: "validation accuracy %",
                        log_x: false,
                        log_y: false,
                    },
                    &series,
                ),
            });
        }
    }
    let mut p_rows = Vec::new();
    let layers = e
        .concrete_by_n
        .iter()
        .flat_map(|c| c.2.iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut p_series: Vec<Series> = (0..layers)
        .map(|l| Series {
            name: format!("layer {}", l + 1),
            points: Vec::new(),
        })
        .collect();
    for (size, ep, ps) in &e.concrete_by_n {
        let mut row = vec![size.to_string(), ep.to_string()];
        for (l, series) in p_series.iter_mut().enumerate() {
            let v: Vec<f64> = ps
                .iter()
                .filter_map(|p| p.get(l))
                .map(|&p| f64::from(p))
                .collect();
            let est = Est::of(&v);
            row.push(est.fmt(1.0, 3));
            series.points.push((*size as f64, est.mean, est.ci));
        }
        p_rows.push(row);
    }
    if !e.concrete_by_n.is_empty() {
        figures.push(Figure {
            caption: "Concrete dropout: the rate each dense layer's input learned (mean ± 95% CI over seeds) against the training-set size".into(),
            svg: lines(&Axes { title: "learned p", x: "training images", y: "p", log_x: true, log_y: false }, &p_series),
        });
    }
    let mut p_header = vec!["training images".to_string(), "epochs".to_string()];
    p_header.extend((0..layers).map(|l| format!("p layer {}", l + 1)));
    let p_header: Vec<&str> = p_header.iter().map(String::as_str).collect();
    let p_table = Table::new(
        "Concrete dropout: learned p per layer (mean ± 95% CI over seeds), initial 0.1",
        &p_header,
        p_rows,
    );
    let (n, val, epochs) = e.settings.first().map_or((0, 0, 0), |s| s.sizes);
    let seeds = e
        .settings
        .first()
        .and_then(|s| s.arms.first())
        .map_or(0, |a| a.test_acc.len());
    Section {
        finding: format!("Highest mean test accuracy per setting — {}. Differences to no dropout with their CIs are in the table; no verdict is drawn.", best.join("; ")),
        limitations: "Small models and data on 2 cores (one size, one epoch budget per setting); two or three rates per arm; the Concrete arm learns its own rates with the setting's optimizer, so it has no grid. The RNN is an Elman RNN over 28 rows, far from a tuned LSTM.".into(),
        method: format!("{n} training images and {val} validation images of each data set, {epochs} epochs; {seeds} seeds. MLP and CNN: SGD (momentum 0.9, lr 0.05, batch 128); the residual MLP: pre-LayerNorm blocks x + drop_path(fc2(dropout(relu(fc1(LN(x)))))), Adam lr 0.001; the RNN: tanh, 64 units, Adam lr 0.002. Each arm's rate is chosen on mean validation accuracy over the seeds; the test accuracy of that rate is reported per seed."),
        key_number: best.join("; "),
        tables: vec![
            Table::new("Test accuracy % (mean ± 95% CI); rates tried (validation acc %, * = chosen); paired difference to no dropout", &["setting", "arm", "rates (val acc)", "test acc", "− none"], rows),
            p_table,
        ],
        figures,
    }
}
