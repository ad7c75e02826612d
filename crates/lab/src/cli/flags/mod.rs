//! A run's settings as flags: `train`, `sweep` and `tune` take them. Every
//! flag is optional; a given one overrides the library's default, which
//! lives in one place, `RunConfig::default()`:
//!
//! ```text
//! config = RunConfig::default() ⊕ the given flags       (RunFlags::config)
//! --help of a flag = its help ‖ " [default: " ‖ the default's text ‖ "]"
//! text of a setting = its value in config.json's JSON (numbers as written there,
//!                     names as serde writes them), e.g. --lr 0.05, --norm none
//! ```
//! The same text serves `tune`'s account of the settings it ran with
//! ([`settings`]), and a grid point of `sweep` is a [`RunFlags`] parsed once
//! from `--name value` ([`super::sweep`]).

mod data;
mod model;
mod optim;

use std::collections::BTreeMap;

use clap::{Args, Command, FromArgMatches};
use lab::config::{Keep, RunConfig};
use serde::Serialize;
use serde_json::Value;

pub use self::data::DataFlags;
pub use self::model::ModelFlags;
pub use self::optim::OptimFlags;
use crate::cli::choice::parser;

/// Every setting of a run, as optional flags.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunFlags {
    /// Data.
    #[command(flatten)]
    #[serde(flatten)]
    pub data: DataFlags,
    /// Model.
    #[command(flatten)]
    #[serde(flatten)]
    pub model: ModelFlags,
    /// Optimisation.
    #[command(flatten)]
    #[serde(flatten)]
    pub optim: OptimFlags,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed of data preparation, init, shuffling and dropout masks.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads (results are bit-identical for any count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Which weights the run saves as its model: the last epoch's, or the best by validation loss.
    #[arg(long, value_parser = parser::<Keep>())]
    pub keep: Option<Keep>,
    /// Stop when K evaluations in a row bring no new lowest validation loss (needs a validation set).
    #[arg(long, value_name = "K")]
    pub early_stop: Option<usize>,
    /// A language model's epoch, in training iterations (default 250): its budget is epochs × this, its curves and checkpoints per epoch.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_iters: Option<usize>,
}

impl RunFlags {
    /// Set every given flag in `cfg`.
    pub fn apply(&self, cfg: &mut RunConfig) {
        self.data.apply(&mut cfg.data);
        self.model.apply(&mut cfg.model);
        self.optim.apply(&mut cfg.optim);
        set(&mut cfg.epochs, self.epochs);
        set(&mut cfg.batch, self.batch);
        set(&mut cfg.seed, self.seed);
        set(&mut cfg.threads, self.threads);
        set(&mut cfg.keep, self.keep);
        set(&mut cfg.early_stop, self.early_stop.map(Some));
        set(&mut cfg.epoch_iters, self.epoch_iters.map(Some));
    }

    /// The library's defaults (a Transformer's for a `gpt…` or `vit…`
    /// `--arch`: [`RunConfig::for_arch`]) with the given flags.
    pub fn config(&self) -> RunConfig {
        let mut cfg = self
            .model
            .arch
            .as_deref()
            .map_or_else(RunConfig::default, RunConfig::for_arch);
        // A user's file replaces a Transformer's default data set.
        if self.data.path.is_some() && self.data.dataset.is_none() {
            cfg.data.dataset = Default::default();
        }
        self.apply(&mut cfg);
        cfg
    }

    /// The ids (config keys) of the flags given.
    pub fn given(&self) -> Vec<String> {
        by_id(self)
            .into_iter()
            .filter(|(_, v)| !matches!(v, Value::Null | Value::Bool(false)))
            .map(|(id, _)| id)
            .collect()
    }

    /// These flags from `args` (`--name value …`, no program name).
    ///
    /// # Errors
    /// clap's error for an unknown flag or a bad value.
    pub fn parse<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let m = command().no_binary_name(true).try_get_matches_from(args)?;
        Self::from_arg_matches(&m)
    }
}

/// `*slot = v` when the flag was given.
fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// The run flags on their own, as clap sees them.
pub fn command() -> Command {
    RunFlags::augment_args(
        Command::new("run")
            .allow_negative_numbers(true)
            .args_override_self(true),
    )
}

/// `v`'s JSON with the sections (`data`, `model`, `optim`) merged: setting → value.
fn by_id(v: &impl Serialize) -> BTreeMap<String, Value> {
    // Through text, so an f32 prints as in config.json (0.05, not 0.0500000007).
    let text = serde_json::to_string(v).expect("settings serialise");
    let Ok(Value::Object(top)) = serde_json::from_str(&text) else {
        unreachable!("settings are a JSON object")
    };
    let mut out = BTreeMap::new();
    for (k, v) in top {
        match v {
            Value::Object(section) => out.extend(section),
            v => {
                out.insert(k, v);
            }
        }
    }
    out
}

/// The flag text of a setting: `Some("")` for a set switch, `None` for an
/// unset value or switch.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some(String::new()),
        _ => None,
    }
}

/// The settings of a run with `flags` as (flag without dashes, value text,
/// given): in the flags' order, every setting with a value and the switches
/// that are on; empty text for a switch.
pub fn settings(flags: &RunFlags) -> Vec<(String, String, bool)> {
    let values = by_id(&flags.config());
    let given = flags.given();
    command()
        .get_arguments()
        .filter_map(|a| {
            let (long, id) = (a.get_long()?, a.get_id().as_str());
            let t = text(values.get(id)?)?;
            Some((long.to_string(), t, given.iter().any(|g| g == id)))
        })
        .collect()
}

/// `cmd` with the help of every run flag, in any subcommand, ending in the
/// library's default for it.
pub fn show_defaults(cmd: Command) -> Command {
    let values = by_id(&RunConfig::default());
    let run = command();
    let mut defaults = BTreeMap::new();
    for a in run.get_arguments() {
        let id = a.get_id().as_str();
        if id == "val_size" {
            // Its help states the default: `train` differs from sweep and tune.
            continue;
        }
        if let (Some(help), Some(t)) = (a.get_help(), values.get(id).and_then(text)) {
            if !t.is_empty() {
                defaults.insert(id.to_string(), (help.to_string(), t));
            }
        }
    }
    annotate(cmd, &defaults)
}

fn annotate(cmd: Command, defaults: &BTreeMap<String, (String, String)>) -> Command {
    cmd.mut_args(|a| {
        let id = a.get_id().as_str().to_string();
        match (defaults.get(&id), a.get_help().map(ToString::to_string)) {
            (Some((help, d)), Some(h)) if *help == h => a.help(format!("{h} [default: {d}]")),
            _ => a,
        }
    })
    .mut_subcommands(|s| annotate(s, defaults))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn an_empty_command_line_is_the_library_default() {
        assert_eq!(
            RunFlags::parse::<_, &str>([]).unwrap().config(),
            RunConfig::default()
        );
    }

    #[test]
    fn every_default_shown_is_the_default_when_given() {
        let defaults = settings(&RunFlags::default());
        assert!(defaults.len() >= 25, "{defaults:?}");
        for (long, t, given) in defaults {
            assert!(!given);
            let flag = format!("--{long}");
            let args: Vec<&str> = if t.is_empty() {
                vec![&flag]
            } else {
                vec![&flag, &t]
            };
            let f = RunFlags::parse(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(f.config(), RunConfig::default(), "{args:?}");
            assert_ne!(f, RunFlags::default(), "{args:?} is given");
        }
    }

    #[test]
    fn help_ends_in_the_default_and_given_flags_are_named() {
        let help = show_defaults(crate::cli::Cli::command())
            .find_subcommand_mut("train")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("hidden dense layer [default: 0.5]"), "{help}");
        assert!(
            help.contains("[default: {in}-1024-1024-{classes}]"),
            "{help}"
        );
        assert!(help.contains("[default: none]"), "norm: {help}");
        let f = RunFlags::parse(["--lr", "0.1", "--nesterov", "--data", "x.csv"]).unwrap();
        assert_eq!(f.given(), ["lr", "nesterov", "path"]);
        assert_eq!(f.config().optim.lr, 0.1);
    }
}
