//! Numeric CSV tables with one label column.
//!
//! Every data row must have the same number of fields, all numbers (finite);
//! the label column holds class indices `0, 1, …` (non-negative integers).
//! The first line is a header when any of its fields is not a number: with as
//! many fields as the data rows it names the columns; otherwise (the
//! scikit-learn layout `n_samples,n_features,class names…`) it is skipped. A
//! `.gz` file is decompressed first.

use std::path::Path;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gz::read_maybe_gz;
use super::DataError;

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

/// A parsed table: features row-major, labels, column names.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Features, `rows × features`.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<u32>,
    /// Number of feature columns.
    pub features: usize,
    /// Feature names (from the header, else `col<i>`).
    pub names: Vec<String>,
}

/// Read a CSV file.
pub fn read(path: &Path, label: &LabelColumn) -> Result<Table, DataError> {
    let bytes = read_maybe_gz(path)?;
    parse(&bytes, label, path)
}

/// Parse CSV bytes.
pub fn parse(bytes: &[u8], label: &LabelColumn, path: &Path) -> Result<Table, DataError> {
    let bad = |line: usize, msg: String| DataError::Format {
        path: path.to_path_buf(),
        msg: format!("line {line}: {msg}"),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(i + 1, format!("unreadable CSV: {e}")))?;
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows.push((i + 1, rec));
    }
    if rows.is_empty() {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: "no rows: the file is empty".into(),
        });
    }
    let numeric = |r: &csv::StringRecord| r.iter().all(|f| f.parse::<f64>().is_ok());
    let mut header: Option<Vec<String>> = None;
    if !numeric(&rows[0].1) {
        let (_, first) = rows.remove(0);
        let width = rows.first().map_or(0, |r| r.1.len());
        if first.len() == width {
            header = Some(first.iter().map(str::to_string).collect());
        }
    }
    let Some((_, first)) = rows.first() else {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: "a header but no data rows".into(),
        });
    };
    let width = first.len();
    if width < 2 {
        return Err(bad(
            rows[0].0,
            "need at least one feature and a label column".into(),
        ));
    }
    let lc = match label {
        LabelColumn::Last => width - 1,
        LabelColumn::Index(i) if *i < width => *i,
        LabelColumn::Index(i) => {
            return Err(DataError::Option {
                field: "label_column",
                value: i.to_string(),
                reason: format!("the file has {width} columns (0..{})", width - 1),
            })
        }
        LabelColumn::Name(n) => match &header {
            Some(h) => h
                .iter()
                .position(|c| c == n)
                .ok_or_else(|| DataError::Option {
                    field: "label_column",
                    value: n.clone(),
                    reason: format!("no such column; the header has {}", h.join(", ")),
                })?,
            None => {
                return Err(DataError::Option {
                    field: "label_column",
                    value: n.clone(),
                    reason: "the file has no header with column names; give an index".into(),
                })
            }
        },
    };
    let names = (0..width)
        .filter(|&c| c != lc)
        .map(|c| {
            header
                .as_ref()
                .map_or_else(|| format!("col{c}"), |h| h[c].clone())
        })
        .collect();
    let mut x = Vec::with_capacity(rows.len() * (width - 1));
    let mut y = Vec::with_capacity(rows.len());
    for (line, rec) in &rows {
        if rec.len() != width {
            return Err(bad(
                *line,
                format!("{} fields, expected {width}", rec.len()),
            ));
        }
        for (c, f) in rec.iter().enumerate() {
            let v: f64 = f
                .parse()
                .map_err(|_| bad(*line, format!("column {c}: `{f}` is not a number")))?;
            if !v.is_finite() {
                return Err(bad(
                    *line,
                    format!("column {c}: `{f}` is not a finite number"),
                ));
            }
            if c == lc {
                if v < 0.0 || v.fract() != 0.0 || v > f64::from(u32::MAX) {
                    return Err(bad(
                        *line,
                        format!("label `{f}` is not a class index (0, 1, 2, …)"),
                    ));
                }
                y.push(v as u32);
            } else {
                x.push(v as f32);
            }
        }
    }
    Ok(Table {
        x,
        y,
        features: width - 1,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, l: &LabelColumn) -> Result<Table, DataError> {
        parse(s.as_bytes(), l, Path::new("t.csv"))
    }

    #[test]
    fn header_forms() {
        let t = p(
            "a,b,label\n1,2,0\n3,4,1\n",
            &LabelColumn::Name("label".into()),
        )
        .unwrap();
        assert_eq!(
            (t.x, t.y, t.features),
            (vec![1.0, 2.0, 3.0, 4.0], vec![0, 1], 2)
        );
        assert_eq!(t.names, vec!["a", "b"]);
        // scikit-learn's first line: n_samples, n_features, class names.
        let t = p("2,2,class_0,class_1\n1,2,0\n3,4,1\n", &LabelColumn::Last).unwrap();
        assert_eq!(t.y, vec![0, 1]);
        // No header; label in column 0.
        let t = p("1,5,6\n0,7,8\n", &LabelColumn::Index(0)).unwrap();
        assert_eq!((t.x, t.y), (vec![5.0, 6.0, 7.0, 8.0], vec![1, 0]));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let last = LabelColumn::Last;
        for (text, needle) in [
            ("", "empty"),
            ("a,b\n", "no data rows"),
            ("1,2,0\n3,NaN,1\n", "not a finite number"),
            ("1,2,0\n3,4\n", "2 fields, expected 3"),
            ("1,2,0\n3,x,1\n", "not a number"),
            ("1,2,0.5\n", "not a class index"),
            ("1,2,-1\n", "not a class index"),
            ("1\n2\n", "at least one feature"),
        ] {
            let e = p(text, &last).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        assert!(p("a,b\n1,0\n", &LabelColumn::Name("z".into()))
            .unwrap_err()
            .to_string()
            .contains("no such column"));
        assert!(p("1,0\n", &LabelColumn::Index(5)).is_err());
        assert!(p("1,0\n", &LabelColumn::Name("z".into()))
            .unwrap_err()
            .to_string()
            .contains("no header"));
    }
}
