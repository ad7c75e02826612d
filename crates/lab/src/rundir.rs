//! Run directories that never lose or mix up data.
//!
//! A run directory holds `config.json`, `metrics.jsonl` (one line per
//! finished epoch), `checkpoint.safetensors` (the training state, every K
//! epochs) and, once the run has finished, `model.safetensors`. The rules:
//!
//! ```text
//! whole files:  write tmp (same dir) → fsync tmp → rename over target → fsync dir
//!               (a crash leaves the old file or the new one, never half of one;
//!                the temporary is removed when any step fails)
//! metrics:      one write(2) per complete line, then fsync; a resume keeps the
//!               complete lines of epochs ≤ the checkpoint's epoch and drops the rest
//! a new run:    a fresh directory (default names made unique by create_dir, which
//!               fails when the name exists), or an existing empty one; a
//!               non-empty one only with force, which first deletes the old run's files
//! a writer:     holds `train.lock` ([`crate::lock`]) while it trains; a second
//!               `train`, `--resume` or `--force` on the directory is refused
//! an ensemble:  `ensemble.json` (the base config and the member count) beside
//!               `member-1` … `member-K`, each a run directory ([`ensemble`])
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{LabError, Result};

/// The files of a run directory.
pub const CONFIG: &str = "config.json";
/// One JSON line per finished epoch.
pub const METRICS: &str = "metrics.jsonl";
/// The training state of the last checkpointed epoch.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// The trained model; present only once the run has finished.
pub const MODEL: &str = "model.safetensors";
/// The best weights so far by validation loss (`keep = best`), while the run trains.
pub const BEST: &str = "best.safetensors";
/// A language model's vocabulary: `{"chars": [...], "unknown": id}`, id → character.
pub const VOCAB: &str = "vocab.json";

/// The lock a training process holds on its run directory.
pub const LOCK: &str = "train.lock";

const RUN_FILES: [&str; 5] = [CONFIG, METRICS, CHECKPOINT, MODEL, BEST];

pub mod ensemble;
mod metrics;
pub use metrics::MetricsLog;

/// Take the run directory `dir`'s lock (creating `dir` if needed), or refuse
/// naming the process that holds it.
///
/// # Errors
/// [`LabError::RunDir`] when a live process holds it; [`LabError::Io`].
pub fn lock(dir: &Path) -> Result<crate::lock::Lock> {
    if dir.exists() && !dir.is_dir() {
        return Err(refused(
            dir,
            "exists and is not a directory; choose another --out",
        ));
    }
    std::fs::create_dir_all(dir).map_err(LabError::io(dir))?;
    let path = dir.join(LOCK);
    crate::lock::try_lock(&path)?.map_err(|holder| {
        let stale = crate::lock::STALE_AFTER;
        let age = crate::lock::heartbeat_age(&path).unwrap_or_default();
        refused(
            dir,
            format!(
                "is in use: {} is training into it (lock {}, refreshed {} s ago); wait until it ends or stop it first. A lock whose process is gone on this machine is taken over at once; one from another node or container once it is {} min old (in about {} s), if its holder stops refreshing it",
                holder.map_or_else(|| "another dropout-lab".into(), |h| format!("dropout-lab ({})", h.describe())),
                path.display(),
                age.as_secs(),
                stale.as_secs() / 60,
                stale.saturating_sub(age).as_secs()
            ),
        )
    })
}

pub(crate) fn refused(path: &Path, msg: impl Into<String>) -> LabError {
    LabError::RunDir {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Make `dir` durable: fsync the directory itself so a rename or a new file
/// in it survives a power cut (no-op where directories cannot be opened).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all().map_err(LabError::io(dir)),
        Err(_) => Ok(()),
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write `bytes` to `path` durably and atomically (see the module docs).
///
/// # Errors
/// [`LabError::Io`] naming the file; no temporary is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.file_name().is_none_or(|n| n.is_empty()) {
        return Err(LabError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        });
    }
    replace(path, bytes).map_err(LabError::io(path))
}

/// The one atomic replace (see the module docs): a temporary named by the
/// process and a per-process serial (two threads never share one), the old
/// file's permissions kept, fsync, rename, fsync of the folder. The
/// temporary is removed when a step fails; errors are the OS's.
///
/// # Errors
/// The first failing step's I/O error.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = parent_of(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp{}-{n}", std::process::id()));
    let mode = std::fs::metadata(path).ok().map(|m| m.permissions());
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(m) = mode {
            f.set_permissions(m)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    match File::open(dir) {
        Ok(d) => d.sync_all(),
        Err(_) => Ok(()),
    }
}

/// A new run directory `<parent>/run-<unix seconds>`, with `-2`, `-3`, …
/// appended while the name is taken: `create_dir` is atomic, so runs started
/// in the same second (or the same instant) still get different directories.
///
/// # Errors
/// [`LabError::Io`] when `parent` cannot be created or written.
pub fn create_unique(parent: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).map_err(LabError::io(parent))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for k in 1u32.. {
        let name = if k == 1 {
            format!("run-{secs}")
        } else {
            format!("run-{secs}-{k}")
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                sync_dir(parent)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(LabError::io(&dir)(e)),
        }
    }
    unreachable!("u32 suffixes run out only after 4 billion runs in one second")
}

/// Make `dir` ready for a new run: create it, or accept it empty. A
/// non-empty directory is refused unless `force`, which deletes the files of
/// a previous run (and only those) first, so no old model or metrics line
/// can be mistaken for the new run's.
///
/// # Errors
/// [`LabError::RunDir`] for a non-empty directory without `force`, or one
/// holding files that are not a run's; [`LabError::Io`] otherwise.
pub fn prepare_new(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(refused(
            dir,
            "exists and is not a directory; choose another --out",
        ));
    }
    std::fs::create_dir_all(dir).map_err(LabError::io(dir))?;
    let entries: Vec<String> = std::fs::read_dir(dir)
        .map_err(LabError::io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let entries: Vec<String> = entries.into_iter().filter(|n| n != LOCK).collect();
    if entries.iter().all(|n| is_temp(n)) {
        // Empty, or only the temporaries of a run killed before its first file.
        remove_stale_temps(dir);
        return Ok(());
    }
    if !force {
        return Err(refused(
            dir,
            "is not empty (it holds an earlier run?); choose a new --out, continue the run with --resume, or replace it with --force",
        ));
    }
    let foreign: Vec<&String> = entries
        .iter()
        .filter(|n| !RUN_FILES.contains(&n.as_str()) && !is_temp(n))
        .filter(|n| !ensemble::is_own(dir, n))
        .collect();
    if !foreign.is_empty() {
        return Err(refused(
            dir,
            format!("holds files that are not a run's ({foreign:?}); --force only replaces run directories — choose another --out"),
        ));
    }
    // The model first: a directory without one is an unfinished run, never
    // a finished run with someone else's metrics.
    for name in [MODEL, BEST, CHECKPOINT, METRICS, CONFIG] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(LabError::io(&p))?;
        }
    }
    for n in entries.iter().filter(|n| is_temp(n)) {
        let _ = std::fs::remove_file(dir.join(n));
    }
    ensemble::remove(dir)?;
    sync_dir(dir)
}

/// The run configuration stored in run directory `dir` (any format this
/// version reads).
///
/// # Errors
/// [`LabError::RunDir`] when `dir` has no readable `config.json`;
/// [`LabError::Config`] when it is not a run configuration.
pub fn read_config(dir: &Path) -> Result<crate::config::RunConfig> {
    let path = dir.join(CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        refused(
            dir,
            format!("not a run directory (no readable config.json: {e}); give the --out of a `dropout-lab train`"),
        )
    })?;
    crate::config::RunConfig::from_json(&text).map_err(|e| {
        refused(
            &path,
            format!("is not a run configuration ({e}); restore it from a copy, or start the run again with --out and --force"),
        )
    })
}

/// Refuse to resume a run that has finished (its model is written).
///
/// # Errors
/// [`LabError::RunDir`] saying what to do instead.
pub fn check_unfinished(dir: &Path) -> Result<()> {
    if dir.join(MODEL).exists() {
        return Err(refused(
            dir,
            "has finished (model.safetensors is there); evaluate it with `dropout-lab eval --run`, or train again with --out and --force",
        ));
    }
    Ok(())
}

/// A temporary left by [`write_atomic`] of a killed process.
pub fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp")
}

/// Remove the temporaries of killed writers from `dir`.
pub fn remove_stale_temps(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(|e| e.ok()) {
            if is_temp(&e.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_for_runs_started_together() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..5)
            .map(|_| create_unique(root.path()).unwrap())
            .collect();
        let mut names: Vec<_> = dirs
            .iter()
            .map(|d| d.file_name().unwrap().to_owned())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn a_non_empty_directory_needs_force_and_force_clears_only_run_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("r");
        prepare_new(&dir, false).unwrap();
        std::fs::write(dir.join(MODEL), b"old").unwrap();
        std::fs::write(dir.join(".model.safetensors.tmp42"), b"torn").unwrap();
        let e = prepare_new(&dir, false).unwrap_err().to_string();
        assert!(e.contains("--force"), "{e}");
        prepare_new(&dir, true).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let e = prepare_new(&dir, true).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
        assert!(dir.join("notes.txt").exists());
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        let missing = root.path().join("no/such/dir/x");
        assert!(write_atomic(&missing, b"x").is_err());
    }
}
