//! `eval`'s uncertainty options end to end on the breast-cancer CSV: MC
//! dropout, temperature scaling, an ensemble, OOD detection, per-sample lines
//! and the HTML report; and the bad inputs (`--mc 0`, OOD data of another
//! shape, OOD labels outside the classes, MC on a net without dropout); and
//! `--mc`'s plain progress lines when stderr is not a terminal (`--quiet`
//! silences them).

mod common;
use common::{lab, repo_arg};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn train(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let run = dir.join(name);
    let mut args = vec![
        "train",
        "--data",
        "",
        "--arch",
        "{in}-32-{classes}",
        "--epochs",
        "8",
        "--val-size",
        "60",
        "--out",
        run.to_str().unwrap(),
    ];
    let data = repo_arg("data/sklearn-breast-cancer/breast_cancer.csv");
    args[2] = &data;
    args.extend_from_slice(extra);
    ok(lab(&args));
    run
}

/// The training CSV's features, tripled, with label 9 (not a class).
fn ood_csv(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(repo_arg("data/sklearn-breast-cancer/breast_cancer.csv")).unwrap();
    let mut out = String::new();
    for line in text.lines().skip(1).take(100) {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        let feats: Vec<String> = f[..30].iter().map(|v| (3.0 * v).to_string()).collect();
        out += &format!("{},9\n", feats.join(","));
    }
    let p = dir.join("ood.csv");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn every_arm_metric_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let ens = train(
        dir.path(),
        "ens",
        &[
            "--dropout",
            "0.3",
            "--input-dropout",
            "0.1",
            "--ensemble",
            "2",
        ],
    );
    let (run, other) = (ens.join("member-1"), ens.join("member-2"));
    let seeds: Vec<u64> = [&run, &other]
        .iter()
        .map(|d| {
            let c = std::fs::read_to_string(d.join("config.json")).unwrap();
            serde_json::from_str::<serde_json::Value>(&c).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seeds, vec![0, 1], "members differ in their seed");
    let ood = ood_csv(dir.path());
    let (ps, rep) = (dir.path().join("ps.csv"), dir.path().join("rep"));
    let e: serde_json::Value = serde_json::from_str(&ok(lab(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--mc",
        "20",
        "--ood",
        ood.to_str().unwrap(),
        "--ensemble",
        other.to_str().unwrap(),
        "--per-sample",
        ps.to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let rows = e["uq"]["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names[1].starts_with("temperature scaled") && names[2].starts_with("MC dropout (T = 20")
    );
    assert_eq!(names[3], "ensemble of 2 nets");
    for r in rows {
        let m = &r["metrics"];
        for k in [
            "Acc",
            "NLL",
            "Brier",
            "ECE",
            "aECE",
            "AURC",
            "E-AURC",
            "Risk@80Cov",
            "Entropy",
            "MI",
            "VR",
        ] {
            let v = m[k].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v >= 0.0, "{} {k} = {v}", r["name"]);
        }
        // (Tripled features lie far from the data, where a ReLU net is often *more*
        // confident — so no direction is asserted, only that each score was measured.)
        for d in r["ood"].as_array().unwrap().iter().map(|x| &x[1]) {
            for k in ["AUROC", "AUPR", "FPR95"] {
                assert!(
                    (0.0..=1.0).contains(&d[k].as_f64().unwrap()),
                    "{}: {d}",
                    r["name"]
                );
            }
        }
    }
    assert_eq!(rows[0]["metrics"]["MI"], 0.0);
    assert!(rows[2]["metrics"]["MI"].as_f64().unwrap() > 0.0);
    assert_eq!(
        rows[2]["ood"].as_array().unwrap().len(),
        3,
        "MC has the MI score too"
    );
    assert_eq!(rows[0]["ood"].as_array().unwrap().len(), 2);
    let notes = e["uq"]["notes"].to_string();
    assert!(
        notes.contains("100 OOD samples carry labels outside"),
        "{notes}"
    );
    // Temperature scaling never changes the accuracy.
    assert_eq!(rows[0]["metrics"]["Acc"], rows[1]["metrics"]["Acc"]);
    let lines = std::fs::read_to_string(&ps).unwrap();
    let n_test = (569.0f64 * 0.2).round() as usize;
    assert_eq!(lines.lines().count(), 1 + 4 * n_test);
    assert!(lines.starts_with("arm,index,label,pred,confidence,entropy,mi,vr,correct,p0,p1"));
    let html = std::fs::read_to_string(rep.join("index.html")).unwrap();
    assert!(
        html.contains("reliability diagram")
            && html.contains("risk–coverage")
            && html.contains("<svg")
    );
    assert!(rep.join("report.json").exists());
}

#[test]
fn sampling_options_are_named_and_change_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(
        dir.path(),
        "a",
        &["--dropout", "0.3", "--input-dropout", "0.3"],
    );
    let rows = |extra: &[&str]| -> serde_json::Value {
        let mut a = vec![
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--mc",
            "10",
            "--json",
        ];
        a.extend_from_slice(extra);
        let e: serde_json::Value = serde_json::from_str(&ok(lab(&a))).unwrap();
        e["uq"]["rows"].as_array().unwrap().last().unwrap().clone()
    };
    let (all, hidden, cons) = (
        rows(&[]),
        rows(&["--mc-sites", "hidden"]),
        rows(&["--mc-consistent"]),
    );
    assert_eq!(hidden["name"], "MC dropout (T = 10, hidden sites)");
    assert_eq!(cons["name"], "MC dropout (T = 10, consistent masks)");
    assert_ne!(all["metrics"], hidden["metrics"]);
    assert_ne!(all["metrics"], cons["metrics"]);
    // Reproducible: the same call, the same numbers.
    assert_eq!(all["metrics"], rows(&[])["metrics"]);
}

#[test]
fn bad_inputs_say_what_and_how() {
    let dir = tempfile::tempdir().unwrap();
    let plain = train(
        dir.path(),
        "plain",
        &["--dropout", "0", "--input-dropout", "0"],
    );
    let r = plain.to_str().unwrap();
    let out = lab(&["eval", "--run", r, "--mc", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at least 1 sample") && !err.contains("panicked"),
        "{err}"
    );
    let wine = repo_arg("data/sklearn-wine/wine_data.csv");
    let out = lab(&["eval", "--run", r, "--ood", &wine]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("OOD samples are 13 but the model takes 30"),
        "{err}"
    );
    let out = lab(&["eval", "--run", r, "--ood", "nowhere"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a file or directory nor a built-in")
    );
    let text = ok(lab(&["eval", "--run", r, "--mc", "5"]));
    assert!(text.contains("No MC row: the run has no dropout"), "{text}");
    assert!(!text.contains("MC dropout (T"), "{text}");
    // A learned-rate (Concrete) net has dropout to sample, though its --dropout is 0.
    let run = train(
        dir.path(),
        "concrete",
        &[
            "--dropout",
            "0",
            "--input-dropout",
            "0",
            "--concrete-dropout",
        ],
    );
    let text = ok(lab(&["eval", "--run", run.to_str().unwrap(), "--mc", "5"]));
    assert!(
        text.contains("MC dropout (T = 5)") && !text.contains("No MC row"),
        "{text}"
    );
}

#[test]
fn mc_prints_progress_lines_to_a_log_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "p", &["--dropout", "0.3"]);
    let r = run.to_str().unwrap();
    // stderr is a pipe here, as in a Slurm log; a 0 s interval prints at every pass.
    let mc = |quiet: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dropout-lab"));
        c.args(["eval", "--run", r, "--mc", "3000", "--json"])
            .env("DROPOUT_LAB_PROGRESS_SECS", "0");
        if quiet {
            c.arg("--quiet");
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    // Formerly silent until the end (~23 min for --mc 100000 on MNIST).
    let err = mc(false);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("MC dropout: "))
        .collect();
    assert!(lines.len() >= 2, "{err}");
    let last = lines.last().unwrap();
    let (done, total) = last["MC dropout: ".len()..]
        .split_once(' ')
        .unwrap()
        .0
        .split_once('/')
        .unwrap();
    assert_eq!(done, total, "{err}");
    assert!(
        last.contains("passes (100 %)") && last.contains("left"),
        "{last}"
    );
    assert_eq!(mc(true), "");
}
