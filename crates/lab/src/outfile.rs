//! Output files a user names (`eval --per-sample`, `eval --report`, a sweep's
//! and the study's result files): one rule for where the bytes go, so no
//! output can replace a device, break a link or overwrite the input it came from.
//!
//! ```text
//! the path names            what happens
//! nothing yet               a new file, written atomically (below); its folder must exist
//! a regular file            replaced atomically: tmp in the same folder → fsync → rename → fsync folder
//!                           (a crash leaves the old file or the new one; the file's mode is kept)
//! a symlink                 followed, a dangling one too (≤ 40 links); its final target is written by
//!                           these rules, the link stays a link
//! a FIFO or a char device   written in place: opened for writing, no create, no truncate, no rename —
//!                           a pipe's reader or a terminal gets the bytes and the node stays
//! a link through /proc      (/dev/stdout, /dev/fd/N) written in place, whatever the kernel says it names
//! a folder, a socket,       refused
//!   a block device
//! inside a protected path   refused, judged on the final target (a link cannot sneak past): the
//!                           caller's inputs, e.g. the runs `eval` reads
//! ```
//! Errors ([`LabError::Output`]) name the path as the user gave it, once — never
//! the temporary — with the OS error and what to do.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{LabError, Result};

/// An input an output must not be written into: a folder (nothing inside
/// it) or a file (not it).
#[derive(Clone, Copy, Debug)]
pub struct Protected<'a> {
    /// The folder or file.
    pub path: &'a Path,
    /// What it is, for the message: "run", "data".
    pub what: &'a str,
}

/// Where the bytes for a user's path go.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A regular file (or none yet): replaced atomically.
    Replace(PathBuf),
    /// A FIFO, a device or a /proc link: opened and written as it is.
    InPlace { path: PathBuf, truncate: bool },
    /// This process's own stdout (1) or stderr (2), named through /proc
    /// (`/dev/stdout`): written through the open stream, at its offset.
    Own(u8),
}

/// Links followed before the path is called a loop (Linux's limit).
const MAX_LINKS: usize = 40;

fn fail(user: &Path, msg: impl Into<String>) -> LabError {
    LabError::Output {
        path: user.to_path_buf(),
        msg: msg.into(),
    }
}

/// An OS error and what to do about it.
pub fn os_msg(e: &std::io::Error) -> String {
    let fix = match e.kind() {
        ErrorKind::ReadOnlyFilesystem => "choose a writable path",
        ErrorKind::PermissionDenied => "choose a path you may write to (or change its permissions)",
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "free some space or choose a path on another disk"
        }
        ErrorKind::BrokenPipe => {
            "its reader closed it; keep the reader open until the command ends"
        }
        ErrorKind::NotADirectory => {
            "a part of the path is a file, not a folder; choose another path"
        }
        _ => "choose another path",
    };
    format!("{e}; {fix}")
}

fn parent(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `p` with its longest existing prefix canonicalized (links and `..`
/// resolved); the rest is appended as written.
fn canonical(p: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut head = p.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&head) {
            return rest.iter().rev().fold(c, |acc, n| acc.join(n));
        }
        match (head.file_name(), head.parent()) {
            (Some(n), Some(up)) => {
                rest.push(n.to_os_string());
                head = if up.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    up.to_path_buf()
                };
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// Refuse `target` (where `user` leads) when it lies inside a protected input.
fn guard(user: &Path, target: &Path, protect: &[Protected]) -> Result<()> {
    let canon = canonical(target);
    for p in protect {
        let Ok(input) = std::fs::canonicalize(p.path) else {
            continue;
        };
        if !canon.starts_with(&input) {
            continue;
        }
        let it = if target == user {
            "it".to_string()
        } else {
            format!("it leads to {}, which", target.display())
        };
        let (w, d) = (p.what, p.path.display());
        return Err(if input.is_dir() {
            fail(
                user,
                format!("{it} lies inside the {w} {d}, which this command reads (an output there could overwrite or mix with its files); choose a path outside the {w}"),
            )
        } else {
            fail(
                user,
                format!("{it} is the {w} file {d}, which this command reads; choose another path"),
            )
        });
    }
    Ok(())
}

#[cfg(unix)]
fn special(ft: std::fs::FileType) -> (bool, &'static str) {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        (true, "FIFO")
    } else if ft.is_char_device() {
        (true, "character device")
    } else if ft.is_block_device() {
        (false, "block device")
    } else if ft.is_socket() {
        (false, "socket")
    } else {
        (false, "special file")
    }
}

#[cfg(not(unix))]
fn special(_: std::fs::FileType) -> (bool, &'static str) {
    (false, "special file")
}

/// What a path of type `ft` (not a link) at `p` becomes.
fn classify(user: &Path, p: &Path, ft: std::fs::FileType, via_proc: bool) -> Result<Target> {
    if ft.is_file() {
        return Ok(if via_proc {
            Target::InPlace {
                path: p.to_path_buf(),
                truncate: true,
            }
        } else {
            Target::Replace(p.to_path_buf())
        });
    }
    if ft.is_dir() {
        return Err(fail(
            user,
            "it is a folder; name a file (a new or existing one, e.g. inside that folder)",
        ));
    }
    match special(ft) {
        (true, _) => Ok(Target::InPlace {
            path: p.to_path_buf(),
            truncate: false,
        }),
        (false, kind) => Err(fail(
            user,
            format!("it is a {kind}; name a regular file, a FIFO or a terminal"),
        )),
    }
}

/// Where the bytes for `user` go (see the module docs).
fn resolve(user: &Path, protect: &[Protected]) -> Result<Target> {
    let mut p = user.to_path_buf();
    for _ in 0..=MAX_LINKS {
        if !matches!(p.components().next_back(), Some(Component::Normal(_))) {
            return Err(fail(
                user,
                "it does not name a file (it ends in `/`, `.` or `..`); name a file",
            ));
        }
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let dir = parent(&p);
                return match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => {
                        guard(user, &p, protect)?;
                        Ok(Target::Replace(p))
                    }
                    Ok(_) => Err(fail(
                        user,
                        format!("{} is not a folder; choose another path", dir.display()),
                    )),
                    Err(_) => Err(fail(
                        user,
                        format!(
                            "the folder {} does not exist; create it first or choose another path",
                            dir.display()
                        ),
                    )),
                };
            }
            Err(e) => return Err(fail(user, os_msg(&e))),
        };
        if !meta.file_type().is_symlink() {
            guard(user, &p, protect)?;
            return classify(user, &p, meta.file_type(), false);
        }
        if canonical(parent(&p)).starts_with("/proc") {
            // A magic link (/proc/self/fd/1 behind /dev/stdout): only the
            // kernel knows what it names, so it is opened as it is.
            let m = std::fs::metadata(&p).map_err(|e| fail(user, os_msg(&e)))?;
            guard(user, &p, protect)?;
            let own = canonical(parent(&p))
                == Path::new("/proc")
                    .join(std::process::id().to_string())
                    .join("fd");
            return match p.file_name().and_then(|n| n.to_str()) {
                Some("1") if own => Ok(Target::Own(1)),
                Some("2") if own => Ok(Target::Own(2)),
                _ => classify(user, &p, m.file_type(), true),
            };
        }
        let to = std::fs::read_link(&p).map_err(|e| fail(user, os_msg(&e)))?;
        p = match p.parent() {
            Some(up) if !to.is_absolute() => up.join(to),
            _ => to,
        };
    }
    Err(fail(
        user,
        "it is a chain of more than 40 symbolic links (a loop?); name the file itself",
    ))
}

/// Check that `user` can be written (see the module docs) without writing
/// it — to refuse a bad path before long work.
///
/// # Errors
/// [`LabError::Output`] saying what is wrong with the path and what to do.
pub fn check(user: &Path, protect: &[Protected]) -> Result<()> {
    resolve(user, protect).map(|_| ())
}

/// Write `bytes` to the path the user named (see the module docs).
///
/// # Errors
/// [`LabError::Output`] naming `user` once, with the cause and a fix.
pub fn write(user: &Path, bytes: &[u8], protect: &[Protected]) -> Result<()> {
    match resolve(user, protect)? {
        Target::Replace(p) => replace(user, &p, bytes),
        Target::InPlace { path, truncate } => {
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(truncate)
                .open(&path)
                .map_err(|e| fail(user, os_msg(&e)))?;
            f.write_all(bytes)
                .and_then(|()| f.flush())
                .map_err(|e| fail(user, os_msg(&e)))?;
            if truncate {
                f.sync_all().map_err(|e| fail(user, os_msg(&e)))?;
            }
            Ok(())
        }
        Target::Own(fd) => {
            let written = if fd == 1 {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|()| o.flush())
            } else {
                std::io::stderr().lock().write_all(bytes)
            };
            written.map_err(|e| fail(user, os_msg(&e)))
        }
    }
}

/// Replace regular file `target` (or create it) atomically
/// ([`crate::rundir::replace`]); errors name the user's path.
fn replace(user: &Path, target: &Path, bytes: &[u8]) -> Result<()> {
    crate::rundir::replace(target, bytes).map_err(|e| fail(user, os_msg(&e)))
}

/// Check that `dir` can be the folder of a report (an existing folder, or
/// none yet) outside the protected inputs, without creating it. `holds`
/// names the files it gets, for the message.
///
/// # Errors
/// [`LabError::Output`] for a file, or a folder inside a protected input.
pub fn check_folder(dir: &Path, holds: &str, protect: &[Protected]) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(fail(
                dir,
                format!("it is a file, not a folder; give a folder (a new or existing one), which gets {holds}"),
            ))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(fail(dir, os_msg(&e))),
    }
    guard(dir, dir, protect)
}

/// [`check_folder`], then create the folder (and its parents) if needed.
///
/// # Errors
/// [`LabError::Output`] as [`check_folder`], or when it cannot be created.
pub fn folder(dir: &Path, holds: &str, protect: &[Protected]) -> Result<()> {
    check_folder(dir, holds, protect)?;
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, os_msg(&e)))
}
