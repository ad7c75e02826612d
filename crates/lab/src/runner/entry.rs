//! A run-cache entry on disk, trusted only after it checks out, and the
//! record of a run that diverged.
//!
//! ```text
//! <key>.json         {version, config (its RunKey, super::key), out, model_fnv, checksum}
//!                    checksum = FNV-1a-64(JSON of {version, config, out, model_fnv})
//! <key>.safetensors  the trained model when a claim needs it; model_fnv = FNV-1a-64(its bytes)
//! <key>.lock         held while the run trains (see [`crate::lock`])
//! <key>.diverged     {version, config, loss, step, epoch}: the run diverged (it would again)
//! ```
//! An entry serves a request only if it parses, has this [`VERSION`], holds
//! exactly the requested configuration, a plausible curve (epochs 1..=E
//! increasing, ending at E; finite losses; accuracies in [0, 1]) and a
//! matching checksum, and — when the model is wanted — a model file with the
//! recorded hash that loads. Anything else is reported in one line and the
//! run is trained again; a broken entry is never fatal.
//!
//! A run that diverged is recorded too, so that neither a rerun study nor
//! another shard trains it again only to see it diverge at the same step.

use std::path::{Path, PathBuf};

use engine::Sequential;
use serde::{Deserialize, Serialize};

use super::cache::{RunOut, VERSION};
use super::key::RunKey;
use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::fnv::hex;

#[derive(Serialize, Deserialize)]
struct Body {
    version: u32,
    config: RunKey,
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

fn cache_config(cfg: &RunConfig) -> RunKey {
    RunKey::of(cfg)
}

/// Paths of the entry `key` in `dir`.
pub struct Paths {
    json: PathBuf,
    model: PathBuf,
    lock: PathBuf,
    diverged: PathBuf,
}

impl Paths {
    /// The model file.
    pub fn model(&self) -> PathBuf {
        self.model.clone()
    }

    /// The lock file.
    pub fn lock(&self) -> &Path {
        &self.lock
    }

    /// Whether a finished entry (a result or a divergence) is on disk; it
    /// may still fail its checks when read.
    pub fn done(&self) -> bool {
        self.json.exists() || self.diverged.exists()
    }

    /// The files of entry `key`.
    pub fn new(dir: &Path, key: &str) -> Self {
        Self {
            json: dir.join(format!("{key}.json")),
            model: dir.join(format!("{key}.safetensors")),
            lock: dir.join(format!("{key}.lock")),
            diverged: dir.join(format!("{key}.diverged")),
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
    if !RunKey::of(cfg).readable() {
        let path = cfg.data.path.clone().unwrap_or_default();
        return Err(LabError::Io {
            source: std::io::Error::other(
                "the data file could not be read again to record what the run was trained on; check it is still there and run again",
            ),
            path,
        });
    }
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

/// A diverged run on disk: the step where the loss stopped being finite.
#[derive(Serialize, Deserialize)]
struct Diverged {
    version: u32,
    config: RunKey,
    /// The loss as text (NaN and infinities are not JSON numbers).
    loss: String,
    step: u32,
    epoch: usize,
}

/// Record that `cfg` diverged (`e` is a [`LabError::Diverged`]; other
/// errors are not recorded: they may not happen again).
///
/// # Errors
/// I/O errors.
pub fn write_diverged(p: &Paths, cfg: &RunConfig, e: &LabError) -> Result<()> {
    let LabError::Diverged { loss, step, epoch } = *e else {
        return Ok(());
    };
    let d = Diverged {
        version: VERSION,
        config: cache_config(cfg),
        loss: loss.to_string(),
        step,
        epoch,
    };
    let json = serde_json::to_string(&d).map_err(LabError::json(&p.diverged))?;
    crate::rundir::write_atomic(&p.diverged, json.as_bytes())
}

/// The recorded divergence of `cfg`, if there is one for exactly this run.
pub fn read_diverged(p: &Paths, cfg: &RunConfig) -> Option<LabError> {
    let text = std::fs::read_to_string(&p.diverged).ok()?;
    let d: Diverged = serde_json::from_str(&text).ok()?;
    (d.version == VERSION && d.config == cache_config(cfg)).then(|| LabError::Diverged {
        loss: d.loss.parse().unwrap_or(f64::NAN),
        step: d.step,
        epoch: d.epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::cache::Point;

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
    fn a_divergence_is_recorded_for_its_own_run_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = Paths::new(dir.path(), "k");
        let cfg = RunConfig::default();
        assert!(read_diverged(&p, &cfg).is_none());
        let e = LabError::Diverged {
            loss: f64::NAN,
            step: 9,
            epoch: 1,
        };
        write_diverged(&p, &cfg, &e).unwrap();
        assert!(p.done());
        let back = read_diverged(&p, &cfg).expect("recorded");
        assert!(matches!(back, LabError::Diverged { step: 9, epoch: 1, loss } if loss.is_nan()));
        let other = RunConfig { seed: 4, ..cfg };
        assert!(read_diverged(&p, &other).is_none());
    }
}
