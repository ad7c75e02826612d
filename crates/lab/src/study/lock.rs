//! The lock that keeps two studies (or two shards of one) from training the
//! same run at once.
//!
//! ```text
//! <key>.lock   "<pid> <host>", created with O_EXCL; its mtime is refreshed every 30 s
//! stale  ⇔  (same host ∧ no process <pid>)  ∨  mtime older than 5 min (the heartbeat stopped)
//! ```
//! A stale lock is taken over. The heartbeat lets a shard on another node of
//! a cluster take over the run of a shard that was killed: its own host
//! cannot tell whether a remote process lives, but it can see that the lock
//! stopped being refreshed.
//!
//! Limitation: judging a lock stale and removing it are two steps, so two
//! processes that judge the same stale lock at the same instant can both
//! take it over; the run is then trained twice, to the same bits, and the
//! entry written last (atomically) stays — the cache is never corrupted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::entry::Paths;
use crate::error::{LabError, Result};

/// How often a held lock's mtime is refreshed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// A lock not refreshed for this long belongs to a dead process.
const STALE_AFTER: Duration = Duration::from_secs(300);

/// Where the lock files say this process runs.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A held run lock; dropping it stops the heartbeat and releases the run.
pub struct Lock {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    beat: Option<JoinHandle<()>>,
}

impl Lock {
    fn new(path: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (path.clone(), stop.clone());
        let beat = std::thread::spawn(move || loop {
            std::thread::park_timeout(HEARTBEAT);
            if s.load(Ordering::Relaxed) {
                break;
            }
            if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
                let _ = f.set_modified(SystemTime::now());
            }
        });
        Self {
            path,
            stop,
            beat: Some(beat),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(b) = self.beat.take() {
            b.thread().unpark();
            let _ = b.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the lock at `path` belongs to a process that no longer exists.
fn stale(path: &Path) -> bool {
    let old = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_AFTER);
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let mut it = text.split_whitespace();
    match (it.next(), it.next().unwrap_or("")) {
        (Some(pid), holder) if holder == host() => !Path::new("/proc").join(pid).exists(),
        // Being written right now, empty after a crash, or another host's.
        _ => old,
    }
}

/// Take the lock of entry `p` if no live process holds it.
///
/// # Errors
/// I/O errors other than the lock being taken.
pub fn try_lock(p: &Paths) -> Result<Option<Lock>> {
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p.lock())
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{} {}", std::process::id(), host());
                return Ok(Some(Lock::new(p.lock().to_path_buf())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if stale(p.lock()) {
                    let _ = std::fs::remove_file(p.lock());
                    continue;
                }
                return Ok(None);
            }
            Err(e) => return Err(LabError::io(p.lock())(e)),
        }
    }
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
        if let Some(l) = try_lock(p)? {
            return Ok(l);
        }
        if !told {
            waiting();
            told = true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_exclude_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = Paths::new(dir.path(), "k");
        let held = lock(&p, || {}).unwrap();
        assert!(p.lock().exists());
        assert!(try_lock(&p).unwrap().is_none(), "held by a live process");
        drop(held);
        assert!(!p.lock().exists());
        // A lock of a process that is gone (pid beyond the kernel's maximum).
        std::fs::write(p.lock(), format!("4194305000 {}\n", host())).unwrap();
        let again = lock(&p, || panic!("a stale lock must not be waited on")).unwrap();
        drop(again);
        // Another host's lock: live while its heartbeat goes on, stale after.
        std::fs::write(p.lock(), "1 some-other-node\n").unwrap();
        assert!(try_lock(&p).unwrap().is_none());
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(p.lock())
            .unwrap();
        f.set_modified(SystemTime::now() - 2 * STALE_AFTER).unwrap();
        assert!(try_lock(&p).unwrap().is_some());
    }
}
