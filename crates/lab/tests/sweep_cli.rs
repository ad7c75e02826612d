//! `dropout-lab sweep` and `tune` end to end on a small CSV: the files they
//! write, resuming from the cache, sharded runs merging to the serial
//! results, tune's choice being the best validation mean (or no clear
//! difference, and what it keeps), bad grids, and a closed output pipe.
//! (Range values, values with colons and `--plan` writing nothing:
//! `grid_and_plan.rs`.)

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/sklearn-wine/wine_data.csv"
);

/// Run `c` to its end, killed after `secs` seconds (a test must not hang).
fn timed(mut c: Command, secs: u64) -> Output {
    let mut k = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .unwrap();
    let t = Instant::now();
    while k.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(secs) {
            k.kill().unwrap();
            panic!("{c:?} ran over {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    k.wait_with_output().unwrap()
}

fn dl(args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dropout-lab"));
    c.args(args);
    timed(c, 300)
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sweep(out: &Path, extra: &[&str]) -> Output {
    let mut a = vec![
        "sweep",
        "--grid",
        "dropout=0:0.5:0.5,lr=0.01,0.05",
        "--seeds",
        "2",
        "--data",
        CSV,
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "4",
        "--val-size",
        "30",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    dl(&a)
}

/// The runs of a results.json, training seconds left out.
fn runs(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let mut r = v["runs"].take();
    for p in r.as_array_mut().unwrap() {
        for run in p["runs"].as_array_mut().unwrap() {
            run["out"].as_object_mut().unwrap().remove("train_s");
        }
    }
    r
}

#[test]
fn a_sweep_writes_its_files_resumes_and_shards() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("serial");
    let text = ok(sweep(&out, &[]));
    assert!(text.contains("dropout=0.0 lr=0.01"), "{text}");
    assert!(text.contains("8 runs; 8 trained now"), "{text}");
    let csv = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9, "a header and 2 × 2 × 2 runs");
    assert!(csv.starts_with("dropout,lr,seed,key,"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.matches("<svg").count() >= 2, "figures");
    assert!(!html.contains("NaN"));
    // Again: everything from the cache.
    assert!(ok(sweep(&out, &[])).contains("8 runs; 0 trained now"));

    // Two shards into a shared cache, then the merge: the serial runs.
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let merged = dir.path().join("merged");
    let missing = sweep(&merged, &["--merge", "--cache", c]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("8 run(s) are not in the cache"));
    ok(sweep(&merged, &["--shard", "1/2", "--cache", c]));
    ok(sweep(&merged, &["--shard", "2/2", "--cache", c]));
    ok(sweep(&merged, &["--merge", "--cache", c]));
    assert_eq!(runs(&merged), runs(&out));
}

#[test]
fn tune_recommends_the_best_validation_mean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tune");
    let text = ok(dl(&[
        "tune",
        "--p",
        "0,0.3,0.6",
        "--seeds",
        "3",
        "--data",
        CSV,
        "--arch",
        "{in}-32-{classes}",
        "--epochs",
        "5",
        "--lr",
        "0.02",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    if text.contains("no clear difference") {
        // Three seeds of five epochs may not tell the rates apart.
        assert!(v["chosen"].is_null(), "{text}");
        assert!(
            text.contains("keeping dropout=0.5 (train's default"),
            "{text}"
        );
        return;
    }
    assert!(text.contains("recommendation: dropout="), "{text}");
    let means: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["val_acc"]["mean"].as_f64().unwrap())
        .collect();
    let best = means.iter().cloned().fold(f64::MIN, f64::max);
    let first_best = means.iter().position(|&m| m == best).unwrap();
    let chosen = v["chosen"][0][1].as_str().unwrap();
    assert_eq!(chosen, ["0", "0.3", "0.6"][first_best], "{means:?}");
    assert!(text.contains(&format!("recommendation: dropout={chosen} ")));
}

#[test]
fn bad_grids_are_explained() {
    for (grid, says) in [
        (
            "dropot=0.1",
            "`dropot` is not a train option; did you mean `dropout`?",
        ),
        ("dropout=1.5", "--dropout 1.5"),
        (
            "act=rleu",
            "--act rleu: not one of relu, tanh, sigmoid, selu",
        ),
        ("dropout-variant=gausian", "did you mean `gaussian`?"),
        ("lr=fast", "--lr fast: invalid float literal"),
        (
            "schedule=linear",
            "--schedule linear: `linear`: expected constant",
        ),
        ("nesterov=1", "--nesterov is a switch and takes no value"),
        ("0.1,dropout=0", "before any name="),
        ("dropout=0:1:0", "step > 0"),
        (
            "dropout=0:1e20:1",
            "100000000000000000000 values, over the 10000",
        ),
        ("dropout=0:1", "a range is a:b:step"),
        ("dropout=0:1:0.01,lr=0:1:0.001", "over the 10000"),
    ] {
        let o = dl(&["sweep", "--grid", grid, "--epochs", "1"]);
        assert!(!o.status.success(), "{grid}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{grid}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `--plan | head -1`: the closed pipe ends the command quietly with exit 0,
/// stderr apart or joined to stdout (it was "Broken pipe", exit 1, and a
/// panic, exit 101).
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for join in ["", "2>&1"] {
        let script = format!(
            "set -o pipefail; \"$0\" sweep --grid dropout=0:0.9999:0.0001 --data \"$1\" --seeds 1 --plan --out \"$2\" {join} | head -1"
        );
        let mut c = Command::new("bash");
        c.args(["-c", &script, env!("CARGO_BIN_EXE_dropout-lab"), CSV])
            .arg(dir.path().join("p"));
        let o = timed(c, 120);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{join}: {:?} {err}", o.status);
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
        assert!(
            !err.contains("rror") && !err.contains("panic"),
            "{join}: {err}"
        );
    }
}

/// Runs that cannot be told apart: tune says so, keeps the default, and
/// names every fixed setting (input dropout 0.2 among them).
#[test]
fn tune_says_when_there_is_no_clear_difference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tune");
    // 0.2 and 0.20 are one run: the same numbers, so the CIs overlap.
    let text = ok(dl(&[
        "tune",
        "--p",
        "0.2,0.20",
        "--seeds",
        "2",
        "--data",
        CSV,
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(text.contains("no clear difference"), "{text}");
    assert!(
        text.contains("keeping dropout=0.5 (train's default"),
        "{text}"
    );
    assert!(!text.contains("recommendation:"), "{text}");
    assert!(text.contains("--input-dropout 0.2"), "{text}");
    assert!(
        text.contains("--epochs 2") && text.contains("--optimizer sgd"),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(v["chosen"].is_null());
    let e = dl(&["tune", "--p", "0,lr=1", "--data", CSV]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("--p 0,lr=1: give values only"));
}
