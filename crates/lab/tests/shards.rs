//! A study spread over shards gives the serial study's numbers: shards run
//! as processes sharing one cache (one of them started twice), under GNU
//! parallel, and killed midway then rerun; `--merge` builds the report from
//! the cache alone and fails, listing them, while runs are missing. Every
//! run is trained exactly once between the shards. Shards come from Slurm
//! arrays with a step (`--array=0-15:4`); bad scheduler values are named;
//! `--plan` writes nothing.

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

/// Run `c` to its end, killed after `secs` seconds (a test must not hang).
fn timed(c: &mut Command, secs: u64) -> Output {
    let mut k = spawn(std::mem::replace(c, Command::new("true")));
    let t = Instant::now();
    while k.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(secs) {
            k.kill().unwrap();
            panic!("ran over {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    k.wait_with_output().unwrap()
}

const SLURM: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
];

#[test]
fn shard_options_are_checked() {
    let abc = [
        ("SLURM_ARRAY_TASK_ID", "abc"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    let past = [
        ("SLURM_ARRAY_TASK_ID", "8"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    for (args, env, says) in [
        (vec!["--shard", "0/2"], &[][..], "1 ≤ I ≤ N"),
        (vec!["--shard", "3/2"], &[], "1 ≤ I ≤ N"),
        (vec!["--shard", "x"], &[], "I/N"),
        (vec!["--shard"], &[], "SLURM_ARRAY_TASK_ID"),
        (vec!["--shard", "1/100001"], &[], "at most 100000 shards"),
        (
            vec!["--shard"],
            &abc,
            "SLURM_ARRAY_TASK_ID=\"abc\" is not a whole number",
        ),
        (vec!["--shard"], &past, "SLURM_ARRAY_TASK_ID=8"),
    ] {
        let mut c = Command::new(bin());
        c.args(["study", "--tiny"]).args(&args);
        for v in SLURM {
            c.env_remove(v);
        }
        c.envs(env.iter().copied()).env_remove("RUST_BACKTRACE");
        let o = timed(&mut c, 120);
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
        assert!(
            !dir.path().join(what).exists(),
            "{what}: --plan writes nothing"
        );
        let trained = std::fs::read_dir(dir.path().join(what).join("runs"))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(trained, 0, "{what}: planning trains nothing");
    }
}

/// `sbatch --array=0-15:4`: tasks 0, 4, 8, 12 are shards 1..4 of 4 (task 8
/// was "shard 8 of 4"); their cache merges.
#[test]
fn slurm_arrays_with_a_step_are_shards() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sklearn-wine/wine_data.csv"
    );
    let sweep = |extra: &[&str]| {
        let mut c = Command::new(bin());
        c.args([
            "sweep",
            "--grid",
            "dropout=0,0.5",
            "--seeds",
            "2",
            "--data",
            csv,
        ])
        .args([
            "--arch",
            "{in}-8-{classes}",
            "--epochs",
            "1",
            "--quiet",
            "--cache",
        ])
        .arg(&cache)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(extra);
        for v in SLURM {
            c.env_remove(v);
        }
        c
    };
    for (id, rank) in [("0", 1), ("4", 2), ("8", 3), ("12", 4)] {
        let mut c = sweep(&["--shard"]);
        c.envs([
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "12"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ]);
        let o = ok(timed(&mut c, 300));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(&format!("shard {rank}/4 done")),
            "task {id}: {text}"
        );
    }
    let o = ok(timed(&mut sweep(&["--merge"]), 300));
    assert!(String::from_utf8_lossy(&o.stdout).contains("4 runs; 0 trained now"));
}
