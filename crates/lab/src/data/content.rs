//! The identity of a user's data by its content, so a result cached for one
//! file is never served for another file that was copied to the same path,
//! and shards that mount the same data at different paths share the cache.
//!
//! ```text
//! id(CSV file)      = "content:" ‖ FNV-1a-64(bytes)
//! id(IDX directory) = "content:" ‖ FNV-1a-64(‖ over the four MNIST files: name ‖ 0 ‖ bytes ‖ 0)
//!                     (each file as the loader finds it: `name.gz`, else `name`)
//! id(unreadable)    = "unreadable:" ‖ path      (never stored: loading it fails)
//! ```
//! A file is read once per process while its size and modification time stay
//! the same (a memo keyed by path, size and mtime), in 1 MiB chunks.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::fnv::Fnv;

/// What the memo is keyed by: the path and what `stat` says of each file.
type Stamp = (PathBuf, Vec<(u64, Option<SystemTime>)>);

static MEMO: Mutex<Option<HashMap<Stamp, String>>> = Mutex::new(None);

/// The prefix of an identity whose data could not be read.
pub const UNREADABLE: &str = "unreadable:";

/// The files that make up the data at `path` (a CSV file, or an IDX directory).
fn files(path: &Path) -> Option<Vec<(String, PathBuf)>> {
    if path.is_dir() {
        super::idx::MNIST_FILES
            .iter()
            .map(|name| {
                let f = super::idx::resolve(path, name)?;
                let shown = f.file_name()?.to_string_lossy().into_owned();
                Some((shown, f))
            })
            .collect()
    } else {
        Some(vec![(String::new(), path.to_path_buf())])
    }
}

fn stamp(files: &[(String, PathBuf)]) -> Option<Vec<(u64, Option<SystemTime>)>> {
    files
        .iter()
        .map(|(_, f)| {
            let m = std::fs::metadata(f).ok()?;
            m.is_file().then(|| (m.len(), m.modified().ok()))
        })
        .collect()
}

fn hash(files: &[(String, PathBuf)]) -> std::io::Result<String> {
    let mut h = Fnv::default();
    let mut buf = vec![0u8; 1 << 20];
    for (name, f) in files {
        if files.len() > 1 {
            h.write(name.as_bytes());
            h.write(&[0]);
        }
        let mut file = std::fs::File::open(f)?;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.write(&buf[..n]);
        }
        if files.len() > 1 {
            h.write(&[0]);
        }
    }
    Ok(h.hex())
}

/// The identity of the data at `path` (see the module docs).
pub fn id(path: &Path) -> String {
    let unreadable = || format!("{UNREADABLE}{}", path.display());
    let Some(files) = files(path) else {
        return unreadable();
    };
    let Some(st) = stamp(&files) else {
        return unreadable();
    };
    let key = (path.to_path_buf(), st);
    if let Some(id) = MEMO
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&key).cloned()))
    {
        return id;
    }
    let Ok(h) = hash(&files) else {
        return unreadable();
    };
    let id = format!("content:{h}");
    if let Ok(mut m) = MEMO.lock() {
        m.get_or_insert_with(HashMap::new).insert(key, id.clone());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_the_content_not_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        std::fs::write(&a, "1,2,0\n3,4,1\n").unwrap();
        std::fs::write(&b, "1,2,0\n3,4,1\n").unwrap();
        assert_eq!(id(&a), id(&b), "same bytes, another path");
        assert!(id(&a).starts_with("content:"));
        let before = id(&a);
        // Another file copied over the same path (another size: a new stamp).
        std::fs::write(&a, "1,2,0\n3,4,1\n5,6,0\n").unwrap();
        assert_ne!(id(&a), before);
        assert!(id(&dir.path().join("none.csv")).starts_with(UNREADABLE));
        // An IDX directory: all four files count.
        let d = dir.path().join("idx");
        std::fs::create_dir(&d).unwrap();
        assert!(id(&d).starts_with(UNREADABLE), "no files yet");
        for n in super::super::idx::MNIST_FILES {
            std::fs::write(d.join(n), n.as_bytes()).unwrap();
        }
        let whole = id(&d);
        assert!(whole.starts_with("content:"));
        std::fs::write(d.join(super::super::idx::MNIST_FILES[3]), b"other labels").unwrap();
        assert_ne!(id(&d), whole);
    }
}
