//! The typed run configuration seen from the command line: runs written in
//! the older config.json format still evaluate, `--eval-every` decides which
//! epochs are evaluated (never what is trained), and settings out of range
//! are errors that name the flag as typed.

mod common;
use common::{lab, repo};

use std::path::PathBuf;
use std::process::Output;

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dropout-lab-config-{}-{name}", std::process::id()))
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_format_1_run_still_evaluates_to_its_recorded_accuracy() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-format1");
    let run = tmp("format1");
    std::fs::create_dir_all(&run).unwrap();
    let wine = repo("data/sklearn-wine/wine_data.csv");
    let cfg = std::fs::read_to_string(fixture.join("config.json")).unwrap();
    assert!(cfg.contains("\"spatial\": true") && !cfg.contains("format"));
    std::fs::write(
        run.join("config.json"),
        cfg.replace("@WINE@", wine.to_str().unwrap()),
    )
    .unwrap();
    std::fs::copy(
        fixture.join("model.safetensors"),
        run.join("model.safetensors"),
    )
    .unwrap();
    let out = ok(&lab(&["eval", "--run", run.to_str().unwrap(), "--json"]));
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["test"]["acc"].as_f64(), Some(0.666_666_666_666_666_6));
    std::fs::remove_dir_all(&run).ok();
}

#[test]
fn a_newer_format_is_a_clear_error() {
    let run = tmp("newer");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("config.json"), "{\"format\": 9, \"epochs\": 1}").unwrap();
    let out = lab(&["eval", "--run", run.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("format 9") && err.contains("reads formats 1 to 2"),
        "{err}"
    );
    std::fs::remove_dir_all(&run).ok();
}

#[test]
fn eval_every_changes_what_is_recorded_not_what_is_trained() {
    let wine = repo("data/sklearn-wine/wine_data.csv");
    let train = |every: &str, out: &PathBuf| {
        ok(&lab(&[
            "train",
            "--data",
            wine.to_str().unwrap(),
            "--arch",
            "{in}-16-{classes}",
            "--epochs",
            "5",
            "--eval-every",
            every,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]))
    };
    let (a, b) = (tmp("every1"), tmp("every2"));
    let sa: serde_json::Value = serde_json::from_str(&train("1", &a)).unwrap();
    let sb: serde_json::Value = serde_json::from_str(&train("2", &b)).unwrap();
    assert_eq!(sa["last"]["test"], sb["last"]["test"]);
    let evaluated = |dir: &PathBuf| -> Vec<u64> {
        std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|m| m.get("test").is_some())
            .map(|m| m["epoch"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(evaluated(&a), vec![1, 2, 3, 4, 5]);
    assert_eq!(evaluated(&b), vec![2, 4, 5]);
    let wa = std::fs::read(a.join("model.safetensors")).unwrap();
    let wb = std::fs::read(b.join("model.safetensors")).unwrap();
    assert!(
        wa == wb,
        "evaluating less often changed the trained weights"
    );
    for d in [a, b] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn out_of_range_settings_name_their_flag() {
    for (args, needle) in [
        (
            vec!["train", "--momentum", "5"],
            "--momentum 5: must be in [0, 1)",
        ),
        (
            vec!["train", "--input-dropout", "NaN"],
            "--input-dropout NaN",
        ),
        (vec!["train", "--schedule", "exp:-1"], "--schedule"),
        (
            vec!["train", "--epochs", "0"],
            "--epochs 0: must be at least 1",
        ),
        (
            vec!["train", "--val-size", "70000", "--epochs", "1"],
            "--val-size 70000",
        ),
        (vec!["train", "--norm", "group"], "--norm"),
        (
            vec!["train", "--conv-dropout-kind", "blocks"],
            "--conv-dropout-kind",
        ),
    ] {
        let out = lab(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("input_dropout") && !err.contains("val_size"),
            "{err}"
        );
    }
}

#[test]
fn the_dropout_variant_is_a_typed_setting_saved_in_the_config() {
    let data = repo("data/sklearn-wine/wine_data.csv");
    let train = |name: &str, extra: &[&str]| -> (String, String) {
        let run = tmp(name);
        std::fs::remove_dir_all(&run).ok();
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--arch",
            "{in}-16-{classes}",
            "--epochs",
            "2",
            "--out",
            run.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = ok(&lab(&args));
        let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
        std::fs::remove_dir_all(&run).ok();
        (out, cfg)
    };
    let (_, plain) = train("plain", &[]);
    assert!(
        plain.contains("\"dropout_variant\": \"standard\""),
        "every setting is in config.json: {plain}"
    );
    let (out, alpha) = train("alpha", &["--act", "selu", "--dropout-variant", "alpha"]);
    assert!(alpha.contains("\"dropout_variant\": \"alpha\""), "{alpha}");
    assert!(out.contains("test acc"), "{out}");
    for v in ["gaussian", "noise"] {
        let (out, cfg) = train(v, &["--dropout", "0.3", "--dropout-variant", v]);
        assert!(
            cfg.contains(&format!("\"dropout_variant\": \"{v}\"")),
            "{cfg}"
        );
        assert!(out.contains("test acc"), "{out}");
    }
    // Residual blocks with DropPath: saved in the config, the depth rule in the summary.
    let run = tmp("droppath");
    std::fs::remove_dir_all(&run).ok();
    let res = lab(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--arch",
        "{in}-16-r24-r24-{classes}",
        "--norm",
        "ln",
        "--drop-path",
        "0.2",
        "--drop-path-scope",
        "batch",
        "--optimizer",
        "adam",
        "--lr",
        "0.001",
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]);
    ok(&res);
    let res = String::from_utf8_lossy(&res.stderr); // the model summary
    let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
    std::fs::remove_dir_all(&run).ok();
    assert!(
        cfg.contains("\"drop_path\": 0.2") && cfg.contains("\"drop_path_scope\": \"batch\""),
        "{cfg}"
    );
    assert!(
        res.contains("DropPath 0.1 per batch") && res.contains("DropPath 0.2 per batch"),
        "{res}"
    );
    // Concrete dropout: the flag in the config, the learned rates in the summary.
    let (out, cfg) = train(
        "concrete",
        &[
            "--concrete-dropout",
            "--dropout",
            "0",
            "--input-dropout",
            "0",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
        ],
    );
    assert!(cfg.contains("\"concrete_dropout\": true"), "{cfg}");
    let line = out
        .lines()
        .find(|l| l.starts_with("learned p"))
        .unwrap_or_default();
    let ps: Vec<f32> = line
        .trim_start_matches("learned p")
        .split('(')
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    assert!(
        ps.len() == 2 && ps.iter().all(|&p| p > 0.0 && p < 1.0 && p != 0.1),
        "{out}"
    );
    // Sequential MNIST: an RNN over the image rows, naive or locked masks.
    let run = tmp("rnn");
    std::fs::remove_dir_all(&run).ok();
    let res = lab(&[
        "train",
        "--arch",
        "rnn16-{classes}",
        "--rnn-dropout",
        "0.2",
        "--rnn-dropout-kind",
        "naive",
        "--train-size",
        "200",
        "--epochs",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    ok(&res);
    let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
    std::fs::remove_dir_all(&run).ok();
    assert!(cfg.contains("\"rnn_dropout_kind\": \"naive\""), "{cfg}");
    assert!(String::from_utf8_lossy(&res.stderr).contains("RNN(28→16, tanh, naive dropout 0.2)"));
    let flat = lab(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--arch",
        "rnn8-{classes}",
        "--epochs",
        "1",
    ]);
    let err = String::from_utf8_lossy(&flat.stderr);
    assert!(
        !flat.status.success() && err.contains("T rows of D features"),
        "{err}"
    );
    let last = lab(&[
        "train",
        "--arch",
        "{in}-16-r8",
        "--epochs",
        "1",
        "--train-size",
        "100",
    ]);
    let err = String::from_utf8_lossy(&last.stderr);
    assert!(
        !last.status.success() && err.contains("residual block rH"),
        "{err}"
    );
    // Gaussian dropout's variance p/(1 − p) is infinite at p = 1: refused with the range.
    let one = lab(&[
        "train",
        "--dropout",
        "1",
        "--dropout-variant",
        "gaussian",
        "--epochs",
        "1",
        "--train-size",
        "100",
    ]);
    let err = String::from_utf8_lossy(&one.stderr);
    assert!(!one.status.success() && err.contains("[0, 1)"), "{err}");
    // DropBlock's block must fit the feature maps it drops from (28 × 28, then 14 × 14).
    let big = lab(&[
        "train",
        "--arch",
        "c4-p-c4-p-10",
        "--conv-dropout",
        "0.1",
        "--conv-dropout-kind",
        "block",
        "--drop-block-size",
        "15",
        "--epochs",
        "1",
        "--train-size",
        "100",
    ]);
    let err = String::from_utf8_lossy(&big.stderr);
    assert!(
        !big.status.success() && err.contains("at least 15 × 15"),
        "{err}"
    );
    let bad = lab(&["train", "--dropout-variant", "gamma"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("standard") && err.contains("alpha"),
        "{err}"
    );
}

#[test]
fn a_dropout_schedule_is_a_factor_on_every_rate_per_step() {
    let data = repo("data/sklearn-wine/wine_data.csv");
    let loss = |extra: &[&str]| -> String {
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--arch",
            "{in}-16-16-{classes}",
            "--epochs",
            "3",
            "--json",
        ];
        if !extra.contains(&"--dropout") {
            args.extend_from_slice(&["--dropout", "0.5", "--input-dropout", "0.2"]);
        }
        let run = tmp(&format!("sched-{}", extra.join("-").replace(':', "_")));
        std::fs::remove_dir_all(&run).ok();
        args.extend_from_slice(&["--out", run.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let out = ok(&lab(&args));
        std::fs::remove_dir_all(&run).ok();
        let s: serde_json::Value = serde_json::from_str(&out).unwrap();
        s["last"]["test"].to_string()
    };
    // Never on = no dropout; always on = constant; a ramp is neither.
    let never = loss(&["--dropout-schedule", "late:100"]);
    assert_eq!(never, loss(&["--dropout", "0", "--input-dropout", "0"]));
    let always = loss(&["--dropout-schedule", "early:100"]);
    assert_eq!(always, loss(&[]));
    let ramp = loss(&["--dropout-schedule", "ramp:2"]);
    assert!(ramp != always && ramp != never, "{ramp}");
    let bad = lab(&["train", "--dropout-schedule", "early:0"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("epochs ≥ 1"), "{err}");
}
