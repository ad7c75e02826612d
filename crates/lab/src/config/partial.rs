//! A run configuration from a partial file (`train --config FILE`): the
//! keys of `config.json`, any subset of them, over the defaults.
//!
//! ```text
//! config = RunConfig::default() ⊕ file      (objects merged key by key, other values replaced)
//! ```
//! A key the defaults do not have is an error naming it and the keys that
//! exist there, so a typo is never silently ignored.

use serde_json::{Map, Value};

use super::{ConfigError, RunConfig};

impl RunConfig {
    /// The defaults ([`RunConfig::for_arch`] of the file's `model.arch`, if
    /// it names one) with the keys of `file` set.
    ///
    /// # Errors
    /// [`ConfigError::Json`] for a key the configuration does not have, a
    /// value of the wrong type, or a file whose top level is not an object.
    pub fn from_partial(file: Value) -> Result<Self, ConfigError> {
        // A Transformer's file starts from a Transformer's defaults.
        let arch = file.pointer("/model/arch").and_then(Value::as_str);
        let start = arch.map_or_else(Self::default, Self::for_arch);
        let mut base = serde_json::to_value(start).expect("a config always serialises");
        // Keys left out of config.json while at their defaults are still keys a file may set.
        for (section, key, default) in [
            ("", "epoch_iters", Value::Null),
            ("model", "embed_dropout", Value::Null),
            ("model", "attn_dropout", Value::Null),
            ("model", "resid_dropout", Value::Null),
            ("model", "mlp_dropout", Value::Null),
            ("model", "drop_head", Value::from(0.0)),
            ("optim", "clip_grad", Value::from(0.0)),
        ] {
            let slot = if section.is_empty() {
                base.as_object_mut()
            } else {
                base.get_mut(section).and_then(Value::as_object_mut)
            };
            if let Some(map) = slot {
                map.entry(key).or_insert(default);
            }
        }
        let Value::Object(top) = file else {
            return Err(ConfigError::Json(
                "the file must hold a table/object of settings, e.g. {\"epochs\": 5}".into(),
            ));
        };
        let Value::Object(into) = &mut base else {
            unreachable!("a config is an object")
        };
        merge(into, top, "")?;
        Self::from_json(&base.to_string())
    }
}

fn merge(
    into: &mut Map<String, Value>,
    from: Map<String, Value>,
    at: &str,
) -> Result<(), ConfigError> {
    let bad = |msg: String| Err(ConfigError::Json(msg));
    for (k, v) in from {
        let Some(slot) = into.get_mut(&k) else {
            // A key of a section given at the top (or elsewhere): say where it lives.
            let home = into
                .iter()
                .find(|(_, s)| s.as_object().is_some_and(|o| o.contains_key(&k)))
                .map(|(name, _)| format!(" (it belongs in `{at}{name}`)"))
                .unwrap_or_default();
            let known: Vec<&str> = into.keys().map(String::as_str).collect();
            return bad(format!(
                "unknown key `{at}{k}`{home}; the keys{} are: {}",
                if at.is_empty() {
                    String::new()
                } else {
                    format!(" of `{}`", at.trim_end_matches('.'))
                },
                known.join(", ")
            ));
        };
        match (slot, v) {
            (Value::Object(inner), Value::Object(v)) => merge(inner, v, &format!("{at}{k}."))?,
            // TOML's nan becomes null on the way to JSON: a setting with a value needs one.
            (slot, Value::Null) if !slot.is_null() => {
                return bad(format!(
                    "`{at}{k}` has no value (null or NaN); give one like its default, {slot}"
                ));
            }
            (slot, Value::Number(n)) if slot.is_u64() && !n.is_u64() => {
                return bad(format!(
                    "`{at}{k}` = {n}: must be a whole number ≥ 0 that fits (like its default, {slot})"
                ));
            }
            (slot, v) => *slot = v,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_sets_its_keys_over_the_defaults() {
        let c =
            RunConfig::from_partial(serde_json::json!({"epochs": 3, "model": {"dropout": 0.3}}))
                .unwrap();
        let mut want = RunConfig {
            epochs: 3,
            ..RunConfig::default()
        };
        want.model.dropout = 0.3;
        assert_eq!(c, want);
        let full = serde_json::from_str(&RunConfig::default().to_json()).unwrap();
        assert_eq!(RunConfig::from_partial(full).unwrap(), RunConfig::default());
    }

    #[test]
    fn an_unknown_or_mistyped_key_is_an_error_naming_it() {
        let e =
            RunConfig::from_partial(serde_json::json!({"model": {"dropuot": 0.3}})).unwrap_err();
        assert!(
            e.to_string().contains("`model.dropuot`") && e.to_string().contains("dropout"),
            "{e}"
        );
        let e = RunConfig::from_partial(serde_json::json!({"epochs": "three"})).unwrap_err();
        assert!(matches!(e, ConfigError::Json(_)), "{e}");
        assert!(RunConfig::from_partial(serde_json::json!([1])).is_err());
        // A section's key at the top names its section; a missing or fractional value its key.
        let e = RunConfig::from_partial(serde_json::json!({"lr": 0.1})).unwrap_err();
        assert!(e.to_string().contains("belongs in `optim`"), "{e}");
        let e = RunConfig::from_partial(serde_json::json!({"optim": {"lr": null}})).unwrap_err();
        assert!(e.to_string().contains("`optim.lr` has no value"), "{e}");
        let e = RunConfig::from_partial(serde_json::json!({"epochs": 1e30})).unwrap_err();
        assert!(e.to_string().contains("`epochs`"), "{e}");
    }
}
