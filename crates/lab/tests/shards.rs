//! A study spread over shards gives the serial study's numbers: shards run
//! as processes sharing one cache (one of them started twice), under GNU
//! parallel, and killed midway then rerun; `--merge` builds the report from
//! the cache alone and fails, listing them, while runs are missing. Every
//! run is trained exactly once between the shards.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Claims that cover every way a claim asks for runs: trained nets (C2,
/// C12), tuning sweeps and runs chosen from them (C3, C9), label noise (C3).
const CLAIMS: &str = "C2,C3,C9,C12";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dropout-lab")
}

fn study(extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["study", "--tiny", "--claims", CLAIMS, "--threads", "1"]);
    c.args(extra);
    c
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The claims' results of a report, the timings left out.
fn numbers(report: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("results.json")).unwrap())
            .unwrap();
    let mut claims = v["claims"].clone();
    for c in claims.as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("elapsed_s");
    }
    claims
}

/// Runs a shard's output says it trained.
fn trained(o: &Output) -> usize {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(": trained "))
        .count()
}

fn merge(cache: &Path, out: &Path) -> Output {
    study(&["--merge", "--quiet", "--cache"])
        .arg(cache)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn planned(cache: &Path) -> usize {
    let o = ok(study(&["--plan", "--cache"]).arg(cache).output().unwrap());
    String::from_utf8_lossy(&o.stdout).lines().count()
}

fn no_locks(cache: &Path) {
    for e in std::fs::read_dir(cache.join("runs")).unwrap() {
        let p = e.unwrap().path();
        assert!(
            p.extension().is_none_or(|x| x != "lock"),
            "lock left: {}",
            p.display()
        );
    }
}

#[test]
fn shards_give_the_serial_numbers_and_train_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(study(&["--quiet", "--out"])
        .arg(d.join("serial"))
        .output()
        .unwrap());
    let serial = numbers(&d.join("serial"));

    // Nothing trained yet: merging fails and says which runs are missing.
    let cache = d.join("cache");
    let first_plan = planned(&cache);
    assert!(first_plan > 20, "{first_plan} runs planned");
    let m = merge(&cache, &d.join("merged"));
    assert!(!m.status.success());
    let err = String::from_utf8_lossy(&m.stderr);
    assert!(
        err.contains("not in the cache") && err.contains("more"),
        "{err}"
    );

    // Two shards, the first started twice.
    let shard = |i: &str| {
        let mut c = study(&["--shard", i, "--cache"]);
        c.arg(&cache);
        spawn(c)
    };
    let kids = [shard("1/2"), shard("2/2"), shard("1/2")];
    let outs: Vec<Output> = kids
        .into_iter()
        .map(|k| ok(k.wait_with_output().unwrap()))
        .collect();
    let total: usize = outs.iter().map(trained).sum();
    let o = ok(merge(&cache, &d.join("merged")));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 runs trained now"));
    assert_eq!(numbers(&d.join("merged")), serial);
    let all = planned(&cache);
    assert!(all > first_plan, "runs chosen by tuning join the plan");
    assert_eq!(total, all, "each run trained once between the shards");
    no_locks(&cache);

    // GNU parallel runs three shards; the merged report is the same.
    let have_parallel = Command::new("parallel").arg("--version").output().is_ok();
    if have_parallel {
        let cache = d.join("cache-parallel");
        let cmd = format!(
            "{} study --tiny --claims {CLAIMS} --threads 1 --quiet --cache {} --shard {{}}/3",
            bin(),
            cache.display()
        );
        let o = Command::new("parallel")
            .args([
                "--halt",
                "now,fail=1",
                "-j",
                "3",
                &cmd,
                ":::",
                "1",
                "2",
                "3",
            ])
            .output()
            .unwrap();
        ok(o);
        ok(merge(&cache, &d.join("merged-parallel")));
        assert_eq!(numbers(&d.join("merged-parallel")), serial);
    } else if std::env::var_os("CI").is_some() {
        panic!("GNU parallel is not installed (.ci/run installs the Debian package `parallel`)");
    } else {
        eprintln!("skipped the GNU parallel part: `parallel` is not installed");
    }

    // A shard killed midway and started again finishes the study.
    let cache = d.join("cache-killed");
    let mut c = study(&["--shard", "1/1", "--quiet", "--cache"]);
    c.arg(&cache);
    let mut k = spawn(c);
    let t = Instant::now();
    let entries = || {
        std::fs::read_dir(cache.join("runs"))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    while entries() < 10 && t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    k.kill().unwrap();
    k.wait().unwrap();
    ok(study(&["--shard", "1/1", "--quiet", "--cache"])
        .arg(&cache)
        .output()
        .unwrap());
    ok(merge(&cache, &d.join("merged-killed")));
    assert_eq!(numbers(&d.join("merged-killed")), serial);
}

#[test]
fn shard_options_are_checked() {
    for (args, says) in [
        (vec!["--shard", "0/2"], "1 ≤ I ≤ N"),
        (vec!["--shard", "3/2"], "1 ≤ I ≤ N"),
        (vec!["--shard", "x"], "I/N"),
        (vec!["--shard"], "SLURM_ARRAY_TASK_ID"),
    ] {
        let o = Command::new(bin())
            .args(["study", "--tiny"])
            .args(&args)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn every_study_plans_without_training() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, what) in [
        (vec![], "all claims"),
        (vec!["--paper"], "the paper"),
        (vec!["--family"], "the family"),
    ] {
        let o = ok(Command::new(bin())
            .args(["study", "--tiny", "--plan", "--cache"])
            .arg(dir.path().join(what))
            .args(&extra)
            .output()
            .unwrap());
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert!(lines.len() >= 3, "{what}: {} runs", lines.len());
        assert!(lines
            .iter()
            .all(|r| r["cached"] == false && r["depth"] == 0));
        assert!(String::from_utf8_lossy(&o.stderr).contains("runs planned"));
        let trained = std::fs::read_dir(dir.path().join(what).join("runs"))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(trained, 0, "{what}: planning trains nothing");
    }
}
