//! `dropout-lab train` / `eval` / `bench train` end to end on real (small)
//! data: the run directory, reloading the checkpoint, MC dropout, and clear
//! errors on bad input.

mod common;
use common::{lab, repo_arg};

use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dropout-lab-cli-{}-{name}", std::process::id()))
}

#[test]
fn train_writes_a_run_that_eval_reproduces() {
    let run = tmp("wine");
    let _ = std::fs::remove_dir_all(&run);
    let out = lab(&[
        "train",
        "--data",
        &repo_arg("data/sklearn-wine/wine_data.csv"),
        "--arch",
        "{in}-32-{classes}",
        "--epochs",
        "20",
        "--lr",
        "0.05",
        "--dropout",
        "0.3",
        "--input-dropout",
        "0",
        "--val-size",
        "20",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let test_acc = summary["last"]["test"]["acc"].as_f64().unwrap();
    assert!(test_acc > 0.85, "wine test accuracy {test_acc}");
    // Run directory.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["epochs"], 20);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 20);
    for (i, m) in lines.iter().enumerate() {
        assert_eq!(m["epoch"], i + 1);
        for f in ["train", "val", "test"] {
            assert!(
                m[f]["acc"].as_f64().is_some() && m[f]["loss"].as_f64().unwrap().is_finite(),
                "{m}"
            );
        }
        let gap = m["train"]["acc"].as_f64().unwrap() - m["test"]["acc"].as_f64().unwrap();
        assert!((m["gap"].as_f64().unwrap() - gap).abs() < 1e-12);
        assert!(m["train_s"].as_f64().unwrap() >= 0.0);
    }
    assert!(run.join("model.safetensors").exists());
    assert!(
        !std::fs::read_dir(&run).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp")),
        "temp files left"
    );
    // eval reloads the checkpoint and gets the same test accuracy.
    let out = lab(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--mc",
        "10",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["test"]["acc"].as_f64().unwrap(), test_acc);
    let rows = e["uq"]["rows"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "deterministic");
    assert_eq!(rows[0]["metrics"]["Acc"].as_f64().unwrap(), test_acc);
    let mc = rows
        .iter()
        .find(|r| r["members"] == 10)
        .expect("an MC row with 10 members");
    let mi = mc["metrics"]["MI"].as_f64().unwrap();
    assert!(
        mi > 0.0 && mi.is_finite(),
        "MC dropout with p = 0.3 must disagree with itself somewhere: MI {mi}"
    );
    std::fs::remove_dir_all(&run).ok();
}

#[test]
fn training_is_reproducible() {
    let args = |out: &str| -> Vec<String> {
        [
            "train",
            "--data",
            &repo_arg("data/sklearn-breast-cancer/breast_cancer.csv"),
            "--arch",
            "{in}-16-{classes}",
            "--epochs",
            "3",
            "--seed",
            "7",
            "--out",
            out,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (a, b) = (tmp("rep-a"), tmp("rep-b"));
    for d in [&a, &b] {
        let v = args(d.to_str().unwrap());
        let out = lab(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let wa = std::fs::read(a.join("model.safetensors")).unwrap();
    let wb = std::fs::read(b.join("model.safetensors")).unwrap();
    assert!(wa == wb, "same seed, different checkpoints");
    for d in [a, b] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let wine = repo_arg("data/sklearn-wine/wine_data.csv");
    let nan_csv = tmp("nan.csv");
    std::fs::write(&nan_csv, "1,2,0\n3,NaN,1\n4,5,0\n").unwrap();
    let empty_csv = tmp("empty.csv");
    std::fs::write(&empty_csv, "").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--dropout", "1.5", "--epochs", "1"], "[0, 1]"),
        (
            vec!["train", "--input-dropout", "NaN", "--epochs", "1"],
            "[0, 1]",
        ),
        (
            vec![
                "train", "--data", &wine, "--arch", "13-8-5", "--epochs", "1",
            ],
            "3 classes",
        ),
        (
            vec![
                "train", "--data", &wine, "--arch", "20-8-3", "--epochs", "1",
            ],
            "13 features",
        ),
        (
            vec![
                "train",
                "--data",
                nan_csv.to_str().unwrap(),
                "--epochs",
                "1",
            ],
            "not a finite number",
        ),
        (
            vec![
                "train",
                "--data",
                empty_csv.to_str().unwrap(),
                "--epochs",
                "1",
            ],
            "empty",
        ),
        (
            vec!["train", "--data", "/no/such/file.csv", "--epochs", "1"],
            "no such file",
        ),
        (
            vec!["train", "--optimizer", "rmsprop", "--epochs", "1"],
            "--optimizer",
        ),
        (
            vec!["train", "--schedule", "step:x", "--epochs", "1"],
            "--schedule",
        ),
        (
            vec![
                "train", "--arch", "c8-p-10", "--data", &wine, "--epochs", "1",
            ],
            "need images",
        ),
        (vec!["eval", "--run", "/no/such/run"], "not a run directory"),
        (vec!["bench", "train", "--p", "2"], "[0, 1]"),
    ];
    for (args, needle) in cases {
        let out = lab(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::remove_file(nan_csv).ok();
    std::fs::remove_file(empty_csv).ok();
}

#[test]
fn bench_train_json_fields() {
    let out = lab(&[
        "bench", "train", "--arch", "20-16-5", "--p", "0.5,0", "--steps", "2", "--reps", "2",
        "--batch", "8", "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for (r, p) in rows.iter().zip([0.5, 0.0]) {
        assert_eq!(r["p"].as_f64(), Some(p));
        assert_eq!(r["threads"], 2);
        assert_eq!(r["batch"], 8);
        assert!(r["samples_per_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bench_train_covers_optimizers_norms_and_cnns() {
    for args in [
        vec!["--arch", "20-16-5", "--optimizer", "adam", "--norm", "bn"],
        vec!["--arch", "20-16-5", "--optimizer", "adamw", "--norm", "ln"],
        vec![
            "--arch",
            "c2-p-8-10",
            "--conv-dropout",
            "0.1",
            "--norm",
            "bn",
        ],
    ] {
        let mut all = vec![
            "bench", "train", "--p", "0.5", "--steps", "2", "--reps", "2", "--batch", "8", "--json",
        ];
        all.extend(&args);
        let out = lab(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let step = r["step_ms"].as_f64().unwrap();
        let gemm = r["gemm_ms"].as_f64().unwrap();
        assert!(
            gemm > 0.0 && gemm <= step,
            "{args:?}: GEMM {gemm} ms of a {step} ms step"
        );
        assert!((r["of_gemm_bound"].as_f64().unwrap() - gemm / step).abs() < 1e-9);
    }
}
