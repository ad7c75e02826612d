//! A run-cache entry on disk, trusted only after it checks out, and the lock
//! that keeps two studies from training the same run.
//!
//! ```text
//! <key>.json         {version, config (threads = 0), out, model_fnv, checksum}
//!                    checksum = FNV-1a-64(JSON of {version, config, out, model_fnv})
//! <key>.safetensors  the trained model when a claim needs it; model_fnv = FNV-1a-64(its bytes)
//! <key>.lock         held while the run trains: "<pid> <host>", created with O_EXCL
//! ```
//! An entry serves a request only if it parses, has this [`VERSION`], holds
//! exactly the requested configuration, a plausible curve (epochs 1..=E
//! increasing, ending at E; finite losses; accuracies in [0, 1]) and a
//! matching checksum, and — when the model is wanted — a model file with the
//! recorded hash that loads. Anything else is reported in one line and the
//! run is trained again; a broken entry is never fatal.
//!
//! A lock whose holder is gone (same host, no such process) is stale and is
//! taken over; a lock from another host is waited on (a shared file system
//! cannot tell whether that process lives).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use engine::Sequential;
use serde::{Deserialize, Serialize};

use super::cache::RunOut;
use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::fnv::hex;

/// The entry format and engine numerics version; older entries are retrained.
pub const VERSION: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Body {
    version: u32,
    config: RunConfig,
    out: RunOut,
    model_fnv: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    body: Body,
    checksum: String,
}

fn checksum(body: &Body) -> String {
    hex(serde_json::to_string(body)
        .expect("an entry serialises")
        .as_bytes())
}

fn cache_config(cfg: &RunConfig) -> RunConfig {
    RunConfig {
        threads: 0,
        ..cfg.clone()
    }
}

/// Paths of the entry `key` in `dir`.
pub struct Paths {
    json: PathBuf,
    model: PathBuf,
    lock: PathBuf,
}

impl Paths {
    /// The model file.
    pub fn model(&self) -> PathBuf {
        self.model.clone()
    }

    /// The files of entry `key`.
    pub fn new(dir: &Path, key: &str) -> Self {
        Self {
            json: dir.join(format!("{key}.json")),
            model: dir.join(format!("{key}.safetensors")),
            lock: dir.join(format!("{key}.lock")),
        }
    }
}

/// Why a cached curve is not plausible, if it is not.
fn implausible(out: &RunOut, epochs: usize) -> Option<String> {
    if out.epochs != epochs {
        return Some(format!("{} epochs, the run has {epochs}", out.epochs));
    }
    if out.curve.last().map(|p| p.epoch) != Some(epochs) {
        return Some("its curve does not end at the last epoch".into());
    }
    if out.curve.windows(2).any(|w| w[0].epoch >= w[1].epoch) || out.curve[0].epoch == 0 {
        return Some("its curve's epochs are out of order".into());
    }
    let bad = |p: &super::cache::Point| {
        ![p.batch_loss, p.train_loss, p.test_loss]
            .iter()
            .all(|v| v.is_finite())
            || ![p.train_acc, p.test_acc, p.val_acc.unwrap_or(0.0)]
                .iter()
                .all(|a| (0.0..=1.0).contains(a))
    };
    out.curve
        .iter()
        .any(bad)
        .then(|| "its curve holds impossible values".into())
}

/// Read entry `p` for `cfg`: `Ok(None)` when there is none, `Err(why)` when
/// there is one that cannot be trusted.
pub fn read(p: &Paths, cfg: &RunConfig, want_model: bool) -> Result<Option<RunOut>, String> {
    let Ok(text) = std::fs::read_to_string(&p.json) else {
        return Ok(None);
    };
    let e: Entry = serde_json::from_str(&text).map_err(|e| format!("unreadable ({e})"))?;
    if e.body.version != VERSION {
        return Err(format!(
            "written by entry version {}, this is {VERSION}",
            e.body.version
        ));
    }
    if e.checksum != checksum(&e.body) {
        return Err("its checksum does not match (edited or damaged)".into());
    }
    if e.body.config != cache_config(cfg) {
        return Err("it holds another run's configuration".into());
    }
    if let Some(why) = implausible(&e.body.out, cfg.epochs) {
        return Err(why);
    }
    if want_model {
        let Some(want) = &e.body.model_fnv else {
            // Cached without its model (no claim needed it then): a plain miss.
            return Ok(None);
        };
        let bytes = std::fs::read(&p.model).map_err(|_| "its model file is missing".to_string())?;
        if hex(&bytes) != *want {
            return Err("its model file is not the one trained with it".into());
        }
    }
    Ok(Some(e.body.out))
}

/// Store `out` (and `model`) as the entry for `cfg`: the model first, then
/// the JSON that vouches for it, each written atomically.
///
/// # Errors
/// I/O errors.
pub fn write(
    p: &Paths,
    cfg: &RunConfig,
    out: &RunOut,
    model: Option<&mut Sequential>,
) -> Result<()> {
    let model_fnv = match model {
        Some(m) => {
            crate::checkpoint::save(m, "{}", "", &p.model)?;
            let bytes = std::fs::read(&p.model).map_err(LabError::io(&p.model))?;
            Some(hex(&bytes))
        }
        None => None,
    };
    let body = Body {
        version: VERSION,
        config: cache_config(cfg),
        out: out.clone(),
        model_fnv,
    };
    let entry = Entry {
        checksum: checksum(&body),
        body,
    };
    let json = serde_json::to_string(&entry).map_err(LabError::json(&p.json))?;
    crate::rundir::write_atomic(&p.json, json.as_bytes())
}

/// Where the lock files say this process runs.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A held run lock; dropping it releases the run.
pub struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether the lock at `path` belongs to a process that no longer exists.
fn stale(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let mut it = text.split_whitespace();
    let (Some(pid), holder_host) = (it.next(), it.next().unwrap_or("")) else {
        // Being written right now, or empty after a crash: stale once old.
        return std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(60));
    };
    holder_host == host() && !Path::new("/proc").join(pid).exists()
}

/// Take the lock of entry `p`, waiting while another live process holds it
/// (it is training the same run; the caller then finds its entry).
/// `waiting` is called once if we have to wait.
///
/// # Errors
/// I/O errors other than the lock being taken.
pub fn lock(p: &Paths, mut waiting: impl FnMut()) -> Result<Lock> {
    let mut told = false;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p.lock)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{} {}", std::process::id(), host());
                return Ok(Lock(p.lock.clone()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if stale(&p.lock) {
                    let _ = std::fs::remove_file(&p.lock);
                    continue;
                }
                if !told {
                    waiting();
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(LabError::io(&p.lock)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::cache::Point;

    fn out(epochs: usize) -> RunOut {
        RunOut {
            epochs,
            curve: (1..=epochs)
                .map(|epoch| Point {
                    epoch,
                    test_acc: 0.5,
                    train_acc: 0.6,
                    ..Default::default()
                })
                .collect(),
            train_s: 1.0,
            memorised: None,
            learned_p: Vec::new(),
        }
    }

    #[test]
    fn entries_are_served_only_when_they_check_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = Paths::new(dir.path(), "k");
        let cfg = RunConfig {
            epochs: 3,
            ..RunConfig::default()
        };
        assert_eq!(read(&p, &cfg, false), Ok(None));
        write(&p, &cfg, &out(3), None).unwrap();
        assert_eq!(read(&p, &cfg, false), Ok(Some(out(3))));
        // Threads do not matter; any other setting does.
        let other_threads = RunConfig {
            threads: 9,
            ..cfg.clone()
        };
        assert!(read(&p, &other_threads, false).unwrap().is_some());
        let other = RunConfig {
            seed: 1,
            ..cfg.clone()
        };
        assert!(read(&p, &other, false).unwrap_err().contains("another run"));
        // No model was stored with it: a miss when one is wanted.
        assert_eq!(read(&p, &cfg, true), Ok(None));
        // Edited, truncated, emptied curve.
        let text = std::fs::read_to_string(&p.json).unwrap();
        std::fs::write(&p.json, text.replace("0.5", "0.9")).unwrap();
        assert!(read(&p, &cfg, false).unwrap_err().contains("checksum"));
        std::fs::write(&p.json, &text[..text.len() / 2]).unwrap();
        assert!(read(&p, &cfg, false).unwrap_err().contains("unreadable"));
        write(
            &p,
            &cfg,
            &RunOut {
                curve: vec![],
                ..out(3)
            },
            None,
        )
        .unwrap();
        assert!(read(&p, &cfg, false).unwrap_err().contains("last epoch"));
        let mut nan = out(3);
        nan.curve[1].test_loss = f64::NAN;
        write(&p, &cfg, &nan, None).unwrap();
        assert!(read(&p, &cfg, false).is_err());
    }

    #[test]
    fn locks_exclude_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = Paths::new(dir.path(), "k");
        let held = lock(&p, || {}).unwrap();
        assert!(p.lock.exists());
        drop(held);
        assert!(!p.lock.exists());
        // A lock of a process that is gone (pid beyond the kernel's maximum).
        std::fs::write(&p.lock, format!("4194305000 {}\n", host())).unwrap();
        let _again = lock(&p, || panic!("a stale lock must not be waited on")).unwrap();
    }
}
