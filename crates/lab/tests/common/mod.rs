//! Helpers shared by the integration tests: the binary, run as a user runs
//! it (without `RUST_BACKTRACE`, so messages are judged as a user sees
//! them), and paths inside the repository.
#![allow(dead_code)] // each test file uses some of these

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `dropout-lab` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_dropout-lab");

/// Run `dropout-lab args…` and wait for it.
pub fn lab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run dropout-lab")
}

/// The repository's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path inside the repository.
pub fn repo(p: &str) -> PathBuf {
    root().join(p)
}

/// A path inside the repository, as a command-line argument.
pub fn repo_arg(p: &str) -> String {
    repo(p).to_string_lossy().into_owned()
}

/// A run directory's `metrics.jsonl` lines without their timing fields.
pub fn metrics(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("train_s");
            o.remove("elapsed_s");
            v
        })
        .collect()
}
