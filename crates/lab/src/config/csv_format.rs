//! How a CSV file is read, as settings of a run: which column holds the
//! label and what the first line is. The reader itself is
//! [`crate::data::csv`]; these types live with the configuration so that
//! the configuration needs nothing from the data layer above it.
//!
//! ```text
//! label column   "last" | "" → the last column;  a number i → column i (0-based);  else a header name
//! header         auto (decide from the first line) | yes | no
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which column holds the label. Written `last`, a 0-based index, or a
/// header name, on the command line and in `config.json` alike.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LabelColumn {
    /// The last column.
    #[default]
    Last,
    /// A 0-based column index.
    Index(usize),
    /// A column named in the header.
    Name(String),
}

impl LabelColumn {
    /// `""`/`last` → last, a number → index, anything else → a name.
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "" | "last" => Self::Last,
            t => t
                .parse()
                .map(Self::Index)
                .unwrap_or_else(|_| Self::Name(t.to_string())),
        }
    }
}

impl FromStr for LabelColumn {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl From<String> for LabelColumn {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<LabelColumn> for String {
    fn from(l: LabelColumn) -> String {
        l.to_string()
    }
}

impl fmt::Display for LabelColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Last => write!(f, "last"),
            Self::Index(i) => write!(f, "{i}"),
            Self::Name(n) => write!(f, "{n}"),
        }
    }
}

/// What the first line of a CSV is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Header {
    /// Decide from the line (see the module docs); refuse when unclear.
    #[default]
    Auto,
    /// Column names.
    Yes,
    /// Data.
    No,
}
