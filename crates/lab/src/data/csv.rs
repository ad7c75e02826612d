//! Numeric CSV tables with one label column.
//!
//! Every data row must have the same number of fields, all numbers finite as
//! f32; the label column holds class indices `0, 1, …` (non-negative
//! integers). A `.gz` file is decompressed first. The first line:
//!
//! ```text
//! --header yes   column names (as many fields as the data rows)
//! --header no    data
//! --header auto  all fields numbers                      → data
//!                no field a number, data rows' width     → column names
//!                `n_samples,n_features,…` matching the    → skipped (scikit-learn's layout)
//!                  rows and features that follow
//!                anything else (e.g. one mistyped number) → an error asking for yes or no
//! ```
//! A label column named in the header must be named once.

use std::path::Path;

use super::gz::read_maybe_gz;
use super::DataError;
pub use crate::config::{Header, LabelColumn};

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
///
/// # Errors
/// [`DataError`] naming the file, line and column.
pub fn read(path: &Path, label: &LabelColumn, header: Header) -> Result<Table, DataError> {
    let bytes = read_maybe_gz(path)?;
    parse(&bytes, label, header, path)
}

/// Parse CSV bytes.
///
/// # Errors
/// As [`read`].
pub fn parse(
    bytes: &[u8],
    label: &LabelColumn,
    mode: Header,
    path: &Path,
) -> Result<Table, DataError> {
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
    let header = first_line(&mut rows, mode, path)?;
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
            Some(h) => {
                let at: Vec<usize> = (0..h.len()).filter(|&c| h[c] == *n).collect();
                match at[..] {
                    [c] => c,
                    [] => {
                        return Err(DataError::Option {
                            field: "label_column",
                            value: n.clone(),
                            reason: format!("no such column; the header has {}", h.join(", ")),
                        })
                    }
                    _ => {
                        return Err(DataError::Option {
                            field: "label_column",
                            value: n.clone(),
                            reason: format!("the header names {} columns so ({at:?}, 0-based); give the index instead", at.len()),
                        })
                    }
                }
            }
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
            if c != lc && !(v as f32).is_finite() {
                return Err(bad(
                    *line,
                    format!(
                        "column {c}: `{f}` is beyond the f32 range (±3.4e38); rescale the column"
                    ),
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

/// Take the header off `rows` per `mode` (see the module docs).
fn first_line(
    rows: &mut Vec<(usize, csv::StringRecord)>,
    mode: Header,
    path: &Path,
) -> Result<Option<Vec<String>>, DataError> {
    let bad = |msg: String| DataError::Format {
        path: path.to_path_buf(),
        msg: format!("line {}: {msg}", rows[0].0),
    };
    let is_num = |f: &str| f.parse::<f64>().is_ok();
    let first = &rows[0].1;
    let width = rows.get(1).map_or(first.len(), |r| r.1.len());
    let names = || Some(first.iter().map(str::to_string).collect::<Vec<_>>());
    let header = match mode {
        Header::No => return Ok(None),
        Header::Yes if first.len() == width => names(),
        Header::Yes => {
            return Err(bad(format!(
                "the header has {} names but the data rows {width} fields",
                first.len()
            )))
        }
        Header::Auto if first.iter().all(is_num) => return Ok(None),
        Header::Auto if first.len() == width && !first.iter().any(is_num) => names(),
        Header::Auto => {
            let sklearn = first.len() >= 2
                && first[0].parse::<usize>().ok() == Some(rows.len() - 1)
                && first[1].parse::<usize>().ok() == Some(width.saturating_sub(1));
            if !sklearn {
                let odd: Vec<&str> = first.iter().filter(|f| !is_num(f)).take(3).collect();
                return Err(bad(format!(
                    "the first line mixes numbers and text ({odd:?}): a header, or a data row with a typo? Say --header yes or --header no"
                )));
            }
            None
        }
    };
    rows.remove(0);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, l: &LabelColumn) -> Result<Table, DataError> {
        parse(s.as_bytes(), l, Header::Auto, Path::new("t.csv"))
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
            ("1,2,0\n3,1e39,1\n", "beyond the f32 range"),
            ("1,2x,0\n3,4,1\n", "mixes numbers and text"),
            ("5,2,a,b\n1,2,0\n", "mixes numbers and text"),
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

    #[test]
    fn header_modes_and_duplicate_names() {
        let last = LabelColumn::Last;
        let q = |s: &str, h| parse(s.as_bytes(), &last, h, Path::new("t.csv"));
        // A mistyped first row is data under `no` (and still an error: not a number).
        assert!(q("1,2x,0\n3,4,1\n", Header::No)
            .unwrap_err()
            .to_string()
            .contains("`2x` is not a number"));
        assert_eq!(q("1,2x,0\n3,4,1\n", Header::Yes).unwrap().y, vec![1]);
        assert_eq!(
            q("1,2,0\n3,4,1\n", Header::Yes).unwrap().names,
            vec!["1", "2"]
        );
        assert!(q("a,b\n3,4,1\n", Header::Yes).is_err());
        let dup = parse(
            b"y,b,y\n1,2,0\n",
            &LabelColumn::Name("y".into()),
            Header::Auto,
            Path::new("t.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(dup.contains("names 2 columns"), "{dup}");
    }
}
