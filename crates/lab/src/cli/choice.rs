//! The library's named choices (activation, norm, optimizer, …) as flag
//! values. A library enum names its values once, in serde (the names
//! `config.json` holds); this module gives clap those names, a help line per
//! value and clap's "a similar value exists" tip, so the library needs no
//! clap.
//!
//! ```text
//! value of --flag = the serde name of a variant     (--norm bn  ⇔  "norm": "bn")
//! ```
//! [`choices!`] lists each enum's variants with their help; it also writes a
//! `match` over them, so a new variant does not compile until it is listed.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use serde::Serialize;

/// A library enum usable as a flag value.
pub trait Choice: Copy + Send + Sync + Serialize + 'static {
    /// Every value, with its help line.
    const ALL: &'static [(Self, &'static str)];
}

/// The name of `v`: its serde name, as in `config.json`.
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("a choice serialises to a string, not {other:?}"),
    }
}

/// clap's parser of a `T` from one of its names.
pub fn parser<T: Choice>() -> impl TypedValueParser<Value = T> {
    let values = T::ALL
        .iter()
        .map(|(v, help)| PossibleValue::new(name(v)).help(*help));
    PossibleValuesParser::new(values).map(|s: String| {
        T::ALL
            .iter()
            .find(|(v, _)| name(v) == s)
            .map(|(v, _)| *v)
            .expect("clap accepts only the possible values")
    })
}

/// `impl Choice` for enums: `Type { Variant => "help", … }`.
macro_rules! choices {
    ($($t:ident { $($v:ident => $help:literal),* $(,)? })*) => {$(
        impl $crate::cli::choice::Choice for $t {
            const ALL: &'static [(Self, &'static str)] = &[$(($t::$v, $help)),*];
        }
        const _: fn($t) = |v| match v {
            $($t::$v => ()),*
        };
    )*};
}
pub(crate) use choices;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Serialize)]
    #[serde(rename_all = "kebab-case")]
    enum Shade {
        Light,
        DarkBlue,
    }
    choices!(Shade { Light => "light", DarkBlue => "dark blue" });

    #[test]
    fn values_are_the_serde_names_and_typos_get_a_tip() {
        let cmd = || {
            clap::Command::new("t").arg(
                clap::Arg::new("shade")
                    .long("shade")
                    .value_parser(parser::<Shade>()),
            )
        };
        let m = cmd().try_get_matches_from(["t", "--shade", "dark-blue"]);
        assert_eq!(m.unwrap().get_one::<Shade>("shade"), Some(&Shade::DarkBlue));
        let e = cmd()
            .try_get_matches_from(["t", "--shade", "dark-blu"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[possible values: light, dark-blue]"), "{e}");
        assert!(e.contains("a similar value exists: 'dark-blue'"), "{e}");
    }
}
