//! `eval`'s text output: the metric tables of a [`Report`].

use lab::uq::report::Report;

/// Print the calibration, selective-prediction and OOD tables and the notes.
pub fn print_report(r: &Report) {
    let w = r
        .rows
        .iter()
        .map(|x| x.name.len())
        .max()
        .unwrap_or(0)
        .max(13);
    println!();
    println!(
        "{:<w$} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>9}",
        "", "Acc %", "NLL", "Brier", "ECE", "aECE", "Entropy", "MI", "VR", "µs/sample"
    );
    for x in &r.rows {
        let m = &x.metrics;
        println!(
            "{:<w$} {:>7.2} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>8.4} {:>7.4} {:>7.4} {:>9.1}",
            x.name,
            100.0 * m.acc,
            m.nll,
            m.brier,
            m.ece,
            m.aece,
            m.entropy,
            m.mi,
            m.vr,
            x.us_per_example
        );
    }
    println!();
    println!(
        "{:<w$} {:>8} {:>8} {:>12}",
        "selective prediction", "AURC", "E-AURC", "Risk@80Cov %"
    );
    for x in &r.rows {
        let m = &x.metrics;
        println!(
            "{:<w$} {:>8.5} {:>8.5} {:>12.3}",
            x.name,
            m.aurc,
            m.eaurc,
            100.0 * m.risk80
        );
    }
    if let Some(src) = &r.ood_source {
        println!();
        println!("OOD detection, test set vs {src}:");
        println!(
            "{:<w$} {:<19} {:>7} {:>7} {:>7}",
            "", "score", "AUROC", "AUPR", "FPR95"
        );
        for x in &r.rows {
            for (s, d) in &x.ood {
                println!(
                    "{:<w$} {:<19} {:>7.4} {:>7.4} {:>7.4}",
                    x.name,
                    s.name(),
                    d.auroc,
                    d.aupr,
                    d.fpr95
                );
            }
        }
    }
    if let Some(t) = r.temperature {
        println!("\ntemperature T = {t:.3} (fitted on the validation split)");
    }
    if let Some(k) = r.kl_mc_to_det {
        println!("KL(MC ‖ deterministic) {k:.4} nats per test sample");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}
