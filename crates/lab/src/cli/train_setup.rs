//! What a `train` command line becomes: the run configuration from an
//! optional config file and the flags, and `train`'s own validation default.
//!
//! ```text
//! config   = RunConfig::for_arch(the --arch flag's, else the file's, else the MLP's)
//!            ⊕ --config FILE ⊕ the given flags
//! val_size = the value given (file or flag), else default_val_size(training file)
//!            = min(5000, round(10 % of the training file))
//! ```
//! A config file is TOML (`.toml`) or JSON (anything else), with the keys of
//! a run's `config.json` (any subset); a relative `data.path` in it is read
//! from the file's folder. Sweeps and the study keep their explicit
//! protocols: only `train` fills in a validation set.

use std::path::Path;

use anyhow::{Context, Result};
use lab::config::RunConfig;
use serde_json::Value;

use super::flags::RunFlags;

/// A run configuration for `train`, and whether the validation size was
/// given (by the file or a flag) rather than left to `train`'s default.
pub struct Setup {
    /// The configuration (its `val_size` still 0 when not given).
    pub cfg: RunConfig,
    /// Whether `val_size` was given.
    pub val_given: bool,
}

/// The configuration of `--config FILE` (if any) with `flags` over it.
///
/// # Errors
/// A file that cannot be read or parsed, or holds a key a run does not have.
pub fn setup(file: Option<&Path>, flags: &RunFlags) -> Result<Setup> {
    let (mut cfg, file_val) = match file {
        Some(f) => read(f, flags.model.arch.as_deref())?,
        None => (flags.config(), false),
    };
    flags.apply(&mut cfg);
    Ok(Setup {
        cfg,
        val_given: file_val || flags.data.val_size.is_some(),
    })
}

/// Read a config file (with `arch`, the `--arch` flag, in place of its own
/// so the defaults are that model's); true when it sets `data.val_size`.
fn read(path: &Path, arch: Option<&str>) -> Result<(RunConfig, bool)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    let toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let mut value: Value = if toml {
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not valid JSON (name a TOML file *.toml)",
                path.display()
            )
        })?
    };
    let val_given = value.pointer("/data/val_size").is_some();
    if let (Some(arch), Some(top)) = (arch, value.as_object_mut()) {
        let model = top
            .entry("model")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(model) = model.as_object_mut() {
            model.insert("arch".into(), Value::from(arch));
        }
    }
    let mut cfg =
        RunConfig::from_partial(value).with_context(|| format!("in {}", path.display()))?;
    if let Some(p) = cfg.data.path.as_mut().filter(|p| p.is_relative()) {
        let folder = path.parent().unwrap_or(Path::new(""));
        *p = folder.join(&*p);
    }
    Ok((cfg, val_given))
}
