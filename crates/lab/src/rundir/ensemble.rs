//! A deep ensemble's directory: K run directories that differ only in the
//! seed, and a manifest that says what they are, so a killed ensemble can be
//! resumed as a whole.
//!
//! ```text
//! <out>/ensemble.json   {"format": 1, "members": K, "config": base run config}
//! <out>/member-m        a run directory; seed = base seed + m − 1,
//!                       data_seed = base data_seed (or base seed): one data split
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::refused;
use crate::config::{DataConfig, RunConfig};
use crate::error::{LabError, Result};

/// The manifest's name.
pub const MANIFEST: &str = "ensemble.json";

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    members: u32,
    config: serde_json::Value,
}

/// The directory of member `m` (1-based).
pub fn member_dir(dir: &Path, m: u32) -> PathBuf {
    dir.join(format!("member-{m}"))
}

/// The configuration of member `m` (1-based) of an ensemble of `base`.
pub fn member_config(base: &RunConfig, m: u32) -> RunConfig {
    RunConfig {
        seed: base.seed + u64::from(m) - 1,
        data: DataConfig {
            data_seed: Some(base.data.data_seed.unwrap_or(base.seed)),
            ..base.data.clone()
        },
        ..base.clone()
    }
}

/// Record that `dir` holds an ensemble of `k` members of `base`.
///
/// # Errors
/// [`LabError::Io`].
pub fn write(dir: &Path, base: &RunConfig, k: u32) -> Result<()> {
    let config: serde_json::Value =
        serde_json::from_str(&base.to_json()).map_err(LabError::json(dir.join(MANIFEST)))?;
    let m = Manifest {
        format: 1,
        members: k,
        config,
    };
    let text = serde_json::to_string_pretty(&m).map_err(LabError::json(dir.join(MANIFEST)))?;
    super::write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

/// The base configuration and member count of the ensemble in `dir`, or
/// `None` when `dir` holds no ensemble.
///
/// # Errors
/// [`LabError::RunDir`] for a manifest that cannot be read.
pub fn read(dir: &Path) -> Result<Option<(RunConfig, u32)>> {
    let path = dir.join(MANIFEST);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let broken = |why: String| {
        refused(
            &path,
            format!("is not an ensemble manifest ({why}); restore it from a copy, or start the ensemble again with --out and --force"),
        )
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|e| broken(e.to_string()))?;
    if m.format != 1 || m.members < 2 {
        return Err(broken(format!(
            "format {} with {} members",
            m.format, m.members
        )));
    }
    let cfg = RunConfig::from_json(&m.config.to_string()).map_err(|e| broken(e.to_string()))?;
    Ok(Some((cfg, m.members)))
}

/// Whether `name` in `dir` is part of an ensemble (its manifest or a member).
pub(super) fn is_own(dir: &Path, name: &str) -> bool {
    name == MANIFEST
        || (name
            .strip_prefix("member-")
            .is_some_and(|k| k.parse::<u32>().is_ok_and(|k| k >= 1))
            && dir.join(name).is_dir())
}

/// Delete the ensemble in `dir` (its members' run files, the member
/// directories, the manifest); refuses a member another process trains or
/// one holding files that are not a run's.
///
/// # Errors
/// [`LabError::RunDir`], [`LabError::Io`].
pub(super) fn remove(dir: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut members: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != MANIFEST && is_own(dir, n))
        .map(|n| dir.join(n))
        .collect();
    members.sort();
    for m in members {
        let lock = super::lock(&m)?;
        super::prepare_new(&m, true)?;
        drop(lock);
        std::fs::remove_dir(&m).map_err(LabError::io(&m))?;
    }
    let manifest = dir.join(MANIFEST);
    if manifest.exists() {
        std::fs::remove_file(&manifest).map_err(LabError::io(&manifest))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_force_clears_the_members() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        assert!(read(dir).unwrap().is_none());
        let base = RunConfig {
            seed: 7,
            ..RunConfig::default()
        };
        write(dir, &base, 3).unwrap();
        let (back, k) = read(dir).unwrap().unwrap();
        assert_eq!((back, k), (base.clone(), 3));
        assert_eq!(member_config(&base, 2).seed, 8);
        assert_eq!(member_config(&base, 3).data.data_seed, Some(7));
        for m in 1..=2 {
            let d = member_dir(dir, m);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join(super::super::CONFIG), "{}").unwrap();
        }
        super::super::prepare_new(dir, true).unwrap();
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
        // A member with a user's file is not deleted.
        write(dir, &base, 2).unwrap();
        std::fs::create_dir(member_dir(dir, 1)).unwrap();
        std::fs::write(member_dir(dir, 1).join("notes.txt"), "mine").unwrap();
        assert!(super::super::prepare_new(dir, true).is_err());
        assert!(member_dir(dir, 1).join("notes.txt").exists());
        std::fs::write(dir.join(MANIFEST), "{").unwrap();
        let e = read(dir).unwrap_err().to_string();
        assert!(e.contains("ensemble.json") && e.contains("--force"), "{e}");
    }
}
