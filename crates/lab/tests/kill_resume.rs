//! `train` killed with SIGKILL at random points never leaves an inconsistent
//! run directory, and `train --resume` (repeated if the resume is killed too)
//! always finishes with a `model.safetensors` byte-identical to an
//! uninterrupted run's and the same `metrics.jsonl` (timings aside). The run
//! keeps its best epoch (`--keep best`), so a resume also replays the
//! selection and finds the best weights the killed run wrote.
//!
//! Consistent means: `config.json`, if there, parses; every line of
//! `metrics.jsonl` is a complete JSON object for epochs 1, 2, … in order;
//! `checkpoint.safetensors`, if there, is a whole safetensors file; nothing
//! but these, `model.safetensors`, the killed process's `train.lock` and write
//! temporaries is in the directory.
//! A run is finished once `model.safetensors` exists (a kill between writing
//! it and deleting the checkpoint leaves the checkpoint behind, unused).

mod common;

use common::metrics;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dropout-lab");
const RUN: [&str; 14] = [
    "--keep",
    "best",
    "--val-size",
    "1000",
    "--train-size",
    "3000",
    "--arch",
    "784-48-10",
    "--epochs",
    "16",
    "--batch",
    "50",
    "--threads",
    "2",
];

fn train(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("train")
        .args(args)
        .arg("--json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn finish(mut c: Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_consistent(dir: &Path, when: &str) {
    if !dir.exists() {
        return;
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let known = [
            "config.json",
            "metrics.jsonl",
            "checkpoint.safetensors",
            "model.safetensors",
            "best.safetensors",
            // The lock of the killed process (taken over by the next one).
            "train.lock",
        ];
        assert!(
            known.contains(&name.as_str()) || (name.starts_with('.') && name.contains(".tmp")),
            "{when}: stray file {name}"
        );
    }
    if let Ok(t) = std::fs::read_to_string(dir.join("config.json")) {
        serde_json::from_str::<serde_json::Value>(&t)
            .unwrap_or_else(|e| panic!("{when}: config.json: {e}"));
    }
    if let Ok(t) = std::fs::read_to_string(dir.join("metrics.jsonl")) {
        assert!(
            t.is_empty() || t.ends_with('\n'),
            "{when}: torn metrics line"
        );
        for (i, l) in t.lines().enumerate() {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{when}: line {i}: {e}"));
            assert_eq!(v["epoch"], i + 1, "{when}: epochs out of order");
        }
    }
    for f in [
        "checkpoint.safetensors",
        "model.safetensors",
        "best.safetensors",
    ] {
        if let Ok(b) = std::fs::read(dir.join(f)) {
            safetensors::SafeTensors::deserialize(&b)
                .unwrap_or_else(|e| panic!("{when}: {f} is not whole: {e}"));
        }
    }
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_result() {
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    let t0 = Instant::now();
    let mut args: Vec<&str> = RUN.to_vec();
    let ref_s = reference.to_str().unwrap();
    args.extend(["--out", ref_s]);
    finish(train(&args));
    let full = t0.elapsed();
    let want_model = std::fs::read(reference.join("model.safetensors")).unwrap();
    let want_metrics = metrics(&reference);
    assert_eq!(want_metrics.len(), 16);

    // A fixed pseudo-random sequence of kill points over most of the run's length.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let (mut total_kills, mut from_checkpoint) = (0, 0);
    for round in 0..5 {
        let dir = root.path().join(format!("killed-{round}"));
        let dir_s = dir.to_str().unwrap().to_string();
        let mut fresh: Vec<&str> = RUN.to_vec();
        fresh.extend(["--out", &dir_s]);
        let mut kills = 0;
        let mut resumed = false;
        loop {
            if dir.join("model.safetensors").exists() {
                // Killed after the model was written: the run has finished.
                break;
            }
            let mut cmd = if !dir.join("config.json").exists() {
                // Killed before the run wrote its configuration: start it again.
                train(&fresh)
            } else {
                resumed = true;
                train(&["--resume", &dir_s])
            };
            if kills >= 3 {
                finish(cmd);
                break;
            }
            let mut child = cmd.spawn().unwrap();
            // Within the first 70 % of the reference run's time: a run that
            // happens to go faster than the reference (a busy machine) still
            // gets killed instead of finishing first.
            let wait = full.mul_f64(0.05 + 0.65 * next());
            std::thread::sleep(wait.min(Duration::from_secs(30)));
            let finished = child.try_wait().unwrap().is_some();
            if finished {
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "round {round}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                break;
            }
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            total_kills += 1;
            from_checkpoint += usize::from(dir.join("checkpoint.safetensors").exists());
            assert_consistent(&dir, &format!("round {round}, after kill {kills}"));
        }
        assert_consistent(&dir, &format!("round {round}, finished"));
        assert_eq!(
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            want_model,
            "round {round} ({kills} kills, resumed: {resumed}): model differs"
        );
        assert_eq!(metrics(&dir), want_metrics, "round {round}: metrics differ");
    }
    eprintln!("{total_kills} kills, {from_checkpoint} resumes from a checkpoint");
    // The test must have exercised what it claims to.
    assert!(total_kills >= 5, "only {total_kills} kills landed");
    assert!(
        from_checkpoint >= 2,
        "only {from_checkpoint} resumes started from a checkpoint"
    );
}

#[test]
fn out_refuses_an_existing_run_and_resume_leaves_a_finished_one() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("r");
    let d = dir.to_str().unwrap();
    let small = [
        "--train-size",
        "200",
        "--arch",
        "784-8-10",
        "--epochs",
        "2",
        "--out",
        d,
    ];
    finish(train(&small));
    let before = std::fs::read(dir.join("model.safetensors")).unwrap();
    let out = train(&small).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--force") && err.contains("--resume"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        before
    );
    // Resuming a finished run changes nothing and is no failure (a requeued job).
    let out = train(&["--resume", d]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to do"));
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        before
    );
    let out = train(&["--resume", d, "--epochs", "3"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop the other run flags"));
    let mut forced = small.to_vec();
    forced.extend(["--force", "--seed", "5"]);
    finish(train(&forced));
    assert_ne!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        before
    );
}
