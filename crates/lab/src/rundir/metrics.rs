//! `metrics.jsonl`: one JSON line per finished epoch, each appended with a
//! single `write(2)` of the whole line and then fsync'd, so a kill leaves at
//! most one torn last line; a resume after epoch k keeps exactly the first k
//! complete lines (epochs 1..=k in order) and drops the rest.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{refused, sync_dir, METRICS};
use crate::error::{LabError, Result};

/// `metrics.jsonl`, appended one durable line at a time.
pub struct MetricsLog {
    file: File,
    path: PathBuf,
}

impl MetricsLog {
    /// Start an empty log in `dir`.
    ///
    /// # Errors
    /// [`LabError::Io`].
    pub fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(METRICS);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(LabError::io(&path))?;
        sync_dir(dir)?;
        Ok(Self { file, path })
    }

    /// Reopen the log of a run resumed after epoch `epochs`: keep its first
    /// `epochs` lines if they are complete JSON lines for epochs 1, 2, …,
    /// drop everything after them (epochs the killed run finished after its
    /// last checkpoint, a torn last line).
    ///
    /// # Errors
    /// [`LabError::RunDir`] when fewer than `epochs` good lines are there.
    pub fn resume(dir: &Path, epochs: usize) -> Result<Self> {
        let path = dir.join(METRICS);
        if epochs == 0 && !path.exists() {
            // Killed between config.json and the log's creation.
            return Self::create(dir);
        }
        let text = std::fs::read(&path).map_err(|e| {
            refused(
                &path,
                format!("cannot be read ({e}) but the checkpoint is at epoch {epochs}; restore it from a copy, or start the run again with --out and --force"),
            )
        })?;
        let mut keep = 0usize;
        let mut good = 0usize;
        for line in text.split_inclusive(|&b| b == b'\n') {
            if good == epochs || !line.ends_with(b"\n") {
                break;
            }
            let epoch = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("epoch").and_then(serde_json::Value::as_u64));
            if epoch != Some(good as u64 + 1) {
                break;
            }
            good += 1;
            keep += line.len();
        }
        if good < epochs {
            return Err(refused(
                &path,
                format!("has {good} complete epoch lines but the checkpoint is at epoch {epochs}; the run directory was changed by hand — start the run again with --force"),
            ));
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(LabError::io(&path))?;
        file.set_len(keep as u64).map_err(LabError::io(&path))?;
        file.sync_all().map_err(LabError::io(&path))?;
        // Appends go to the end of what was kept.
        let mut file = file;
        file.seek(SeekFrom::End(0)).map_err(LabError::io(&path))?;
        Ok(Self { file, path })
    }

    /// Append one line (a single write of the whole line, then fsync).
    ///
    /// # Errors
    /// [`LabError::Io`].
    pub fn append(&mut self, line: &str) -> Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .map_err(LabError::io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_keeps_complete_lines_up_to_the_checkpoint() {
        let root = tempfile::tempdir().unwrap();
        let mut log = MetricsLog::create(root.path()).unwrap();
        for e in 1..=3 {
            log.append(&format!("{{\"epoch\":{e}}}")).unwrap();
        }
        drop(log);
        let mut f = OpenOptions::new()
            .append(true)
            .open(root.path().join(METRICS))
            .unwrap();
        f.write_all(b"{\"epoch\":4,\"tor").unwrap();
        drop(f);
        let mut log = MetricsLog::resume(root.path(), 2).unwrap();
        log.append("{\"epoch\":3}").unwrap();
        let text = std::fs::read_to_string(root.path().join(METRICS)).unwrap();
        assert_eq!(text, "{\"epoch\":1}\n{\"epoch\":2}\n{\"epoch\":3}\n");
        assert!(MetricsLog::resume(root.path(), 5).is_err());
        std::fs::remove_file(root.path().join(METRICS)).unwrap();
        let e = MetricsLog::resume(root.path(), 2)
            .err()
            .expect("no metrics")
            .to_string();
        assert!(e.contains("metrics.jsonl") && e.contains("--force"), "{e}");
    }
}
