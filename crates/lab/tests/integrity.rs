//! Nothing silently wrong, nothing lost: the run cache knows data by its
//! content, checkpoints carry a checksum, run directories are locked,
//! `--resume` and `--auto-resume` are idempotent (for ensembles too), and
//! `--threads` has a cap. Each test here failed before these rules existed.

mod common;
use common::{lab, repo_arg, BIN};

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", err(o));
}

/// Small, fast runs on the wine data (`epochs` epochs).
fn wine(epochs: &str) -> Vec<String> {
    [
        "--data",
        &repo_arg("data/sklearn-wine/wine_data.csv"),
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        epochs,
        "--lr",
        "0.05",
        "--threads",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

fn train(extra: &[&str], epochs: &str) -> Output {
    let mut args: Vec<String> = vec!["train".into(), "--json".into()];
    args.extend(wine(epochs));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    lab(&refs)
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_cache_serves_a_user_file_by_its_content_not_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::copy(repo_arg("data/sklearn-wine/wine_data.csv"), &data).unwrap();
    let sweep = |out: &str| {
        lab(&[
            "sweep",
            "--grid",
            "dropout=0,0.5",
            "--data",
            data.to_str().unwrap(),
            "--arch",
            "{in}-8-{classes}",
            "--epochs",
            "2",
            "--seeds",
            "1",
            "--quiet",
            "--threads",
            "1",
            "--cache",
            dir.path().join("cache").to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
        ])
    };
    let first = sweep("a");
    ok(&first);
    // Another data set copied over the same path must not be served the
    // first one's results.
    std::fs::copy(
        repo_arg("data/sklearn-breast-cancer/breast_cancer.csv"),
        &data,
    )
    .unwrap();
    let second = sweep("b");
    ok(&second);
    let runs = |o: &str| std::fs::read_to_string(dir.path().join(o).join("runs.csv")).unwrap();
    assert_ne!(
        runs("a"),
        runs("b"),
        "the first data set's numbers were served"
    );
    // The same bytes at another path are the same runs: nothing is trained.
    let moved = dir.path().join("elsewhere.csv");
    std::fs::copy(&data, &moved).unwrap();
    let third = lab(&[
        "sweep",
        "--grid",
        "dropout=0,0.5",
        "--data",
        moved.to_str().unwrap(),
        "--arch",
        "{in}-8-{classes}",
        "--epochs",
        "2",
        "--seeds",
        "1",
        "--threads",
        "1",
        "--cache",
        dir.path().join("cache").to_str().unwrap(),
        "--out",
        dir.path().join("c").to_str().unwrap(),
        "--plan",
    ]);
    ok(&third);
    let plan = String::from_utf8_lossy(&third.stdout);
    assert!(
        plan.lines().count() == 2 && plan.lines().all(|l| l.contains("\"cached\":true")),
        "{plan}"
    );
}

#[test]
fn a_damaged_checkpoint_is_refused_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    ok(&train(&["--out", run.to_str().unwrap()], "3"));
    // Make it unfinished at epoch 2: the checkpoint of a fresh 3-epoch run
    // is deleted once it finishes, so write one with a run killed after epoch 2.
    std::fs::remove_dir_all(&run).unwrap();
    let mut child = Command::new(BIN)
        .arg("train")
        .args(wine("400"))
        .args(["--out", run.to_str().unwrap(), "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ck = run.join("checkpoint.safetensors");
    let t0 = Instant::now();
    while !ck.exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut b = bytes(&ck);
    let n = b.len();
    b[n - 5] ^= 0x10;
    std::fs::write(&ck, &b).unwrap();
    let o = lab(&["train", "--resume", run.to_str().unwrap(), "--json"]);
    assert!(!o.status.success(), "a flipped bit was resumed");
    let e = err(&o);
    assert!(
        e.contains("checkpoint.safetensors") && e.contains("damaged"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn a_run_directory_has_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    std::fs::create_dir(&run).unwrap();
    // This test process holds the lock, as a training process would.
    let held = lab::lock::try_lock(&run.join("train.lock"))
        .unwrap()
        .ok()
        .unwrap();
    for extra in [
        vec!["--out", run.to_str().unwrap()],
        vec!["--out", run.to_str().unwrap(), "--force"],
        vec!["--out", run.to_str().unwrap(), "--auto-resume"],
    ] {
        let o = train(&extra, "2");
        assert!(!o.status.success(), "{extra:?} trained into a locked run");
        let e = err(&o);
        assert!(
            e.contains("in use") && e.contains(&std::process::id().to_string()),
            "{e}"
        );
    }
    let o = lab(&["train", "--resume", run.to_str().unwrap()]);
    assert!(!o.status.success());
    drop(held);
    ok(&train(&["--out", run.to_str().unwrap()], "2"));
    assert!(!run.join("train.lock").exists(), "the lock is released");
    // A lock left by a process that is gone (its PID now has another start
    // time: reused) does not block.
    let me = lab::lock::Holder::me();
    let dead = format!(
        "{} {} {} {} {}\n",
        me.pid,
        me.host,
        me.boot,
        me.pidns,
        me.start + 7
    );
    std::fs::write(run.join("train.lock"), dead).unwrap();
    ok(&train(&["--out", run.to_str().unwrap(), "--force"], "2"));
}

#[test]
fn resume_and_auto_resume_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("job");
    let r = run.to_str().unwrap();
    // Missing folder: start.
    ok(&train(&["--out", r, "--auto-resume"], "3"));
    let model = bytes(&run.join("model.safetensors"));
    let metrics = bytes(&run.join("metrics.jsonl"));
    // Finished: a note, exit 0, nothing changed — for both forms.
    for o in [
        train(&["--out", r, "--auto-resume"], "3"),
        lab(&["train", "--resume", r]),
    ] {
        ok(&o);
        assert!(err(&o).contains("nothing to do"), "{}", err(&o));
        assert_eq!(bytes(&run.join("model.safetensors")), model);
        assert_eq!(bytes(&run.join("metrics.jsonl")), metrics);
    }
    // Another configuration: refused, nothing changed.
    let o = train(&["--out", r, "--auto-resume", "--dropout", "0.1"], "3");
    assert!(!o.status.success());
    assert!(err(&o).contains("another run"), "{}", err(&o));
    assert_eq!(bytes(&run.join("model.safetensors")), model);
    // An empty folder: start.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ok(&train(
        &["--out", empty.to_str().unwrap(), "--auto-resume"],
        "3",
    ));
    assert_eq!(
        bytes(&empty.join("model.safetensors")),
        model,
        "the same run"
    );
}

#[test]
fn a_killed_ensemble_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    ok(&train(
        &["--out", whole.to_str().unwrap(), "--ensemble", "3"],
        "40",
    ));
    // The same ensemble, killed while member 2 trains.
    let part = dir.path().join("part");
    let mut child = Command::new(BIN)
        .arg("train")
        .args(wine("40"))
        .args(["--out", part.to_str().unwrap(), "--ensemble", "3", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !part.join("member-2/config.json").exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!part.join("member-3").join("model.safetensors").exists());
    let o = lab(&[
        "train",
        "--resume",
        part.to_str().unwrap(),
        "--json",
        "--threads",
        "2",
    ]);
    ok(&o);
    for m in 1..=3 {
        // Byte for byte, though the resume ran on another thread count.
        let f = format!("member-{m}/model.safetensors");
        assert!(
            bytes(&part.join(&f)) == bytes(&whole.join(&f)),
            "{f} differs"
        );
    }
    // Resuming it again, or auto-resuming with its flags, does nothing.
    ok(&lab(&["train", "--resume", part.to_str().unwrap()]));
    let again = train(
        &[
            "--out",
            part.to_str().unwrap(),
            "--ensemble",
            "3",
            "--auto-resume",
        ],
        "40",
    );
    ok(&again);
    assert_eq!(
        err(&again).matches("nothing to do").count(),
        3,
        "{}",
        err(&again)
    );
}

#[test]
fn threads_have_a_cap_and_run_files_name_themselves() {
    let t0 = Instant::now();
    let o = lab(&["train", "--threads", "100000", "--epochs", "1"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("at most"), "{}", err(&o));
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "refused before spawning"
    );
    // A garbled config.json is named; a missing metrics.jsonl says what to do.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    ok(&train(
        &["--out", run.to_str().unwrap(), "--checkpoint-every", "1"],
        "2",
    ));
    std::fs::remove_file(run.join("model.safetensors")).unwrap();
    std::fs::write(run.join("config.json"), "{ garbled").unwrap();
    let o = lab(&["train", "--resume", run.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("config.json") && err(&o).contains("--force"),
        "{}",
        err(&o)
    );
}
