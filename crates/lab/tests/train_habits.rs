//! The habits a PyTorch or Keras user brings to `train`: a validation set
//! held out by default (selection never sees the test set), `--keep best`
//! and `--early-stop K` on the validation loss, and `--config FILE` with
//! flags over it.

mod common;
use common::{lab, repo_arg};

use serde_json::Value;

fn wine() -> String {
    repo_arg("data/sklearn-wine/wine_data.csv")
}

fn ok(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

fn config(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
}

#[test]
fn train_holds_out_a_validation_set_and_prints_no_test_score_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let out = lab(&[
        "train",
        "--data",
        &wine(),
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // wine: 178 rows, 36 for the test set, 142 in the training file → 14 (10 %).
    assert_eq!(config(&run)["data"]["val_size"], 14);
    let err = String::from_utf8_lossy(&out.stderr);
    let epochs: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(epochs.len(), 3, "{err}");
    for l in epochs {
        assert!(l.contains("val ") && !l.contains("test"), "{l}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let test_lines = text.lines().filter(|l| l.starts_with("test")).count();
    assert_eq!(test_lines, 1, "{text}");
    // An explicit size wins, 0 included.
    let run0 = dir.path().join("r0");
    ok(&lab(&[
        "train",
        "--data",
        &wine(),
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "1",
        "--val-size",
        "0",
        "--json",
        "--out",
        run0.to_str().unwrap(),
    ]));
    assert_eq!(config(&run0)["data"]["val_size"], 0);
    // A training subset that leaves no room for the default says how to fix it.
    let full = lab(&["train", "--train-size", "60000", "--epochs", "1"]);
    assert!(!full.status.success());
    let err = String::from_utf8_lossy(&full.stderr);
    assert!(
        err.contains("--val-size 0") && err.contains("55000"),
        "{err}"
    );
}

#[test]
fn keep_best_and_early_stop_select_on_validation_loss() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let s = ok(&lab(&[
        "train",
        "--data",
        &wine(),
        "--arch",
        "{in}-32-{classes}",
        "--epochs",
        "80",
        "--lr",
        "0.2",
        "--keep",
        "best",
        "--early-stop",
        "3",
        "--json",
        "--out",
        run.to_str().unwrap(),
    ]));
    let lines: Vec<Value> = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let loss = |m: &Value| m["val"]["loss"].as_f64().unwrap();
    let best = lines
        .iter()
        .min_by(|a, b| loss(a).total_cmp(&loss(b)))
        .unwrap();
    let stopped = lines.len();
    assert!(
        stopped < 80,
        "wine at lr 0.2 stops improving well before 80 epochs"
    );
    assert_eq!(s["stopped_early"], true);
    assert_eq!(s["kept"]["epoch"], best["epoch"]);
    // Stopped exactly 3 evaluations after the best one.
    assert_eq!(best["epoch"].as_u64().unwrap() as usize + 3, stopped);
    // The saved model is the best epoch's: eval scores it as that epoch did.
    let e = lab(&["eval", "--run", run.to_str().unwrap(), "--json"]);
    let e: Value = ok(&e);
    let (got, want) = (
        e["test"]["loss"].as_f64().unwrap(),
        best["test"]["loss"].as_f64().unwrap(),
    );
    assert!(
        (got - want).abs() < 1e-9 * want.abs().max(1.0),
        "eval {got} vs best epoch {want}"
    );
    assert!(!run.join("best.safetensors").exists());
    // Selection needs a validation set.
    let bad = lab(&[
        "train",
        "--keep",
        "best",
        "--val-size",
        "0",
        "--epochs",
        "1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--val-size"));
}

#[test]
fn a_config_file_gives_settings_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wine.csv");
    std::fs::copy(wine(), &data).unwrap();
    let toml = dir.path().join("run.toml");
    std::fs::write(
        &toml,
        "epochs = 2\n[data]\npath = \"wine.csv\"\nval_size = 20\n[model]\narch = \"{in}-8-{classes}\"\ndropout = 0.1\n",
    )
    .unwrap();
    let run = dir.path().join("r");
    ok(&lab(&[
        "train",
        "--config",
        toml.to_str().unwrap(),
        "--dropout",
        "0.3",
        "--json",
        "--out",
        run.to_str().unwrap(),
    ]));
    let c = config(&run);
    assert_eq!(c["epochs"], 2);
    assert_eq!(c["data"]["val_size"], 20);
    assert_eq!(c["model"]["arch"], "{in}-8-{classes}");
    assert_eq!(c["model"]["dropout"], 0.3, "the flag wins over the file");
    // The run's own config.json is a config file too.
    let again = dir.path().join("again");
    ok(&lab(&[
        "train",
        "--config",
        run.join("config.json").to_str().unwrap(),
        "--json",
        "--out",
        again.to_str().unwrap(),
    ]));
    assert_eq!(config(&again), c);
    std::fs::write(&toml, "[model]\ndropuot = 0.3\n").unwrap();
    let bad = lab(&["train", "--config", toml.to_str().unwrap()]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("model.dropuot") && err.contains("dropout"),
        "{err}"
    );
}
