//! Locks that keep two processes from writing the same thing at once: a
//! run-cache entry (two shards, two studies) or a run directory (two
//! `train`s).
//!
//! ```text
//! <name>.lock   "<pid> <host> <boot id> <pid namespace> <start>", created with O_EXCL;
//!               its mtime is refreshed every 30 s (the heartbeat)
//! same host  ⇔  host, boot id and pid namespace equal ours
//! stale      ⇔  mtime older than 5 min (the heartbeat stopped)
//!             ∨ same host ∧ (no process <pid> ∨ its start time ≠ <start>)
//! ```
//! `<start>` is the holder's start time in clock ticks after boot
//! (`/proc/<pid>/stat`, field 22), so a dead holder's PID taken by another
//! process — a restarted container whose worker is PID 1 again — is seen to
//! be dead. The heartbeat lets a process on another node (or in another PID
//! namespace) take over the lock of one that was killed: it cannot tell
//! whether a remote process lives, but it can see that the lock stopped
//! being refreshed. Advisory locks (`flock`) are not used: they are
//! unreliable on NFS and Lustre, where shards share their cache. A lock of
//! the older form `"<pid> <host>"` is judged by the host name and the PID.
//!
//! Limitation: judging a lock stale and removing it are two steps, so two
//! processes that judge the same stale lock at the same instant can both
//! take it over; a cache run is then trained twice, to the same bits, and
//! the entry written last (atomically) stays — the cache is never corrupted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::{LabError, Result};

/// How often a held lock's mtime is refreshed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// A lock not refreshed for this long belongs to a dead process.
pub const STALE_AFTER: Duration = Duration::from_secs(300);

/// Who holds (or held) a lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// The kernel's boot id (empty in the older form).
    pub boot: String,
    /// The PID namespace (empty in the older form).
    pub pidns: String,
    /// Start time in clock ticks after boot (0 in the older form).
    pub start: u64,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Where the lock files say this process runs.
pub fn host() -> String {
    read_trim("/proc/sys/kernel/hostname")
}

/// The start time of process `pid` in clock ticks after boot, or `None`
/// if it is gone — or has exited and waits to be reaped (a zombie, state Z
/// or X: a holder killed with -9 whose parent has not collected it yet).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (the command) is in parentheses and may hold spaces.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next()?, "Z" | "X") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

impl Holder {
    /// This process.
    pub fn me() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            host: host(),
            boot: read_trim("/proc/sys/kernel/random/boot_id"),
            pidns: std::fs::read_link("/proc/self/ns/pid")
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            start: start_time(pid).unwrap_or(0),
        }
    }

    /// The lock file's line.
    fn line(&self) -> String {
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.replace(' ', "_")
            }
        };
        format!(
            "{} {} {} {} {}",
            self.pid,
            dash(&self.host),
            dash(&self.boot),
            dash(&self.pidns),
            self.start
        )
    }

    /// Read a lock file's text (either form).
    pub fn parse(text: &str) -> Option<Self> {
        let f: Vec<&str> = text.split_whitespace().collect();
        let undash = |s: &&str| {
            if *s == "-" {
                String::new()
            } else {
                (*s).to_string()
            }
        };
        Some(Self {
            pid: f.first()?.parse().ok()?,
            host: f.get(1).map(undash).unwrap_or_default(),
            boot: f.get(2).map(undash).unwrap_or_default(),
            pidns: f.get(3).map(undash).unwrap_or_default(),
            start: f.get(4).and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }

    /// Whether this holder is known to be dead, judged from `me`'s host.
    fn dead(&self, me: &Holder) -> bool {
        if self.host != me.host {
            return false;
        }
        if self.boot.is_empty() {
            // The older form: a host name and a PID.
            return !Path::new("/proc").join(self.pid.to_string()).exists();
        }
        if self.boot != me.boot || self.pidns != me.pidns {
            // Another boot or PID namespace: its PIDs say nothing here.
            return false;
        }
        start_time(self.pid) != Some(self.start)
    }

    /// "pid 12 on host h" for messages.
    pub fn describe(&self) -> String {
        let host = if self.host.is_empty() {
            "an unknown host"
        } else {
            &self.host
        };
        format!("pid {} on {host}", self.pid)
    }
}

/// A held lock; dropping it stops the heartbeat and releases it.
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

/// How long ago the lock at `path` was last refreshed.
pub fn heartbeat_age(path: &Path) -> Option<Duration> {
    let t = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(t.elapsed().unwrap_or_default())
}

/// Whether the lock at `path` is stale (see the module docs).
fn stale(path: &Path, holder: Option<&Holder>) -> bool {
    let old = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_AFTER);
    // Unreadable: being written right now, or empty after a crash.
    old || holder.is_some_and(|h| h.dead(&Holder::me()))
}

/// Take the lock at `path` if no live process holds it; else who holds it
/// (`None` when its file cannot be read yet).
///
/// # Errors
/// I/O errors other than the lock being taken.
pub fn try_lock(path: &Path) -> Result<std::result::Result<Lock, Option<Holder>>> {
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", Holder::me().line());
                return Ok(Ok(Lock::new(path.to_path_buf())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| Holder::parse(&t));
                if stale(path, holder.as_ref()) {
                    let _ = std::fs::remove_file(path);
                    continue;
                }
                return Ok(Err(holder));
            }
            Err(e) => return Err(LabError::io(path)(e)),
        }
    }
}

/// Take the lock at `path`, waiting while another live process holds it.
/// `waiting` is told once, with a line naming the lock and its holder.
///
/// # Errors
/// I/O errors other than the lock being taken.
pub fn lock(path: &Path, mut waiting: impl FnMut(&str)) -> Result<Lock> {
    let mut told = false;
    loop {
        match try_lock(path)? {
            Ok(l) => return Ok(l),
            Err(holder) if !told => {
                waiting(&format!(
                    "its lock {} is held by {}; waiting (a lock whose holder is gone, or not refreshed for {} min, is taken over)",
                    path.display(),
                    holder.map_or_else(|| "a process starting up".into(), |h| h.describe()),
                    STALE_AFTER.as_secs() / 60
                ));
                told = true;
            }
            Err(_) => {}
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
        let p = dir.path().join("k.lock");
        let held = lock(&p, |_| {}).unwrap();
        assert!(p.exists());
        let who = try_lock(&p).unwrap().err().expect("held by a live process");
        assert_eq!(who, Some(Holder::me()));
        drop(held);
        assert!(!p.exists());
        // A lock of a process that is gone (pid beyond the kernel's maximum).
        let me = Holder::me();
        let gone = Holder {
            pid: 4_194_305,
            ..me.clone()
        };
        std::fs::write(&p, gone.line()).unwrap();
        let again = lock(&p, |_| panic!("a stale lock must not be waited on")).unwrap();
        drop(again);
        // A holder that has exited but is not reaped yet (a zombie) is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let zombie = Holder {
            pid: child.id(),
            // Its real start time, read once it has become a zombie.
            start: loop {
                let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
                let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .collect();
                if fields[0] == "Z" {
                    break fields[19].parse().unwrap();
                }
                std::thread::sleep(Duration::from_millis(5));
            },
            ..me.clone()
        };
        assert!(
            zombie.dead(&me),
            "an exited, unreaped holder counts as gone"
        );
        child.wait().unwrap();
        // The older form, of a process that is gone.
        std::fs::write(&p, format!("4194305 {}\n", host())).unwrap();
        assert!(try_lock(&p).unwrap().is_ok());
        std::fs::remove_file(&p).ok();
        // Another host's lock: live while its heartbeat goes on, stale after.
        std::fs::write(&p, "1 some-other-node b n 5\n").unwrap();
        assert!(try_lock(&p).unwrap().is_err());
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - 2 * STALE_AFTER).unwrap();
        assert!(try_lock(&p).unwrap().is_ok());
    }

    #[test]
    fn a_reused_pid_or_another_namespace_does_not_keep_a_dead_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.lock");
        let me = Holder::me();
        assert!(me.start > 0 && !me.boot.is_empty(), "{me:?}");
        // A live PID (ours) with another start time: the holder died and its
        // PID was taken by someone else.
        let reused = Holder {
            start: me.start + 1,
            ..me.clone()
        };
        std::fs::write(&p, reused.line()).unwrap();
        assert!(try_lock(&p).unwrap().is_ok(), "PID reuse is seen");
        std::fs::remove_file(&p).ok();
        // PID 1 in another PID namespace (a restarted container): its PID says
        // nothing here, so the heartbeat decides.
        let other_ns = Holder {
            pid: 1,
            pidns: "pid:[1]".into(),
            ..me.clone()
        };
        std::fs::write(&p, other_ns.line()).unwrap();
        assert!(try_lock(&p).unwrap().is_err(), "fresh: maybe alive");
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - 2 * STALE_AFTER).unwrap();
        assert!(try_lock(&p).unwrap().is_ok(), "no heartbeat: taken over");
        assert_eq!(Holder::parse(&me.line()), Some(me));
    }
}
