//! The red-team probe list (`tests/probes.tsv`), rerun: each probe is a shell
//! command as a user, a requeueing batch script or a restarted container
//! would type it, with the outcome it must have. Every probe also must not
//! panic, abort, hang (each has 120 s) or be killed, whatever it expects.
//!
//! ```text
//! probes.tsv:  id ⇥ class ⇥ exit ⇥ expected text ⇥ command
//! exit:        0, 1, 2, or !0 (any failure that is not a crash)
//! text:        a fragment of stdout + stderr, or `-`
//! command:     bash, run in a fresh temporary directory, with
//!              $DL (the binary), $WINE and $BC (two CSV data sets) and
//!              $W = "--data $WINE --arch {in}-16-{classes} --threads 1"
//! ```
//! Run one class: `PROBES=lock cargo test -p lab --test probes`.

mod common;
use common::repo_arg;

use std::path::PathBuf;
use std::process::Command;

struct Probe {
    id: String,
    class: String,
    exit: String,
    text: String,
    command: String,
}

fn probes() -> Vec<Probe> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/probes.tsv");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, '\t').collect();
            assert_eq!(
                f.len(),
                5,
                "probes.tsv: a line needs 5 tab-separated fields: {l}"
            );
            Probe {
                id: f[0].into(),
                class: f[1].into(),
                exit: f[2].into(),
                text: f[3].into(),
                command: f[4].into(),
            }
        })
        .collect()
}

/// Why `p` failed, if it did.
fn check(p: &Probe) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .args(["-k", "5", "120", "bash", "-c"])
        .arg(format!("set -o pipefail\n{}", p.command))
        .current_dir(dir.path())
        .env("DL", env!("CARGO_BIN_EXE_dropout-lab"))
        .env("WINE", repo_arg("data/sklearn-wine/wine_data.csv"))
        .env(
            "BC",
            repo_arg("data/sklearn-breast-cancer/breast_cancer.csv"),
        )
        .env(
            "W",
            format!(
                "--data {} --arch {{in}}-16-{{classes}} --threads 1",
                repo_arg("data/sklearn-wine/wine_data.csv")
            ),
        )
        .env("DROPOUT_LAB_PROGRESS_SECS", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code();
    let exit_ok = match (p.exit.as_str(), code) {
        (_, None | Some(101 | 124 | 134 | 137)) => false,
        ("!0", Some(c)) => c != 0,
        (want, Some(c)) => want.parse::<i32>().ok() == Some(c),
    };
    let tail: String = text
        .chars()
        .rev()
        .take(600)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if !exit_ok {
        return Some(format!("exit {code:?}, expected {}: …{tail}", p.exit));
    }
    if text.contains("panicked") {
        return Some(format!("a panic: …{tail}"));
    }
    if p.text != "-" && !text.contains(&p.text) {
        return Some(format!("no `{}` in: …{tail}", p.text));
    }
    None
}

#[test]
fn every_probe_has_its_expected_outcome() {
    let only = std::env::var("PROBES").ok();
    let all = probes();
    let mut ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "probe ids must be unique");
    let chosen: Vec<&Probe> = all
        .iter()
        .filter(|p| only.as_deref().is_none_or(|c| p.class == c))
        .collect();
    let failed: Vec<String> = chosen
        .iter()
        .filter_map(|p| {
            check(p).map(|why| format!("{} ({}): {why}\n  $ {}", p.id, p.class, p.command))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} probes failed:\n{}",
        failed.len(),
        chosen.len(),
        failed.join("\n")
    );
    eprintln!("{} probes passed", chosen.len());
}
